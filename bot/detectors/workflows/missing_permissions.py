"""``gha-missing-permissions``: the workflow has no top-level ``permissions:`` block."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from bot.detectors.interface import Detection, WorkflowRule
from bot.detectors.permission_fixes import describe, unknown_summary
from bot.models import Confidence, Severity
from bot.risk import Disposition
from bot.workflow.model import Workflow
from bot.workflow.permission_needs import job_needs, undeclared_jobs
from bot.yamledit.ops import Add

_READ_ONLY = {"contents": "read"}


class MissingPermissions(WorkflowRule):
    """Add a top-level ``permissions:`` block: ``{}`` or ``contents: read``."""

    id: ClassVar[str] = "gha-missing-permissions"
    remediation_group: ClassVar[str | None] = "gha-permissions"
    title: ClassVar[str] = "workflow has no top-level permissions"
    description: ClassVar[str] = (
        "Without a top-level `permissions:` block every job that does not declare its own runs "
        "with the repository's default `GITHUB_TOKEN` permissions, which are read-write on "
        "older repositories and organisations. OpenSSF Scorecard's Token-Permissions check "
        "scores such a workflow 0 when it also has an undeclared job; when every job declares "
        "its own block the finding is low (only jobs added later would get the defaults). "
        "The fix adds "
        "`permissions: {}` when every job declares its own block (mendbot's "
        "`gha-job-permissions` adds them first), and `contents: read` otherwise. It is "
        "**safe** when every job without a block is known to need no more "
        "than `contents: read`, and **unsafe** otherwise (the finding names the jobs that may "
        "need more). The block is inserted above `jobs:`."
    )
    default_severity: ClassVar[Severity] = Severity.MEDIUM
    fix_disposition: ClassVar[Disposition | None] = Disposition.SAFE
    example_before: ClassVar[str] = """\
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: make test
"""
    example_after: ClassVar[str] = """\
on: push
permissions:
  contents: read
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: make test
"""

    def visit_workflow(self, workflow: Workflow) -> Iterator[Detection]:
        """Check the workflow's top level."""
        if workflow.kind != "workflow" or "permissions" in workflow.data:
            return
        undeclared = list(undeclared_jobs(workflow))
        route = ("jobs",)
        message = (
            "the workflow has no top-level `permissions:`, so jobs without their own block get "
            "the repository's default token permissions"
        )
        if not undeclared:
            # No job runs with the defaults: the block only protects jobs added later.
            finding = self.finding(
                workflow, route, message + "; every job declares its own", severity=Severity.LOW
            )
            fix = self.fix(
                finding,
                "add `permissions: {}`",
                [Add(route=(), key="permissions", value={}, before="jobs")],
            )
            yield Detection(finding, fix)
            return
        risks: list[str] = []
        for job in undeclared:
            needs = job_needs(job)
            if not needs.known:
                risks.append(f"job `{job.id}` may need more ({unknown_summary(needs)})")
            elif needs.permissions().items() - _READ_ONLY.items():
                risks.append(f"job `{job.id}` needs {describe(needs)}")
        if risks:
            message += "; adding `contents: read` changes what some jobs may do: " + "; ".join(
                risks
            )
        finding = self.finding(
            workflow,
            route,
            message,
            confidence=Confidence.HIGH,
        )
        fix = self.fix(
            finding,
            "add `permissions: contents: read`",
            [Add(route=(), key="permissions", value=dict(_READ_ONLY), before="jobs")],
            disposition=Disposition.UNSAFE if risks else Disposition.SAFE,
        )
        yield Detection(finding, fix)
