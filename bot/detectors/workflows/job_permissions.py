"""``gha-job-permissions``: a job without ``permissions:`` in a workflow without them either."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from bot.detectors.interface import Detection, WorkflowRule
from bot.detectors.permission_fixes import block_operations, describe, unknown_summary
from bot.knowledge.permissions import KbConfidence
from bot.models import Confidence, Severity
from bot.risk import Disposition
from bot.workflow.model import Workflow
from bot.workflow.permission_needs import job_needs, undeclared_jobs


class JobPermissions(WorkflowRule):
    """Give each undeclared job exactly the token permissions its steps need, with reasons."""

    id: ClassVar[str] = "gha-job-permissions"
    remediation_group: ClassVar[str | None] = "gha-permissions"
    title: ClassVar[str] = "job runs with the repository's default token permissions"
    description: ClassVar[str] = (
        "A job with no `permissions:` key, in a workflow with no top-level `permissions:` "
        "either, gets the repository's default `GITHUB_TOKEN` permissions: read-write on every "
        "scope for repositories and organisations created before February 2023. Any step of "
        "the job (a compromised action, an injected script) can then push code, publish "
        "releases or approve pull requests. The fix adds a job-level block with exactly the "
        "scopes the job's steps need, computed from mendbot's own knowledge base of actions "
        "(how the token reaches each action, which scopes it needs and under which inputs) and "
        "a table of `run:` commands (`git push`, `gh pr create`, `gh api`, `docker login "
        "ghcr.io`, ...), with a `# for <action> to <reason>` comment on every scope. It is "
        "**safe** for read-only jobs and **unsafe** when it grants a write. A job whose needs "
        "cannot all be explained (an action missing from the knowledge base, a script using "
        "the token for something unknown, a remote reusable workflow) is left unchanged and "
        "the finding says why: a partial, honest result, never a guess."
    )
    default_severity: ClassVar[Severity] = Severity.MEDIUM
    default_confidence: ClassVar[Confidence] = Confidence.HIGH
    fix_disposition: ClassVar[Disposition | None] = Disposition.SAFE
    example_before: ClassVar[str] = """\
on: pull_request_target
jobs:
  label:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/labeler@v5
"""
    example_after: ClassVar[str] = """\
on: pull_request_target
jobs:
  label:
    permissions:
      contents: read  # for actions/labeler to read the labeler configuration
      pull-requests: write  # for actions/labeler to add labels to pull requests
    runs-on: ubuntu-latest
    steps:
      - uses: actions/labeler@v5
"""

    def visit_workflow(self, workflow: Workflow) -> Iterator[Detection]:
        """Check every job of a workflow that has no top-level ``permissions:``."""
        if workflow.kind != "workflow" or "permissions" in workflow.data:
            return
        for job in undeclared_jobs(workflow):
            needs = job_needs(job)
            base = (
                f"job `{job.id}` has no `permissions:` and neither has the workflow, so it "
                "runs with the repository's default token permissions"
            )
            if not needs.known:
                why = unknown_summary(needs)
                finding = self.finding(
                    workflow,
                    job.route,
                    f"{base}; mendbot leaves it unchanged because {why}",
                    confidence=Confidence.MEDIUM,
                )
                yield Detection(finding, None, f"the job's needs are unknown: {why}")
                continue
            finding = self.finding(workflow, job.route, f"{base}; its steps need {describe(needs)}")
            risky = needs.writes or needs.confidence is not KbConfidence.HIGH
            fix = self.fix(
                finding,
                f"give job {job.id} only {describe(needs)}",
                block_operations(job, needs),
                disposition=Disposition.UNSAFE if risky else Disposition.SAFE,
            )
            yield Detection(finding, fix)
