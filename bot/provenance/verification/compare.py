"""Does a pull request change exactly what was attested? Local git answers.

What a pull request changes is what merging it changes, seen two ways, and both must be the
attested change list:

* **change-set**: ``git diff --raw`` from the merge base of the base tip and ``head`` to
  ``head`` (the pull request's own change: what a reviewer sees on GitHub);
* **merge-result**: from the base tip to the tree a merge of ``head`` into the base tip gives
  (``git merge-tree``: what a merge commit or a squash puts on the base branch and what the
  deploy job applies).

Comparing with the attested base commit instead would accept a genuine attestation reused on
a later base: the bot commit's tree committed on top of a newer base tip is "the attested
change" from the attested base, but merging it reverts everything merged since.

Change lists are rebuilt with the same code that built the attested one
(:mod:`bot.provenance.changes`) and compared path by path: nothing extra, nothing missing, same
operations, modes and digests. The only path allowed besides them is this remediation's
attestation, added under ``.mendbot/attestations/``; there, a signed revert
(:mod:`bot.provenance.revert_statement`) also attests deleting the attestation of the
remediation it reverts.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bot import git
from bot.git import GitError
from bot.protocol import ATTESTATIONS_DIR
from bot.provenance.changes import Change, RawEntry, changes_from_raw, parse_raw, raw_diff
from bot.provenance.errors import ChangeError
from bot.provenance.layout import committed_attestation_path
from bot.provenance.revert_statement import revert_of
from bot.provenance.statement import Statement
from bot.provenance.verification.result import VerificationResult

_VERB = {"add": "adds", "modify": "modifies", "delete": "deletes"}
_EXTRA_ADVICE = (
    "the pull request changes more than the remediation: drop the extra change, or let a human "
    "review it as a separate pull request"
)
_DIFFERS_ADVICE = (
    "the file was edited after the fix was attested: restore the attested version "
    "(`git apply` patch.diff on the base commit) or regenerate the bundle"
)
_MERGED_ADVICE = (
    "the base branch changed the same files since the fix was attested: regenerate the bundle "
    "on the current base"
)
_BASE_ADVICE = "pass --base with the branch (or commit) the change merges into"


def check_change_set(
    repo: Path,
    statement: Statement,
    head: str,
    attestation: bytes | None,
    result: VerificationResult,
    *,
    base: str | None,
) -> None:
    """Record the ``head``, ``base``, ``base-commit``, ``attestation-path``, ``change-set`` and
    ``merge-result`` checks of merging ``head`` into ``base``.

    ``base`` is the branch or commit the change merges into (for a merged change: the first
    parent of its merge or squash commit); None means the branch the attestation names
    (``base.ref``, or ``origin``'s branch of that name), and fails when it names none.
    """
    attested = statement.predicate.base.git_commit
    # Every name this check resolves, in one git process; a name that does not resolve is
    # asked again below the usual way, for its usual error.
    known = git.resolve_commits(repo, [head, attested, *([base] if base is not None else [])])
    try:
        head_commit = known.get(head) or git.rev_parse(repo, head)
    except GitError as exc:
        result.fail("head", str(exc), exc.advice)
        return
    result.passed("head", head_commit if head == head_commit else f"{head} = {head_commit}")
    base_tip = _base_tip(repo, statement, base, head_commit, result, known)
    if base_tip is None:
        return
    present = git.is_object_id(attested) and known.get(attested) is not None
    if not _attested_base_holds(repo, attested, base_tip, head_commit, result, present):
        return
    try:
        # Never None: the attested base is a common ancestor (checked above).
        merge_base = git.merge_base(repo, base_tip, head_commit) or attested
        entries = parse_raw(raw_diff(repo, merge_base, head_commit))
        undone = _reverted_attestation(statement)
        own = [
            e
            for e in entries
            if e.path.startswith(f"{ATTESTATIONS_DIR}/")
            and not (e.path == undone and e.status == "D")
        ]
        _check_attestation_path(repo, statement, own, attestation, result)
        actual = changes_from_raw(repo, [e for e in entries if e not in own])
    except (ChangeError, GitError) as exc:
        result.fail("change-set", str(exc), "such changes are never attested; remove them")
        return
    problems = compare(statement.predicate.changes, actual)
    _record("change-set", problems, len(actual), result, merge_base)
    if merge_base == base_tip:
        result.skip(
            "merge-result",
            "the base tip is the merge base: merging gives head's tree, checked by change-set",
        )
        return
    _check_merge_result(repo, statement, base_tip, head_commit, result)


def _base_tip(
    repo: Path,
    statement: Statement,
    base: str | None,
    head: str,
    result: VerificationResult,
    known: dict[str, str | None],
) -> str | None:
    """Resolve and record (``base``) the commit the change merges into; None when unusable."""
    if base is None:
        ref = statement.predicate.base.ref
        if ref is None:
            result.fail(
                "base",
                "the attestation names no branch (the analysis ran on a detached HEAD), so "
                "there is nothing to compare the change with",
                _BASE_ADVICE,
            )
            return None
        found = _branch_tip(repo, ref)
        if found is None:
            result.fail(
                "base",
                f"the attested branch {ref} is not in {repo} (nor origin's)",
                f"fetch it, or {_BASE_ADVICE}",
            )
            return None
        named, tip = found
    else:
        try:
            tip = known.get(base) or git.rev_parse(repo, base)
        except GitError as exc:
            result.fail("base", str(exc), exc.advice or _BASE_ADVICE)
            return None
        named = base
    if git.is_ancestor(repo, head, tip):
        result.fail(
            "base",
            f"head {head[:12]} is already in {named} ({tip[:12]}): it changes nothing there",
            "to verify a merged change, pass --head <its merge or squash commit> and "
            "--base <that commit's first parent>",
        )
        return None
    result.passed(
        "base", f"merging into {named} = {tip}" if named != tip else f"merging into {tip}"
    )
    return tip


def _branch_tip(repo: Path, ref: str) -> tuple[str, str] | None:
    """``(name, commit)`` of branch ``ref`` in ``repo``, else of ``origin``'s branch of that
    name (a CI checkout often has only the latter)."""
    names = [ref]
    if ref.startswith("refs/heads/"):
        names.append("refs/remotes/origin/" + ref.removeprefix("refs/heads/"))
    for name in names:
        try:
            return name, git.rev_parse(repo, name)
        except GitError:
            continue
    return None


def _attested_base_holds(
    repo: Path, attested: str, base_tip: str, head: str, result: VerificationResult, present: bool
) -> bool:
    """Record ``base-commit``: the attested base exists (``present``: a full object id naming a
    commit in ``repo``) and both head and the base tip descend from it (else the attestation
    was made for other history)."""
    if not present:
        result.fail(
            "base-commit",
            f"the attested base commit {attested} is not in {repo}",
            "the bundle was made for another repository, or the base commit was not fetched "
            f"(`git fetch origin {attested}`)",
        )
        return False
    if not git.is_ancestor(repo, attested, head):
        result.fail(
            "base-commit",
            f"head {head[:12]} does not descend from the attested base commit {attested[:12]}",
            f"apply patch.diff on {attested[:12]} (the branch was rebased or started elsewhere), "
            "or regenerate the bundle on the current base",
        )
        return False
    if not git.is_ancestor(repo, attested, base_tip):
        result.fail(
            "base-commit",
            f"the attested base commit {attested[:12]} is not on the base {base_tip[:12]}, so "
            "merging would bring in other changes",
            "propose the remediation into the branch it was made on, or regenerate the bundle",
        )
        return False
    result.passed("base-commit", f"head and the base descend from the attested base {attested}")
    return True


def _reverted_attestation(statement: Statement) -> str | None:
    """The attestation a revert statement deletes (the reverted remediation's): the one change
    under ``.mendbot/attestations/`` besides its own that a statement can attest."""
    revert = revert_of(statement)
    return None if revert is None else committed_attestation_path(revert.remediation_id)


def _check_merge_result(
    repo: Path,
    statement: Statement,
    base_tip: str,
    head: str,
    result: VerificationResult,
) -> None:
    try:
        tree = git.merged_tree(repo, base_tip, head)
        if tree is None:
            result.fail(
                "merge-result",
                f"head {head[:12]} does not merge cleanly into the base {base_tip[:12]}",
                _MERGED_ADVICE,
            )
            return
        expected = committed_attestation_path(statement.predicate.remediation.id)
        entries = [
            e
            for e in parse_raw(raw_diff(repo, base_tip, tree))
            if not (e.path == expected and e.status == "A")
        ]
        merged = changes_from_raw(repo, entries)
    except (ChangeError, GitError) as exc:
        result.fail("merge-result", str(exc), "such changes are never attested; remove them")
        return
    problems = compare(statement.predicate.changes, merged, "the merge", _MERGED_ADVICE)
    _record("merge-result", problems, len(merged), result, base_tip)


def _record(
    check_id: str,
    problems: list[tuple[str, str]],
    count: int,
    result: VerificationResult,
    since: str,
) -> None:
    for message, advice in problems:
        result.fail(check_id, message, advice)
    if not problems:
        what = "head" if check_id == "change-set" else "the merge"
        result.passed(
            check_id,
            f"{what} changes exactly the {count} attested path(s) since {since[:12]}, nothing else",
        )


def _check_attestation_path(
    repo: Path,
    statement: Statement,
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


def compare(
    attested: Sequence[Change],
    actual: Sequence[Change],
    subject: str = "head",
    differs_advice: str = _DIFFERS_ADVICE,
) -> list[tuple[str, str]]:
    """``(message, advice)`` for every difference between two change lists; ``subject`` names
    what made ``actual`` in the messages, ``differs_advice`` says what to do about a path that
    both change differently."""
    problems: list[tuple[str, str]] = []
    want = {c.path: c for c in attested}
    have = {c.path: c for c in actual}
    for path in sorted(set(want) | set(have), key=lambda p: p.encode("utf-8")):
        expected, found = want.get(path), have.get(path)
        if expected is None and found is not None:
            problems.append(
                (
                    f"extra change: {subject} {_VERB[found.op]} {path}, which is not attested",
                    _EXTRA_ADVICE,
                )
            )
        elif found is None and expected is not None:
            problems.append(
                (
                    f"missing change: the attestation {_VERB[expected.op]} {path}, "
                    f"{subject} does not",
                    "apply the whole patch.diff; a partial remediation is not the attested one",
                )
            )
        elif expected is not None and found is not None:
            problems.extend(_differences(path, expected, found, subject, differs_advice))
    return problems


def _differences(
    path: str, expected: Change, found: Change, subject: str, advice: str
) -> list[tuple[str, str]]:
    at = "at head" if subject == "head" else f"in {subject}"
    if expected.op != found.op:
        return [
            (
                f"{path}: {subject} {_VERB[found.op]} it, the attestation {_VERB[expected.op]} it",
                advice,
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
                    f"{path}: is a symlink {at} (mode 120000), "
                    f"attested as a regular file ({want.mode})"
                )
            elif want.mode == "120000":
                text = f"{path}: is a regular file {at} ({have.mode}), attested as a symlink"
            else:
                text = f"{path}: {image} mode {have.mode} {at}, attested {want.mode}"
            problems.append((text, advice))
        if want.sha256 != have.sha256:
            problems.append(
                (
                    f"{path}: {image} content differs from the attested one "
                    f"(sha256 {have.sha256[:12]}… {at}, {want.sha256[:12]}… attested)",
                    advice,
                )
            )
    return problems
