"""OpenSSF Scorecard's Token-Permissions check, re-implemented from its published rules.

A test helper, not product code: it scores parsed workflows the way Scorecard does, so tests
can assert that mendbot's fixes reach 10. Scores accumulate over all workflows of a
repository, start at 10 and are clamped at 0.

Simplification: Scorecard turns a job-level write on an *ignored* scope (``packages`` in
packaging workflows, ``contents`` in release or Pages workflows, ``security-events`` in SARIF
workflows) into "unknown". That only ever raises a score, and only when the top level is
undeclared; this helper omits it, so it is at least as strict as Scorecard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Top-level writes and what they cost.
_TOP_PENALTY = {
    "contents": 10.0,
    "packages": 10.0,
    "actions": 10.0,
    "deployments": 1.0,
    "security-events": 1.0,
    "checks": 0.5,
    "statuses": 0.5,
}


@dataclass
class Level:
    """A parsed ``permissions:`` value."""

    declared: bool
    write_all: bool = False
    writes: set[str] = field(default_factory=set)

    @property
    def has_write(self) -> bool:
        """Whether anything is writable."""
        return self.write_all or bool(self.writes)


def parse(data: dict[str, Any]) -> Level:
    """Classify the ``permissions:`` of a workflow or job mapping."""
    if "permissions" not in data:
        return Level(declared=False)
    value = data["permissions"]
    if value in (None, {}, "read-all"):
        return Level(declared=True)
    if isinstance(value, str):
        return Level(declared=True, write_all=value.endswith("-all") and value != "read-all")
    if isinstance(value, dict):
        return Level(declared=True, writes={str(k) for k, v in value.items() if v == "write"})
    return Level(declared=True)


def file_penalty(workflow: dict[str, Any]) -> float | None:
    """What one workflow costs; None means "the score drops to 0"."""
    top = parse(workflow)
    jobs = [job for job in (workflow.get("jobs") or {}).values() if isinstance(job, dict)]
    levels = [parse(job) for job in jobs]
    undeclared_job = any(not level.declared for level in levels)
    penalty = 0.0
    if not top.declared:
        if undeclared_job:
            return None
        penalty += 0.5
    elif top.write_all:
        if undeclared_job or any(level.has_write for level in levels):
            return None
        penalty += 0.5
    else:
        penalty += sum(_TOP_PENALTY.get(scope, 0.0) for scope in top.writes)
    for level in levels:
        if not level.declared and top.has_write:
            return None
        if level.has_write:
            if top.has_write:
                return None
            if not top.declared:
                penalty += 0.5
    return penalty


def token_permissions_score(workflows: list[dict[str, Any]]) -> float:
    """The Token-Permissions score (0 to 10) of a repository's workflows."""
    score = 10.0
    for workflow in workflows:
        penalty = file_penalty(workflow)
        if penalty is None:
            return 0.0
        score -= penalty
    return max(score, 0.0)
