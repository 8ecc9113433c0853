"""Questions about commits and trees, answered once per batched session.

Each function gives exactly what its git command gives. Inside
:func:`~bot.git.session.batched` the answers are remembered by object id, commits are read
through the session's object reader, and the questions whose answer follows from a commit's
parents need no process at all: a commit's parent is its merge base with it (so one descends
from the other), and merging a commit into its own ancestor gives the commit's tree. Anything
else, or any name that is not a full object id, asks git as before.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.git.process import GitError, completed, failure, run
from bot.git.session import Session, active

_OBJECT_ID = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
#: A name that can never point elsewhere: an object id, maybe with ``^N``/``~N`` steps.
_FIXED_NAME = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?([~^][0-9]*)*$")
_SPACE = " \t\n\v\f\r"  # C's isspace(), which git trims names with

#: Options that pin ``git diff`` output whatever the user's configuration says.
DIFF_OPTIONS = (
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--no-renames",
    "--src-prefix=a/",
    "--dst-prefix=b/",
)
#: ``git diff`` options of the canonical raw diff (full ids, no renames, NUL-separated), which
#: ``git diff-tree -r`` prints the same for two trees.
RAW_OPTIONS = ("--raw", "-z", "--no-abbrev", *DIFF_OPTIONS)

#: Commits :func:`linear_history` walks before it leaves the question to git.
LINEAR_LIMIT = 64


@dataclass(frozen=True)
class Commit:
    """The headers of one commit object that mendbot reads."""

    object_id: str
    tree: str
    parents: tuple[str, ...]
    author: tuple[str, str] | None
    """``(name, e-mail)`` as ``git log``'s ``%an``/``%ae`` print them; None when git would
    print them differently (an ``encoding`` header, an ident mendbot does not parse)."""
    committer: tuple[str, str] | None
    """The same for ``%cn``/``%ce``."""


def _ids(*names: str) -> bool:
    return all(_OBJECT_ID.match(name) for name in names)


def read_commit(repo: Path, name: str) -> Commit | None:
    """The commit ``name`` (an object id, maybe with ``^N``/``~N`` steps) peels to, read
    through the session's reader; None outside a session, for any other name, when it names no
    commit, or when the reader fails (then ask git the usual way, which says why)."""
    session = active()
    if session is None or not _FIXED_NAME.match(name):
        return None
    key = (repo, "commit", name)
    remembered = session.known(key)
    if isinstance(remembered, Commit):
        return remembered
    try:
        found = _read_commit(session, repo, name)
    except GitError:
        return None
    # "Not there" is never remembered: a fetch during the run may bring the commit.
    return session.remember(key, found) if found is not None else None


def _read_commit(session: Session, repo: Path, name: str) -> Commit | None:
    found = session.reader(repo).read(f"{name}^{{commit}}")
    if found is None or found.kind != "commit":
        return None
    head, _, _ = found.content.partition(b"\n\n")
    tree = ""
    parents: list[str] = []
    idents: dict[str, tuple[str, str] | None] = {"author": None, "committer": None}
    plain = True
    for line in head.split(b"\n"):
        key, _, value = line.partition(b" ")
        if key == b"tree":
            tree = value.decode("ascii", "replace")
        elif key == b"parent":
            parents.append(value.decode("ascii", "replace"))
        elif key in (b"author", b"committer"):
            idents[key.decode()] = _ident(value)
        elif key == b"encoding":
            plain = False
    if not _ids(tree, *parents):
        raise GitError(f"commit {found.object_id} in {repo} has unreadable headers")
    return Commit(
        found.object_id,
        tree,
        tuple(parents),
        idents["author"] if plain else None,
        idents["committer"] if plain else None,
    )


def _ident(value: bytes) -> tuple[str, str] | None:
    """``(name, e-mail)`` of ``Name <e-mail> time zone`` as git splits it (the first ``<``, the
    first ``>`` after it); None when there is not exactly one of each."""
    if value.count(b"<") != 1 or value.count(b">") != 1:
        return None
    name, _, rest = value.partition(b"<")
    email, found, _ = rest.partition(b">")
    if not found:
        return None
    return (
        name.decode("utf-8", "replace").rstrip(_SPACE),
        email.decode("utf-8", "replace"),
    )


def parents(repo: Path, commit: str) -> list[str]:
    """The parents of ``commit`` (``git rev-list --parents -n 1``). Raises :class:`GitError`
    when it is not a commit."""
    found = read_commit(repo, commit) if _ids(commit) else None
    if found is not None:
        return list(found.parents)
    return run(repo, "rev-list", "--parents", "-n", "1", commit).decode().split()[1:]


def _known_merge_base(session: Session, repo: Path, one: str, other: str) -> str | None:
    """The merge base of two commits when it is known without a git process: remembered, or
    one is the other or its parent (then it is the only merge base); None otherwise."""
    for key in ((repo, "merge-base", one, other), (repo, "merge-base", other, one)):
        remembered = session.known(key)
        if isinstance(remembered, str):
            return remembered
    first, second = read_commit(repo, one), read_commit(repo, other)
    if first is None or second is None:
        return None
    if first.object_id == second.object_id or first.object_id in second.parents:
        return first.object_id
    if second.object_id in first.parents:
        return second.object_id
    return None


def merge_base(repo: Path, one: str, other: str) -> str | None:
    """The best common ancestor of two commits (``git merge-base``), None when they share none."""
    session = active()
    if session is None or not _ids(one, other):
        return _merge_base(repo, one, other)
    key = (repo, "merge-base", one, other)
    if session.known(key) is not None:
        return str(session.known(key))
    known = _known_merge_base(session, repo, one, other)
    found = known if known is not None else _merge_base(repo, one, other)
    return session.remember(key, found) if found is not None else None


def _merge_base(repo: Path, one: str, other: str) -> str | None:
    done = completed(repo, ("merge-base", one, other))
    if done.returncode == 1:
        return None
    if done.returncode != 0:
        raise failure(repo, ("merge-base",), done)
    return done.stdout.decode().strip()


def is_ancestor(repo: Path, ancestor: str, descendant: str) -> bool:
    """Whether ``ancestor`` is ``descendant`` or one of its ancestors (False when either is
    not a commit here)."""
    session = active()
    if session is None or not _ids(ancestor, descendant):
        return _is_ancestor(repo, ancestor, descendant)

    key = (repo, "is-ancestor", ancestor, descendant)
    remembered = session.known(key)
    if isinstance(remembered, bool):
        return remembered
    older, newer = read_commit(repo, ancestor), read_commit(repo, descendant)
    if older is None or newer is None:
        return _is_ancestor(repo, ancestor, descendant)  # not remembered: see read_commit
    known = _known_merge_base(session, repo, ancestor, descendant)
    if known is None:
        return session.remember(key, _is_ancestor(repo, ancestor, descendant))
    # An ancestor (or the commit itself) is the merge base, and the only one.
    return session.remember(key, known == older.object_id)


def _is_ancestor(repo: Path, ancestor: str, descendant: str) -> bool:
    try:
        run(repo, "merge-base", "--is-ancestor", ancestor, descendant)
    except GitError:
        return False
    return True


def merged_tree(repo: Path, base_tip: str, head: str) -> str | None:
    """The tree that merging ``head`` into ``base_tip`` gives (``git merge-tree --write-tree``,
    the three-way merge GitHub's merge and squash buttons make), or None when it conflicts."""
    session = active()
    if session is None or not _ids(base_tip, head):
        return _merged_tree(repo, base_tip, head)

    def ask() -> str | None:
        ours, theirs = read_commit(repo, base_tip), read_commit(repo, head)
        known = _known_merge_base(session, repo, base_tip, head)
        if ours is not None and theirs is not None and known is not None:
            # With one side the merge base, a three-way merge takes the other side whole.
            if known == ours.object_id:
                return theirs.tree
            if known == theirs.object_id:
                return ours.tree
        return _merged_tree(repo, base_tip, head)

    return session.answer((repo, "merged-tree", base_tip, head), ask)


def _merged_tree(repo: Path, base_tip: str, head: str) -> str | None:
    args = ("merge-tree", "--write-tree", "--no-messages", base_tip, head)
    done = completed(repo, args)
    if done.returncode == 1:
        return None
    if done.returncode != 0:
        raise failure(repo, args, done)
    return done.stdout.decode().split("\n", 1)[0].strip()


def diff_raw(
    repo: Path, base: str, target: str, options: tuple[str, ...], env: Mapping[str, str] | None
) -> bytes:
    """``git diff options base target --`` (options pin the output). Inside a session, one
    diff per pair of trees: commits are compared by their trees, as git compares them, and the
    canonical raw diff (:data:`RAW_OPTIONS`) comes from the session's ``git diff-tree
    --stdin``, which prints the same bytes."""
    session = active()
    fixed = _FIXED_NAME.match(base) and _FIXED_NAME.match(target)
    if session is None or env is not None or not fixed:
        return run(repo, "diff", *options, base, target, "--", env=env)
    old, new = _tree(session, repo, base), _tree(session, repo, target)
    if old is None or new is None:
        return run(repo, "diff", *options, base, target, "--")

    def ask() -> bytes:
        if options == RAW_OPTIONS:
            try:
                return session.differ(repo).diff(old, new)
            except GitError:
                pass  # NOTE(git): asked again below the usual way, which says why.
        return run(repo, "diff", *options, base, target, "--")

    return session.answer((repo, "diff", *options, old, new), ask)


def _tree(session: Session, repo: Path, name: str) -> str | None:
    """The tree ``name`` (a fixed name) peels to; None when it names none, or the reader
    fails."""
    key = (repo, "tree", name)
    remembered = session.known(key)
    if isinstance(remembered, str):
        return remembered
    try:
        found = session.reader(repo).read(f"{name}^{{tree}}")
    except GitError:
        return None
    if found is None or found.kind != "tree":
        return None  # not remembered: see read_commit
    return session.remember(key, found.object_id)


def linear_history(repo: Path, base: str, head: str) -> list[Commit] | None:
    """The commits of ``base..head``, oldest first, when they are a chain of single-parent
    commits from ``head`` down to ``base`` (then that chain is exactly what ``git rev-list
    base..head`` lists); None when they are not, when the chain is longer than
    :data:`LINEAR_LIMIT` or outside a session: ask git."""
    if active() is None or not _ids(base, head):
        return None
    chain: list[Commit] = []
    current = head
    while current != base:
        if len(chain) >= LINEAR_LIMIT:
            return None
        commit = read_commit(repo, current)
        if commit is None or len(commit.parents) != 1 or commit.object_id != current:
            return None
        chain.append(commit)
        current = commit.parents[0]
    return chain[::-1]
