"""``gha-unknown-suppression``: a ``# mendbot: ignore[...]`` naming no mendbot rule."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import ClassVar

from bot.detectors.aliases import rules_for_audit
from bot.detectors.interface import Detection, WorkflowRule
from bot.detectors.suppression import all_directives
from bot.models import Location, Severity
from bot.workflow.model import Workflow


def _known_rules() -> list[str]:
    # NOTE(suppression): imported here, not at the top: the registry imports every rule,
    # this one included.
    from bot.detectors.rule_registry import rule_ids

    return rule_ids()


def suggestion(name: str, known: list[str]) -> str | None:
    """The rule id ``name`` most likely meant: the rule of a zizmor audit written in a mendbot
    comment, else the closest id by spelling."""
    mapped = rules_for_audit(name)
    if mapped:
        return mapped[0]
    for candidate in (name, f"gha-{name}"):
        close = difflib.get_close_matches(candidate, known, n=1, cutoff=0.6)
        if close:
            return close[0]
    return None


class UnknownSuppression(WorkflowRule):
    """Report ignore comments that suppress nothing because the rule id is misspelt."""

    id: ClassVar[str] = "gha-unknown-suppression"
    title: ClassVar[str] = "ignore comment names no mendbot rule"
    description: ClassVar[str] = (
        "A `# mendbot: ignore[…]` comment whose id is not a mendbot rule suppresses nothing: "
        "the finding it was written for is still reported, and whoever wrote it believes "
        "otherwise. mendbot reports the comment's line and column, the unknown id and the "
        "closest rule id (for a zizmor audit name, the mendbot rule covering that audit: "
        "write it as `# zizmor: ignore[<audit>]` or use the mendbot id). Report only: the "
        "comment is a person's, and only they know what they meant."
    )
    default_severity: ClassVar[Severity] = Severity.LOW
    example_before: ClassVar[str] = """\
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4  # mendbot: ignore[gha-persist-credential]
        with:
          persist-credentials: false
"""
    example_after: ClassVar[str] = example_before

    def visit_workflow(self, workflow: Workflow) -> Iterator[Detection]:
        """Check every ``mendbot: ignore[...]`` comment of the file."""
        known: list[str] | None = None
        for directive in all_directives(workflow.doc):
            if directive.tool != "mendbot":
                continue
            known = known if known is not None else _known_rules()
            for name in directive.ids:
                if name in known:
                    continue
                guess = suggestion(name, known)
                hint = f"; did you mean `{guess}`?" if guess else "; `mendbot rules` lists the ids"
                finding = self.finding(
                    workflow,
                    (),
                    f"`mendbot: ignore[{name}]` names no mendbot rule, so it suppresses "
                    f"nothing{hint}",
                    evidence=f"mendbot: ignore[{', '.join(directive.ids)}] ({name})",
                )
                location = Location(
                    path=workflow.path, line=directive.line + 1, column=directive.column + 1
                )
                yield Detection(finding.model_copy(update={"location": location}))
