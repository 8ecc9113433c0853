"""``gha-self-repository``: ``uses: ./…`` where GitHub's self-repository syntax ``$/…`` names
the workflow's own commit (an auditor's rule, off by default)."""

from __future__ import annotations

import posixpath
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

IN_ACTION = (
    "in a composite action `./` is the workspace of whichever job uses the action, so the "
    "commit `$/` should name depends on its callers: rewrite it by hand"
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
        "swapped by the workspace. The fix rewrites `./` to `$/` in a workflow step's `uses:`. "
        "**Unsafe**: a job that checks out another ref on purpose to run that ref's action "
        "(or builds the action before using it) changes, and the host must support `$/`. "
        "Reported without a fix: a path that climbs out of the repository "
        "(`./../action/init`, an action a step moved beside the workspace), which `$/` cannot "
        "name, and a step of a composite action, where `./` is the workspace of whichever job "
        "uses the action. Not reported: a reusable-workflow call `jobs.<id>.uses: "
        "./.github/workflows/x.yml`, which GitHub already reads from the caller's own commit, "
        "never from the workspace.\n\n"
        "**Off by default** (a hardening step, not a flaw; the dangerous case, a privileged "
        "job running code it checked out from a pull request, is `gha-dangerous-triggers`'): "
        "turn it on with `rules.gha-self-repository.enabled: true` or `--rule "
        "gha-self-repository`. Measured on the real-world corpus (`tests/corpus/real`), most "
        "`./` uses are test workflows exercising the action of the very commit under test "
        "(`github/codeql-action`, `actions/checkout`), where `./` and `$/` run the same code, "
        "and more than half climb out of the repository, where zizmor's `$/../…` rewrite "
        "names nothing.\n\n"
        "Compared with zizmor's `self-repository`: zizmor reports every `./` by default "
        "(low severity), reusable-workflow calls and paths out of the repository included, "
        "and its 1.32 release proposes the rewrite everywhere as an unsafe fix (`$/../action/"
        "init` for `./../action/init`)."
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
        """Check every step's ``uses:`` (a reusable-workflow call's ``./`` already names the
        caller's commit)."""
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
        if workflow.kind == "action":
            yield Detection(finding, None, IN_ACTION)
            return
        if posixpath.normpath(text[2:] or ".").split("/", 1)[0] == "..":
            yield Detection(
                finding,
                None,
                f"`{text}` leaves the repository (a step put the action beside the workspace), "
                "and `$/` names only paths inside the workflow's commit: fix by hand",
            )
            return
        fix = self.fix(
            finding,
            "read the local action from the workflow's own commit: " + FIX_REASON,
            [Replace(route=route, value="$" + text[1:])],
        )
        yield Detection(finding, fix)
