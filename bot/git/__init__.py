"""Small, explicit git plumbing: bytes in, bytes out, no configuration surprises.

Every command runs with the options that make its output independent of the user's git
configuration (no colour, no external diff or textconv, fixed prefixes, no renames). Failures
raise :class:`~bot.git.GitError` carrying git's own message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Mapping
from pathlib import Path
from typing import TypeVar

from bot.git import refs
from bot.git.graph import (
    DIFF_OPTIONS,
    RAW_OPTIONS,
    Commit,
    diff_raw,
    is_ancestor,
    linear_history,
    merge_base,
    merged_tree,
    parents,
    read_commit,
)
from bot.git.process import GitError, run
from bot.git.reader import GitObject
from bot.git.refs import TransactionsUnsupported
from bot.git.session import active, batched

T = TypeVar("T")

__all__ = [
    "DIFF_OPTIONS",
    "RAW_OPTIONS",
    "Commit",
    "GitError",
    "GitObject",
    "batched",
    "blob_at",
    "branch_tips",
    "current_ref",
    "diff_raw",
    "has_commit",
    "is_ancestor",
    "is_object_id",
    "linear_history",
    "merge_base",
    "merged_tree",
    "missing_commits",
    "parents",
    "prefix",
    "read_blob",
    "read_blobs",
    "read_commit",
    "remembered",
    "resolve_commits",
    "rev_parse",
    "run",
    "toplevel",
    "update_ref",
    "with_git_config",
]

_BLANK = re.compile(r"\s")
#: Branch names :func:`branch_tips` asks the reader about (git refuses spaces in ref names).
_BRANCH = re.compile(r"^[A-Za-z0-9._/-]+$")
_OBJECT_ID = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


def rev_parse(repo: Path, ref: str) -> str:
    """The full object id of commit ``ref``; raises :class:`GitError` if it does not exist."""
    if ref.startswith("-"):
        raise GitError(f"{ref!r} is not a revision")
    try:
        out = run(repo, "rev-parse", "--verify", "--end-of-options", f"{ref}^{{commit}}")
    except GitError:
        raise GitError(
            f"{ref} is not a commit in {repo}",
            advice="fetch the commit (e.g. `git fetch origin <ref>`) or check the name",
        ) from None
    return out.decode().strip()


def is_object_id(text: str) -> bool:
    """Whether ``text`` is a full object id (SHA-1 or SHA-256, lower-case hex)."""
    return _OBJECT_ID.match(text) is not None


def has_commit(repo: Path, commit: str) -> bool:
    """Whether ``commit`` (a full object id) names a commit present in ``repo``."""
    if not _OBJECT_ID.match(commit):
        return False
    if read_commit(repo, commit) is not None:
        return True
    try:
        run(repo, "cat-file", "-e", f"{commit}^{{commit}}")
    except GitError:
        return False
    return True


def resolve_commits(repo: Path, names: Iterable[str]) -> dict[str, str | None]:
    """The commit each of ``names`` resolves to (as :func:`rev_parse` would), or None, all in
    one ``git cat-file --batch-check`` call. A name that cannot go on one line of its request
    (blank, whitespace, a leading ``-``) is None here: ask :func:`rev_parse` for its error."""
    wanted = sorted(set(names))
    askable = [n for n in wanted if n and not n.startswith("-") and not _BLANK.search(n)]
    resolved: dict[str, str | None] = dict.fromkeys(wanted)
    if not askable:
        return resolved
    batched_reads = _read_each(repo, [f"{name}^{{commit}}" for name in askable])
    if batched_reads is not None:
        for name, found in zip(askable, batched_reads, strict=True):
            if found is not None and found.kind == "commit":
                resolved[name] = found.object_id
        return resolved
    request = "".join(f"{name}^{{commit}}\n" for name in askable).encode()
    lines = run(repo, "cat-file", "--batch-check", stdin=request).decode().splitlines()
    for name, line in zip(askable, lines, strict=True):
        fields = line.split()
        if len(fields) == 3 and fields[1] == "commit" and _OBJECT_ID.match(fields[0]):
            resolved[name] = fields[0]
    return resolved


def missing_commits(repo: Path, commits: Iterable[str]) -> list[str]:
    """Those of ``commits`` (full object ids) that do not name a commit present in ``repo``,
    checked in one ``git cat-file --batch-check`` call."""
    wanted = sorted(set(commits))
    malformed = [commit for commit in wanted if not _OBJECT_ID.match(commit)]
    valid = [commit for commit in wanted if _OBJECT_ID.match(commit)]
    if not valid:
        return malformed
    found = _read_each(repo, [f"{commit}^{{commit}}" for commit in valid])
    if found is not None:
        absent = [c for c, o in zip(valid, found, strict=True) if o is None or o.kind != "commit"]
        return sorted(malformed + absent)
    request = "".join(f"{commit}^{{commit}}\n" for commit in valid).encode()
    lines = run(repo, "cat-file", "--batch-check", stdin=request).decode().splitlines()
    absent = [
        commit for commit, line in zip(valid, lines, strict=True) if line.split()[1:2] != ["commit"]
    ]
    return sorted(malformed + absent)


def toplevel(path: Path) -> Path:
    """The root of the work tree containing ``path``."""
    return Path(run(path, "rev-parse", "--show-toplevel").decode().strip())


def prefix(path: Path) -> str:
    """``path`` relative to its work tree's root, with a trailing ``/`` (empty at the root)."""
    return run(path, "rev-parse", "--show-prefix").decode().strip()


