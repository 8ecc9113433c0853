"""The tree that turns one merged change around exactly, computed without a checkout.

The paths to turn around go back to the change's first parent, nothing else, on top of a later
tip of the branch: every path the commit touched (a rollback of what a deployment applied), or
only a remediation's own paths (:func:`remediation_paths`: a revert of that remediation, even
when it landed in a commit with other work). When later commits touched the same lines the
inverse does not apply; then there is no tree, and the error names those commits for a person
to decide. Shared by the revert pull request (:mod:`bot.propose.exact_revert`) and the signed
revert bundle (:mod:`bot.provenance.signing.revert_bundle`), so both revert the same way.

Every git command here pins the options its output depends on, so a user's or repository's
git configuration (``diff.noprefix``, ``color.diff``, ``diff.external``, ``apply.whitespace``,
``commit.gpgSign``, …) cannot change the result.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from bot import git as gitcmd
from bot.errors import MendbotError
from bot.git import GitError
from bot.provenance.changes import parse_raw, raw_diff
from bot.provenance.errors import ChangeError
from bot.provenance.layout import committed_attestation_path
from bot.provenance.own_change import own_change_problems, own_paths
from bot.provenance.statement import StatementError, parse_statement, unverified_payload

#: ``git apply`` options that make it apply the patch as written, whatever the configuration.
_APPLY_OPTIONS = ("-c", "apply.whitespace=nowarn", "-c", "apply.ignoreWhitespace=no")
#: Pathspecs are paths, never patterns (a path may hold ``*`` or ``:``).
_LITERAL = {"GIT_LITERAL_PATHSPECS": "1"}


class RevertError(MendbotError):
    """No exact revert can be made: a person must decide."""

    exit_code = 1


def require_history(repo: Path, what: str) -> None:
    """Raise :class:`~bot.git.GitError` when ``repo`` is a shallow clone: ``what`` (a revert)
    needs the branch's history to find the commit it turns around and its first parent."""
    if gitcmd.run(repo, "rev-parse", "--is-shallow-repository").strip() == b"true":
        raise GitError(
            f"{repo} is a shallow clone: {what} needs the whole history of the branch (the "
            "commit that merged the remediation and the commit before it)",
            advice="fetch the full history (`git fetch --unshallow`; in GitHub Actions, "
            "actions/checkout with fetch-depth: 0) and run it again",
        )


def remediation_paths(repo: Path, merged: str, remediation_id: str) -> tuple[str, ...]:
    """The own paths of remediation ``remediation_id`` (what its attestation attests, and the
    attestation itself), after checking that ``merged`` — the first-parent commit that added
    that attestation — made exactly the attested change on them.

    Raises :class:`RevertError` naming the commit and the paths when it did not (someone else
    changed the same file in that commit: reverting only the remediation is not possible), or
    when the committed attestation is no statement of that remediation."""
    attestation = committed_attestation_path(remediation_id)
    raw = gitcmd.read_blob(repo, f"{merged}:{attestation}")
    payload = unverified_payload(raw)
    try:
        statement = parse_statement(payload) if payload is not None else None
    except StatementError:
        statement = None
    if statement is None or statement.predicate.remediation.id != remediation_id:
        raise RevertError(
            f"{attestation}, added in {merged[:12]}, is not an attestation of {remediation_id}, "
            "so what that remediation changed is unknown and no exact revert can be made",
            advice="revert by hand",
        )
    try:
        problems = own_change_problems(repo, statement, merged)
    except (ChangeError, GitError) as exc:
        problems = [str(exc)]
    if problems:
        paths = ", ".join(change.path for change in statement.predicate.changes)
        raise RevertError(
            f"commit {merged[:12]} changed {paths} differently from the remediation "
            f"{remediation_id} it merged ({'; '.join(problems)}): someone else's change landed "
            "in the same commit, so reverting only the remediation is not possible",
            advice=f"revert by hand, keeping what the other changes in {merged[:12]} need",
        )
    return own_paths(statement)


def inverse_tree(repo: Path, sha: str, tip: str, paths: Sequence[str] | None = None) -> str:
    """The tree of ``tip`` with ``sha``'s first-parent change turned around on ``paths``
    (None: every path it touched). Raises :class:`RevertError` naming the later commits when
    it does not apply."""
    parent = gitcmd.rev_parse(repo, f"{sha}^1")
    scope = ("--", *paths) if paths is not None else ()
    reverse = gitcmd.run(
        repo, "diff", *gitcmd.DIFF_OPTIONS, "--binary", "--full-index", sha, parent, *scope,
        env=_LITERAL,
    )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="mendbot-revert-") as scratch:
        env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
        patch = Path(scratch) / "revert.diff"
        patch.write_bytes(reverse)
        try:
            gitcmd.run(repo, "read-tree", tip, env=env)
            if reverse.strip():
                gitcmd.run(
                    repo, *_APPLY_OPTIONS, "apply", "--cached", "--whitespace=nowarn",
                    str(patch), env=env,
                )  # fmt: skip
            tree = gitcmd.run(repo, "write-tree", env=env).decode().strip()
        except GitError:
            raise RevertError(
                f"later commits changed the same lines as {sha[:12]}, so an exact revert is not "
                f"possible: {_later_commits(repo, sha, parent, tip, paths)}",
                advice="revert by hand (and keep what the later commits need)",
            ) from None
    _check_restored(repo, sha, parent, tip, tree, paths)
    return tree


def _check_restored(
    repo: Path, sha: str, parent: str, tip: str, tree: str, paths: Sequence[str] | None
) -> None:
    """Every turned-around path no later commit touched is, in ``tree``, exactly as it was in
    ``parent`` (mode and bytes); raises :class:`RevertError` otherwise."""
    wanted = None if paths is None else set(paths)

    def changed(old: str, new: str) -> set[str]:
        entries = parse_raw(raw_diff(repo, old, new))
        return {e.path for e in entries if wanted is None or e.path in wanted}

    reverted = changed(parent, sha)
    untouched_since = reverted - changed(sha, tip)
    differing = sorted(untouched_since & changed(parent, tree))
    if differing:
        raise RevertError(
            f"turning {sha[:12]} around did not restore {', '.join(differing)} exactly",
            advice="revert by hand, and report this to the mendbot maintainers",
        )


def _later_commits(repo: Path, sha: str, parent: str, tip: str, paths: Sequence[str] | None) -> str:
    """``abc123 Ada: subject`` of each commit after ``sha`` on ``tip`` touching its paths."""
    if paths is None:
        paths = [e.path for e in parse_raw(raw_diff(repo, parent, sha))]
    log = gitcmd.run(
        repo, "log", "--no-show-signature", "--format=%h %an: %s", f"{sha}..{tip}", "--", *paths,
        env=_LITERAL,
    ).decode()  # fmt: skip
    return "; ".join(line for line in log.splitlines() if line) or "(none found)"


def subject_of(repo: Path, sha: str) -> str:
    """The first line of ``sha``'s message."""
    return gitcmd.run(repo, "log", "-1", "--no-show-signature", "--format=%s", sha).decode().strip()
