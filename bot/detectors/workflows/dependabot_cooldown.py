"""``gha-dependabot-cooldown``: Dependabot updates proposed the day a release appears."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from bot.detectors.interface import Detection, WorkflowRule
from bot.models import Severity
from bot.risk import Disposition
from bot.workflow.dependabot import dependabot_updates
from bot.workflow.model import Workflow
from bot.yamledit.document import Route
from bot.yamledit.ops import MergeInto


class CooldownOptions(BaseModel):
    """``rules.gha-dependabot-cooldown.options``."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    days: int = Field(default=7, ge=1, le=90)
    """The minimum ``cooldown.default-days`` to require and to write."""


#: Update types that may have their own cooldown (``semver-<type>-days``).
_SEMVER = ("major", "minor", "patch")


_COOLDOWN_KEYS = ("default-days", *(f"semver-{kind}-days" for kind in _SEMVER))


class DependabotCooldown(WorkflowRule):
    """Require a cooldown before Dependabot proposes a freshly published release."""

    id: ClassVar[str] = "gha-dependabot-cooldown"
    title: ClassVar[str] = "Dependabot updates without a cooldown"
    description: ClassVar[str] = (
        "Without `cooldown`, Dependabot proposes a release minutes after it is published: "
        "exactly the window in which compromised packages are caught and yanked. A cooldown "
        "of a week lets the ecosystem notice first. The fix adds `cooldown: default-days: 7` "
        "to each `updates` entry that has none; set `options.days` to choose another "
        "minimum. **Safe**: only when updates are proposed changes. `semver-major-days`, "
        "`semver-minor-days` and `semver-patch-days` count: an entry that sets all three to "
        "at least the minimum needs no `default-days`; when some are missing the fix adds "
        "`default-days` for the update types they leave without a cooldown. A cooldown "
        "written shorter than the minimum (`default-days` or `semver-*-days`) is reported, "
        "never changed: a person chose it for those updates."
    )
    default_severity: ClassVar[Severity] = Severity.LOW
    fix_disposition: ClassVar[Disposition | None] = Disposition.SAFE
    options_model: ClassVar[type[BaseModel] | None] = CooldownOptions
    example_before: ClassVar[str] = """\
version: 2
updates:
  - package-ecosystem: pip
    directory: /
    schedule:
      interval: daily
"""
    example_after: ClassVar[str] = """\
version: 2
updates:
  - package-ecosystem: pip
    directory: /
    schedule:
      interval: daily
    cooldown:
      default-days: 7
"""

    def visit_workflow(self, workflow: Workflow) -> Iterator[Detection]:
        """Check every ``updates`` entry of a Dependabot configuration."""
        days = self.options.days if isinstance(self.options, CooldownOptions) else 7
        for index, entry in dependabot_updates(workflow):
            yield from self._check(workflow, ("updates", index), entry, days)

    def _check(
        self, workflow: Workflow, route: Route, entry: dict[str, Any], days: int
    ) -> Iterator[Detection]:
        ecosystem = entry.get("package-ecosystem", "?")
        cooldown = entry.get("cooldown")
        if cooldown is not None and not isinstance(cooldown, dict):
            return
        written = {key: value for key, value in (cooldown or {}).items() if key in _COOLDOWN_KEYS}
        for key, value in written.items():
            if not isinstance(value, int) or isinstance(value, bool):
                where = (*route, "cooldown", key)
                message = f"updates for {ecosystem} have a {key} that is not a number"
                finding = self.finding(workflow, where, message, evidence=str(value))
                yield Detection(finding, None, f"{key} is not a number")
                return
        if "default-days" in written and written["default-days"] < days:
            where = (*route, "cooldown", "default-days")
            current = written["default-days"]
            message = f"updates for {ecosystem} wait {current} day(s), less than {days}"
            finding = self.finding(workflow, where, message, evidence=f"{ecosystem}")
            yield Detection(finding, None, _chosen("default-days", current))
            return
        if "default-days" not in written:
            # Update types without their own semver-*-days fall back to default-days: none.
            bare = [kind for kind in _SEMVER if f"semver-{kind}-days" not in written]
            if bare:
                where = route if cooldown is None else (*route, "cooldown")
                message = f"updates for {ecosystem} have no cooldown" + (
                    f" for {', '.join(bare)} updates" if len(bare) < len(_SEMVER) else ""
                )
                finding = self.finding(workflow, where, message, evidence=f"{ecosystem}")
                added = MergeInto(route=route, key="cooldown", value={"default-days": days})
                yield Detection(finding, self.fix(finding, f"cooldown of {days} days", [added]))
                return
        short = [
            (key, value) for key, value in written.items() if key != "default-days" and value < days
        ]
        if short:
            key, value = short[0]
            where = (*route, "cooldown", key)
            message = f"updates for {ecosystem} wait {value} day(s) with `{key}`, less than {days}"
            finding = self.finding(workflow, where, message, evidence=f"{ecosystem}")
            yield Detection(finding, None, _chosen(key, value))


def _chosen(key: str, value: int) -> str:
    """Why a shorter cooldown someone wrote is reported and left as it is."""
    return (
        f"`{key}: {value}` is written explicitly: a person chose a shorter cooldown for those "
        "updates, so mendbot reports it and never changes it"
    )
