"""``gha-insecure-commands``: ``ACTIONS_ALLOW_UNSECURE_COMMANDS`` re-enables ``set-env``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from bot.detectors.interface import Detection, WorkflowRule
from bot.detectors.workflows.model import Job, Workflow
from bot.models import Confidence, Disposition, Severity
from bot.yamledit import Remove, Route

VARIABLE = "ACTIONS_ALLOW_UNSECURE_COMMANDS"
_TRUTHY = {"true", "1", "yes", "on"}


def _truthiness(value: Any) -> bool | None:
    """True/False for literal values; None when an expression decides at run time."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str):
        if "${{" in value:
            return None
        return value.strip().lower() in _TRUTHY
    return False


class InsecureCommands(WorkflowRule):
    """Report ``ACTIONS_ALLOW_UNSECURE_COMMANDS`` set to a true value, at any level."""

    id: ClassVar[str] = "gha-insecure-commands"
    title: ClassVar[str] = "insecure workflow commands are enabled"
    description: ClassVar[str] = (
        "`ACTIONS_ALLOW_UNSECURE_COMMANDS` turns the deprecated `::set-env` and `::add-path` "
        "workflow commands back on. Any step that prints attacker-influenced text (a branch "
        "name, an issue title, a log line) can then set environment variables such as "
        "`LD_PRELOAD` or `NODE_OPTIONS` for every later step: code execution. The fix removes "
        "the variable; it is **unsafe** because steps that still print `::set-env` stop working "
        "(move them to `$GITHUB_ENV` / `$GITHUB_PATH`)."
    )
    default_severity: ClassVar[Severity] = Severity.HIGH
    fix_disposition: ClassVar[Disposition | None] = Disposition.UNSAFE
    example_before: ClassVar[str] = """\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    env:
      ACTIONS_ALLOW_UNSECURE_COMMANDS: true  # legacy set-env
      NODE_ENV: production
    steps:
      - run: make
"""
    example_after: ClassVar[str] = """\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    env:
      NODE_ENV: production
    steps:
      - run: make
"""

    def visit_workflow(self, workflow: Workflow) -> Iterator[Detection]:
        """Check workflow-level ``env:``, then every job."""
        yield from self._check(workflow, ("env",), workflow.env)
        yield from super().visit_workflow(workflow)

    def visit_job(self, job: Job) -> Iterator[Detection]:
        """Check job-level ``env:``, the container's ``env:`` and every step's ``env:``."""
        yield from self._check(job.workflow, (*job.route, "env"), job.env)
        container = job.data.get("container")
        if isinstance(container, dict) and isinstance(container.get("env"), dict):
            yield from self._check(job.workflow, (*job.route, "container", "env"), container["env"])
        for step in job.steps:
            yield from self._check(job.workflow, (*step.route, "env"), step.env)

    def _check(
        self, workflow: Workflow, env_route: Route, env: dict[str, Any]
    ) -> Iterator[Detection]:
        if VARIABLE not in env:
            return
        value = env[VARIABLE]
        truthy = _truthiness(value)
        if truthy is False:
            return
        route = (*env_route, VARIABLE)
        confidence = Confidence.HIGH if truthy else Confidence.MEDIUM
        message = (
            f"{VARIABLE} re-enables the `set-env` and `add-path` workflow commands, letting any "
            "printed output inject environment variables into later steps"
        )
        if truthy is None:
            message += " (its value is an expression that may be true at run time)"
        finding = self.finding(
            workflow, route, message, evidence=f"{VARIABLE}: {value}", confidence=confidence
        )
        yield Detection(finding, self.fix(finding, f"remove {VARIABLE}", [Remove(route=route)]))
