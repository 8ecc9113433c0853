"""Which merged remediations were reverted, remembered by git itself.

A merged remediation adds its attestation under ``.mendbot/attestations/``; reverting it —
with ``mendbot revert``, a ``git revert`` by a release engineer, or any change that removes the
attestation — deletes that file on the default branch. Reading the first-parent history of the
branch for those two events needs no forge, no trailer (a squash merge drops trailers) and no
state outside the repository, so every identity sees the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot import git as gitcmd
from bot.protocol import ATTESTATIONS_DIR
from bot.provenance.layout import committed_attestation_path, remediation_id

_SUFFIX = ".sigstore.json"


@dataclass(frozen=True)
class RemediationCommits:
    """Where a remediation entered the branch and, if it did, where it left."""

    remediation_id: str
    merged_in: str
    """The first-parent commit that added its attestation (the merge, or the squashed commit)."""
    reverted_in: str | None = None
    """The first-parent commit that removed the attestation again; None while it is there."""
    reverted_by: str = ""
    """The author of ``reverted_in``."""


def remediation_history(repo: Path, tip: str) -> dict[str, RemediationCommits]:
    """Every remediation whose attestation was added on ``tip``'s first-parent history, with
    the last time it was added and, when it is no longer at ``tip``, the commit that removed
    it."""
    log = gitcmd.run(
        repo,
        "log",
        "--first-parent",
        "--diff-merges=first-parent",
        "--reverse",
        "--no-renames",
        "--name-status",
        "--format=%x00%H%x09%an",
        tip,
        "--",
        ATTESTATIONS_DIR,
    ).decode("utf-8", "replace")
    found: dict[str, RemediationCommits] = {}
    for entry in log.split("\x00")[1:]:
        header, _, changes = entry.partition("\n")
        commit, _, author = header.partition("\t")
        for line in changes.splitlines():
            status, _, path = line.partition("\t")
            rid = _remediation_of(path)
            if rid is None:
                continue
            if status.startswith("A"):
                found[rid] = RemediationCommits(rid, commit)
            elif status.startswith("D") and rid in found:
                found[rid] = RemediationCommits(rid, found[rid].merged_in, commit, author)
    return found


def reverted_remediations(repo: Path, tip: str) -> dict[str, RemediationCommits]:
    """The remediations merged on ``tip``'s branch and reverted since (not merged again)."""
    return {
        rid: entry
        for rid, entry in remediation_history(repo, tip).items()
        if entry.reverted_in is not None
    }


def _remediation_of(path: str) -> str | None:
    """The remediation id of a committed attestation path, None for any other path."""
    name = path.removeprefix(f"{ATTESTATIONS_DIR}/")
    if name == path or "/" in name or not name.endswith(_SUFFIX):
        return None
    rid = remediation_id(name.removesuffix(_SUFFIX))
    return rid if rid is not None and committed_attestation_path(rid) == path else None
