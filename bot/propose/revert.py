"""``mendbot revert``: the exact revert of one merged remediation, as a pull request.

A release engineer names the remediation (its id, or the number of the pull request that
proposed it); the propose identity finds the commit on the default branch that added the
remediation's attestation (:mod:`bot.provenance.reverted`) and opens one pull request that turns
the remediation's own change around exactly, attestation included, and nothing else that
commit brought (:mod:`bot.propose.exact_revert`). It works for one remediation out of several
merged since, whatever the merge method, and refuses, naming them, when later commits changed
the same lines or when the merging commit changed the remediation's paths differently. Once
merged, the attestation is gone from the branch: that is how every later run knows the
remediation was reverted and does not propose it again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.errors import MendbotError
from bot.forge.interface import Forge, PullRequest, PullState
from bot.markdown import code
from bot.propose.exact_revert import (
    RevertError,
    exact_revert_commit,
    open_revert_pull,
    remediation_paths,
    require_history,
    subject_of,
)
from bot.propose.rollback import Rollback
from bot.protocol import BOT_LABEL, REVERT_LABEL, decode_metadata, encode_metadata
from bot.provenance.errors import BundleError
from bot.provenance.layout import bundle_name, committed_attestation_path
from bot.provenance.revert_statement import revert_fingerprint
from bot.provenance.reverted import REQUESTED_BY, remediation_history


class RevertTargetError(MendbotError):
    """The remediation to revert cannot be found."""

    exit_code = 2


@dataclass(frozen=True)
class Revert(Rollback):
    """The revert pull request (new or already open), and what it turns around."""

    remediation_id: str
    merged_in: str
    """The commit on the default branch that merged the remediation."""
    recreated: bool = False
    """True when the pull request was open but its branch was gone, and was pushed again."""


def propose_revert(forge: Forge, target: str, requested_by: str, reason: str) -> Revert:
    """Open (or find) the exact revert of the remediation ``target`` names: a remediation id
    (``group/slug``) or the number of a pull request that proposed it (``12`` or ``#12``).

    The revert turns around the remediation's own paths only (what its attestation attests, and
    the attestation), even when the commit that merged it holds other work. Raises
    :class:`RevertTargetError` when it was never merged or was reverted already,
    :class:`~bot.propose.exact_revert.RevertError` when the revert cannot be exact, and
    :class:`~bot.git.GitError` in a shallow clone."""
    repo = forge.workdir
    base = forge.default_branch()
    tip = forge.branch_head(base)
    if tip is None:
        raise RevertTargetError(f"the default branch {base} does not exist in {repo}")
    require_history(repo, "mendbot revert")
    rid, pull_number = _remediation(forge, target)
    entry = remediation_history(repo, tip, only={rid}).get(rid)
    if entry is None:
        raise RevertTargetError(
            f"no merged remediation {rid} on {base}: its attestation "
            f"{committed_attestation_path(rid)} was never added there together with "
            "the change it attests",
            advice="`git log -- .mendbot/attestations/` lists the merged remediations",
        )
    if entry.reverted_in is not None:
        raise RevertTargetError(
            f"{rid} was already reverted in {entry.reverted_in[:12]} by {entry.reverted_by}"
        )
    sha = entry.merged_in
    fingerprint = revert_fingerprint(sha)
    branch = f"mendbot/revert/{sha[:12]}"
    paths = remediation_paths(repo, sha, rid)
    existing = _open_revert(forge, fingerprint)
    if existing is not None and forge.branch_head(existing.branch) is not None:
        return Revert(existing.number, existing.branch, False, rid, sha)
    if existing is not None and existing.branch != branch:
        raise RevertError(
            f"the revert of {rid} is open as #{existing.number}, but its branch "
            f"{existing.branch} no longer exists",
            advice=f"run `mendbot propose` on its signed revert bundle again to recreate the "
            f"branch, or close #{existing.number} and run `mendbot revert {rid}` again",
        )
    message = (
        f'Revert "{subject_of(repo, sha)}"\n\n'
        f"This reverts the remediation {rid},\nmerged in commit {sha}.\n"
    )
    who = " ".join(requested_by.split())
    if who:
        # Who asked stays known when the commit is fast-forwarded or rebased onto the branch
        # (its author is then the bot): the revert memory reads this trailer.
        message += f"\n{REQUESTED_BY}: {who}\n"
    commit = exact_revert_commit(repo, sha, tip, message, paths)
    if existing is not None:
        # Its branch was deleted while the pull request stayed open: put the branch back.
        forge.push(branch, commit, None)
        existing.head_sha, existing.base_sha = commit, tip
        forge.update(existing)
        return Revert(existing.number, branch, False, rid, sha, recreated=True)
    merged_by = f" (#{pull_number})" if pull_number is not None else ""
    body = (
        f"Reverts the remediation {code(rid)}, merged in `{sha}`{merged_by}, exactly: every "
        "path the remediation changed goes back to the commit before it, its attestation "
        f"{code(committed_attestation_path(rid))} included, nothing else.\n\n"
        f"Requested by {code(requested_by)}: {code(reason)}\n\n"
        "Once this is merged the remediation counts as reverted: mendbot does not propose it "
        f"again (list {code(rid)} under `propose.allow_reverted` in `.github/mendbot.yml` to "
        "allow it).\n\n" + encode_metadata({"revert": sha, "remediation": rid})
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


def _open_revert(forge: Forge, fingerprint: str) -> PullRequest | None:
    """The open pull request reverting the same merge, opened by ``mendbot revert`` or from a
    signed revert bundle (both give it the same fingerprint), if any."""
    return next((p for p in forge.pulls(PullState.OPEN) if p.fingerprint == fingerprint), None)


_PULL_NUMBER = re.compile(r"^#?(\d+)$")


def _remediation(forge: Forge, target: str) -> tuple[str, int | None]:
    """The remediation id ``target`` names, and the pull request that proposed it if known.

    A pull request number counts whatever state the forge recorded: merging the branch with
    git itself (a local forge's only way) leaves the record open, and the branch's history,
    not the record, says whether the remediation was merged."""
    found = _PULL_NUMBER.match(target.strip())
    if found is not None:
        number = int(found[1])
        pull = next((p for p in forge.pulls() if p.number == number), None)
        meta = decode_metadata(pull.body) if pull is not None else None
        # Only what `mendbot propose` opened names a remediation it proposes (with its
        # fingerprints); an unsigned revert's record names the remediation it reverts.
        rid = meta.get("remediation") if meta is not None and "fingerprints" in meta else None
        if not isinstance(rid, str):
            raise RevertTargetError(
                f"#{number} is not a mendbot pull request proposing a remediation",
                advice="name the remediation by its id (group/slug) instead",
            )
        return rid, number
    try:
        bundle_name(target)
    except BundleError:
        raise RevertTargetError(
            f"{target!r} is neither a remediation id (group/slug) nor a pull request number"
        ) from None
    # The merged record first; one merged with git itself is still open (or closed).
    pulls = sorted(forge.pulls(), key=lambda p: p.state is not PullState.MERGED)
    for pull in pulls:
        meta = decode_metadata(pull.body)
        if meta is not None and "fingerprints" in meta and meta.get("remediation") == target:
            return target, pull.number
    return target, None


__all__ = ["Revert", "RevertError", "RevertTargetError", "propose_revert"]
