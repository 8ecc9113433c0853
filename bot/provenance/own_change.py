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

from pathlib import Path

from bot.provenance.changes import changes_from_raw, parse_raw, raw_diff
from bot.provenance.layout import committed_attestation_path
from bot.provenance.statement import Statement
from bot.provenance.verification.compare import compare


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
