"""Apply a ``git diff --full-index`` patch of regular text files without starting git, when the
result is certainly what ``git apply`` gives.

Only the plain shape the analysis writes is taken: changes to existing regular files (no new,
deleted, renamed or binary files, no mode changes), plain paths, every hunk matching the base
exactly at the line it names, and each result hashing to the post-image object id the patch's
``index`` line declares. ``git apply`` tries that exact place first, so it would write the same
bytes. Anything else is :data:`None`, and the caller asks ``git apply``, which decides (and
says why it refuses). The verifier checks the resulting commit either way.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

#: Paths taken here (git quotes or refuses anything unusual; those go to ``git apply``).
_PLAIN_PATH = re.compile(r"^[A-Za-z0-9._/-]+$")
_HEADER = re.compile(r"^diff --git a/(?P<old>\S+) b/(?P<new>\S+)$")
_INDEX = re.compile(
    r"^index (?P<before>[0-9a-f]{40}|[0-9a-f]{64})\.\.(?P<after>[0-9a-f]{40}|[0-9a-f]{64})"
    r" (?P<mode>100644|100755)$"
)
#: A hunk's line numbers, ASCII digits only (``int`` would also read other scripts' digits).
_HUNK = re.compile(rb"^@@ -(?P<old>[0-9]+)(?:,(?P<olen>[0-9]+))? \+[0-9]+(?:,(?P<nlen>[0-9]+))? @@")
_NO_NEWLINE = b"\\ No newline at end of file"


@dataclass(frozen=True)
class FileChange:
    """One modified file of the patch."""

    path: str
    mode: str
    """``100644`` or ``100755``, unchanged by the patch."""
    before: str
    """The pre-image object id the patch names."""
    after: str
    """The post-image object id the patch names (the result must hash to it)."""
    hunks: tuple[tuple[int, tuple[bytes, ...]], ...]
    """Each hunk: the pre-image line it starts at (1-based; 0 for an empty file) and its
    lines, each with its ``' '``, ``-`` or ``+`` marker and line ending."""


def parse(patch: bytes) -> list[FileChange] | None:
    """The file changes of ``patch``, or None when it is not the plain shape taken here."""
    lines = _lines(patch)
    changes: list[FileChange] = []
    position = 0
    while position < len(lines):
        parsed = _parse_file(lines, position)
        if parsed is None:
            return None
        change, position = parsed
        changes.append(change)
    paths = [change.path for change in changes]
    if not changes or len(set(paths)) != len(paths):
        return None
    return changes


def plain_path(path: str) -> bool:
    """Whether ``path`` is one git writes unquoted and accepts in a tree: ASCII letters,
    digits, ``._-`` and ``/`` between non-empty names, none of them ``.``, ``..`` or ``.git``
    (nor ``.git`` with dots after it)."""
    return _PLAIN_PATH.match(path) is not None and all(
        name not in ("", ".", "..") and name.lower().rstrip(".") != ".git"
        for name in path.split("/")
    )


def _parse_file(lines: list[bytes], start: int) -> tuple[FileChange, int] | None:
    """One file's section from ``lines[start]`` and where the next begins; None if not plain."""
    try:
        header = _HEADER.match(lines[start].decode("ascii").rstrip("\n"))
        index = _INDEX.match(lines[start + 1].decode("ascii").rstrip("\n"))
        old_name = lines[start + 2].decode("ascii")
        new_name = lines[start + 3].decode("ascii")
    except (IndexError, UnicodeDecodeError):
        return None
    if header is None or index is None or header["old"] != header["new"]:
        return None
    path = header["old"]
    if not plain_path(path):
        return None
    if (old_name, new_name) != (f"--- a/{path}\n", f"+++ b/{path}\n"):
        return None
    position = start + 4
    hunks = []
    while position < len(lines) and lines[position].startswith(b"@@ "):
        parsed = _parse_hunk(lines, position)
        if parsed is None:
            return None
        hunk, position = parsed
        hunks.append(hunk)
    if not hunks or (position < len(lines) and not lines[position].startswith(b"diff --git ")):
        return None
    change = FileChange(path, index["mode"], index["before"], index["after"], tuple(hunks))
    return change, position


def _parse_hunk(lines: list[bytes], start: int) -> tuple[tuple[int, tuple[bytes, ...]], int] | None:
    """One hunk from ``lines[start]`` (its ``@@`` line) and the line after it; None when its
    line counts do not add up."""
    found = _HUNK.match(lines[start])
    if found is None:
        return None
    old_left = int(found["olen"] if found["olen"] is not None else 1)
    new_left = int(found["nlen"] if found["nlen"] is not None else 1)
    body: list[bytes] = []
    position = start + 1
    while old_left or new_left:
        if position >= len(lines):
            return None
        line = lines[position]
        marker = line[:1]
        if marker == b" " and old_left and new_left:
            old_left, new_left = old_left - 1, new_left - 1
        elif marker == b"-" and old_left:
            old_left -= 1
        elif marker == b"+" and new_left:
            new_left -= 1
        else:
            return None
        if not line.endswith(b"\n"):
            return None
        body.append(line)
        position += 1
        if position < len(lines) and lines[position].rstrip(b"\n") == _NO_NEWLINE:
            body[-1] = body[-1][:-1]  # that line has no line ending
            position += 1
    return (int(found["old"]), tuple(body)), position


def apply(change: FileChange, before: bytes, object_id: Callable[[bytes], str]) -> bytes | None:
    """``before`` with ``change``'s hunks applied where they say, or None when a hunk does not
    match there exactly, would need git's anchoring rules, or the result does not hash
    (``object_id``) to the post-image id the patch declares."""
    old = _lines(before)
    new: list[bytes] = []
    copied = 0
    for start, body in change.hunks:
        removed = [line[1:] for line in body if line[:1] in (b" ", b"-")]
        changed = [i for i, line in enumerate(body) if line[:1] != b" "]
        if not changed:
            return None
        at = start - 1 if removed else start
        if at < copied or old[at : at + len(removed)] != removed:
            return None
        # git anchors a hunk without trailing context at the end of the file: take only hunks
        # whose place satisfies that too (its other rule, a hunk starting at line 0 or 1
        # starts the file, holds for every exact place).
        if changed[-1] == len(body) - 1 and at + len(removed) != len(old):
            return None
        new += old[copied:at]
        new += [line[1:] for line in body if line[:1] in (b" ", b"+")]
        copied = at + len(removed)
    result = b"".join(new + old[copied:])
    return result if object_id(result) == change.after else None


def _lines(data: bytes) -> list[bytes]:
    """``data`` cut after each ``\\n``, as git reads lines (``bytes.splitlines`` would also
    cut at a lone ``\\r``)."""
    lines = [line + b"\n" for line in data.split(b"\n")]
    lines[-1] = lines[-1][:-1]
    return lines if lines[-1] else lines[:-1]


def blob_id(content: bytes, id_length: int) -> str:
    """The git object id of a blob holding ``content`` (SHA-1, or SHA-256 for 64-digit ids)."""
    digest = hashlib.sha256 if id_length == 64 else hashlib.sha1
    return digest(b"blob %d\0" % len(content) + content, usedforsecurity=False).hexdigest()
