"""Files the gate trusts, read from a commit's tree with git (never from a checkout)."""

from __future__ import annotations

from pathlib import Path

from bot import git
from bot.git import GitError


def read_file(repo: Path, commit: str, path: str) -> bytes | None:
    """The content of regular file ``path`` in ``commit``, or None when it is absent (or is not
    a regular file: a symlink in the base tree is never followed)."""
    entry = git.blob_at(repo, commit, path)
    if entry is None or entry[0] not in ("100644", "100755"):
        return None
    return git.read_blobs(repo, [entry[1]])[entry[1]]


def first_file(repo: Path, commit: str, candidates: tuple[str, ...]) -> tuple[str, bytes] | None:
    """The first of ``candidates`` that exists in ``commit``, with its content."""
    for candidate in candidates:
        content = read_file(repo, commit, candidate)
        if content is not None:
            return candidate, content
    return None


def read_directory(repo: Path, commit: str, directory: str) -> list[tuple[str, bytes]] | None:
    """``(name, content)`` of every ``*.yaml``/``*.yml`` regular file directly in ``directory``
    at ``commit``, sorted by name; None when the directory does not exist there."""
    try:
        out = git.run(repo, "ls-tree", "-z", "--full-tree", f"{commit}:{directory}")
    except GitError:
        return None
    wanted: list[tuple[str, str]] = []
    for record in out.split(b"\0"):
        if not record:
            continue
        meta, _, raw_name = record.partition(b"\t")
        mode, kind, object_id = meta.decode().split()
        name = raw_name.decode("utf-8", "replace")
        if kind == "blob" and mode in ("100644", "100755") and name.endswith((".yaml", ".yml")):
            wanted.append((name, object_id))
    wanted.sort()
    blobs = git.read_blobs(repo, [object_id for _, object_id in wanted])
    return [(name, blobs[object_id]) for name, object_id in wanted]
