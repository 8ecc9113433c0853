"""Is a pull request an exact revert, and of a bot change?

A pull request is an *exact revert* of commit C on the base branch when its change set (merge
base → head) is C's change set (first parent → C) turned around, path for path and blob for
blob. C is a *bot change* when it adds a committed mendbot attestation signed by the trusted
identity: every remediation the propose job builds does, whatever merge method brought it onto
the base branch, and a person cannot make one without the signing key.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.provenance import git as gitcmd
from bot.provenance.changes import RawEntry, parse_raw, raw_diff
from bot.provenance.layout import ATTESTATIONS_DIR

#: How far back the base branch is searched for the reverted commit.
HISTORY_LIMIT = 200
#: A pull request touching more paths than this is not searched (reverts are small).
MAX_PATHS = 500

_Key = tuple[str, str, str, str, str]


@dataclass(frozen=True)
class RevertFacts:
    """The ``pr.is_revert`` and ``pr.reverts_bot_change`` context fields, with the evidence."""

    is_revert: bool
    reverts_bot_change: bool
    reverted: str | None = None
    """The commit the pull request reverts exactly."""
    attestations: tuple[str, ...] = ()
    """The trusted attestations of the reverted bot change, which the pull request deletes."""


def _inverse(entry: RawEntry) -> _Key:
    return (entry.path, entry.dst_mode, entry.dst_id, entry.src_mode, entry.src_id)


def _key(entry: RawEntry) -> _Key:
    return (entry.path, entry.src_mode, entry.src_id, entry.dst_mode, entry.dst_id)


def find_revert(
    repo: Path,
    *,
    base_tip: str,
    pr_entries: Sequence[RawEntry],
    is_attested: Callable[[bytes, str], bool],
) -> RevertFacts:
    """Look for the commit ``pr_entries`` exactly revert among the last :data:`HISTORY_LIMIT`
    first-parent commits of the base branch that touch the same paths.

    Only the change counts, never the title or message (which the author controls): a pull
    request titled ``Revert "..."`` that changes anything else is not a revert.
    ``is_attested(raw, commit)`` says whether an attestation added by ``commit`` was signed by
    the trusted identity."""
    if not pr_entries or len(pr_entries) > MAX_PATHS:
        return RevertFacts(False, False)
    wanted = {_key(entry) for entry in pr_entries}
    paths = sorted({entry.path for entry in pr_entries})
    log = gitcmd.run(
        repo,
        "log",
        "--first-parent",
        f"--max-count={HISTORY_LIMIT}",
        "--format=%H %P",
        base_tip,
        "--",
        *paths,
        env={"GIT_LITERAL_PATHSPECS": "1"},
    )
    for line in log.decode().splitlines():
        commit, *parents = line.split()
        if not parents:
            continue
        entries = parse_raw(raw_diff(repo, parents[0], commit))
        if {_inverse(entry) for entry in entries} != wanted:
            continue
        added = [
            entry
            for entry in entries
            if entry.status == "A" and entry.path.startswith(ATTESTATIONS_DIR + "/")
        ]
        blobs = gitcmd.read_blobs(repo, [entry.dst_id for entry in added])
        trusted = tuple(e.path for e in added if is_attested(blobs[e.dst_id], commit))
        return RevertFacts(True, bool(trusted), commit, trusted)
    return RevertFacts(False, False)
