"""``mendbot revert ID --bundle-out DIR``: the signed bundle of an exact revert.

Read-only, like the analysis: it finds the commit that merged the remediation on the checked-out
default branch (:mod:`bot.provenance.reverted`), computes the inverse tree on the tip
(:mod:`bot.provenance.inverse`), and writes an ordinary remediation bundle whose change set is
that inverse, marked as a revert (:mod:`bot.provenance.revert_statement`) and signed with the
analysis' signing options. ``mendbot propose DIR`` then opens the revert pull request from the
verified bundle, and the gate verifies its attestation like any other.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from bot import git
from bot.errors import MendbotError
from bot.models import Remediation
from bot.provenance import run_context
from bot.provenance.errors import BaseMismatchError
from bot.provenance.inverse import (
    inverse_tree,
    remediation_paths,
    require_history,
    subject_of,
)
from bot.provenance.layout import committed_attestation_path
from bot.provenance.revert_statement import revert_fingerprint, revert_id, revert_input
from bot.provenance.reverted import remediation_history
from bot.provenance.signing.bundle_writer import BundleRequest, WrittenBundle, write_bundle
from bot.provenance.signing.signers import Signer
from bot.risk import BlastRadius, Disposition, Reversibility


class RevertTargetError(MendbotError):
    """The remediation to revert is not on the branch (never merged, or reverted already)."""

    exit_code = 2


def write_revert_bundle(
    root: Path,
    target: str,
    out: Path,
    signer: Signer,
    *,
    requested_by: str,
    reason: str,
    rollback: bool = False,
    env: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> WrittenBundle:
    """Write the signed bundle of the exact revert of the remediation ``target`` (its id)
    merged on the branch checked out at ``root``, under ``out``.

    The statement's source is ``human-override`` (``requested_by`` asked, for ``reason``), or
    ``detector`` when ``rollback`` (the deploy job asks: a deployment did not hold). Only the
    remediation's own paths are turned around (:func:`~bot.provenance.inverse.remediation_paths`).
    Raises :class:`RevertTargetError`, :class:`~bot.provenance.inverse.RevertError` when later
    commits changed the same lines or the merging commit changed them differently,
    :class:`~bot.git.GitError` in a shallow clone, and the errors of
    :func:`~bot.provenance.signing.bundle_writer.write_bundle`.
    """
    environment = os.environ if env is None else env
    repo = git.toplevel(root)
    tip = git.rev_parse(repo, "HEAD")
    require_history(repo, "a revert bundle")
    entry = remediation_history(repo, tip, only={target}).get(target)
    if entry is None:
        raise RevertTargetError(
            f"no merged remediation {target} on the checked-out branch: its attestation "
            f"{committed_attestation_path(target)} was never added there together with "
            "the change it attests",
            advice="check out the default branch with its history (fetch-depth: 0); "
            "`git log -- .mendbot/attestations/` lists the merged remediations",
        )
    if entry.reverted_in is not None:
        raise RevertTargetError(
            f"{target} was already reverted in {entry.reverted_in[:12]} by {entry.reverted_by}"
        )
    merged = entry.merged_in
    tree = inverse_tree(repo, merged, tip, remediation_paths(repo, merged, target))
    changed = git.run(repo, "diff", *git.DIFF_OPTIONS, "--name-only", "-z", tip, tree).decode(
        "utf-8", "surrogateescape"
    )
    files: dict[str, bytes | None] = {}
    for path in filter(None, changed.split("\0")):
        found = git.blob_at(repo, tree, path)
        files[path] = None if found is None else git.read_blobs(repo, [found[1]])[found[1]]
    attestation = git.read_blob(repo, f"{merged}:{committed_attestation_path(target)}")
    group = target.split("/", 1)[0]
    asked = "the deploy job (rollback)" if rollback else requested_by
    remediation = Remediation(
        id=revert_id(target),
        fingerprint=revert_fingerprint(merged),
        title=f'Revert "{subject_of(repo, merged)}" (asked by {asked}: {reason})',
        rules=(group,),
        paths=tuple(sorted(files)),
        fixes=(),
        # The exact inverse restores the reviewed state before the remediation.
        disposition=Disposition.SAFE,
        reversibility=Reversibility.REVERSIBLE,
        blast_radius=BlastRadius.FILE,
    )
    with signer:
        context = run_context.detect(repo, environment, signer.claims)
        if context.expected_commit and context.expected_commit != tip:
            raise BaseMismatchError(
                f"HEAD is {tip[:12]} but the run was started for {context.expected_commit[:12]}",
                advice="check out the commit the workflow was triggered for (GITHUB_SHA)",
            )
        return write_bundle(
            BundleRequest(
                remediation=remediation,
                findings=(),
                files=files,
                source="detector" if rollback else "human-override",
                inputs=(revert_input(target, merged, attestation),),
            ),
            repo=repo,
            base=tip,
            out=out,
            signer=signer,
            context=context,
            config=None,
            created=now or datetime.now(UTC),
        )
