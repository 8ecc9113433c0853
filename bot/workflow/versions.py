"""The version of an action a step uses, from its ref or from its pin's version comment."""

from __future__ import annotations

import re

from bot.workflow.model import Step

_VERSION = re.compile(r"^v?(?P<major>\d+)(?:\.(?P<minor>\d+))?(?:\.(?P<patch>\d+))?(?:[-+].*)?$")
_SHA = re.compile(r"^[0-9a-fA-F]{40}$")
_COMMENT_VERSION = re.compile(r"#\s*(?:tag\s*[:=]\s*|pin@)?(?P<version>v?\d+(?:\.\d+){0,2}\S*)")


def parse_version(text: str) -> tuple[int, int, int] | None:
    """``v5`` → (5, 0, 0), ``5.1.2`` → (5, 1, 2); None for anything else (a branch name)."""
    match = _VERSION.match(text.strip())
    if match is None:
        return None
    return (int(match["major"]), int(match["minor"] or 0), int(match["patch"] or 0))


def step_version(step: Step) -> tuple[int, int, int] | None:
    """The version ``step`` uses: its ``@ref`` when that is a version, else, for a SHA pin,
    the version in the trailing comment (``@<sha> # v4.2.2``); None when unknown."""
    if step.uses is None or not step.uses.ref:
        return None
    ref = step.uses.ref
    if not _SHA.match(ref):
        return parse_version(ref)
    node = step.workflow.doc.lookup((*step.route, "uses"))
    if node is None:
        return None
    comment = step.workflow.doc.comment_on_line(step.workflow.doc.line_of(node.end))
    if comment is None:
        return None
    match = _COMMENT_VERSION.search(comment)
    return parse_version(match["version"]) if match else None
