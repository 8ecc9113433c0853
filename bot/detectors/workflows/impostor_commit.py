"""``gha-impostor-commit``: a ``uses:`` pinned to a commit outside the named repository's
history (a fork's commit, which GitHub serves through the parent)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from bot.detectors.interface import Detection
from bot.detectors.online_uses import OnlineUsesRule
from bot.detectors.pinned_refs import VERSION_COMMENT, UsesSite, version_comment
from bot.detectors.version_ranges import parse_version
from bot.models import Severity
from bot.resolvers.action_api import ApiLookupError, RepositoryApi
from bot.resolvers.action_refs import RemoteRefs, is_sha
from bot.workflow.model import Uses, Workflow

#: Branch and tag tips compared with the pinned commit at most, per ``uses:``.
MAX_COMPARES = 50


def _tips(refs: RemoteRefs, default_branch: str) -> list[str]:
    """Distinct tip commits in the order most likely to contain a pinned commit: the default
    branch, version tags newest first, other tags, other branches."""
    ordered: list[str] = []
    if default_branch in refs.branches:
        ordered.append(refs.branches[default_branch])
    versions = sorted(
        (name for name in refs.tags if parse_version(name) is not None),
        key=lambda name: parse_version(name) or (),
        reverse=True,
    )
    ordered += [refs.tags[name] for name in versions]
    ordered += [sha for name, sha in sorted(refs.tags.items()) if name not in versions]
    ordered += [sha for _, sha in sorted(refs.branches.items())]
    return list(dict.fromkeys(ordered))


class ImpostorCommit(OnlineUsesRule):
    """Report SHA pins that no branch or tag of the named repository contains."""

    id: ClassVar[str] = "gha-impostor-commit"
    title: ClassVar[str] = "pinned commit is not in the action's repository"
    description: ClassVar[str] = (
        "GitHub serves every commit of a fork network under the parent's name: "
        "`actions/checkout@<sha>` runs a commit pushed to *any* fork of `actions/checkout` "
        "if that is what the SHA names. A pin looks reviewed and immutable, so an attacker's "
        "commit hides well behind a trusted name and a plausible `# v4.2.2` comment. This "
        "rule lists the repository's branches and tags (`git ls-remote`, the cache the "
        "pinning rules use) and, when no tip is the pinned commit, asks GitHub's compare "
        "endpoint (`GET /repos/{owner}/{repo}/compare/{tip}...{sha}`: `identical` or "
        "`behind` means the tip contains it) for the default branch, then the version tags "
        f"newest first, then the other refs, at most {MAX_COMPARES} tips; a commit none of "
        "them contains is reported (when the limit is reached first, nothing is reported). "
        "Report only: which commit was meant is for a person to decide; the finding names "
        "the commit of the tag the version comment claims, if it names one. Needs the "
        "network and a token (`GITHUB_TOKEN`); answers are cached like the refs.\n\n"
        "Compared with zizmor's `impostor-commit`: the same question, asked through "
        "`git ls-remote` for the tips (one request per repository) and the compare endpoint "
        "for history; zizmor proposes a fix to the newest tag, mendbot only names the "
        "claimed tag's commit, because moving the pin changes the code that runs."
    )
    default_severity: ClassVar[Severity] = Severity.HIGH

    def check(self, workflow: Workflow, site: UsesSite) -> Iterator[Detection]:
        """Report a pinned commit outside the repository's history."""
        uses = site.uses
        if not is_sha(uses.ref):
            return
        sha = uses.ref.lower()
        refs = self.resolve(uses)
        api = self.api()
        if isinstance(refs, str) or isinstance(api, str):
            return
        if sha in refs.branches.values() or sha in refs.tags.values():
            return
        verdict = self._contained(api, uses, refs, sha)
        if verdict is not False:
            return
        where = f"{uses.owner}/{uses.repo}"
        message = (
            f"{sha[:12]} is on no branch and in no tag of {where}: it may be a fork's commit "
            "that GitHub serves under this name"
        )
        claimed = self._claimed(workflow, site, refs)
        finding = self.finding(
            workflow, site.route, message + claimed, evidence=f"uses: {uses.raw}"
        )
        yield Detection(
            finding, None, "which commit was meant is for a person to decide; check it first"
        )

    def _contained(self, api: RepositoryApi, uses: Uses, refs: RemoteRefs, sha: str) -> bool | None:
        """Whether a branch or tag contains ``sha``; None when that could not be decided."""
        try:
            facts = api.repository(uses.owner, uses.repo)
            tips = _tips(refs, facts.default_branch)
            if len(tips) > MAX_COMPARES:
                tips, decided = tips[:MAX_COMPARES], False
            else:
                decided = True
            for tip in tips:
                if api.contains(uses.owner, uses.repo, tip, sha):
                    return True
        except ApiLookupError:
            return None
        return False if decided else None

    @staticmethod
    def _claimed(workflow: Workflow, site: UsesSite, refs: RemoteRefs) -> str:
        comment = version_comment(workflow, site.route)
        match = VERSION_COMMENT.match(comment.strip()) if comment else None
        if match is None:
            return ""
        claimed = match.group("version")
        actual = refs.tags.get(claimed)
        if actual is None:
            return f"; the comment claims {claimed}, which is no tag of the repository"
        return f"; the comment claims {claimed}, which is {actual}"
