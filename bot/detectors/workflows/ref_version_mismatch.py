"""``gha-ref-version-mismatch``: a version comment that names another commit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from bot.detectors.interface import Detection
from bot.detectors.pinned_refs import (
    VERSION_COMMENT,
    RefRule,
    UsesSite,
    pinned_comment,
    version_comment,
)
from bot.models import Severity
from bot.resolvers.action_refs import is_sha
from bot.risk import Disposition
from bot.workflow.model import Workflow
from bot.yamledit.ops import SetComment


class RefVersionMismatch(RefRule):
    """Correct ``@<sha> # vX`` comments that name a tag pointing elsewhere."""

    id: ClassVar[str] = "gha-ref-version-mismatch"
    title: ClassVar[str] = "version comment does not match the pinned commit"
    description: ClassVar[str] = (
        "Reviewers and Dependabot read the `# vX.Y.Z` comment of a pinned `uses:` as the "
        "version that runs. When that tag points at another commit, the comment lies: the "
        "update tools propose wrong upgrades and a reviewer cannot tell what runs. The fix "
        "(**safe**: the SHA is unchanged) rewrites the comment to the most specific tag at "
        "the pinned commit. When no tag points at the commit, the pin may be stale "
        "(`gha-stale-action-refs`) or an impostor commit (`gha-impostor-commit`): reported, "
        "never rewritten. Needs the refs (not offline)."
    )
    default_severity: ClassVar[Severity] = Severity.LOW
    fix_disposition: ClassVar[Disposition | None] = Disposition.SAFE
    works_offline: ClassVar[bool] = False

    def check(self, workflow: Workflow, site: UsesSite) -> Iterator[Detection]:
        """Compare the version comment with the tags at the pinned commit."""
        uses = site.uses
        if not is_sha(uses.ref):
            return
        existing = version_comment(workflow, site.route)
        match = VERSION_COMMENT.match(existing.strip()) if existing else None
        if match is None:
            return
        refs = self.resolve(uses)
        if isinstance(refs, str):
            return
        claimed, sha = match.group("version"), uses.ref.lower()
        if refs.tags.get(claimed) == sha:
            return
        actual = refs.version_tag_at(sha)
        where = f"{uses.owner}/{uses.repo}"
        claimed_sha = refs.tags.get(claimed)
        detail = (
            f"tag {claimed} of {where} is {claimed_sha[:12]}"
            if claimed_sha
            else f"{where} has no tag {claimed}"
        )
        message = f"the comment says {claimed} but the pin is {sha[:12]} ({detail})"
        finding = self.finding(workflow, site.route, message, evidence=f"uses: {uses.raw}")
        if actual is None:
            yield Detection(
                finding,
                None,
                "no tag points at the pinned commit: see gha-stale-action-refs and "
                "gha-impostor-commit",
            )
            return
        patch = SetComment(route=site.route, comment=pinned_comment(actual, existing))
        yield Detection(finding, self.fix(finding, f"correct the comment to {actual}", [patch]))
