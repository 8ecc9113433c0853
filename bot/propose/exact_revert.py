"""The commit that turns one merged change around exactly, built without a checkout.

Shared by ``mendbot revert`` (a person asks: the remediation's own paths) and ``mendbot propose
--rollback`` (the deploy job asks: everything the commit it deployed changed): the tree of
:func:`bot.provenance.inverse.inverse_tree` on top of the branch's tip, as a bot commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bot import git as gitcmd
from bot.forge.interface import Forge, PullRequest
from bot.protocol import bot_commit_env
from bot.provenance.inverse import (
    RevertError,
    inverse_tree,
    remediation_paths,
    require_history,
    subject_of,
)

__all__ = [
    "RevertError",
    "exact_revert_commit",
    "open_revert_pull",
    "remediation_paths",
    "require_history",
    "subject_of",
]


def exact_revert_commit(
    repo: Path, sha: str, tip: str, message: str, paths: Sequence[str] | None = None
) -> str:
    """A bot commit on ``tip`` whose change is ``sha``'s first-parent change turned around on
    ``paths`` (None: every path it touched), with ``message``; deterministic (the date is
    ``sha``'s, never signed by a configured key), so a rerun builds the same commit. Raises
    :class:`RevertError` naming the later commits when it does not apply."""
    tree = inverse_tree(repo, sha, tip, paths)
    date = gitcmd.run(repo, "log", "-1", "--no-show-signature", "--format=%cI", sha)
    identity = bot_commit_env(date.decode().strip())
    commit = gitcmd.run(
        repo, "-c", "i18n.commitEncoding=UTF-8", "commit-tree", "--no-gpg-sign", tree,
        "-p", tip, "-F", "-", stdin=message.encode(), env=identity,
    )  # fmt: skip
    return commit.decode().strip()


def open_revert_pull(
    forge: Forge,
    *,
    sha: str,
    commit: str,
    tip: str,
    branch: str,
    fingerprint: str,
    body: str,
    labels: list[str],
) -> PullRequest:
    """Push the revert ``commit`` of ``sha`` to ``branch`` and open its pull request into the
    default branch at ``tip``, titled ``Revert "<subject of sha>"``."""
    forge.push(branch, commit, forge.branch_head(branch))
    return forge.open(
        PullRequest(
            number=0,
            title=f'Revert "{subject_of(forge.workdir, sha)}"'[:250],
            body=body,
            branch=branch,
            base=forge.default_branch(),
            head_sha=commit,
            base_sha=tip,
            fingerprint=fingerprint,
            labels=labels,
        )
    )
