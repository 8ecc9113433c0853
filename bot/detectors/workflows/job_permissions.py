"""``gha-job-permissions``: a job without ``permissions:`` in a workflow without them either."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from bot.detectors.interface import Detection, WorkflowRule
from bot.detectors.permission_fixes import PERMISSION_READERS, block_operations, describe
from bot.knowledge.permissions import KbConfidence
from bot.models import Severity
from bot.risk import Disposition
from bot.workflow.model import Job, Workflow
from bot.workflow.permission_needs import Needs, job_needs, undeclared_jobs
from bot.yamledit.ops import Add, Operation


def _disposition(needs: Needs) -> Disposition:
    """Safe for a read-only block known with high confidence; unsafe when it grants a write."""
    risky = needs.writes or needs.confidence is not KbConfidence.HIGH
    return Disposition.UNSAFE if risky else Disposition.SAFE


def _marked(job: Job) -> bool:
    """Whether the job's line carries an ``ignore[…]`` comment: a person may want it to keep
    the defaults, so no fix may add the ``permissions: {}`` that would take them away."""
    doc = job.workflow.doc
    comment = doc.comment_on_line(job.workflow.location(job.route).line - 1)
    return comment is not None and "ignore[" in comment


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
        "releases or approve pull requests. mendbot reports each such job once, here, when it "
        "can compute what the job needs; a job whose needs it cannot explain (an action "
        "missing from the knowledge base, a script using the token for something unknown, a "
        "remote reusable workflow) is reported by `gha-missing-permissions` instead, never by "
        "both. The fix adds a job-level block with exactly the "
        "scopes the job's steps need, computed from mendbot's own knowledge base of actions "
        "(how the token reaches each action, which scopes it needs and under which inputs) and "
        "a table of `run:` commands (`git push`, `gh pr create`, `gh api`, `docker login "
        "ghcr.io`, ...), with a `# for <action> to <reason>` comment on every scope. It is "
        "**safe** for read-only jobs and **unsafe** when it grants a write. The fix of the "
        "job that completes the workflow (the last one reported, the one with the riskiest "
        "block) gives every job still without a block its own and adds a top-level "
        "`permissions: {}`, so that a job added later starts with no permissions instead of "
        "the defaults; it is never added while a job still relies on the defaults, nor while "
        "a job's line carries an ignore comment (a person may want that job to keep them)."
    )
    default_severity: ClassVar[Severity] = Severity.MEDIUM
    fix_disposition: ClassVar[Disposition | None] = Disposition.SAFE
    fixes_reach: ClassVar[frozenset[str] | None] = PERMISSION_READERS
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
permissions: {}
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
        """Check every job of a workflow that has no top-level ``permissions:``.

        Jobs whose needs are unknown are left to ``gha-missing-permissions``. When every job
        without a block is known, the fix of the one with the riskiest block completes the
        workflow: every remaining job's block plus a top-level ``permissions: {}``. Being the
        riskiest, a fix mode that applies it applies all the others too, so ``{}`` never
        reaches a job that still relies on the defaults; it comes last, so the others are
        applied first, each by its own fix.
        """
        if workflow.kind != "workflow" or "permissions" in workflow.data:
            return
        undeclared = list(undeclared_jobs(workflow))
        assessed = [(job, job_needs(job)) for job in undeclared]
        known = [(job, needs) for job, needs in assessed if needs.known]
        completer: tuple[Job, Needs] | None = None
        if known and len(known) == len(assessed) and not any(_marked(job) for job in undeclared):
            # Unsafe sorts after safe; among equals the last job completes.
            completer = max(
                reversed(known), key=lambda pair: _disposition(pair[1]) is Disposition.UNSAFE
            )
            known = [pair for pair in known if pair is not completer]
        for job, needs in known:
            yield self._detection(job, needs, block_operations(job, needs))
        if completer is not None:
            yield self._completing(*completer, known)

    def _detection(
        self, job: Job, needs: Needs, operations: list[Operation], title: str = ""
    ) -> Detection:
        finding = self.finding(
            job.workflow,
            job.route,
            f"job `{job.id}` has no `permissions:` and neither has the workflow, so it runs "
            f"with the repository's default token permissions; its steps need {describe(needs)}",
        )
        title = title or f"give job {job.id} only {describe(needs)}"
        fix = self.fix(finding, title, operations, disposition=_disposition(needs))
        return Detection(finding, fix)

    def _completing(self, job: Job, needs: Needs, others: list[tuple[Job, Needs]]) -> Detection:
        """The detection whose fix declares every remaining job and closes the top level.

        Its disposition is the job's own, which is the riskiest of all (see the caller), so a
        fix mode never applies it while it leaves another job with the defaults.
        """
        operations: list[Operation] = []
        for other, other_needs in others:
            operations += block_operations(other, other_needs)
        operations += block_operations(job, needs)
        operations.append(Add(route=(), key="permissions", value={}, before="jobs"))
        title = f"give job {job.id} only {describe(needs)}"
        if others:
            title = "give every job without a block its own"
        return self._detection(job, needs, operations, title + "; the workflow `permissions: {}`")
