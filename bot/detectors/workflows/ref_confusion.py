"""``gha-ref-confusion``: a ref that names both a branch and a tag."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from bot.detectors.interface import Detection
from bot.detectors.pinned_refs import (
    RefRule,
    UsesSite,
)
from bot.models import Severity
from bot.resolvers.action_refs import is_sha
from bot.workflow.model import Workflow


class RefConfusion(RefRule):
    """Report refs that are both a branch and a tag upstream."""

    id: ClassVar[str] = "gha-ref-confusion"
    title: ClassVar[str] = "ref names both a branch and a tag"
    description: ClassVar[str] = (
        "When a name is both a branch and a tag, GitHub Actions runs the branch. Whoever can "
        "push a branch with the name of a trusted tag can change the code you run. Pin the "
        "intended commit SHA by hand (mendbot cannot know which one you meant). Report only."
    )
    default_severity: ClassVar[Severity] = Severity.HIGH
    works_offline: ClassVar[bool] = False

    def check(self, workflow: Workflow, site: UsesSite) -> Iterator[Detection]:
        """Report a ref that is ambiguous upstream."""
        uses = site.uses
        if is_sha(uses.ref):
            return
        refs = self.resolve(uses)
        if isinstance(refs, str):
            return
        if uses.ref in refs.branches and uses.ref in refs.tags:
            finding = self.finding(
                workflow,
                site.route,
                f"`{uses.ref}` is both a branch and a tag of {uses.owner}/{uses.repo}; "
                "Actions runs the branch",
                evidence=f"uses: {uses.raw}",
            )
            yield Detection(finding, None, "which commit was meant is for a person to decide")
