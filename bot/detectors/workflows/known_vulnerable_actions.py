"""``gha-known-vulnerable-actions``: an action version with a published advisory."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from bot.detectors.interface import Detection
from bot.detectors.online_uses import OnlineUsesRule
from bot.detectors.pinned_refs import UsesSite, pinned_comment, version_comment
from bot.detectors.version_ranges import Version, in_range, parse_version, same_major
from bot.models import Confidence, Severity
from bot.resolvers.action_api import Advisory, AffectedRange, ApiLookupError
from bot.resolvers.action_refs import RemoteRefs, is_sha
from bot.risk import Disposition
from bot.workflow.model import Uses, Workflow
from bot.yamledit.ops import Operation, Replace, SetComment

_SEVERITY = {
    "critical": Severity.CRITICAL,
    "high": Severity.HIGH,
    "medium": Severity.MEDIUM,
    "low": Severity.LOW,
}


def _running_version(uses: Uses, refs: RemoteRefs) -> tuple[str, Version] | None:
    """The release that runs: the most specific version tag at the pinned commit (or at the
    commit of the tag used); None when no version tag names it."""
    sha = uses.ref.lower() if is_sha(uses.ref) else refs.tags.get(uses.ref)
    name = refs.version_tag_at(sha) if sha else None
    if name is None and not is_sha(uses.ref) and parse_version(uses.ref) is not None:
        name = uses.ref
    parsed = parse_version(name) if name else None
    return (name, parsed) if name and parsed else None


def _tag_for(version: str, refs: RemoteRefs) -> str | None:
    """The repository's tag for an advisory's version (``1.2.3`` is often tagged ``v1.2.3``)."""
    for name in (version, f"v{version}", version.removeprefix("v")):
        if name in refs.tags:
            return name
    return None


class KnownVulnerableActions(OnlineUsesRule):
    """Report action versions inside an advisory's vulnerable range; bump to the fix."""

    id: ClassVar[str] = "gha-known-vulnerable-actions"
    title: ClassVar[str] = "action version has a published vulnerability"
    description: ClassVar[str] = (
        "The GitHub advisory database records vulnerable versions of actions "
        "(`tj-actions/changed-files` before 46.0.1, CVE-2025-30066). The rule asks it for "
        "each action repository (`GET /advisories?ecosystem=actions&affects=owner/repo`, "
        "reviewed advisories; cached like the refs), works out the release that runs (the "
        "most specific version tag at the pinned commit, or at the tag's commit: `@v4` is "
        "read as the `v4.x.y` it points at) and reports it when it is inside a vulnerable "
        "range, with the advisory's severity. The fix moves to the first patched version, "
        "pinned the way it was written: a SHA pin becomes the patched tag's commit with its "
        "`# vX.Y.Z` comment (as `gha-unpinned-uses` writes it), a tag pin the patched tag. "
        "It is **safe** within the same major version (a release meant to be compatible) "
        "and **unsafe** across majors. A pin no version tag names is not judged (see "
        "`gha-stale-action-refs`). Needs the network and a token (`GITHUB_TOKEN`).\n\n"
        "Compared with zizmor's `known-vulnerable-actions`: the same database and range "
        "check; mendbot also resolves moving tags (`@v4`) to the release they point at, and "
        "marks a fix across major versions unsafe."
    )
    default_severity: ClassVar[Severity] = Severity.HIGH
    default_confidence: ClassVar[Confidence] = Confidence.HIGH
    fix_disposition: ClassVar[Disposition | None] = Disposition.SAFE
    needs_api: ClassVar[bool] = True

    def check(self, workflow: Workflow, site: UsesSite) -> Iterator[Detection]:
        """Report a vulnerable version and propose its first patched version."""
        uses = site.uses
        refs = self.resolve(uses)
        api = self.api()
        if isinstance(refs, str) or isinstance(api, str):
            return
        running = _running_version(uses, refs)
        if running is None:
            return
        try:
            advisories = api.advisories(uses.owner, uses.repo)
        except ApiLookupError:
            return
        name, version = running
        matches = list(self._matching(advisories, version))
        if matches:
            yield self._detection(workflow, site, refs, name, version, matches)

    @staticmethod
    def _matching(
        advisories: tuple[Advisory, ...], version: Version
    ) -> Iterator[tuple[Advisory, AffectedRange]]:
        for advisory in advisories:
            hit = next((r for r in advisory.ranges if in_range(version, r.vulnerable)), None)
            if hit is not None:
                yield advisory, hit

    def _detection(
        self,
        workflow: Workflow,
        site: UsesSite,
        refs: RemoteRefs,
        name: str,
        version: Version,
        matches: list[tuple[Advisory, AffectedRange]],
    ) -> Detection:
        """One finding per ``uses:`` for every advisory that applies; the fix moves to the
        version that patches them all."""
        uses = site.uses
        where = f"{uses.owner}/{uses.repo}"
        listed = "; ".join(
            f"{advisory.ghsa_id} ({affected.vulnerable}): {advisory.summary}"
            for advisory, affected in matches
        )
        patches = [affected.first_patched for _, affected in matches]
        parsed = [parse_version(p) for p in patches if p]
        complete = len(parsed) == len(patches) and all(v is not None for v in parsed)
        patched = (
            max((p for p in patches if p), key=lambda p: parse_version(p) or ())
            if complete
            else None
        )
        fixed_in = f"; fixed in {patched}" if patched else ""
        worst = max(
            (_SEVERITY.get(advisory.severity, self.default_severity) for advisory, _ in matches),
            key=list(Severity).index,
        )
        finding = self.finding(
            workflow,
            site.route,
            f"{where} {name} is vulnerable: {listed}{fixed_in}",
            evidence=f"uses: {uses.raw}",
            severity=worst,
        )
        if patched is None:
            return Detection(finding, None, "an advisory names no patched version")
        tag = _tag_for(patched, refs)
        target = parse_version(patched)
        if tag is None or target is None:
            return Detection(finding, None, f"{where} has no tag for {patched}")
        prefix = uses.raw.strip().rsplit("@", 1)[0]
        operations: list[Operation]
        if is_sha(uses.ref):
            comment = pinned_comment(tag, version_comment(workflow, site.route))
            operations = [
                Replace(route=site.route, value=f"{prefix}@{refs.tags[tag]}"),
                SetComment(route=site.route, comment=comment),
            ]
        else:
            operations = [Replace(route=site.route, value=f"{prefix}@{tag}")]
        disposition = Disposition.SAFE if same_major(version, target) else Disposition.UNSAFE
        ids = ", ".join(advisory.ghsa_id for advisory, _ in matches)
        fix = self.fix(
            finding, f"update {prefix} to {tag} ({ids})", operations, disposition=disposition
        )
        return Detection(finding, fix)
