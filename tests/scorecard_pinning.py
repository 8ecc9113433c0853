"""OpenSSF Scorecard's Pinned-Dependencies check for GitHub Actions, from its published rules.

A test helper, not product code. An action reference is pinned iff it is local (``./…``),
ends in a 40-hex commit SHA, or is ``docker://…@sha256:<64 hex>``; ``jobs.<id>.uses`` counts
like a step. When both GitHub-owned (``actions/*``, ``github/*``) and third-party actions are
present they weigh 2 and 8, otherwise the present kind weighs 10; the score is the weighted
share of pinned references (10 when all are pinned, None when there are none).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

_SHA = re.compile(r".*@[a-fA-F\d]{40,}$")
_DOCKER_DIGEST = re.compile(r"^docker://.*@sha256:[a-fA-F\d]{64}$")


@dataclass(frozen=True)
class Reference:
    """One ``uses:`` value of a workflow, and where."""

    uses: str
    where: str

    @property
    def pinned(self) -> bool:
        """Scorecard's notion of pinned."""
        value = self.uses.strip()
        return value.startswith("./") or bool(_SHA.match(value) or _DOCKER_DIGEST.match(value))

    @property
    def github_owned(self) -> bool:
        """``actions/*`` and ``github/*`` weigh less when both kinds are present."""
        return self.uses.strip().lower().startswith(("actions/", "github/"))


def references(workflow: dict[str, Any]) -> Iterator[Reference]:
    """Every ``uses:`` of a parsed workflow (steps and reusable-workflow jobs)."""
    jobs = workflow.get("jobs")
    for job_id, job in jobs.items() if isinstance(jobs, dict) else []:
        if not isinstance(job, dict):
            continue
        if isinstance(job.get("uses"), str):
            yield Reference(job["uses"], f"jobs.{job_id}.uses")
        steps = job.get("steps")
        for index, step in enumerate(steps if isinstance(steps, list) else []):
            if isinstance(step, dict) and isinstance(step.get("uses"), str):
                yield Reference(step["uses"], f"jobs.{job_id}.steps[{index}].uses")


def score(workflows: list[dict[str, Any]]) -> float | None:
    """The Pinned-Dependencies score of the action references of a repository."""
    refs = [r for w in workflows for r in references(w) if not r.uses.strip().startswith("./")]
    if not refs:
        return None
    owned = [r for r in refs if r.github_owned]
    third = [r for r in refs if not r.github_owned]
    if owned and third:
        return 2 * _share(owned) + 8 * _share(third)
    return 10 * _share(refs)


def _share(refs: list[Reference]) -> float:
    return sum(r.pinned for r in refs) / len(refs)