def current_ref(repo: Path) -> str | None:
    """The symbolic ref checked out (``refs/heads/main``), or None when HEAD is detached."""
    try:
        return run(repo, "symbolic-ref", "-q", "HEAD").decode().strip() or None
    except GitError:
        return None


def read_blobs(
    repo: Path, object_ids: Iterable[str], env: Mapping[str, str] | None = None
) -> dict[str, bytes]:
    """The content of each blob, read in one ``git cat-file --batch`` call (the session's,
    inside :func:`batched`)."""
    wanted = sorted(set(object_ids))
    if not wanted:
        return {}
    found = _read_each(repo, wanted) if env is None else None
    if found is not None:
        blobs: dict[str, bytes] = {}
        for object_id, item in zip(wanted, found, strict=True):
            if item is None or item.kind != "blob":
                what = "missing" if item is None else item.kind
                raise GitError(f"object {object_id} is not a blob: {object_id} {what}")
            blobs[item.object_id] = item.content
        return blobs
    request = "".join(f"{i}\n" for i in wanted).encode()
    out = run(repo, "cat-file", "--batch", stdin=request, env=env)
    blobs = {}
    position = 0
    for object_id in wanted:
        end = out.index(b"\n", position)
        header = out[position:end].decode().split()
        if len(header) != 3 or header[1] != "blob":
            raise GitError(f"object {object_id} is not a blob: {' '.join(header)}")
        size = int(header[2])
        start = end + 1
        blobs[header[0]] = out[start : start + size]
        position = start + size + 1
    return blobs


def blob_at(repo: Path, commit: str, path: str) -> tuple[str, str] | None:
    """``(mode, object id)`` of ``path`` in ``commit``'s tree, or None if it is absent."""
    out = run(repo, "ls-tree", "-z", "--full-tree", commit, "--", path)
    for record in out.split(b"\0"):
        if not record:
            continue
        meta, _, name = record.partition(b"\t")
        if name.decode("utf-8", "surrogateescape") == path:
            mode, _kind, object_id = meta.decode().split()
            return mode, object_id
    return None


