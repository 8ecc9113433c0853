"""Does ``head`` change exactly what was attested? A local ``git diff --raw`` answers.

The change list from the attested base commit to ``head`` is rebuilt with the same code that
built the attested one (:mod:`bot.provenance.changes`), then compared path by path: nothing
extra, nothing missing, same operations, modes and digests. The only path allowed besides them
is this remediation's attestation, added under ``.mendbot/attestations/``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bot.provenance import git
from bot.provenance.changes import Change, RawEntry, changes_from_raw, parse_raw, raw_diff
from bot.provenance.errors import ChangeError, GitError
from bot.provenance.layout import ATTESTATIONS_DIR, committed_attestation_path
from bot.provenance.result import VerificationResult
from bot.provenance.statement import Statement

_VERB = {"add": "adds", "modify": "modifies", "delete": "deletes"}
_EXTRA_ADVICE = (
    "the pull request changes more than the remediation: drop the extra change, or let a human "
    "review it as a separate pull request"
)
_DIFFERS_ADVICE = (
    "the file was edited after the fix was attested: restore the attested version "
    "(`git apply` patch.diff on the base commit) or regenerate the bundle"
)


def check_change_set(
    repo: Path,
    statement: Statement,
    head: str,
    attestation: bytes | None,
    result: VerificationResult,
) -> None:
    """Record ``head``, ``base-commit``, ``attestation-path`` and ``change-set`` checks."""
    try:
        head_commit = git.rev_parse(repo, head)
    except GitError as exc:
        result.fail("head", str(exc), exc.advice)
        return
    result.passed("head", head_commit if head == head_commit else f"{head} = {head_commit}")
    base = statement.predicate.base.git_commit
    if not git.has_commit(repo, base):
        result.fail(
            "base-commit",
            f"the attested base commit {base} is not in {repo}",
            "the bundle was made for another repository, or the base commit was not fetched "
            f"(`git fetch origin {base}`)",
        )
        return
    if not git.is_ancestor(repo, base, head_commit):
        result.fail(
            "base-commit",
            f"head {head_commit[:12]} does not descend from the attested base commit {base[:12]}",
            f"apply patch.diff on {base[:12]} (the branch was rebased or started elsewhere), or "
            "regenerate the bundle on the current base",
        )
        return
    result.passed("base-commit", f"head descends from the attested base {base}")
    try:
        entries = parse_raw(raw_diff(repo, base, head_commit))
        own = [e for e in entries if e.path.startswith(f"{ATTESTATIONS_DIR}/")]
        _check_attestation_path(repo, statement, head_commit, own, attestation, result)
        actual = changes_from_raw(repo, [e for e in entries if e not in own])
    except ChangeError as exc:
        result.fail("change-set", str(exc), "such changes are never attested; remove them")
        return
    problems = compare(statement.predicate.changes, actual)
    for message, advice in problems:
        result.fail("change-set", message, advice)
    if not problems:
        result.passed(
            "change-set", f"head changes exactly the {len(actual)} attested path(s), nothing else"
        )


def _check_attestation_path(
    repo: Path,
    statement: Statement,
    head: str,
    entries: Sequence[RawEntry],
    attestation: bytes | None,
    result: VerificationResult,
) -> None:
    expected = committed_attestation_path(statement.predicate.remediation.id)
    if not entries:
        result.skip("attestation-path", f"no attestation committed (expected at {expected})")
        return
    for entry in entries:
        if entry.path != expected or entry.status != "A":
            result.fail(
                "attestation-path",
                f"head changes {entry.path} (status {entry.status}) under {ATTESTATIONS_DIR}/; "
                f"only adding {expected} is allowed",
                "commit only this remediation's attestation, as a new file",
            )
            continue
        committed = git.read_blobs(repo, [entry.dst_id])[entry.dst_id]
        if attestation is not None and committed != attestation:
            result.fail(
                "attestation-path",
                f"the attestation committed at {expected} is not the one verified",
                "commit the bundle's attestation.sigstore.json unchanged",
            )
        else:
            result.passed("attestation-path", f"{expected} is the verified attestation")


def compare(attested: Sequence[Change], actual: Sequence[Change]) -> list[tuple[str, str]]:
    """``(message, advice)`` for every difference between two change lists."""
    problems: list[tuple[str, str]] = []
    want = {c.path: c for c in attested}
    have = {c.path: c for c in actual}
    for path in sorted(set(want) | set(have), key=lambda p: p.encode("utf-8")):
        expected, found = want.get(path), have.get(path)
        if expected is None and found is not None:
            problems.append(
                (
                    f"extra change: head {_VERB[found.op]} {path}, which is not attested",
                    _EXTRA_ADVICE,
                )
            )
        elif found is None and expected is not None:
            problems.append(
                (
                    f"missing change: the attestation {_VERB[expected.op]} {path}, head does not",
                    "apply the whole patch.diff; a partial remediation is not the attested one",
                )
            )
        elif expected is not None and found is not None:
            problems.extend(_differences(path, expected, found))
    return problems


def _differences(path: str, expected: Change, found: Change) -> list[tuple[str, str]]:
    if expected.op != found.op:
        return [
            (
                f"{path}: head {_VERB[found.op]} it, the attestation {_VERB[expected.op]} it",
                _DIFFERS_ADVICE,
            )
        ]
    problems = []
    for side in ("before", "after"):
        want, have = getattr(expected, side), getattr(found, side)
        if want is None or have is None:
            continue
        image = "pre-image" if side == "before" else "post-image"
        if want.mode != have.mode:
            if have.mode == "120000":
                text = (
                    f"{path}: is a symlink at head (mode 120000), "
                    f"attested as a regular file ({want.mode})"
                )
            elif want.mode == "120000":
                text = f"{path}: is a regular file at head ({have.mode}), attested as a symlink"
            else:
                text = f"{path}: {image} mode {have.mode} at head, attested {want.mode}"
            problems.append((text, _DIFFERS_ADVICE))
        if want.sha256 != have.sha256:
            problems.append(
                (
                    f"{path}: {image} content differs from the attested one "
                    f"(sha256 {have.sha256[:12]}… at head, {want.sha256[:12]}… attested)",
                    _DIFFERS_ADVICE,
                )
            )
    return problems
