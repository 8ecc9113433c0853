"""Write blobs, trees and commits through long-lived git processes, one of each per run.

``git hash-object -w --stdin-paths`` (blobs, stored byte for byte with ``--no-filters``; and
commits, with ``-t commit``, which git checks are well-formed) and ``git mktree -z --batch``
(trees: git sorts the entries, checks that each names an object of its type, and refuses a
name with a slash). Content goes through a new file in a private scratch folder each time.
Any failure stops that process and raises :class:`GitError` with git's message; the next
request starts another.
"""

from __future__ import annotations

import os
from pathlib import Path

from bot.git.pipe import GitPipe
from bot.git.process import GitError

#: ``mode`` → object type, for the modes git itself writes in trees.
TREE_MODES = {
    "100644": "blob",
    "100755": "blob",
    "120000": "blob",
    "160000": "commit",
    "40000": "tree",
}


class ObjectWriter:
    """Writes objects into ``repo`` through files in ``scratch`` (a private folder)."""

    def __init__(self, repo: Path, scratch: Path) -> None:
        self._scratch = scratch
        self._written = 0
        self._blobs = GitPipe(repo, ("hash-object", "-w", "--no-filters", "--stdin-paths"))
        self._commits = GitPipe(repo, ("hash-object", "-t", "commit", "-w", "--stdin-paths"))
        self._trees = GitPipe(repo, ("mktree", "-z", "--batch"))

    def blob(self, content: bytes) -> str:
        """Store ``content`` as a blob; its object id."""
        return self._hashed(self._blobs, content)

    def commit(self, content: bytes) -> str:
        """Store ``content`` (a commit object's text) as a commit; its object id."""
        return self._hashed(self._commits, content)

    def trees(self, trees: list[list[tuple[str, str, bytes]]]) -> list[str]:
        """Store each tree of ``trees``, in order (a tree may name one stored before it), each
        a list of ``(mode, object id, name)`` with modes of :data:`TREE_MODES`; their object
        ids. The requests go together: git reads and writes one tree after the other."""
        # An empty record ends a tree; git then prints its id.
        request = b"".join(
            b"".join(_record(mode, object_id, name) for mode, object_id, name in entries) + b"\0"
            for entries in trees
        )
        self._trees.send(request)
        return [self._object_id(self._trees) for _ in trees]

    def close(self) -> None:
        """Stop the processes."""
        for pipe in (self._blobs, self._commits, self._trees):
            pipe.close()

    def _hashed(self, pipe: GitPipe, content: bytes) -> str:
        # A new file each time: truncating and rewriting one file makes ext4 flush it to disk
        # on close (milliseconds each on a busy disk); the scratch folder goes at the end.
        self._written += 1
        file = self._scratch / f"object-{self._written}"
        path = os.fsencode(file)
        if b"\n" in path:
            raise GitError(f"{file} cannot be named on one line of git hash-object")
        file.write_bytes(content)
        pipe.send(path + b"\n")
        return self._object_id(pipe)

    def _object_id(self, pipe: GitPipe) -> str:
        line = pipe.read_until(b"\n")
        text = line.decode("ascii", "replace").strip() if line is not None else ""
        if len(text) not in (40, 64) or not all(c in "0123456789abcdef" for c in text):
            raise pipe.broken(f"unexpected answer {line!r}")
        return text


def _record(mode: str, object_id: str, name: bytes) -> bytes:
    """One ``git mktree -z`` entry."""
    return f"{mode} {TREE_MODES[mode]} {object_id}\t".encode() + name + b"\0"
