"""``gha-unsafe-checkout``: pull-request code checked out where ``gha-dangerous-triggers`` does
not look (reusable workflows, composite actions), and ``actions/checkout``'s refusal of fork
pull requests switched off (``allow-unsafe-pr-checkout``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from bot.detectors.interface import Detection, WorkflowRule
from bot.detectors.workflows.dangerous_triggers import (
    CHECKOUT_PRIVILEGED,
    NO_FIX,
    UntrustedCheckout,
    executes,
    job_gate,
    untrusted_checkout,
)
from bot.models import Confidence, Severity
from bot.workflow.model import Step, Workflow
from bot.workflow.run_starters import calling_jobs, calling_steps

OPT_OUT = "allow-unsafe-pr-checkout"

_OPT_OUT_NO_FIX = (
    "removing the opt-out changes what the workflow does (the checkout then fails for fork "
    "pull requests): run the pull request's code under `pull_request` instead, or keep the "
    "opt-out and suppress the line once a person has decided the job never runs that code"
)


def _opted_out(step: Step) -> bool:
    """Whether an ``actions/checkout`` step sets ``allow-unsafe-pr-checkout`` to true or to an
    expression (which may be true)."""
    uses = step.uses
    if uses is None or not uses.is_action("actions/checkout"):
        return False
    value = step.with_.get(OPT_OUT)
    if value is True:
        return True
    return isinstance(value, str) and (value.strip().lower() == "true" or "${{" in value)


def _runner(step: Step, *, same_step: bool) -> str | None:
    """How a step after ``step`` (or ``step`` itself, for a ``run:`` checkout) runs the code
    it checked out, or None."""
    if same_step and (same := executes(step)) is not None:
        return f"then {same} in the same step"
    return next(
        (f"`{later.name}` {how}" for later in step.later_steps() if (how := executes(later))),
        None,
    )


#: How far up the chain of callers mendbot looks for a privileged trigger.
_MAX_CALLERS = 50


def _reach(workflow: Workflow) -> tuple[Severity, Confidence, str] | None:
    """Who can start the reusable workflow or composite action ``workflow`` with a pull
    request's event and privileges: a workflow of the repository that a privileged trigger
    starts and that calls it, directly or through other callers (high); callers mendbot
    cannot see (medium, low confidence); or only callers without a privileged trigger
    (None). Workflows other than reusable ones are started by their own triggers: None."""
    if workflow.kind == "workflow" and "workflow_call" not in workflow.triggers:
        return None
    unseen = False
    visited: set[str] = set()
    pending = [workflow]
    while pending and len(visited) < _MAX_CALLERS:
        current = pending.pop()
        if current.path in visited:
            continue
        visited.add(current.path)
        if current.kind == "action":
            callers = [step.workflow for step in calling_steps(current)]
        else:
            events = sorted(set(CHECKOUT_PRIVILEGED) & current.triggers)
            if events and current is not workflow:
                return (
                    Severity.HIGH,
                    Confidence.HIGH,
                    f"`{current.path}` runs it on `{events[0]}`, with this repository's secrets "
                    "and a write token",
                )
            calls = "workflow_call" in current.triggers
            callers = [job.workflow for job in calling_jobs(current)] if calls else []
            if not calls:
                continue
        unseen = unseen or not callers
        pending.extend(callers)
    if not unseen and not pending:
        return None
    return (
        Severity.MEDIUM,
        Confidence.LOW,
        "callers mendbot cannot see run it with their own trigger (under "
        "`pull_request_target` or `workflow_run`, with their secrets and a write token)",
    )


class UnsafeCheckout(WorkflowRule):
    """Report pull-request checkouts in reusable workflows and composite actions, and
    checkouts that switch off ``actions/checkout``'s refusal of fork pull requests."""

    id: ClassVar[str] = "gha-unsafe-checkout"
    title: ClassVar[str] = "pull-request code checked out where it gets privileges"
    description: ClassVar[str] = (
        "`gha-dangerous-triggers` reports a workflow started by `pull_request_target`, "
        "`workflow_run` or `issue_comment` that checks out a pull request's code and runs "
        "it. This rule reports the same hazard where that rule does not look:\n\n"
        "- **a reusable workflow (`on: workflow_call`) or a composite action** that checks "
        "out the pull request (`ref: ${{ github.event.pull_request.head.sha }}`, "
        "`github.head_ref`, `refs/pull/…`, `git fetch … pull/…`, `gh pr checkout`) and then "
        "builds, tests, installs or runs a script or a local action from it. It runs with "
        "the event and the privileges of its caller: high severity when a workflow of the "
        "repository that an outsider's event starts calls it (directly, through other "
        "reusable workflows, or through the steps that use the action), medium with low "
        "confidence when mendbot cannot see the callers (another repository's, or none in "
        "this one), and nothing when every caller runs only for writers or for the pull "
        "request's own author (`pull_request`);\n"
        "- **`allow-unsafe-pr-checkout`** set to `true` (or an expression) on "
        "`actions/checkout`: since July 2026 the action refuses to check out a fork's pull "
        "request in `pull_request_target` and `workflow_run` runs, and this input switches "
        "the refusal off. A workflow or action that a privileged event can reach is reported "
        "(high when a later step runs code, medium otherwise: the opt-out says the checkout "
        "is a pull request's even when mendbot cannot trace its `ref:`). A checkout that "
        "`gha-dangerous-triggers` or the first case already reports is not reported twice, "
        "and neither is the opt-out in a workflow no privileged event starts.\n\n"
        "Report only: the fix is a redesign (run the untrusted part under `pull_request`, "
        "pass results as artifacts), and the opt-out is a person's decision.\n\n"
        "Compared with zizmor's `unsafe-checkout`: an audit of zizmor 1.33, proposed in "
        "zizmor's issue #2134 to flag `allow-unsafe-pr-checkout: true` and checkouts done "
        "by hand with `git` or `gh pr checkout`. It is not in the zizmor 1.32 the benchmark "
        "pins, so the two are not compared on findings. mendbot splits the work with "
        "`gha-dangerous-triggers` (which reports the checkouts by hand), follows reusable "
        "workflows and composite actions to the triggers of their callers, and does not "
        "report the opt-out where no privileged event can start the workflow."
    )
    default_severity: ClassVar[Severity] = Severity.HIGH
    example_before: ClassVar[str] = """\
on: workflow_call
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
      - run: make test
"""
    example_after: ClassVar[str] = example_before

    def visit_workflow(self, workflow: Workflow) -> Iterator[Detection]:
        """Check the steps of every job, or of a composite action."""
        privileged = workflow.kind == "workflow" and bool(
            set(CHECKOUT_PRIVILEGED) & workflow.triggers
        )
        reach = None if privileged else _reach(workflow)
        steps = [step for job in workflow.jobs for step in job.steps] or workflow.action_steps
        for step in steps:
            checkout = untrusted_checkout(step)
            if checkout is not None and privileged:
                continue  # gha-dangerous-triggers reports it
            if checkout is not None and reach is not None:
                runner = _runner(step, same_step=checkout.runs_in_same_step)
                if runner is not None:
                    yield self._callee_checkout(step, checkout, runner, reach)
                    continue
            if _opted_out(step) and privileged:
                events = sorted(set(CHECKOUT_PRIVILEGED) & workflow.triggers)
                who = "`" + "`, `".join(events) + "` starts this workflow with its secrets"
                yield self._opt_out(step, Confidence.MEDIUM, who)
            elif _opted_out(step) and reach is not None:
                yield self._opt_out(step, reach[1], reach[2])

    def _callee_checkout(
        self,
        step: Step,
        checkout: UntrustedCheckout,
        runner: str,
        reach: tuple[Severity, Confidence, str],
    ) -> Detection:
        severity, confidence, who = reach
        gated, gate = job_gate(step.job) if step.workflow.kind == "workflow" else (confidence, "")
        kind = "reusable workflow" if step.workflow.kind == "workflow" else "composite action"
        message = (
            f"this {kind} checks out pull-request code (`{checkout.evidence}`) and {runner}; "
            f"{who}: anyone who opens a pull request can run code with them{gate}"
        )
        finding = self.finding(
            step.workflow,
            checkout.route,
            message,
            evidence=checkout.evidence,
            confidence=min(confidence, gated, key=list(Confidence).index),
            severity=severity,
        )
        return Detection(finding, None, NO_FIX)

    def _opt_out(self, step: Step, confidence: Confidence, who: str) -> Detection:
        runner = _runner(step, same_step=False)
        raw = step.with_.get(OPT_OUT)
        value = str(raw).lower() if isinstance(raw, bool) else str(raw)
        message = (
            f"`{OPT_OUT}: {value}` switches off actions/checkout's refusal to check out a "
            f"fork's pull request in `pull_request_target` and `workflow_run` runs; {who}"
            + (f"; after it, {runner}" if runner else "")
        )
        finding = self.finding(
            step.workflow,
            (*step.route, "with", OPT_OUT),
            message,
            evidence=f"{OPT_OUT}: {value}",
            confidence=confidence,
            severity=Severity.HIGH if runner else Severity.MEDIUM,
        )
        return Detection(finding, None, _OPT_OUT_NO_FIX)
