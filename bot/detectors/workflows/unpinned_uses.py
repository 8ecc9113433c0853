"""``gha-unpinned-uses``: ``owner/repo@v4`` pinned to ``owner/repo@<sha> # v4.2.2``."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from typing import ClassVar

from pydantic import BaseModel

from bot.detectors.interface import Detection
from bot.detectors.pinned_refs import (
    RELEASE_TAG,
    PinningOptions,
    RefRule,
    UsesSite,
    pinned_comment,
    version_comment,
)
from bot.models import Confidence, Severity
from bot.resolvers.action_refs import is_sha
from bot.risk import Disposition
from bot.workflow.model import Uses, Workflow
from bot.yamledit.ops import Operation, Replace, SetComment


class UnpinnedUses(RefRule):
    """Report ``uses:`` refs that are not commit SHAs; pin tags to their commit."""

    id: ClassVar[str] = "gha-unpinned-uses"
    title: ClassVar[str] = "action or reusable workflow not pinned to a commit SHA"
    description: ClassVar[str] = (
        "A tag or branch can be moved by whoever controls the action's repository: the code "
        "your workflow runs can change without any change in your repository (tj-actions/"
        "changed-files, March 2025). Pinning to a full commit SHA makes the code immutable. "
        "The fix resolves the tag the way `git ls-remote` does (one request per repository, "
        "annotated tags peeled, under `$GITHUB_SERVER_URL`, cached on disk for an hour) and "
        "writes `@<sha> # vX.Y.Z` with the most specific tag at that commit, which Dependabot "
        "and Renovate keep up to date; other comments on the line are kept after it. It is "
        "**safe**: the commit that runs is the one that ran before. Branch refs (`@main`) are "
        "reported, never pinned (nothing could keep such a pin up to date); a name that is "
        "both a branch and a tag is `gha-ref-confusion`. Reusable workflows of "
        "`slsa-framework/slsa-github-generator` are exempt by default because they break "
        "when pinned, but only at a release tag (`@v2.1.0`, which the generator requires): "
        "`@main` or `@v2` is still reported; set `options.exempt` to change the list. "
        "Offline (`--offline`), the "
        "rule reports without fixing."
    )
    default_severity: ClassVar[Severity] = Severity.MEDIUM
    fix_disposition: ClassVar[Disposition | None] = Disposition.SAFE
    options_model: ClassVar[type[BaseModel] | None] = PinningOptions
    works_offline: ClassVar[bool] = False

    def _exempt(self, uses: Uses) -> bool:
        """Whether ``uses`` is an exempt workflow at a release tag."""
        options = self.options if isinstance(self.options, PinningOptions) else PinningOptions()
        if not RELEASE_TAG.match(uses.ref):
            return False
        return any(fnmatch.fnmatch(uses.slug, pattern.lower()) for pattern in options.exempt)

    def check(self, workflow: Workflow, site: UsesSite) -> Iterator[Detection]:
        """Report an unpinned ref and propose the SHA of its tag."""
        uses = site.uses
        if is_sha(uses.ref) or self._exempt(uses):
            return
        refs = self.resolve(uses)
        evidence = f"uses: {uses.raw}"
        if isinstance(refs, str):
            finding = self.finding(
                workflow,
                site.route,
                f"{uses.raw} is not pinned to a commit SHA",
                evidence=evidence,
            )
            yield Detection(finding, None, refs)
            return
        is_branch, tag_sha = uses.ref in refs.branches, refs.tags.get(uses.ref)
        if is_branch:
            why = (
                f"`{uses.ref}` is both a branch and a tag of {uses.owner}/{uses.repo}"
                if tag_sha
                else f"`{uses.ref}` is a branch: a SHA pin on a branch cannot be kept up to date"
            )
            finding = self.finding(
                workflow,
                site.route,
                f"{uses.raw} follows a branch, which can change at any time; pin a release tag",
                evidence=evidence,
            )
            yield Detection(finding, None, why)
            return
        if tag_sha is None:
            finding = self.finding(
                workflow,
                site.route,
                f"{uses.raw} is not pinned, and `{uses.ref}` is neither a tag nor a branch of "
                f"{uses.owner}/{uses.repo}",
                evidence=evidence,
                confidence=Confidence.MEDIUM,
            )
            yield Detection(finding, None, f"`{uses.ref}` does not exist upstream")
            return
        version = refs.version_tag_at(tag_sha) or uses.ref
        if len(version) < len(uses.ref):
            version = uses.ref
        prefix = uses.raw.strip().rsplit("@", 1)[0]
        comment = pinned_comment(version, version_comment(workflow, site.route))
        finding = self.finding(
            workflow,
            site.route,
            f"{uses.raw} is not pinned to a commit SHA; `{uses.ref}` is {tag_sha[:12]}",
            evidence=evidence,
        )
        patches: list[Operation] = [
            Replace(route=site.route, value=f"{prefix}@{tag_sha}"),
            SetComment(route=site.route, comment=comment),
        ]
        yield Detection(finding, self.fix(finding, f"pin {prefix} to {version}", patches))
