"""Plain-text rendering of policy test runs and decisions for the command line."""

from __future__ import annotations

from collections.abc import Sequence

from bot.policy.decide import Decision
from bot.policy.testing import CaseResult


def render_tests(results: Sequence[CaseResult]) -> str:
    """One line per case (``PASS``/``FAIL``, policy, case, outcome) and a summary line."""
    lines: list[str] = []
    for result in results:
        mark = "PASS" if result.passed else "FAIL"
        line = f"{mark}  {result.policy} / {result.case}: {result.actual}"
        if not result.passed:
            line += f"\n      {result.detail}"
        lines.append(line)
    failed = sum(not r.passed for r in results)
    lines.append(f"{len(results)} cases, {len(results) - failed} passed, {failed} failed")
    return "\n".join(lines) + "\n"


def render_decision(decision: Decision) -> str:
    """The outcome, each contributing validation, missing approvals and the context digest."""
    lines = [f"decision: {decision.outcome}" + (" (auto-merge eligible)" * decision.auto_merge)]
    lines.extend(
        f"  {result.action}: {result.policy} / {result.validation}: {result.message}"
        + (f" [excepted by {result.excepted_by}]" if result.excepted_by else "")
        for result in decision.results
    )
    lines.extend(f"  missing: {m.policy}: {m.describe()}" for m in decision.missing_approvals)
    lines.extend(f"  expired exception: {name}" for name in decision.exceptions_expired)
    lines.extend(f"  note: {note}" for note in decision.notes)
    lines.append("policies: " + ", ".join(f"{p.name}={p.outcome}" for p in decision.policies))
    lines.append(f"context: {decision.context_digest}")
    return "\n".join(lines) + "\n"
