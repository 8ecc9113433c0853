"""Is a commit one the propose job built? Its attestation says so, not its author line.

Commit metadata (name, e-mail) is written by whoever pushes, so it proves nothing. The gate asks
this to tell the bot's commits from a person's; the propose job asks it before updating its own
branch, so that a person's commit written under the bot's name is never force-pushed away.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bot import git as gitcmd
from bot.git import GitError
from bot.protocol import ATTESTATIONS_DIR
from bot.provenance.changes import parse_raw, raw_diff
from bot.provenance.errors import ChangeError
from bot.provenance.verification.trust import Trust, UnsafeAcceptUnsigned
from bot.provenance.verification.verifier import verify_attestation

#: Checks that may fail on a genuine bot commit: an attestation of a commit made long ago has
#: expired, but it still says who made the commit.
_NOT_AUTHORSHIP = frozenset({"expiry"})


def attested_bot_commit(
    repo: Path, sha: str, trust: Trust, now: datetime, repository: str | None = None
) -> bool:
    """Whether commit ``sha`` is one the propose job built: it has one parent, adds exactly one
    file under the attestations folder (and changes none there that its statement does not
    attest), and that attestation verifies against ``trust`` with
    ``sha`` as the head, the parent as the attested base and, when given, ``repository`` as
    the repository it was made for (a bot commit copied from a fork is not the bot's here).
    Never with ``--allow-unsigned``: without a signature nothing shows who made the commit."""
    if isinstance(trust, UnsafeAcceptUnsigned):
        return False
    try:
        parents = gitcmd.parents(repo, sha)
        if len(parents) != 1:
            return False
        # A signed revert also deletes the attestation of what it reverts; the verifier below
        # accepts that deletion only when its statement attests it.
        added = [
            entry
            for entry in parse_raw(raw_diff(repo, parents[0], sha))
            if entry.path.startswith(f"{ATTESTATIONS_DIR}/") and entry.status == "A"
        ]
        if len(added) != 1:
            return False
        raw = gitcmd.read_blob(repo, f"{sha}:{added[0].path}")
    except (GitError, ChangeError):
        return False
    result = verify_attestation(
        raw, repo=repo, head=sha, base=parents[0], trust=trust, now=now, repository=repository
    )
    if result.statement is None or result.statement.predicate.base.git_commit != parents[0]:
        return False
    return not any(check.failed and check.id not in _NOT_AUTHORSHIP for check in result.checks)
