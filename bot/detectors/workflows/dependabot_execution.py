"""``gha-dependabot-execution``: Dependabot may run code from the packages it updates."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from bot.detectors.interface import Detection, WorkflowRule
from bot.models import Severity
from bot.risk import Disposition
from bot.workflow.dependabot import dependabot_updates
from bot.workflow.model import Workflow
from bot.yamledit.ops import Remove

_KEY = "insecure-external-code-execution"


class DependabotExecution(WorkflowRule):
    """Report Dependabot updates that allow external code execution; remove the setting."""

    id: ClassVar[str] = "gha-dependabot-execution"
    title: ClassVar[str] = "Dependabot runs code from the packages it updates"
    description: ClassVar[str] = (
        "`insecure-external-code-execution: allow` lets Dependabot run code from the "
        "manifests it updates (a `setup.py`, a gemspec, a Gradle script) while it resolves "
        "versions, with access to the registry credentials configured for that update. A "
        "malicious or compromised dependency then runs inside Dependabot's job and can steal "
        "those credentials. The fix removes the setting, which restores Dependabot's default "
        "(`deny`). It is **unsafe**: a person wrote `allow`, usually because updates of that "
        "ecosystem failed without it; after the fix those updates may fail again until the "
        "manifests stop executing code (a `pyproject.toml` instead of a `setup.py`).\n\n"
        "Compared with zizmor's `dependabot-execution` (regular persona): the same updates; "
        "zizmor's unsafe fix writes `deny` where mendbot removes the key (the default says the "
        "same without a line to maintain)."
    )
    default_severity: ClassVar[Severity] = Severity.HIGH
    fix_disposition: ClassVar[Disposition | None] = Disposition.UNSAFE
    example_before: ClassVar[str] = """\
version: 2
updates:
  - package-ecosystem: pip
    directory: /
    schedule:
      interval: weekly
    insecure-external-code-execution: allow
"""
    example_after: ClassVar[str] = """\
version: 2
updates:
  - package-ecosystem: pip
    directory: /
    schedule:
      interval: weekly
"""

    def visit_workflow(self, workflow: Workflow) -> Iterator[Detection]:
        """Check every ``updates`` entry of a Dependabot configuration."""
        for index, entry in dependabot_updates(workflow):
            value = entry.get(_KEY)
            if not isinstance(value, str) or value != "allow":
                continue
            ecosystem = entry.get("package-ecosystem", "?")
            route = ("updates", index, _KEY)
            message = (
                f"updates for {ecosystem} let Dependabot run code from the packages it "
                "updates, with the registry credentials of the update"
            )
            finding = self.finding(workflow, route, message, evidence=str(ecosystem))
            title = (
                f"remove `{_KEY}: allow` from the {ecosystem} updates (Dependabot's default is "
                "`deny`); check that those updates still succeed"
            )
            yield Detection(finding, self.fix(finding, title, [Remove(route=route)]))