def update_ref(repo: Path, ref: str, new: str, old: str) -> None:
    """Point ``ref`` at ``new`` if it points at ``old`` now (all zeros: if it does not exist),
    as ``git update-ref ref new old`` does; inside a session through its one ``git update-ref
    --stdin`` process, one transaction per update. Raises :class:`GitError` when the ref
    is elsewhere (then it is unchanged)."""
    session = active()
    if session is not None and refs.askable(ref, new, old):
        try:
            session.updater(repo).update(ref, new, old)
            return
        except TransactionsUnsupported:
            pass  # NOTE(git): nothing changed; git before 2.27 is asked the usual way.
    run(repo, "update-ref", ref, new, old)


def with_git_config(env: Mapping[str, str], key: str, value: str) -> dict[str, str]:
    """``env`` plus one git configuration entry passed the way git reads it from the
    environment (after any ``GIT_CONFIG_COUNT`` entries already there), so the value never
    appears in a command line."""
    try:
        count = int(env.get("GIT_CONFIG_COUNT", "0"))
    except ValueError:
        count = 0
    return {
        **env,
        "GIT_CONFIG_COUNT": str(count + 1),
        f"GIT_CONFIG_KEY_{count}": key,
        f"GIT_CONFIG_VALUE_{count}": value,
    }


def read_blob(repo: Path, name: str) -> bytes:
    """The content of the blob ``name`` names (e.g. ``<commit>:<path>``), as ``git cat-file
    blob`` prints it; raises :class:`GitError` when it names no blob."""
    found = _read_each(repo, [name])
    if found is not None and found[0] is not None and found[0].kind == "blob":
        return found[0].content
    return run(repo, "cat-file", "blob", name)


def branch_tips(repo: Path, branches: Iterable[str]) -> dict[str, str] | None:
    """What each of ``branches`` points at now (``refs/heads/<branch>``), read through the
    session's reader; None outside a session, for a name the reader cannot be asked exactly,
    for a branch it does not find, or when it fails: read the branches with ``git for-each-ref``
    instead.

    The reader resolves names as ``git rev-parse`` does: when ``refs/heads/x`` does not exist
    it would try ``refs/tags/refs/heads/x`` and the like, so the answer counts only when none
    of those exists. A branch the reader does not find is asked again the same way: git says
    "missing" both for a ref that is not there and for one whose commit is unreadable.
    """
    wanted = sorted(set(branches))
    if any(not _BRANCH.match(branch) or ".." in branch for branch in wanted):
        return None
    names = [
        pattern.format(branch) for branch in wanted for pattern in ("refs/heads/{}", *_SHADOWS)
    ]
    found = _read_each(repo, names)
    if found is None:
        return None
    tips = {}
    step = 1 + len(_SHADOWS)
    for index, branch in enumerate(wanted):
        tip, *shadows = found[index * step : (index + 1) * step]
        if tip is None or any(shadow is not None for shadow in shadows):
            return None
        tips[branch] = tip.object_id
    return tips


#: What ``git rev-parse refs/heads/x`` falls back to when the branch does not exist.
_SHADOWS = (
    "refs/refs/heads/{}",
    "refs/tags/refs/heads/{}",
    "refs/heads/refs/heads/{}",
    "refs/remotes/refs/heads/{}",
    "refs/remotes/refs/heads/{}/HEAD",
)


def remembered(key: tuple[Hashable, ...], compute: Callable[[], T]) -> T:
    """``compute()``, asked once per batched session for ``key``; every call outside a session.
    ``key`` must name everything the answer depends on, and nothing in it may move (object
    ids, never branch names)."""
    session = active()
    return compute() if session is None else session.answer(key, compute)


def _read_each(repo: Path, names: list[str]) -> list[GitObject | None] | None:
    """Each of ``names`` read through the session's reader (None for a name that names
    nothing); None outside a session or when the reader fails (ask git the usual way, which
    says why)."""
    session = active()
    if session is None:
        return None
    try:
        return session.reader(repo).read_many(names)
    except GitError:
        return None
