"""``gha-insecure-commands``: ``ACTIONS_ALLOW_UNSECURE_COMMANDS`` re-enables ``set-env``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from bot.detectors.interface import Detection, WorkflowRule
from bot.models import Confidence, Severity
from bot.risk import Disposition
from bot.workflow.matrix import dotted, matrix_key, matrix_values
from bot.workflow.model import Job, Step, Workflow
from bot.yamledit.document import Route
from bot.yamledit.ops import Remove

VARIABLE = "ACTIONS_ALLOW_UNSECURE_COMMANDS"


def _truthiness(value: Any) -> bool | None:
    """Whether the runner enables the commands for this value; None when an expression
    decides at run time.

    The runner reads the variable with .NET's ``bool.TryParse``: only ``true`` (any case,
    surrounding white space allowed) enables them; ``yes``, ``on`` and ``1`` do not. YAML's
    ``true`` reaches the runner as the string ``true``.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        if "${{" in value:
            return None
        return value.strip().lower() == "true"
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
        "(move them to `$GITHUB_ENV` / `$GITHUB_PATH`).\n\n"
        "Only the value `true` (any case, surrounding spaces allowed) turns the commands on: the "
        "runner parses the variable with .NET's `bool.TryParse`, so `yes`, `on` and `1` are "
        "not reported. Workflow, job, container and step `env:` are checked, and the steps of "
        "composite actions. An `env:` that is exactly `${{ matrix.<key> }}` is checked "
        "against every mapping the job's matrix writes out for that key; the fix removes the "
        "variable from the matrix entry.\n\n"
        "Compared with zizmor's `insecure-commands`: zizmor's auditor persona also reports "
        "every step whose whole `env:` is an expression (`env: ${{ fromJSON(…) }}`); mendbot "
        "reports such an `env:` only when it is a matrix value it can read and that value "
        "enables the commands."
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
        """Check workflow-level ``env:``, then every job (and a composite action's steps)."""
        yield from self._check(workflow, ("env",), workflow.env)
        yield from super().visit_workflow(workflow)

    def visit_job(self, job: Job) -> Iterator[Detection]:
        """Check job-level ``env:``, the container's ``env:`` and every step's ``env:``."""
        yield from self._check(job.workflow, (*job.route, "env"), job.env)
        yield from self._check_matrix(job, (*job.route, "env"), job.data.get("env"))
        container = job.data.get("container")
        if isinstance(container, dict) and isinstance(container.get("env"), dict):
            yield from self._check(job.workflow, (*job.route, "container", "env"), container["env"])
        for step in job.steps:
            yield from self.visit_step(step)

    def visit_step(self, step: Step) -> Iterator[Detection]:
        """Check the step's ``env:`` (a workflow step or a composite action's step)."""
        yield from self._check(step.workflow, (*step.route, "env"), step.env)
        yield from self._check_matrix(step.job, (*step.route, "env"), step.data.get("env"))

    def _check(
        self,
        workflow: Workflow,
        env_route: Route,
        env: dict[str, Any],
        *,
        report_at: Route | None = None,
        via: str = "",
        origin: str = "",
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
        if via:
            message += f" ({via})"
        if truthy is None:
            message += " (its value is an expression that may be true at run time)"
        finding = self.finding(
            workflow,
            report_at or route,
            message,
            evidence=f"{VARIABLE}: {value}" + (f" ({origin})" if origin else ""),
            confidence=confidence,
        )
        yield Detection(finding, self.fix(finding, f"remove {VARIABLE}", [Remove(route=route)]))

    def _check_matrix(self, job: Job, env_route: Route, env: Any) -> Iterator[Detection]:
        """``env: ${{ matrix.<key> }}``: check each mapping the matrix writes out for that key.

        The finding points at the ``env:`` that expands it; the fix removes the variable from
        the matrix entry. An ``env:`` computed any other way is not reported (its value is
        unknowable here).
        """
        key = matrix_key(env)
        if key is None or job.workflow.kind != "workflow":
            return
        for entry in matrix_values(job, key) or []:
            if isinstance(entry.value, dict):
                line = job.workflow.location((*entry.route, VARIABLE)).line
                yield from self._check(
                    job.workflow,
                    entry.route,
                    entry.value,
                    report_at=env_route,
                    via=f"through `matrix.{key}`, set on line {line}",
                    origin=dotted(entry.route[len(job.route) :]),
                )
