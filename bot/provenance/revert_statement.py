"""What makes a remediation statement the attestation of an exact revert.

A signed revert is an ordinary remediation statement (same predicate, same verifier) whose
change set is the inverse of one merged remediation on a later tip of the default branch: the
``base`` is that tip, the ``changes`` (and the ``_changeset`` subject) are the inverse, the
post-image subjects are the files as they were before the remediation. Two things mark it:

* its remediation id is ``revert/<group>-<slug>`` of the remediation it reverts, so its
  committed attestation is ``.mendbot/attestations/revert--….sigstore.json`` and the branch
  history remembers it like any merged remediation (reverting *it* brings the remediation back);
* one input ``reverts:<remediation id>`` whose ``uri`` is ``git:<commit>`` (the commit that
  merged the remediation) and whose digest is the sha256 of the attestation that commit added:
  the signature binds the revert to that exact merge and that exact attestation.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from bot.provenance.layout import bundle_name
from bot.provenance.statement import DigestSet, InputRef, Statement

#: The remediation group of every revert.
REVERT_GROUP = "revert"
_INPUT = "reverts:"
_COMMIT = "git:"


def revert_id(remediation_id: str) -> str:
    """``group/slug`` → ``revert/group-slug``: the id of the revert of a remediation."""
    return f"{REVERT_GROUP}/{bundle_name(remediation_id).replace('--', '-')}"


def revert_fingerprint(commit: str) -> str:
    """The fingerprint of the revert of the remediation merged in ``commit`` (the same one
    ``mendbot revert`` gives its pull request, so both find each other)."""
    return hashlib.sha256(f"revert:{commit}".encode()).hexdigest()


def revert_input(remediation_id: str, commit: str, attestation: bytes) -> InputRef:
    """The input naming what is reverted: the remediation, its merge, its attestation."""
    return InputRef(
        name=f"{_INPUT}{remediation_id}",
        uri=f"{_COMMIT}{commit}",
        digest=DigestSet(sha256=hashlib.sha256(attestation).hexdigest()),
    )


@dataclass(frozen=True)
class RevertOf:
    """The merged remediation a revert statement turns around."""

    remediation_id: str
    merged_in: str
    """The commit that merged it."""
    attestation_sha256: str
    """sha256 of the attestation that commit added."""


def revert_of(statement: Statement) -> RevertOf | None:
    """What ``statement`` reverts; None for a statement that is not a revert's."""
    info = statement.predicate.remediation
    if not info.id.startswith(f"{REVERT_GROUP}/"):
        return None
    found = [i for i in statement.predicate.inputs if i.name.startswith(_INPUT)]
    if len(found) != 1 or found[0].uri is None or not found[0].uri.startswith(_COMMIT):
        return None
    return RevertOf(
        remediation_id=found[0].name.removeprefix(_INPUT),
        merged_in=found[0].uri.removeprefix(_COMMIT),
        attestation_sha256=found[0].digest.sha256,
    )
