"""``gha-stale-action-refs``: a ``uses:`` pinned to a commit no tag points at."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from bot.detectors.interface import Detection
from bot.detectors.online_uses import OnlineUsesRule
from bot.detectors.pinned_refs import UsesSite
from bot.detectors.version_ranges import parse_version
from bot.models import Confidence, Severity
from bot.resolvers.action_refs import is_sha
from bot.workflow.model import Workflow


class StaleActionRefs(OnlineUsesRule):
    """Report SHA pins that are no release of the action."""

    id: ClassVar[str] = "gha-stale-action-refs"
    title: ClassVar[str] = "pinned commit is not a release"
    description: ClassVar[str] = (
        "A `uses:` pinned to a commit that no tag points at runs code its maintainers never "
        "released: a development commit, a commit whose release was re-tagged elsewhere, or "
        "an impostor commit (`gha-impostor-commit`). Dependabot and Renovate cannot update "
        "such a pin, so it goes stale. The rule lists the repository's tags (`git "
        "ls-remote`, the cache the pinning rules use) and reports a pin that none of them "
        "names, with the newest version tag for comparison. Report only: moving the pin to a "
        "release changes the code that runs, and which release matches the commit is for a "
        "person to decide. Off by default (an auditor's check): enable it with "
        "`rules.gha-stale-action-refs.enabled: true` or `--rule gha-stale-action-refs`. "
        "Needs the network (not `--offline`).\n\n"
        "Compared with zizmor's `stale-action-refs`: the same check (zizmor's pedantic "
        "persona), with the tags read by `git ls-remote` instead of the API, so no token is "
        "needed."
    )
    default_severity: ClassVar[Severity] = Severity.LOW
    default_confidence: ClassVar[Confidence] = Confidence.MEDIUM
    enabled_by_default: ClassVar[bool] = False
    needs_api: ClassVar[bool] = False

    def check(self, workflow: Workflow, site: UsesSite) -> Iterator[Detection]:
        """Report a pinned commit that no tag points at."""
        uses = site.uses
        if not is_sha(uses.ref):
            return
        refs = self.resolve(uses)
        if isinstance(refs, str) or refs.tags_at(uses.ref.lower()):
            return
        where = f"{uses.owner}/{uses.repo}"
        versions = [name for name in refs.tags if parse_version(name) is not None]
        newest = max(versions, key=lambda name: parse_version(name) or (), default=None)
        hint = f" (its newest release is {newest})" if newest else ""
        finding = self.finding(
            workflow,
            site.route,
            f"{uses.ref[:12]} is no release of {where}: no tag points at it{hint}",
            evidence=f"uses: {uses.raw}",
        )
        yield Detection(
            finding, None, "moving the pin to a release changes the code that runs: a person's call"
        )
