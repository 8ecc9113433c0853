"""``gha-anonymous-definition``: a workflow or job without a ``name:``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from bot.detectors.interface import Detection, WorkflowRule
from bot.models import Severity
from bot.workflow.model import Workflow

NO_FIX = (
    "a name is shown in the Actions tab and becomes the check's name: branch protection rules "
    "and `workflow_run` triggers may rely on the current one, so only a person can choose it"
)


class AnonymousDefinition(WorkflowRule):
    """Report workflows and jobs (not reusable-workflow calls) without a ``name:``."""

    id: ClassVar[str] = "gha-anonymous-definition"
    title: ClassVar[str] = "workflow or job without a name"
    description: ClassVar[str] = (
        "A workflow without `name:` is listed under its file path and a job without one under "
        "its id: harder to find in the Actions tab and in audit logs when something went "
        "wrong. Jobs that call a reusable workflow (`uses:`) are not reported. **Off by "
        "default** (a matter of style more than risk); turn it on with "
        "`rules.gha-anonymous-definition.enabled: true` or run it with `--rule`. Report "
        "only: a name becomes the check's name, which branch protection rules and "
        "`workflow_run` triggers may match.\n\n"
        "Compared with zizmor's `anonymous-definition` (pedantic persona, hence off by default "
        "here too): the same workflows and jobs."
    )
    default_severity: ClassVar[Severity] = Severity.INFO
    enabled_by_default: ClassVar[bool] = False
    example_before: ClassVar[str] = """\
on: push
jobs:
  test:
    name: Tests
    runs-on: ubuntu-latest
    steps:
      - run: make test
"""
    example_after: ClassVar[str] = example_before

    def visit_workflow(self, workflow: Workflow) -> Iterator[Detection]:
        """Check the workflow's name and each job's."""
        if workflow.kind != "workflow":
            return
        if not _named(workflow.data.get("name")):
            message = f"the workflow has no `name:`; the Actions tab lists it as {workflow.path}"
            finding = self.finding(
                workflow, (), message, evidence="workflow", severity=Severity.LOW
            )
            yield Detection(finding, None, NO_FIX)
        for job in workflow.jobs:
            if "uses" in job.data or _named(job.data.get("name")):
                continue
            message = f"job `{job.id}` has no `name:`; it is shown by its id"
            finding = self.finding(workflow, job.route, message, evidence=job.id)
            yield Detection(finding, None, NO_FIX)


def _named(value: object) -> bool:
    return isinstance(value, str) and value.strip() != ""
