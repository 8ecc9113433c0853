"""``gha-dependabot-actions``: Dependabot does not keep the actions themselves up to date."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from bot import outside_reads
from bot.detectors.interface import Detection, WorkflowRule
from bot.models import Severity
from bot.risk import Disposition
from bot.workflow.dependabot import dependabot_updates
from bot.workflow.model import Workflow
from bot.yamledit.ops import Append


class DependabotActions(WorkflowRule):
    """Make Dependabot update the pinned actions too."""

    id: ClassVar[str] = "gha-dependabot-actions"
    title: ClassVar[str] = "Dependabot does not update GitHub Actions"
    description: ClassVar[str] = (
        "Pinning actions to commit SHAs (`gha-unpinned-uses`) is only safe if something keeps "
        "the pins current; otherwise fixed vulnerabilities stay pinned forever. The fix "
        "appends a `github-actions` entry (weekly, with a 7-day cooldown) to `updates`. It is "
        "proposed only when the repository has workflows. **Safe**: it only enables proposals."
    )
    default_severity: ClassVar[Severity] = Severity.LOW
    fix_disposition: ClassVar[Disposition | None] = Disposition.SAFE
    example_before: ClassVar[str] = """\
version: 2
updates:
  - package-ecosystem: npm
    directory: /
    schedule:
      interval: weekly
"""
    example_after: ClassVar[str] = """\
version: 2
updates:
  - package-ecosystem: npm
    directory: /
    schedule:
      interval: weekly
  - package-ecosystem: github-actions
    directory: /
    schedule:
      interval: weekly
    cooldown:
      default-days: 7
"""

    def visit_workflow(self, workflow: Workflow) -> Iterator[Detection]:
        """Check that some ``updates`` entry covers ``github-actions``."""
        if workflow.kind != "dependabot":
            return
        root = workflow.root
        in_repository = root is not None and workflow.path.startswith(".github/")
        if root is not None and in_repository:
            outside_reads.note(outside_reads.WORKFLOW_FOLDER, str(root))
        if root is not None and in_repository and not (root / ".github" / "workflows").is_dir():
            return
        entries = dependabot_updates(workflow)
        if any(e.get("package-ecosystem") == "github-actions" for _, e in entries):
            return
        finding = self.finding(
            workflow,
            ("updates",),
            "no `updates` entry has package-ecosystem: github-actions; pinned actions will "
            "never be updated",
        )
        entry = {
            "package-ecosystem": "github-actions",
            "directory": "/",
            "schedule": {"interval": "weekly"},
            "cooldown": {"default-days": 7},
        }
        patch = Append(route=("updates",), value=entry)
        yield Detection(finding, self.fix(finding, "add a github-actions updates entry", [patch]))
