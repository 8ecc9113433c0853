"""Which merged remediations were reverted, remembered by git itself.

A merged remediation adds its attestation under ``.mendbot/attestations/``; reverting it —
with ``mendbot revert``, a ``git revert`` by a release engineer, or any change that undoes it —
deletes that file on the default branch. Reading the first-parent history of the branch for
those two events needs no forge, no trailer (a squash merge drops trailers) and no state
outside the repository, so every identity sees the same answer.

The file alone proves nothing: anyone can add and delete a placeholder, and a clean-up commit
may delete ``.mendbot/`` without undoing any fix. So a remediation counts as *merged* only when
the commit that added its attestation also changed every file its statement lists (its change
landed with it), and as *reverted* only when the commit that removed the attestation changed
those files again (it undid the change). :func:`remediation_history` is the one place that
decides both, for ``mendbot revert`` (which remediations it may turn around) and for the memory
of reverts (:func:`reverted_remediations`) alike.

The memory is kept per fix (:func:`reverted_fixes`): the statement names the findings it
resolved with their lines in the file at its base commit, and each becomes a
:class:`~bot.provenance.fix_anchor.FixIdentity` that does not move when steps or jobs are added
around it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from bot import git as gitcmd
from bot.git import GitError
from bot.protocol import ATTESTATIONS_DIR, BOT_NAME
from bot.provenance.fix_anchor import FixIdentity, anchor_at
from bot.provenance.layout import committed_attestation_path, remediation_id
from bot.provenance.statement import Statement, StatementError, parse_statement, unverified_payload

_SUFFIX = ".sigstore.json"
#: The trailer a revert commit names the person who asked for it with.
REQUESTED_BY = "Requested-by"


@dataclass(frozen=True)
class RemediationCommits:
    """Where a remediation entered the branch and, if it did, where it left."""

    remediation_id: str
    merged_in: str
    """The first-parent commit that added its attestation (the merge, or the squashed commit)."""
    reverted_in: str | None = None
    """The first-parent commit that removed the attestation again; None while it is there."""
    reverted_by: str = ""
    """Who reverted it (see :func:`attribution`)."""
    statement: Statement | None = None
    """The statement of its attestation as merged."""


def remediation_history(
    repo: Path, tip: str, only: Collection[str] | None = None
) -> dict[str, RemediationCommits]:
    """The remediations merged on ``tip``'s first-parent history (of ``only``, when given): the
    last commit that added the attestation also changed every file its statement lists. Each
    entry carries that statement and, when the attestation was removed since by a commit that
    changed those files again, that commit (``reverted_in``) and who made it. A placeholder
    attestation, or a genuine one committed without its change, is no merged remediation; a
    clean-up that deletes the attestation but leaves the change is no revert."""
    return _landed(repo, _attestation_events(repo, tip), only)


def _attestation_events(repo: Path, tip: str) -> dict[str, RemediationCommits]:
    """Every remediation whose attestation file was added on ``tip``'s first-parent history,
    with the last commit that added it and, when it is no longer at ``tip``, the commit that
    removed it. Nothing here is checked: :func:`_checked` keeps what really happened."""
    log = gitcmd.run(
        repo,
        "log",
        "--no-show-signature",
        "--first-parent",
        "--diff-merges=first-parent",
        "--reverse",
        "--no-renames",
        "--name-status",
        f"--format=%x00%H%x09%an%x09%cn%x09%(trailers:key={REQUESTED_BY},valueonly,"
        "separator=%x2C )",
        tip,
        "--",
        ATTESTATIONS_DIR,
    ).decode("utf-8", "replace")
    found: dict[str, RemediationCommits] = {}
    for entry in log.split("\x00")[1:]:
        header, _, changes = entry.partition("\n")
        commit, author, committer, requested = [*header.split("\t", 3), "", "", ""][:4]
        for line in changes.splitlines():
            status, _, path = line.partition("\t")
            rid = _remediation_of(path)
            if rid is None:
                continue
            if status.startswith("A"):
                found[rid] = RemediationCommits(rid, commit)
            elif status.startswith("D") and rid in found:
                by = attribution(author, committer, requested)
                found[rid] = RemediationCommits(rid, found[rid].merged_in, commit, by)
    return found


def attribution(author: str, committer: str, requested_by: str) -> str:
    """Who reverted, from the first-parent commit that removed the attestation: its author,
    unless that is the bot (a fast-forward or rebase merge of the bot's revert commit); then
    its committer (who rebased or merged it) when that is not the bot, else the person its
    ``Requested-by:`` trailer names (who asked ``mendbot revert``), else the bot."""
    if author != BOT_NAME:
        return author
    if committer and committer != BOT_NAME:
        return committer
    return requested_by.strip() or author


def reverted_remediations(repo: Path, tip: str) -> dict[str, RemediationCommits]:
    """The remediations merged on ``tip``'s branch and reverted since (not merged again), as
    :func:`remediation_history` decides. Only the attestations of those whose file is gone are
    read."""
    events = _attestation_events(repo, tip)
    gone = {rid for rid, entry in events.items() if entry.reverted_in is not None}
    landed = _landed(repo, events, gone) if gone else {}
    return {rid: entry for rid, entry in landed.items() if entry.reverted_in is not None}


def _landed(
    repo: Path, events: Mapping[str, RemediationCommits], only: Collection[str] | None
) -> dict[str, RemediationCommits]:
    """The ``events`` (of ``only``, when given) whose remediation really landed, checked by
    :func:`_checked`."""
    landed = {}
    for rid, entry in events.items():
        if only is not None and rid not in only:
            continue
        checked = _checked(repo, entry)
        if checked is not None:
            landed[rid] = checked
    return landed


def _checked(repo: Path, entry: RemediationCommits) -> RemediationCommits | None:
    """``entry`` with its statement when its attestation landed with the change it attests,
    without its removal when that removal did not undo the change; None when the remediation
    never landed (a placeholder, an unreadable file, a genuine attestation without its
    change)."""
    statement = _statement_at(repo, entry.merged_in, entry.remediation_id)
    if statement is None:
        return None
    paths = sorted({change.path for change in statement.predicate.changes})
    if not _changed_all(repo, entry.merged_in, paths):
        return None
    if entry.reverted_in is not None and not _changed_all(repo, entry.reverted_in, paths):
        return RemediationCommits(entry.remediation_id, entry.merged_in, statement=statement)
    return replace(entry, statement=statement)


def reverted_fixes(
    repo: Path, reverted: Mapping[str, RemediationCommits]
) -> dict[FixIdentity, RemediationCommits]:
    """Every fix of the ``reverted`` remediations, by its :class:`FixIdentity` (see
    :func:`fix_identities`), anchored in the file its patch applied to: the file at the
    statement's base commit, or at the merge's first parent when that commit is not in the
    repository."""
    fixes: dict[FixIdentity, RemediationCommits] = {}
    for _, entry in sorted(reverted.items()):
        base = _base_commit(repo, entry) if entry.statement is not None else None
        if entry.statement is None or base is None:
            continue
        for identity in fix_identities(repo, entry.statement, base):
            fixes.setdefault(identity, entry)
    return fixes


def fix_identities(repo: Path, statement: Statement, base: str) -> list[FixIdentity]:
    """The identity of each fix ``statement`` attests: each finding it resolves, anchored at
    its line in its file at ``base`` (findings whose file or line cannot be read there are
    left out)."""
    changed = [change.path for change in statement.predicate.changes]
    findings = statement.predicate.findings
    texts = _texts(repo, {(base, _in_repository(f.path, changed)) for f in findings})
    identities = []
    for finding in findings:
        text = texts.get((base, _in_repository(finding.path, changed)))
        anchor = anchor_at(text, finding.line) if text is not None else None
        if anchor is not None:
            identities.append(FixIdentity(finding.rule_id, finding.path, anchor))
    return identities


def _in_repository(path: str, changed: list[str]) -> str:
    """The repository path of a finding's ``path`` (relative to the folder analysed, which
    may lie below the repository's top): the changed path it names."""
    if path in changed:
        return path
    below = [name for name in changed if name.endswith(f"/{path}")]
    return below[0] if len(below) == 1 else path


def _base_commit(repo: Path, entry: RemediationCommits) -> str | None:
    """The commit the remediation's patch applied to."""
    assert entry.statement is not None  # noqa: S101 - callers pass reverted entries
    base = entry.statement.predicate.base.git_commit
    if gitcmd.has_commit(repo, base):
        return base
    try:
        first = gitcmd.parents(repo, entry.merged_in)
    except GitError:
        return None
    return first[0] if first else None


def _texts(repo: Path, places: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The text of each (commit, path) that exists, read in one batch."""
    blobs: dict[tuple[str, str], str] = {}
    for commit, path in places:
        try:
            found = gitcmd.blob_at(repo, commit, path)
        except GitError:
            continue
        if found is not None:
            blobs[(commit, path)] = found[1]
    contents = gitcmd.read_blobs(repo, blobs.values())
    return {
        place: contents[object_id].decode("utf-8", "surrogateescape")
        for place, object_id in blobs.items()
    }


def _statement_at(repo: Path, commit: str, rid: str) -> Statement | None:
    """The statement of ``rid``'s attestation as committed in ``commit`` (its signature is not
    checked here: what counts is that the change it describes landed with it), None when the
    file is not an attestation mendbot can read."""
    try:
        found = gitcmd.blob_at(repo, commit, committed_attestation_path(rid))
        if found is None:
            return None
        raw = gitcmd.read_blobs(repo, [found[1]])[found[1]]
        payload = unverified_payload(raw)
        return parse_statement(payload) if payload is not None else None
    except (GitError, StatementError):
        return None


def _changed_all(repo: Path, commit: str, paths: list[str]) -> bool:
    """Whether ``commit`` changed every one of ``paths`` against its first parent."""
    if not paths:
        return False
    try:
        first = gitcmd.parents(repo, commit)
        if not first:
            return False
        out = gitcmd.run(
            repo, "diff-tree", "-r", "-z", "--no-renames", "--name-only", first[0], commit,
            "--", *paths,
        )  # fmt: skip
    except GitError:
        return False
    changed = {name.decode("utf-8", "surrogateescape") for name in out.split(b"\0") if name}
    return changed >= set(paths)


def _remediation_of(path: str) -> str | None:
    """The remediation id of a committed attestation path, None for any other path."""
    name = path.removeprefix(f"{ATTESTATIONS_DIR}/")
    if name == path or "/" in name or not name.endswith(_SUFFIX):
        return None
    rid = remediation_id(name.removesuffix(_SUFFIX))
    return rid if rid is not None and committed_attestation_path(rid) == path else None
