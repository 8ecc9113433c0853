"""Small, explicit git plumbing: bytes in, bytes out, no configuration surprises.

Every command runs with the options that make its output independent of the user's git
configuration (no colour, no external diff or textconv, fixed prefixes, no renames). Failures
raise :class:`~bot.git.GitError` carrying git's own message.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

from bot.errors import MendbotError


class GitError(MendbotError):
    """A git command failed or returned something mendbot cannot read."""

    exit_code = 3
    advice = "check that the path is a git repository and the commits named exist in it"


_BLANK = re.compile(r"\s")
_OBJECT_ID = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")

#: Options that pin ``git diff`` output whatever the user's configuration says.
DIFF_OPTIONS = (
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--no-renames",
    "--src-prefix=a/",
    "--dst-prefix=b/",
)


def run(
    repo: Path,
    *args: str,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
) -> bytes:
    """Run ``git args`` in ``repo`` and return its standard output.

    Raises :class:`GitError` when git is missing or exits non-zero.
    """
    done = _completed(repo, args, stdin, env)
    if done.returncode != 0:
        raise _failure(repo, args, done)
    return done.stdout


def _completed(
    repo: Path,
    args: tuple[str, ...],
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    full_env = {**os.environ, **(env or {})}
    # The terminal prompt would hang a non-interactive run; nothing here needs credentials.
    full_env["GIT_TERMINAL_PROMPT"] = "0"
    try:
        return subprocess.run(
            ["git", *args],
            cwd=repo,
            input=stdin,
            env=full_env,
            capture_output=True,
            check=False,
        )
    except FileNotFoundError:
        if not repo.exists():
            raise GitError(f"{repo} does not exist") from None
        raise GitError("git is not installed or not on PATH") from None
    except NotADirectoryError:
        raise GitError(f"{repo} is not a directory") from None


def _failure(
    repo: Path, args: tuple[str, ...], done: subprocess.CompletedProcess[bytes]
) -> GitError:
    message = done.stderr.decode("utf-8", "replace").strip() or f"exit {done.returncode}"
    return GitError(f"git {_subcommand(args)} failed in {repo}: {message}")


def _subcommand(args: tuple[str, ...]) -> str:
    """The git command of ``args``, past global options such as ``-c key=value``."""
    rest = list(args)
    while rest and rest[0].startswith("-"):
        rest = rest[2:] if rest[0] in ("-c", "-C") else rest[1:]
    return rest[0] if rest else "(no command)"


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
    request = "".join(f"{commit}^{{commit}}\n" for commit in valid).encode()
    lines = run(repo, "cat-file", "--batch-check", stdin=request).decode().splitlines()
    absent = [
        commit for commit, line in zip(valid, lines, strict=True) if line.split()[1:2] != ["commit"]
    ]
    return sorted(malformed + absent)


def is_ancestor(repo: Path, ancestor: str, descendant: str) -> bool:
    """Whether ``ancestor`` is ``descendant`` or one of its ancestors."""
    try:
        run(repo, "merge-base", "--is-ancestor", ancestor, descendant)
    except GitError:
        return False
    return True


def merge_base(repo: Path, one: str, other: str) -> str | None:
    """The best common ancestor of two commits (``git merge-base``), None when they share none."""
    done = _completed(repo, ("merge-base", one, other))
    if done.returncode == 1:
        return None
    if done.returncode != 0:
        raise _failure(repo, ("merge-base",), done)
    return done.stdout.decode().strip()


def merged_tree(repo: Path, base_tip: str, head: str) -> str | None:
    """The tree that merging ``head`` into ``base_tip`` gives (``git merge-tree --write-tree``,
    the three-way merge GitHub's merge and squash buttons make), or None when it conflicts."""
    args = ("merge-tree", "--write-tree", "--no-messages", base_tip, head)
    done = _completed(repo, args)
    if done.returncode == 1:
        return None
    if done.returncode != 0:
        raise _failure(repo, args, done)
    return done.stdout.decode().split("\n", 1)[0].strip()


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
    """The content of each blob, read in one ``git cat-file --batch`` call."""
    wanted = sorted(set(object_ids))
    if not wanted:
        return {}
    request = "".join(f"{i}\n" for i in wanted).encode()
    out = run(repo, "cat-file", "--batch", stdin=request, env=env)
    blobs: dict[str, bytes] = {}
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
