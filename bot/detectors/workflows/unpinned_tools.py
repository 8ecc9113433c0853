"""``gha-unpinned-tools``: a setup action installs the newest release of a tool."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from bot.detectors.interface import Detection, WorkflowRule
from bot.knowledge.tool_installers import TOOL_INSTALLERS, ToolInstaller, tool_installer
from bot.models import Confidence, Severity
from bot.risk import Disposition
from bot.workflow import expression_tree as expr
from bot.workflow.model import Step
from bot.yamledit.ops import MergeInto


def never_runs(step: Step) -> bool:
    """Whether the step's ``if:`` is false whatever the run (``if: false``, ``${{ false }}``)."""
    condition = step.data.get("if")
    if condition is False:
        return True
    if not isinstance(condition, str):
        return False
    parsed = expr.parse_condition(condition)
    if parsed is None:
        return False
    value = expr.evaluate(parsed[0], {})
    return not isinstance(value, expr.Unknown) and not expr.truthy(value)


class UnpinnedTools(WorkflowRule):
    """Report setup actions left to install the newest release of their tool; pin the release
    mendbot knows of where the workflow names none."""

    id: ClassVar[str] = "gha-unpinned-tools"
    title: ClassVar[str] = "setup action installs an unpinned tool"
    description: ClassVar[str] = (
        "Some setup actions download a tool and, unless told otherwise, install its newest "
        "release: pinning the action by SHA does not pin what it installs, so a compromised "
        "or broken release of the tool reaches the workflow the day it is published. mendbot "
        "knows these actions and the input that selects the version (the list, with sources, "
        "is `bot/knowledge/tool_installers.py`): "
        + ", ".join(f"`{entry.action}` (`{entry.input}`)" for entry in TOOL_INSTALLERS)
        + ". A step is reported when that input is absent (the default is the newest "
        "release), when it is written as the newest release (`latest`, `*`), and, with low "
        "confidence, when it is an expression mendbot cannot evaluate. A step whose `if:` is "
        "statically false never runs and is not reported.\n\n"
        "The fix adds the version input with the release the knowledge base records for the "
        "tool (for Trivy; the other tools have no recorded release and are reported). It is "
        "**unsafe**: the recorded release is the newest mendbot knew of on a past date, so "
        "the job may install an older tool than it does today, and from then on nobody "
        "updates it unless a person (or Renovate's regex managers) does. A version a person "
        "wrote (`version: latest`) is their decision: reported, never changed.\n\n"
        "Compared with zizmor's `unpinned-tools` (regular persona): the same actions, "
        "inputs and confidence; zizmor has no fix."
    )
    default_severity: ClassVar[Severity] = Severity.MEDIUM
    fix_disposition: ClassVar[Disposition | None] = Disposition.UNSAFE
    example_before: ClassVar[str] = """\
on: push
jobs:
  scan:
    runs-on: ubuntu-latest
    steps:
      - uses: aquasecurity/setup-trivy@v0.2.6
      - run: trivy fs .
"""
    example_after: ClassVar[str] = """\
on: push
jobs:
  scan:
    runs-on: ubuntu-latest
    steps:
      - uses: aquasecurity/setup-trivy@v0.2.6
        with:
          version: v0.67.2
      - run: trivy fs .
"""

    def visit_step(self, step: Step) -> Iterator[Detection]:
        """Check one step that uses a known setup action."""
        uses = step.uses
        if uses is None or uses.subpath or not uses.owner:
            return
        installer = tool_installer(f"{uses.owner}/{uses.repo}".lower())
        if installer is None or never_runs(step):
            return
        inputs = step.with_
        if installer.input not in inputs or inputs[installer.input] is None:
            yield self._implicit(step, installer)
            return
        value = str(inputs[installer.input]).strip()
        route = (*step.route, "with", installer.input)
        if value in installer.unpinned:
            message = (
                f"`{installer.input}: {value}` installs the newest release of {installer.tool} "
                "every run"
            )
            finding = self.finding(step.workflow, route, message, evidence=uses.raw)
            reason = (
                f"`{installer.input}: {value}` is written explicitly: a person chose the newest "
                "release, so mendbot reports it and never changes it"
            )
            yield Detection(finding, None, reason)
        elif "${{" in value:
            message = (
                f"`{installer.input}` is an expression: {installer.tool} may be installed at "
                "its newest release"
            )
            finding = self.finding(
                step.workflow, route, message, evidence=value, confidence=Confidence.LOW
            )
            yield Detection(finding, None, "the version depends on a value known only at run time")

    def _implicit(self, step: Step, installer: ToolInstaller) -> Detection:
        """The step leaves the version input out, so its default (the newest release) applies."""
        message = (
            f"without `{installer.input}`, this installs the newest release of {installer.tool} "
            "every run"
        )
        uses_raw = step.uses.raw if step.uses is not None else ""
        finding = self.finding(step.workflow, (*step.route, "uses"), message, evidence=uses_raw)
        release = installer.release
        if release is None:
            reason = f"mendbot records no release of {installer.tool}: choose one and pin it"
            return Detection(finding, None, reason)
        title = (
            f"pin {installer.tool} to {release.version}, the newest release mendbot knew of on "
            f"{release.as_of} ({release.source}); check for a newer one before merging"
        )
        pin = MergeInto(route=step.route, key="with", value={installer.input: release.version})
        return Detection(finding, self.fix(finding, title, [pin]))
