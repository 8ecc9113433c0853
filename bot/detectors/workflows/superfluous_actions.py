"""``gha-superfluous-actions``: an action does what a tool on the runner already does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from bot.detectors.interface import Detection, WorkflowRule
from bot.knowledge.superfluous_actions import SUPERFLUOUS_ACTIONS, superfluous_action
from bot.models import Confidence, Severity
from bot.workflow.model import Step

_NO_FIX = (
    "the action's inputs map onto the tool's options differently for each action: rewrite "
    "the step as a `run:` by hand"
)


class SuperfluousOptions(BaseModel):
    """``rules.gha-superfluous-actions.options``."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    pedantic: bool = False
    """Also report actions whose replacement takes more than one command (zizmor's pedantic
    persona): `peter-evans/create-pull-request`, `peter-evans/create-or-update-comment`,
    `dtolnay/rust-toolchain`."""


class SuperfluousActions(WorkflowRule):
    """Report steps using an action the runner's own tools replace."""

    id: ClassVar[str] = "gha-superfluous-actions"
    title: ClassVar[str] = "action does what the runner already provides"
    description: ClassVar[str] = (
        "Every action is code from another repository that runs with the job's token and "
        "secrets, and a new dependency to pin and watch. Some only wrap a tool every "
        "GitHub-hosted runner already has (`gh`, `docker`, `jq`, `rustup`): a `run:` step "
        "does the same with nothing new to trust. Reported (the list is "
        "`bot/knowledge/superfluous_actions.py`): "
        + ", ".join(f"`{a.action}`" for a in SUPERFLUOUS_ACTIONS if not a.pedantic)
        + "; with the option `pedantic: true` also "
        + ", ".join(f"`{a.action}`" for a in SUPERFLUOUS_ACTIONS if a.pedantic)
        + " (their replacement takes more than one command). Report only.\n\n"
        "```yaml\nrules:\n  gha-superfluous-actions:\n    options:\n      pedantic: true\n```\n\n"
        "Compared with zizmor's `superfluous-actions`: the same list, with the same split "
        "between its regular and pedantic personas."
    )
    default_severity: ClassVar[Severity] = Severity.INFO
    options_model: ClassVar[type[BaseModel] | None] = SuperfluousOptions
    example_before: ClassVar[str] = """\
on: push
jobs:
  release:
    runs-on: ubuntu-latest
    steps:
      - uses: softprops/action-gh-release@v2
"""
    example_after: ClassVar[str] = example_before

    def visit_step(self, step: Step) -> Iterator[Detection]:
        """Check one step's ``uses:``."""
        uses = step.uses
        if uses is None or not uses.owner or uses.subpath:
            return
        entry = superfluous_action(f"{uses.owner}/{uses.repo}".lower())
        options = self.options if isinstance(self.options, SuperfluousOptions) else None
        if entry is None or (entry.pedantic and not (options and options.pedantic)):
            return
        message = f"`{uses.owner}/{uses.repo}` wraps a runner tool: use {entry.instead} in a `run:`"
        finding = self.finding(
            step.workflow,
            (*step.route, "uses"),
            message,
            evidence=entry.action,
            confidence=Confidence.LOW if entry.pedantic else Confidence.HIGH,
        )
        yield Detection(finding, None, _NO_FIX)
