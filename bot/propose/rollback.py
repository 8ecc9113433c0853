"""``mendbot propose --rollback``: the exact revert pull request after a failed deployment.

The deploy identity cannot push; when a change it applied did not hold, it dispatches a
rollback request (merge commit, environment) to this identity, which opens one pull request
that turns the merged change around exactly — every path it touched back to its first parent,
nothing else — labelled ``mendbot:rollback`` and ``env:<name>``. The gate recognises such a pull
request as an exact revert of a bot change (by its content, never its labels): it freezes the
environment while open, and the ``freeze`` policy still lets it through.

Refused, with the reason, when the commit is not on the default branch or when later commits
changed the same files (the revert would not be exact: a person must decide).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from bot import git as gitcmd
from bot.errors import MendbotError
from bot.forge.interface import Forge, PullState
from bot.git import GitError
from bot.markdown import code
from bot.propose.exact_revert import RevertError, exact_revert_commit, open_revert_pull
from bot.protocol import BOT_LABEL, ENVIRONMENT_LABEL_PREFIX, ROLLBACK_LABEL, encode_metadata


class RollbackError(MendbotError):
    """No exact revert can be proposed: a person must decide."""

    exit_code = 1


@dataclass(frozen=True)
class Rollback:
    """The rollback pull request (new or already open)."""

    number: int
    branch: str
    created: bool
    """False when it was already open (a rerun creates nothing)."""


def propose_rollback(forge: Forge, sha: str, environment: str, reason: str) -> Rollback:
    """Open (or find) the exact revert of merge commit ``sha`` for ``environment``."""
    repo = forge.workdir
    branch_name = forge.default_branch()
    tip = forge.branch_head(branch_name)
    try:
        sha = gitcmd.rev_parse(repo, sha)
        gitcmd.rev_parse(repo, f"{sha}^1")  # a root commit has nothing to go back to
    except GitError as exc:
        raise RollbackError(f"cannot read {sha}: {exc}") from None
    if tip is None or not gitcmd.is_ancestor(repo, sha, tip):
        raise RollbackError(f"{sha[:12]} is not on {branch_name}: nothing to roll back")
    fingerprint = hashlib.sha256(f"rollback:{sha}:{environment}".encode()).hexdigest()
    branch = f"mendbot/rollback/{sha[:12]}-{_slug(environment)}"
    existing = forge.find(fingerprint, branch)
    if existing is not None and existing.state is PullState.OPEN:
        return Rollback(existing.number, branch, created=False)
    message = f"Revert {sha[:12]}\n\nThis reverts commit {sha}.\n"
    try:
        commit = exact_revert_commit(repo, sha, tip, message)
    except RevertError as exc:
        raise RollbackError(
            str(exc), advice="revert by hand; the environment stays frozen until it is resolved"
        ) from None
    body = (
        f"The deployment of `{sha}` to {code(environment)} did not hold: {code(reason)}\n\n"
        "This pull request reverts that change exactly (every path it touched back to the "
        f"commit before it, nothing else). While it is open, {code(environment)} is frozen: the "
        "gate lets only exact reverts of bot changes through.\n\n"
        + encode_metadata({"rollback": sha, "environment": environment})
    )
    pull = open_revert_pull(
        forge,
        sha=sha,
        commit=commit,
        tip=tip,
        branch=branch,
        fingerprint=fingerprint,
        body=body,
        labels=[BOT_LABEL, ROLLBACK_LABEL, f"{ENVIRONMENT_LABEL_PREFIX}{environment}"],
    )
    return Rollback(pull.number, branch, created=True)


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in text)[:40] or "env"
