"""The offline list of popular actions (``popular_actions.txt``) that ``gha-typosquat-uses``
compares ``uses:`` names with; where each name comes from is said in the file's header."""

from __future__ import annotations

from functools import cache
from importlib import resources


def parse_popular_actions(text: str) -> frozenset[str]:
    """The ``owner/repo`` names of ``text``, lower-cased: one a line, ``#`` starts a comment.

    Raises :class:`ValueError` naming the line when an entry is not ``owner/repo``."""
    names: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.split("#", 1)[0].strip().lower()
        if not entry:
            continue
        owner, slash, repo = entry.partition("/")
        if not slash or not owner or not repo or "/" in repo:
            raise ValueError(f"popular_actions.txt:{number}: {entry!r} is not owner/repo")
        names.add(entry)
    return frozenset(names)


@cache
def popular_actions() -> frozenset[str]:
    """The shipped list, read once per process."""
    text = resources.files("bot.knowledge").joinpath("popular_actions.txt").read_text("utf-8")
    return parse_popular_actions(text)
