"""Is a pull request an exact revert, and of a bot change?

A pull request is an *exact revert* of commit C on the base branch when what it changes is C's
change (first parent → C) turned around, path for path: on every path C touched, and on no
other, the pull request's pre-image is C's post-image and its post-image is C's pre-image, mode
and blob (a delete undoes an add, an add undoes a delete). "What it changes" is both the merge
base → head diff and the base tip → merge result diff (what a merge or squash commits), so a
revert branched from before a later change to the same files is not exact: merging it would
leave a state nobody reviewed.

C is a *bot change* when it adds a committed mendbot attestation signed by the trusted
identity that attests C's own change (first parent → C): every remediation the propose job
builds does, whatever merge method brought it onto the base branch, and a person cannot make one
without the signing key (copying a genuine attestation into another change does not).

A remediation may share C with other work (a release branch merged with a feature, a squash of
two remediations). A pull request that turns around only that remediation's *own paths* (what
its trusted attestation attests, and the attestation), exactly, on a C whose change on them is
exactly the attested one, is an exact revert of that bot change too: what ``mendbot revert``
opens (:mod:`bot.provenance.own_change` is the comparison both use). Turning around any other
part of a commit is no revert.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot import git as gitcmd
from bot.protocol import ATTESTATIONS_DIR
from bot.provenance.changes import RawEntry, parse_raw, raw_diff
from bot.provenance.own_change import images, undoes

#: How far back the base branch is searched for the reverted commit.
HISTORY_LIMIT = 200
#: A pull request touching more paths than this is not searched (reverts are small).
MAX_PATHS = 500


@dataclass(frozen=True)
class RevertFacts:
    """The ``pr.is_revert`` and ``pr.reverts_bot_change`` context fields, with the evidence."""

    is_revert: bool
    reverts_bot_change: bool
    reverted: str | None = None
    """The commit the pull request reverts exactly."""
    attestations: tuple[str, ...] = ()
    """The trusted attestations of the reverted bot change, which the pull request deletes."""
    paths: tuple[str, ...] = ()
    """The paths the reverted change touched, its trusted attestations left out: what a
    rollback of it rolls back (the environments it freezes come from these)."""


def find_revert(
    repo: Path,
    *,
    base_tip: str,
    head: str,
    pr_entries: Sequence[RawEntry],
    attested_paths: Callable[[bytes, str], tuple[str, ...] | None],
    own_attestation: str | None = None,
) -> RevertFacts:
    """Look for the commit the pull request (``pr_entries``: merge base → ``head``) exactly
    reverts among the last :data:`HISTORY_LIMIT` first-parent commits of the base branch
    (``base_tip``) that touch the same paths: all of that commit's change, or exactly the
    own paths of one trusted remediation it merged.

    Only the change counts, never the title or message (which the author controls): a pull
    request titled ``Revert "..."`` that changes anything else is not a revert. Nor is one
    whose merge into ``base_tip`` would change anything else, or conflicts.
    ``attested_paths(raw, commit)`` gives the own paths of the remediation an attestation added
    by ``commit`` attests, when it was signed by the trusted identity and ``commit`` made
    exactly that change on them (None otherwise). ``own_attestation`` is the path of the
    verified revert attestation the pull request adds
    (:mod:`bot.provenance.revert_statement`): it is the revert's provenance, not part of what
    it turns around, so both comparisons leave it out."""
    pr_entries = [entry for entry in pr_entries if entry.path != own_attestation]
    if not pr_entries or len(pr_entries) > MAX_PATHS:
        return RevertFacts(False, False)
    tree = gitcmd.merged_tree(repo, base_tip, head)
    if tree is None:
        return RevertFacts(False, False)
    merged = [e for e in parse_raw(raw_diff(repo, base_tip, tree)) if e.path != own_attestation]
    if images(merged) != images(pr_entries):
        return RevertFacts(False, False)
    paths = sorted({entry.path for entry in pr_entries})
    log = gitcmd.run(
        repo,
        "log",
        "--no-show-signature",
        "--first-parent",
        f"--max-count={HISTORY_LIMIT}",
        "--format=%H %P",
        base_tip,
        "--",
        *paths,
        env={"GIT_LITERAL_PATHSPECS": "1"},
    )
    for line in log.decode().splitlines():
        commit, *parents = line.split()
        if parents:
            facts = reverts_commit(repo, pr_entries, commit, parents[0], attested_paths)
            if facts is not None:
                return facts
    return RevertFacts(False, False)


def reverts_commit(
    repo: Path,
    entries: Sequence[RawEntry],
    commit: str,
    parent: str,
    attested_paths: Callable[[bytes, str], tuple[str, ...] | None],
) -> RevertFacts | None:
    """Whether the change ``entries`` exactly reverts ``commit`` (first parent ``parent``): all
    of its change, or exactly the own paths of one trusted remediation it merged (see
    :func:`find_revert` for ``attested_paths``); None when it is neither."""
    paths = sorted({entry.path for entry in entries})
    change = parse_raw(raw_diff(repo, parent, commit))
    whole = undoes(entries, change)
    part = [entry for entry in change if entry.path in paths]
    if not whole and not undoes(entries, part):
        return None
    added = [
        entry
        for entry in part
        if entry.status == "A" and entry.path.startswith(ATTESTATIONS_DIR + "/")
    ]
    blobs = gitcmd.read_blobs(repo, [entry.dst_id for entry in added])
    # A whole-commit revert reverts a bot change when that commit is all the remediation's;
    # a partial one when it is exactly one remediation's own paths.
    expected = {entry.path for entry in change} if whole else set(paths)
    trusted = tuple(
        e.path
        for e in added
        if set(attested_paths(blobs[e.dst_id], commit) or ()) == expected
        and (whole or e.path in expected)
    )
    if not whole and len(trusted) != 1:
        return None
    touched = tuple(path for path in paths if path not in trusted)
    return RevertFacts(True, bool(trusted), commit, trusted, touched)
