"""``gha-self-repository``: ``uses: ./…`` where GitHub's self-repository syntax ``$/…`` names
the workflow's own commit (an auditor's rule, off by default)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from bot.detectors.interface import Detection, WorkflowRule
from bot.models import Severity
from bot.risk import Disposition
from bot.workflow.model import Job, Step, Workflow
from bot.yamledit.document import Route
from bot.yamledit.ops import Replace

FIX_REASON = (
    "`$/` reads the action from the workflow's own commit instead of from whatever the job "
    "checked out into the workspace: a job that checks out another ref or repository on "
    "purpose (to test that ref's action) changes, and the GitHub host must support `$/` "
    "(check the version of a GitHub Enterprise Server): review it"
)


class SelfRepository(WorkflowRule):
    """Report local ``uses: ./…`` references; rewrite them to ``$/…``."""

    id: ClassVar[str] = "gha-self-repository"
    title: ClassVar[str] = "local action read from the workspace, not the workflow's commit"
    description: ClassVar[str] = (
        "`uses: ./.github/actions/build` runs the action found in the job's workspace, "
        "which is whatever an earlier step checked out there: in a `pull_request_target` or "
        "`workflow_run` job that checked out a pull request, the attacker's copy of the "
        "action. GitHub's self-repository syntax, `uses: $/.github/actions/build`, reads it "
        "from the commit of the workflow itself, needs no checkout first, and cannot be "
        "swapped by the workspace. The fix rewrites `./` to `$/` in step and reusable-workflow "
        "`uses:`. **Unsafe**: a job that checks out another ref on purpose to run that ref's "
        "action changes, and the host must support `$/`. **Off by default** (a hardening "
        "step, not a flaw; the dangerous case is `gha-dangerous-triggers`'): turn it on with "
        "`rules.gha-self-repository.enabled: true` or `--rule gha-self-repository`.\n\n"
        "Compared with zizmor's `self-repository`: the same `uses:`; zizmor reports them by "
        "default (low severity) and marks its rewrite safe."
    )
    default_severity: ClassVar[Severity] = Severity.LOW
    fix_disposition: ClassVar[Disposition | None] = Disposition.UNSAFE
    enabled_by_default: ClassVar[bool] = False
    example_before: ClassVar[str] = """\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: ./.github/actions/build
"""
    example_after: ClassVar[str] = """\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: $/.github/actions/build
"""

    def visit_job(self, job: Job) -> Iterator[Detection]:
        """Check a reusable-workflow call's ``uses:``, then every step's."""
        if job.uses is not None:
            yield from self._check(job.workflow, (*job.route, "uses"), job.uses.raw)
        for step in job.steps:
            yield from self.visit_step(step)

    def visit_step(self, step: Step) -> Iterator[Detection]:
        """Check a step's ``uses:``."""
        if step.uses is not None:
            yield from self._check(step.workflow, (*step.route, "uses"), step.uses.raw)

    def _check(self, workflow: Workflow, route: Route, raw: str) -> Iterator[Detection]:
        text = raw.strip()
        if not text.startswith("./"):
            return
        finding = self.finding(
            workflow,
            route,
            f"`{text}` runs what the job's workspace holds at that path; `${text[1:]}` runs "
            "it from the workflow's own commit",
            evidence=f"uses: {text}",
        )
        fix = self.fix(
            finding,
            "read the local action from the workflow's own commit: " + FIX_REASON,
            [Replace(route=route, value="$" + text[1:])],
        )
        yield Detection(finding, fix)
