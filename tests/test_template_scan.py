"""The ``${{ … }}`` scanner every injection and expression rule shares: it skips ``}}`` inside
single-quoted strings, and an unterminated expression ends the scan. It remembers recent texts,
so asking twice must give the same expressions."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.workflow.template_scan import expressions


def _by_hand(text: str) -> list[tuple[str, str, int, int]]:
    """The scanner's contract, one character at a time."""
    found = []
    pos = 0
    while (start := text.find("${{", pos)) >= 0:
        i, quoted = start + 3, False
        while i < len(text):
            if text[i] == "'":
                quoted = not quoted
            elif not quoted and text.startswith("}}", i):
                break
            i += 1
        else:
            break
        found.append((text[start : i + 2], text[start + 3 : i].strip(), start, i + 2))
        pos = i + 2
    return found


PIECES = st.sampled_from(["${{", "}}", "}", "{", "$", "'", "''", " ", "a", "\n", "github.ref"])


@given(st.lists(PIECES, max_size=30).map("".join))
def test_the_scanner_keeps_its_contract(text: str) -> None:
    for _ in range(2):  # the second time from memory
        assert [(e.text, e.inner, e.start, e.end) for e in expressions(text)] == _by_hand(text)


def test_a_closing_brace_inside_a_string_does_not_end_the_expression() -> None:
    text = "echo ${{ format('}}{0}', github.ref) }} ${{ 'it''s' }} ${{ open"
    assert [e.inner for e in expressions(text)] == ["format('}}{0}', github.ref)", "'it''s'"]
