"""``gha-concurrency-limits``: runs of a workflow pile up instead of replacing each other."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from bot.detectors.interface import Detection, WorkflowRule
from bot.models import Severity
from bot.workflow.model import Workflow

NO_FIX = (
    "cancelling runs in progress changes what the workflow does (a deployment or a release "
    "must not be cut off halfway): only a person can choose the group and whether to cancel"
)


class ConcurrencyLimits(WorkflowRule):
    """Report workflows that limit neither their own nor their jobs' concurrency."""

    id: ClassVar[str] = "gha-concurrency-limits"
    title: ClassVar[str] = "no concurrency limit"
    description: ClassVar[str] = (
        "Without `concurrency:`, every push or pull-request update starts another run while "
        "the previous ones continue: runner time is wasted, and a slow old run can finish "
        "after a newer one (publishing stale results). A `concurrency` group with "
        "`cancel-in-progress: true` keeps one run per group. Reported: a workflow with a "
        "bare `concurrency: <group>` (no `cancel-in-progress`), and, in a workflow without "
        "`concurrency`, each job with a bare one or none. A `concurrency` mapping is a "
        "decision (`cancel-in-progress: false` queues runs on purpose) and is not reported; "
        "nor is a workflow only other workflows call (`on: workflow_call`: the caller's "
        "concurrency applies). **Off by default** (it costs time more than it risks "
        "security); turn it on with `rules.gha-concurrency-limits.enabled: true` or run it "
        "with `--rule`. Report only: cancelling runs changes what a workflow does.\n\n"
        "Compared with zizmor's `concurrency-limits` (pedantic persona, hence off by default "
        "here too): the same workflows and jobs; zizmor reports a workflow missing "
        "concurrency once per job, mendbot once, naming the jobs."
    )
    default_severity: ClassVar[Severity] = Severity.LOW
    enabled_by_default: ClassVar[bool] = False
    example_before: ClassVar[str] = """\
on: pull_request
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: make test
"""
    example_after: ClassVar[str] = example_before

    def visit_workflow(self, workflow: Workflow) -> Iterator[Detection]:
        """Check the workflow's ``concurrency`` and, without one, its jobs'."""
        if workflow.kind != "workflow" or workflow.triggers == frozenset({"workflow_call"}):
            return
        written = workflow.data.get("concurrency")
        if isinstance(written, str):
            message = (
                f"`concurrency: {written}` queues runs without `cancel-in-progress`; older runs "
                "keep going"
            )
            finding = self.finding(workflow, ("concurrency",), message, evidence=written)
            yield Detection(finding, None, NO_FIX)
            return
        if written is not None:
            return
        unlimited: list[str] = []
        for job in workflow.jobs:
            if "uses" in job.data:
                continue  # the called workflow's own concurrency applies
            value = job.data.get("concurrency")
            if isinstance(value, str):
                message = (
                    f"job `{job.id}` has `concurrency: {value}` without `cancel-in-progress`; "
                    "older runs keep going"
                )
                route = (*job.route, "concurrency")
                finding = self.finding(workflow, route, message, evidence=job.id)
                yield Detection(finding, None, NO_FIX)
            elif value is None:
                unlimited.append(job.id)
        if unlimited:
            jobs = ", ".join(f"`{name}`" for name in unlimited)
            message = (
                f"neither the workflow nor its job(s) {jobs} set `concurrency`: every trigger "
                "starts another run while older ones continue"
            )
            finding = self.finding(workflow, (), message, evidence="workflow")
            yield Detection(finding, None, NO_FIX)
