"""Inline suppression: ``# mendbot: ignore[rule-id, other-rule]`` on the reported line."""

from __future__ import annotations

import re

from bot.models import Finding
from bot.yamledit import YamlDocument

_IGNORE = re.compile(r"#.*?\bmendbot:\s*ignore\[([^\]]*)\]")


def suppressed_rules(comment: str | None) -> set[str]:
    """Rule ids named by a ``mendbot: ignore[...]`` comment (empty when there is none)."""
    if not comment:
        return set()
    match = _IGNORE.search(comment)
    if not match:
        return set()
    return {part.strip() for part in match.group(1).split(",") if part.strip()}


def is_suppressed(doc: YamlDocument, finding: Finding, owner_line: int | None = None) -> bool:
    """Whether a comment on the finding's line (or its step's first line) ignores its rule.

    ``owner_line`` is 1-based, like :attr:`Finding.location`.
    """
    if "mendbot" not in doc.text:  # no comment can name a rule to ignore
        return False
    lines = {finding.location.line}
    if owner_line is not None:
        lines.add(owner_line)
    return any(finding.rule in suppressed_rules(doc.comment_on_line(line - 1)) for line in lines)
