"""Raw diffs of two trees through one long-lived ``git diff-tree --stdin`` process.

For each pair of trees git prints a header line (the two ids), the raw entries exactly as
``git diff --raw -z --no-abbrev --no-renames`` prints them, and then echoes the line after the
pair, a marker that cannot start an entry (every entry starts with ``:``), which ends the
answer. A pair git cannot diff gets no header: the differ then stops and raises
:class:`GitError`, and the caller asks ``git diff`` itself, which says why.
"""

from __future__ import annotations

from pathlib import Path

from bot.git.pipe import GitPipe

#: The line ``diff-tree --stdin`` echoes after each pair (not an object id, so echoed as is).
_END = b"end of diff\n"


class TreeDiffer:
    """``git diff-tree --stdin -r --raw -z --no-abbrev --no-renames`` in ``repo``."""

    def __init__(self, repo: Path) -> None:
        self._pipe = GitPipe(
            repo, ("diff-tree", "--stdin", "-r", "--raw", "-z", "--no-abbrev", "--no-renames")
        )

    def diff(self, old: str, new: str) -> bytes:
        """The raw entries from tree ``old`` to tree ``new`` (full object ids); raises
        :class:`GitError` when git cannot diff them."""
        self._pipe.send(f"{old} {new}\n".encode() + _END)
        header = self._pipe.read_until(b"\n")
        if header != f"{old} {new}\n".encode():
            # No header: git refused the pair (its error is on stderr); what follows is _END.
            raise self._pipe.broken(f"no diff of {old} and {new}")
        entries: list[bytes] = []
        while True:
            meta = self._pipe.read_until(b"\0") if self._pipe.peek() == b":" else None
            if meta is None:
                if self._pipe.read_until(b"\n") != _END:
                    raise self._pipe.broken("the diff stopped short")
                return b"".join(entries)
            path = self._pipe.read_until(b"\0")
            if path is None:
                raise self._pipe.broken("the diff stopped short")
            entries += [meta, path]

    def close(self) -> None:
        """Stop the process."""
        self._pipe.close()
