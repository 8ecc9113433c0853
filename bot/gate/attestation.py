"""The provenance of a pull request: its committed attestation, verified against its commits.

``provenance.verified`` and ``provenance.matches_pr`` are kept apart on purpose: a genuine
attestation on a branch that someone pushed to (a tampered pull request) verifies, but no longer
matches the pull request, and policies treat the two differently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bot import git as gitcmd
from bot.policy.gate_context import Provenance
from bot.protocol import ATTESTATIONS_DIR
from bot.provenance.errors import ChangeError
from bot.provenance.own_change import own_change_problems, own_paths
from bot.provenance.statement import Statement
from bot.provenance.verification.result import Check
from bot.provenance.verification.trust import Trust
from bot.provenance.verification.verifier import verify_attestation

#: Verifier checks that bind the attestation to what merging the pull request changes (and to
#: the gated repository); every other check is about the attestation itself (format, signature,
#: signer, statement, expiry).
BINDING_CHECKS = frozenset(
    {"head", "base", "base-commit", "change-set", "merge-result", "attestation-path", "repository"}
)


@dataclass(frozen=True)
class AttestationFacts:
    """What the gate learned about the pull request's attestation."""

    provenance: Provenance
    statement: Statement | None
    """The verified statement (None when nothing verified)."""
    paths: tuple[str, ...]
    """Committed attestation files the pull request adds."""
    checks: tuple[Check, ...] = ()
    """The verifier's checks (empty when there was nothing to verify)."""
    notes: tuple[str, ...] = field(default=())
    """Why provenance is not verified or does not match, for people."""


def attestation_paths(changed: dict[str, str]) -> tuple[str, ...]:
    """The attestation files among the pull request's changes (``path -> op``, added only)."""
    return tuple(
        sorted(
            path
            for path, op in changed.items()
            if op == "add"
            and path.startswith(ATTESTATIONS_DIR + "/")
            and path.endswith(".sigstore.json")
        )
    )


def examine(
    repo: Path,
    *,
    head: str,
    base_tip: str,
    changed: dict[str, str],
    trust: Trust,
    now: datetime,
    repository: str | None = None,
) -> AttestationFacts:
    """Verify the one attestation the pull request commits, as made for ``repository`` (the
    gated repository's URL), against what merging ``head`` into ``base_tip`` changes (the merge
    base .. head, and the merge result).

    No attestation, several attestations, a failed verification or a pull request whose change
    is not the attested one (say, a genuine attestation reused on a later base) all give an
    unverified or non-matching provenance, never an error.
    """
    paths = attestation_paths(changed)
    unverified = Provenance(verified=False, source="human-override", matches_pr=False)
    if not paths:
        return AttestationFacts(
            unverified, None, paths, notes=("the pull request commits no mendbot attestation",)
        )
    if len(paths) > 1:
        return AttestationFacts(
            unverified,
            None,
            paths,
            notes=(f"the pull request commits {len(paths)} attestations; a remediation has one",),
        )
    raw = gitcmd.read_blob(repo, f"{head}:{paths[0]}")
    result = verify_attestation(
        raw, repo=repo, head=head, base=base_tip, trust=trust, now=now, repository=repository
    )
    own = [c for c in result.failures if c.id not in BINDING_CHECKS]
    binding = [c for c in result.failures if c.id in BINDING_CHECKS]
    verified = result.statement is not None and not own
    notes = [f"{c.id}: {c.message}" for c in (*own, *binding)]
    statement = result.statement if verified else None
    matches = verified and not binding
    source = result.source if verified and result.source is not None else "human-override"
    return AttestationFacts(
        Provenance(verified=verified, source=source, matches_pr=matches),
        statement,
        paths,
        tuple(result.checks),
        tuple(notes),
    )


#: Checks that do not say who signed: binding to commits, and expiry (an attestation of a change
#: merged long ago has expired, but it still tells who made that change).
_NOT_IDENTITY = BINDING_CHECKS | {"expiry"}


def attested_own_paths(
    repo: Path, raw: bytes, commit: str, trust: Trust, now: datetime
) -> tuple[str, ...] | None:
    """The own paths (:func:`~bot.provenance.own_change.own_paths`) of the remediation whose
    attestation ``raw`` ``commit`` committed, when it is a well-formed remediation statement
    signed by ``trust`` and *``commit``'s own change on those paths* (first parent →
    ``commit``) is exactly the attested one; None otherwise — used to recognise merged bot
    changes in history, whatever else the commit brought (a release merge, a squash of two
    remediations). A genuine attestation copied into a person's commit makes no bot change:
    the person's change is not the attested one."""
    result = verify_attestation(
        raw, repo=repo, head=commit, base=f"{commit}^1", trust=trust, now=now
    )
    statement = result.statement
    if statement is None or any(c.failed and c.id not in _NOT_IDENTITY for c in result.checks):
        return None
    try:
        problems = own_change_problems(repo, statement, commit)
    except (ChangeError, gitcmd.GitError):
        return None
    return None if problems else own_paths(statement)
