"""What one commit did to a remediation's own paths, compared with the remediation's attestation.

A remediation may reach the default branch inside a larger first-parent commit: a release
branch merged with other work, a squash of two remediations, a pull request with extra human
commits. Its *own paths* are the paths its statement attests plus its committed attestation;
the commit brought the remediation in exactly when, on those paths, it made the attested
change and nothing else. Reverting that remediation turns around those paths only, and the gate
recognises such a revert by the same comparison, so both agree on what "the exact revert of a
remediation" is.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bot.provenance.changes import RawEntry, changes_from_raw, parse_raw, raw_diff
from bot.provenance.layout import committed_attestation_path
from bot.provenance.statement import Statement
from bot.provenance.verification.compare import compare

#: One side of a path's change: (mode, blob id); ``000000`` and a null id for "absent".
Image = tuple[str, str]


def own_paths(statement: Statement) -> tuple[str, ...]:
    """The paths ``statement``'s remediation changes, its committed attestation included,
    sorted."""
    attested = {change.path for change in statement.predicate.changes}
    attested.add(committed_attestation_path(statement.predicate.remediation.id))
    return tuple(sorted(attested))


def own_change_problems(repo: Path, statement: Statement, commit: str) -> list[str]:
    """How ``commit``'s first-parent change on ``statement``'s own paths differs from the
    attested change (empty when it is exactly that change and adds the attestation).

    Raises :class:`~bot.git.GitError` or :class:`~bot.provenance.errors.ChangeError` when git
    cannot describe the change (say, a submodule on one of the paths)."""
    attestation = committed_attestation_path(statement.predicate.remediation.id)
    attested = {change.path for change in statement.predicate.changes}
    entries = parse_raw(raw_diff(repo, f"{commit}^1", commit))
    ours = [entry for entry in entries if entry.path in attested]
    made = changes_from_raw(repo, ours)
    subject = f"commit {commit[:12]}"
    problems = [message for message, _ in compare(statement.predicate.changes, made, subject)]
    if not any(entry.path == attestation and entry.status == "A" for entry in entries):
        problems.append(f"commit {commit[:12]} does not add the attestation {attestation}")
    return problems


def images(entries: Sequence[RawEntry]) -> dict[str, tuple[Image, Image]]:
    """``path -> (pre-image, post-image)``."""
    return {e.path: ((e.src_mode, e.src_id), (e.dst_mode, e.dst_id)) for e in entries}


def undoes(revert: Sequence[RawEntry], change: Sequence[RawEntry]) -> bool:
    """Whether ``revert`` turns ``change`` around exactly: the same paths, and on each the
    revert's pre-image is the change's post-image and its post-image the change's pre-image
    (modes and blob ids, so content, deletes and adds included)."""
    turned = {path: (after, before) for path, (before, after) in images(change).items()}
    return bool(revert) and images(revert) == turned


def undoes_own_change(
    revert: Sequence[RawEntry], change: Sequence[RawEntry], statement: Statement
) -> bool:
    """Whether ``revert`` turns around exactly ``statement``'s own paths of ``change`` (a
    commit's first-parent change that merged the remediation, maybe with other work): what
    ``mendbot revert`` makes, and what the gate and the deploy job accept as its exact revert."""
    own = set(own_paths(statement))
    return undoes(revert, [entry for entry in change if entry.path in own])
