"""Find ``${{ … }}`` expressions in text (template-injection scanning) and what they reference.

The scanner respects the expression language's single-quoted strings, so ``}}`` inside a string
literal does not end an expression.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_CONTEXT_PATH = re.compile(
    r"^[A-Za-z_][\w-]*(?:\.[A-Za-z_*][\w-]*|\[\s*\d+\s*\]|\[\s*'[^']*'\s*\]|\.\*)*$"
)
_CONTEXT_REFERENCE = re.compile(
    r"(?<![\w.'])(?:github|inputs|steps|needs|jobs|env|matrix|vars|secrets|runner|job|strategy)"
    r"(?:\.[A-Za-z_*][\w-]*|\[\s*\d+\s*\]|\[\s*'[^']*'\s*\])+"
)


@dataclass(frozen=True)
class Expression:
    """One ``${{ … }}`` occurrence: its full text, inner text and character offsets."""

    text: str
    """The whole expression, ``${{ … }}`` included."""
    inner: str
    """What is between the braces, stripped."""
    start: int
    end: int

    @property
    def single_context(self) -> str | None:
        """The context path when the expression is exactly one (``github.head_ref``)."""
        return self.inner if _CONTEXT_PATH.match(self.inner) else None

    def contexts(self) -> list[str]:
        """Every context path the expression mentions (``toJSON(github.event)`` → github.event)."""
        found = [m.group() for m in _CONTEXT_REFERENCE.finditer(self.inner)]
        if re.search(r"toJSON\(\s*github(\.event)?\s*\)", self.inner, re.IGNORECASE):
            found.append("github.event")
        return found


def expressions(text: str) -> Iterator[Expression]:
    """Every ``${{ … }}`` in ``text``, in order; an unterminated one ends the scan."""
    pos = 0
    while True:
        start = text.find("${{", pos)
        if start < 0:
            return
        i, quoted = start + 3, False
        while i < len(text):
            ch = text[i]
            if ch == "'":
                quoted = not quoted  # '' inside a string toggles twice: still correct
            elif not quoted and text.startswith("}}", i):
                break
            i += 1
        else:
            return
        end = i + 2
        yield Expression(
            text=text[start:end], inner=text[start + 3 : i].strip(), start=start, end=end
        )
        pos = end
