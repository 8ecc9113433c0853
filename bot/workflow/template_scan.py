"""Find ``${{ … }}`` expressions in text (template-injection scanning) and what they reference.

The scanner respects the expression language's single-quoted strings, so ``}}`` inside a string
literal does not end an expression.
"""

from __future__ import annotations

import functools
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
    """Every ``${{ … }}`` in ``text``, in order; an unterminated one ends the scan.

    The expressions of recent texts are remembered: most rules scan the same values, and
    fixing a file scans them again after each round (an :class:`Expression` is immutable).
    """
    return iter(_scan(text))


@functools.lru_cache(maxsize=4096)
def _scan(text: str) -> tuple[Expression, ...]:
    found: list[Expression] = []
    pos = 0
    while True:
        start = text.find("${{", pos)
        if start < 0:
            break
        end = _closing(text, start + 3)
        if end < 0:
            break
        found.append(
            Expression(
                text=text[start:end], inner=text[start + 3 : end - 2].strip(), start=start, end=end
            )
        )
        pos = end
    return tuple(found)


def _closing(text: str, pos: int) -> int:
    """The offset just past the ``}}`` that closes an expression whose inside starts at
    ``pos`` (a ``}}`` inside a single-quoted string does not), or -1 when none does."""
    while True:
        close = text.find("}}", pos)
        if close < 0:
            return -1
        quote = text.find("'", pos, close)
        if quote < 0:
            return close + 2
        # '' inside a string ends it and starts the next one: the same as skipping both.
        unquote = text.find("'", quote + 1)
        if unquote < 0:
            return -1
        pos = unquote + 1
