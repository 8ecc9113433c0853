"""Who contributed to a pull request: the people behind its commits, or "unknown".

Commit metadata is written by whoever pushes, so it proves nothing by itself. A commit counts
as the bot's only when the forge vouches for it (:attr:`CommitPeople.verified_bot`) or when it
is exactly the commit the propose job builds: the bot's name and e-mail, one parent, and the
one attestation it adds verifies against the gate's trust *with that commit as the head*
(so its signed change set is the commit's whole change). Every other commit is a person's: its
author and committer must be tied to accounts, and when one of them is not, who contributed is
**unknown** and no approval may assume its giver had no hand in the change.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot import git as gitcmd
from bot.forge.interface import CommitPeople
from bot.git import GitError
from bot.provenance.verification.bot_commits import attested_bot_commit
from bot.provenance.verification.trust import Trust, UnsafeAcceptUnsigned


@dataclass(frozen=True)
class Contributors:
    """The people behind a pull request's commits."""

    logins: tuple[str, ...]
    """Accounts tied to a commit that is not the bot's, sorted."""
    unidentified: tuple[str, ...]
    """Commits (ids, oldest first) that are neither the bot's nor tied to accounts; while any
    is listed, ``logins`` may miss someone."""

    @property
    def known(self) -> bool:
        """Every commit is the bot's or tied to accounts."""
        return not self.unidentified

    def last_push_covers(self, head: str) -> bool:
        """Whether a forge rule that wants the most recent push approved by someone other than
        its pusher (GitHub's ``require_last_push_approval``) guards every commit tied to no
        account: only the head commit is sure to be part of that push. An earlier one may have
        been pushed by anyone, the approver included, before someone else pushed on top."""
        return self.unidentified in ((), (head,))


def who_contributed(
    repo: Path,
    commits: Iterable[CommitPeople],
    *,
    merge_base: str,
    head: str,
    trust: Trust,
    now: datetime,
    repository: str | None = None,
    attested: Collection[str] = (),
) -> Contributors:
    """The :class:`Contributors` of the commits in ``merge_base..head`` of ``repo`` (what
    merges), as the forge describes them in ``commits``: a commit of that range the forge does
    not list (it lists a limited number, or answered for another head) is tied to no one; one
    it lists outside the range is not part of the change. ``repository`` is the gated
    repository's URL, as for :func:`attested_bot_commit`; ``attested`` names commits already
    shown to pass it (see :func:`head_attested`), so their attestation is not verified twice."""
    listed = {commit.sha: commit for commit in commits}
    chain = gitcmd.linear_history(repo, merge_base, head)
    in_range = (
        [commit.object_id for commit in chain]
        if chain is not None
        else gitcmd.run(repo, "rev-list", "--reverse", f"{merge_base}..{head}").decode().split()
    )
    logins: set[str] = set()
    unidentified: list[str] = []
    for sha in in_range:
        commit = listed.get(sha, CommitPeople(sha, None, None, claims_bot=False))
        if commit.verified_bot or (
            commit.claims_bot
            and (
                commit.sha in attested
                or attested_bot_commit(repo, commit.sha, trust, now, repository)
            )
        ):
            continue
        if commit.author is None or commit.committer is None:
            unidentified.append(commit.sha)
        logins.update(login for login in (commit.author, commit.committer) if login is not None)
    return Contributors(tuple(sorted(logins)), tuple(unidentified))


def head_attested(
    repo: Path, head: str, matches: bool, attested_base: str | None, trust: Trust
) -> bool:
    """Whether ``head`` passes :func:`attested_bot_commit`, from what the gate already verified
    against ``trust``: the pull request's attestation verified and matches with ``head`` as the
    head (``matches``) and its attested base is ``head``'s only parent. Never with
    ``--allow-unsigned``, whose "verified" checks no signature."""
    if isinstance(trust, UnsafeAcceptUnsigned) or not matches or attested_base is None:
        return False
    try:
        parents = gitcmd.parents(repo, head)
    except GitError:
        return False
    return parents == [attested_base]
