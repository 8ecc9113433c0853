"""``gha-misfeature``: features of GitHub Actions that work against reviewable workflows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from bot.detectors.interface import Detection, WorkflowRule
from bot.models import Severity
from bot.workflow.model import Step, Workflow
from bot.yamledit.document import Route

_CMD = frozenset({"cmd", "cmd.exe"})
_NO_FIX_CMD = (
    "the script is written for cmd: rewriting it for pwsh or bash changes its syntax, so only "
    "a person can do it"
)
_NO_FIX_PIP = (
    "the packages must move to a virtual environment (or a requirements file the project "
    "installs), which only a person can set up"
)


def shell_route(step: Step) -> Route | None:
    """Where the step's effective ``shell`` is written: the step, its job's ``defaults`` or
    the workflow's (None when it is not written)."""
    if isinstance(step.data.get("shell"), str):
        return (*step.route, "shell")
    for data, base in ((step.job.data, step.job.route), (step.workflow.data, ())):
        defaults = data.get("defaults")
        run = defaults.get("run") if isinstance(defaults, dict) else None
        if isinstance(run, dict) and isinstance(run.get("shell"), str):
            return (*base, "defaults", "run", "shell")
    return None


class Misfeature(WorkflowRule):
    """Report ``shell: cmd`` and ``actions/setup-python``'s ``pip-install`` input."""

    id: ClassVar[str] = "gha-misfeature"
    title: ClassVar[str] = "GitHub Actions misfeature"
    description: ClassVar[str] = (
        "Some features work but defeat review and analysis. `shell: cmd` runs scripts in "
        "Windows' CMD, which has no grammar a tool (or most reviewers) can follow, several "
        "line-continuation mechanisms and quoting rules unlike any other shell: injections "
        "and downloads hide in it, and mendbot's own shell-aware rules cannot read it (it "
        "has not been the Windows default since 2019; use `pwsh` or `bash`). "
        "`actions/setup-python`'s `pip-install` input installs packages into the runner's "
        "global Python, outside any lockfile or virtual environment, differently on each "
        "runner image. Each place `shell: cmd` is written (a step, a job's or the workflow's "
        "`defaults.run`) is reported once, when a `run:` step uses it. Report only: the "
        "script or the packages must be moved by a person.\n\n"
        "Compared with zizmor's `misfeature` (regular persona): the same findings; zizmor's "
        "pedantic persona also reports shells other than bash, sh, pwsh, powershell and "
        "python, which mendbot leaves to `gha-template-injection` and friends (they say when "
        "they cannot read a shell)."
    )
    default_severity: ClassVar[Severity] = Severity.LOW
    example_before: ClassVar[str] = """\
on: push
jobs:
  build:
    runs-on: windows-latest
    steps:
      - run: build.bat
        shell: cmd
"""
    example_after: ClassVar[str] = example_before

    def visit_workflow(self, workflow: Workflow) -> Iterator[Detection]:
        """Check every step, reporting each written ``shell: cmd`` once."""
        reported: set[Route] = set()
        steps = [step for job in workflow.jobs for step in job.steps]
        for step in [*steps, *workflow.action_steps]:
            yield from self._pip_install(step)
            if step.run is None or (step.shell or "").strip().lower() not in _CMD:
                continue
            route = shell_route(step)
            if route is None or route in reported:
                continue
            reported.add(route)
            message = (
                f"`{step.name}` runs in Windows' CMD shell, which neither reviewers nor tools "
                "can analyse reliably; use `pwsh` or `bash`"
            )
            finding = self.finding(workflow, route, message, evidence="shell: cmd")
            yield Detection(finding, None, _NO_FIX_CMD)

    def _pip_install(self, step: Step) -> Iterator[Detection]:
        uses = step.uses
        if uses is None or not uses.is_action("actions/setup-python"):
            return
        if "pip-install" not in step.with_:
            return
        route = (*step.route, "with", "pip-install")
        message = (
            "`pip-install` installs packages into the runner's global Python, outside a "
            "lockfile or virtual environment"
        )
        finding = self.finding(
            step.workflow, route, message, evidence=str(step.with_["pip-install"])
        )
        yield Detection(finding, None, _NO_FIX_PIP)
