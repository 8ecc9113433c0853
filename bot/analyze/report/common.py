"""Facts every report format needs: fix status per finding, counts, replacement regions."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pydantic_core

from bot.analyze.pipeline import Analysis
from bot.models import Finding, Fix, Severity
from bot.yamledit.engine import Edited, apply_operations


def pretty_json(document: Any, *, floats_only_in: Sequence[Any] | None = None) -> str:
    """``document`` as ``json.dumps(document, indent=2, ensure_ascii=False)`` writes it, plus a
    final line break, serialised in native code (a report of 10,000 findings took longer to
    serialise in Python than to read back from the result cache).

    ``floats_only_in``: parts of ``document`` outside which the caller's shape holds no float
    (the fixes' YAML values, say); only they are searched for one, instead of every value.
    """
    suspects = [document] if floats_only_in is None else floats_only_in
    if not _holds_float(suspects):  # Python and Rust write some floats differently (1e-07)
        try:
            return pydantic_core.to_json(document, indent=2).decode() + "\n"
        except pydantic_core.PydanticSerializationError:  # a lone surrogate (undecodable path)
            pass
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    # A file name that is not UTF-8 reaches here as lone surrogates, which no UTF-8 stream can
    # carry: JSON's own escape keeps the report valid (they only occur inside strings).
    return _LONE_SURROGATE.sub(lambda match: f"\\u{ord(match[0]):04x}", text)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _holds_float(document: Any) -> bool:
    waiting = [document]
    while waiting:
        value = waiting.pop()
        kind = type(value)
        if kind is str or kind is int:  # most of a report: decided without isinstance
            continue
        if kind is dict:
            waiting.extend(value.values())
        elif isinstance(value, list | tuple | dict):
            waiting.extend(value.values() if isinstance(value, dict) else value)
        elif isinstance(value, float):
            return True
    return False


@dataclass(frozen=True)
class FixStatus:
    """The fix of one finding as a report shows it."""

    fix: Fix
    applied: bool
    unfixable: str | None


def fix_status(analysis: Analysis, finding: Finding) -> FixStatus | None:
    """The finding's fix and whether it was applied (None when the rule proposes none)."""
    fix = analysis.result.fix_for(finding)
    if fix is None:
        return None
    reason = analysis.result.unfixed_reason(finding)
    return FixStatus(fix=fix, applied=finding.id in analysis.result.applied_ids, unfixable=reason)


def no_fix_reason(analysis: Analysis, finding: Finding) -> str | None:
    """Why a finding without a fix has none, when the rule said."""
    if analysis.result.fix_for(finding) is not None:
        return None
    return analysis.result.unfixed_reason(finding)


def remaining(analysis: Analysis) -> list[Finding]:
    """Findings not resolved by an applied fix."""
    applied = analysis.result.applied_ids
    return [f for f in analysis.result.findings if f.id not in applied]


def sorted_findings(analysis: Analysis) -> list[Finding]:
    """Findings ordered by path, line, then severity (worst first)."""
    worst_first = {severity: -severity.rank for severity in Severity}  # not once per finding
    return sorted(
        analysis.result.findings,
        key=lambda f: (f.location.path, f.location.line, worst_first[f.severity], f.rule),
    )


@dataclass(frozen=True)
class Replacement:
    """One contiguous text replacement, 1-based lines and columns, end exclusive."""

    start_line: int
    start_column: int
    end_line: int
    end_column: int
    inserted: str


def _position(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column


def replacement(before: str, after: str) -> Replacement:
    """The smallest single replacement that turns ``before`` into ``after``."""
    start = 0
    limit = min(len(before), len(after))
    while start < limit and before[start] == after[start]:
        start += 1
    end_b, end_a = len(before), len(after)
    while end_b > start and end_a > start and before[end_b - 1] == after[end_a - 1]:
        end_b -= 1
        end_a -= 1
    sl, sc = _position(before, start)
    el, ec = _position(before, end_b)
    return Replacement(sl, sc, el, ec, after[start:end_a])


def preview(analysis: Analysis, fix: Fix) -> Replacement | None:
    """The replacement ``fix`` makes on its file's original text, or None if it cannot apply."""
    outcome = analysis.files.get(fix.path)
    if outcome is None:
        return None
    edited = apply_operations(outcome.original, fix.patches)
    if not isinstance(edited, Edited) or not edited.changed:
        return None
    return replacement(outcome.original, edited.text)
