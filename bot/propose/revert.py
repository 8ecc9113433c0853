"""``mendbot revert``: the exact revert of one merged remediation, as a pull request.

A release engineer names the remediation (its id, or the number of the pull request that
merged it); the propose identity finds the commit on the default branch that added the
remediation's attestation (:mod:`bot.provenance.reverted`) and opens one pull request that turns
that change around exactly, attestation included (:mod:`bot.propose.exact_revert`). It works
for one remediation out of several merged since, and refuses, naming them, when later commits
changed the same lines. Once merged, the attestation is gone from the branch: that is how every
later run knows the remediation was reverted and does not propose it again.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from bot.errors import MendbotError
from bot.forge.interface import Forge, PullState
from bot.propose.exact_revert import (
    RevertError,
    exact_revert_commit,
    open_revert_pull,
    subject_of,
)
from bot.propose.rollback import Rollback
from bot.protocol import BOT_LABEL, REVERT_LABEL, decode_metadata, encode_metadata
from bot.provenance.errors import BundleError
from bot.provenance.layout import bundle_name, committed_attestation_path
from bot.provenance.reverted import remediation_history


class RevertTargetError(MendbotError):
    """The remediation to revert cannot be found."""

    exit_code = 2


@dataclass(frozen=True)
class Revert(Rollback):
    """The revert pull request (new or already open), and what it turns around."""

    remediation_id: str
    merged_in: str
    """The commit on the default branch whose change it turns around."""


def propose_revert(forge: Forge, target: str, requested_by: str, reason: str) -> Revert:
    """Open (or find) the exact revert of the remediation ``target`` names: a remediation id
    (``group/slug``) or the number of the pull request that merged it (``12`` or ``#12``).
    Raises :class:`RevertTargetError` when it was never merged or was reverted already, and
    :class:`~bot.propose.exact_revert.RevertError` when the revert cannot be exact."""
    repo = forge.workdir
    base = forge.default_branch()
    tip = forge.branch_head(base)
    if tip is None:
        raise RevertTargetError(f"the default branch {base} does not exist in {repo}")
    rid, pull_number = _remediation(forge, target)
    entry = remediation_history(repo, tip).get(rid)
    if entry is None:
        raise RevertTargetError(
            f"no merged remediation {rid} on {base}: its attestation "
            f"{committed_attestation_path(rid)} was never added there",
            advice="`git log -- .mendbot/attestations/` lists the merged remediations",
        )
    if entry.reverted_in is not None:
        raise RevertTargetError(
            f"{rid} was already reverted in {entry.reverted_in[:12]} by {entry.reverted_by}"
        )
    sha = entry.merged_in
    fingerprint = hashlib.sha256(f"revert:{sha}".encode()).hexdigest()
    branch = f"mendbot/revert/{sha[:12]}"
    existing = forge.find(fingerprint, branch)
    if existing is not None and existing.state is PullState.OPEN:
        return Revert(existing.number, branch, False, rid, sha)
    message = (
        f'Revert "{subject_of(repo, sha)}"\n\n'
        f"This reverts commit {sha},\nwhich merged the remediation {rid}.\n"
    )
    commit = exact_revert_commit(repo, sha, tip, message)
    merged_by = f" (#{pull_number})" if pull_number is not None else ""
    body = (
        f"Reverts the remediation `{rid}`, merged in {sha}{merged_by}, exactly: every path that "
        "change touched goes back to the commit before it, nothing else, its attestation "
        f"`{committed_attestation_path(rid)}` included.\n\n"
        f"Requested by {requested_by}: {reason}\n\n"
        "Once this is merged the remediation counts as reverted: mendbot does not propose it "
        f"again (list `{rid}` under `propose.allow_reverted` in `.github/mendbot.yml` to allow "
        "it).\n\n" + encode_metadata({"revert": sha, "remediation": rid})
    )
    pull = open_revert_pull(
        forge,
        sha=sha,
        commit=commit,
        tip=tip,
        branch=branch,
        fingerprint=fingerprint,
        body=body,
        labels=[BOT_LABEL, REVERT_LABEL],
    )
    return Revert(pull.number, branch, True, rid, sha)


_PULL_NUMBER = re.compile(r"^#?(\d+)$")


def _remediation(forge: Forge, target: str) -> tuple[str, int | None]:
    """The remediation id ``target`` names, and the pull request that merged it if known."""
    merged = forge.pulls(PullState.MERGED)
    found = _PULL_NUMBER.match(target.strip())
    if found is not None:
        number = int(found[1])
        pull = next((p for p in merged if p.number == number), None)
        meta = decode_metadata(pull.body) if pull is not None else None
        rid = meta.get("remediation") if meta is not None else None
        if not isinstance(rid, str):
            raise RevertTargetError(
                f"#{number} is not a merged mendbot pull request",
                advice="name the remediation by its id (group/slug) instead",
            )
        return rid, number
    try:
        bundle_name(target)
    except BundleError:
        raise RevertTargetError(
            f"{target!r} is neither a remediation id (group/slug) nor a pull request number"
        ) from None
    for pull in merged:
        meta = decode_metadata(pull.body)
        if meta is not None and meta.get("remediation") == target:
            return target, pull.number
    return target, None


__all__ = ["Revert", "RevertError", "RevertTargetError", "propose_revert"]
