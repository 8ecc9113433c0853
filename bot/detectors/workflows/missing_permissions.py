"""``gha-missing-permissions``: jobs mendbot cannot size run with the default token."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from bot.detectors.interface import Detection, WorkflowRule
from bot.detectors.permission_fixes import PERMISSION_READERS, block_operations, unknown_summary
from bot.models import Confidence, Severity
from bot.risk import Disposition
from bot.workflow.model import Workflow
from bot.workflow.permission_needs import job_needs, undeclared_jobs
from bot.yamledit.ops import Add, Operation

_READ_ONLY = {"contents": "read"}


class MissingPermissions(WorkflowRule):
    """Add a top-level ``contents: read`` for the jobs whose needs are unknown."""

    id: ClassVar[str] = "gha-missing-permissions"
    remediation_group: ClassVar[str | None] = "gha-permissions"
    title: ClassVar[str] = "workflow has no top-level permissions"
    description: ClassVar[str] = (
        "Without a top-level `permissions:` block every job that does not declare its own runs "
        "with the repository's default `GITHUB_TOKEN` permissions, which are read-write on "
        "older repositories and organisations. One problem, one finding: a job without a "
        "block whose needs mendbot can compute is reported by `gha-job-permissions`, whose "
        "fix gives it its own block (and, once every job has one, adds `permissions: {}` at "
        "the top). This rule reports the workflow when some job without a block has needs "
        "mendbot cannot explain (an action missing from its knowledge base, a script using "
        "the token for something unknown, a remote reusable workflow), naming those jobs. A "
        "workflow whose jobs all declare their own block is not reported: no job runs with "
        "the defaults (OpenSSF Scorecard still asks for a top-level block; that is posture, "
        "not a risk today). The fix adds `permissions: contents: read` above `jobs:` and "
        "gives the other jobs without a block their computed blocks. It is always **unsafe**: "
        "a job whose needs are unknown may need more than `contents: read`, and the finding "
        "says why each is unknown."
    )
    default_severity: ClassVar[Severity] = Severity.MEDIUM
    default_confidence: ClassVar[Confidence] = Confidence.HIGH
    fix_disposition: ClassVar[Disposition | None] = Disposition.UNSAFE
    fixes_reach: ClassVar[frozenset[str] | None] = PERMISSION_READERS
    example_before: ClassVar[str] = """\
on: push
jobs:
  publish:
    runs-on: ubuntu-latest
    steps:
      - uses: example-org/publish-action@v1
"""
    example_after: ClassVar[str] = """\
on: push
permissions:
  contents: read
jobs:
  publish:
    runs-on: ubuntu-latest
    steps:
      - uses: example-org/publish-action@v1
"""

    def visit_workflow(self, workflow: Workflow) -> Iterator[Detection]:
        """Report a workflow without a top-level block whose undeclared jobs include one
        whose needs are unknown."""
        if workflow.kind != "workflow" or "permissions" in workflow.data:
            return
        assessed = [(job, job_needs(job)) for job in undeclared_jobs(workflow)]
        unknown = [(job, needs) for job, needs in assessed if not needs.known]
        if not unknown:
            return
        named = "; ".join(f"job `{job.id}`: {unknown_summary(needs)}" for job, needs in unknown)
        message = (
            "the workflow has no top-level `permissions:`, so jobs without their own block run "
            "with the repository's default token permissions, and mendbot cannot tell what "
            f"these need ({named}); `contents: read` may be too little for them"
        )
        finding = self.finding(workflow, ("jobs",), message)
        operations: list[Operation] = [
            op for job, needs in assessed if needs.known for op in block_operations(job, needs)
        ]
        operations.append(Add(route=(), key="permissions", value=dict(_READ_ONLY), before="jobs"))
        fix = self.fix(finding, "add `permissions: contents: read`", operations)
        yield Detection(finding, fix)
