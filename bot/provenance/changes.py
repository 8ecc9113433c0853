"""The canonical change list: what a remediation changes, git-object exact.

A change list is built from ``git diff --raw -z --no-renames --no-abbrev BASE TARGET`` plus the
sha256 of every blob involved. The same function builds it when a bundle is written and when a
pull request is verified, so "the PR changes exactly what was attested" is a plain equality.

Rules (refused with :class:`~bot.provenance.errors.ChangeError`): paths are repository-relative
POSIX, valid UTF-8, without ``.``/``..`` segments, leading ``/`` or duplicates; a path named
``_changeset`` is reserved for the change-set subject; gitlinks (submodules, mode ``160000``)
are never attested. Renames are a delete plus an add; a mode-only change and a file↔symlink
swap (mode ``120000``) are ``modify``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal, cast

import rfc8785
from pydantic import Field, model_validator

from bot import git
from bot.provenance.errors import ChangeError
from bot.provenance.schema import Schema

#: Name of the subject that binds the whole change list.
CHANGESET_SUBJECT = "_changeset"
#: File modes that may appear in a change: regular, executable, symlink.
ATTESTABLE_MODES = ("100644", "100755", "120000")
GITLINK_MODE = "160000"
_NULL_MODE = "000000"
SHA256_HEX = r"^[0-9a-f]{64}$"
GIT_OBJECT_ID = r"^[0-9a-f]{40}([0-9a-f]{24})?$"

Operation = Literal["add", "modify", "delete"]
FileMode = Literal["100644", "100755", "120000"]


class BlobState(Schema):
    """One side of a change: the file's mode and content digests."""

    mode: FileMode
    sha256: str = Field(pattern=SHA256_HEX)
    """sha256 of the git blob bytes (what is committed, not the checked-out file)."""
    git_blob: str = Field(pattern=GIT_OBJECT_ID)
    """The git object id of the blob, for cheap cross-checks against a forge's API."""


class Change(Schema):
    """One path's change between the base commit and the remediated tree."""

    path: str
    op: Operation
    before: BlobState | None
    """The pre-image (``modify``, ``delete``); null for ``add``."""
    after: BlobState | None
    """The post-image (``add``, ``modify``); null for ``delete``."""

    @model_validator(mode="after")
    def _sides_match_op(self) -> Change:
        try:
            check_path(self.path)
        except ChangeError as exc:
            raise ValueError(str(exc)) from None
        wanted = {"add": (False, True), "modify": (True, True), "delete": (True, False)}[self.op]
        if ((self.before is not None), (self.after is not None)) != wanted:
            raise ValueError(
                f"{self.op} of {self.path} needs before={wanted[0]}, after={wanted[1]}"
            )
        return self


def check_path(path: str) -> str:
    """Return ``path`` if it is a safe repository path, else raise :class:`ChangeError`."""
    problem = None
    if not path:
        problem = "is empty"
    elif path.startswith("/"):
        problem = "is absolute"
    elif "\\" in path or "\0" in path:
        problem = "contains a backslash or NUL"
    elif any(part in ("", ".", "..") for part in path.split("/")):
        problem = "has an empty, `.` or `..` segment"
    elif path == CHANGESET_SUBJECT:
        problem = f"is the reserved subject name {CHANGESET_SUBJECT!r}"
    if problem is not None:
        raise ChangeError(f"path {path!r} {problem}; it cannot be attested")
    return path


def canonical(changes: Sequence[Change]) -> bytes:
    """RFC 8785 bytes of the change list sorted by path (UTF-8 byte order)."""
    ordered = sort_changes(changes)
    return rfc8785.dumps([c.model_dump(mode="json", by_alias=True) for c in ordered])


def changeset_digest(changes: Sequence[Change]) -> str:
    """sha256 hex of :func:`canonical`: the ``_changeset`` subject's digest."""
    return hashlib.sha256(canonical(changes)).hexdigest()


def sort_changes(changes: Iterable[Change]) -> list[Change]:
    """Changes ordered by path as UTF-8 bytes (the order used everywhere)."""
    return sorted(changes, key=lambda c: c.path.encode("utf-8"))


class RawEntry(Schema):
    """One record of ``git diff --raw``: modes, object ids, status letter, path."""

    src_mode: str
    dst_mode: str
    src_id: str
    dst_id: str
    status: str
    path: str


def parse_raw(output: bytes) -> list[RawEntry]:
    """Parse ``git diff --raw -z --no-renames --no-abbrev`` output.

    Raises :class:`ChangeError` for a non-UTF-8 path and on output it does not understand.
    """
    entries: list[RawEntry] = []
    fields = output.split(b"\0")
    if fields and fields[-1] == b"":
        fields.pop()
    if len(fields) % 2:
        raise ChangeError("unexpected `git diff --raw` output (odd number of fields)")
    for meta, raw_path in zip(fields[::2], fields[1::2], strict=True):
        parts = meta.decode("ascii", "replace").lstrip(":").split()
        if len(parts) != 5:
            raise ChangeError(f"unexpected `git diff --raw` record: {meta!r}")
        try:
            path = raw_path.decode("utf-8")
        except UnicodeDecodeError:
            raise ChangeError(
                f"path {raw_path!r} is not valid UTF-8; it cannot be attested"
            ) from None
        src_mode, dst_mode, src_id, dst_id, status = parts
        entries.append(
            RawEntry(
                src_mode=src_mode,
                dst_mode=dst_mode,
                src_id=src_id,
                dst_id=dst_id,
                status=status,
                path=path,
            )
        )
    return entries


def raw_diff(repo: Path, base: str, target: str, env: dict[str, str] | None = None) -> bytes:
    """``git diff --raw`` between two tree-ish names, in the canonical options."""
    return git.diff_raw(repo, base, target, git.RAW_OPTIONS, env)


def changes_from_raw(
    repo: Path, entries: Sequence[RawEntry], env: dict[str, str] | None = None
) -> list[Change]:
    """Turn raw diff entries into :class:`Change` values, hashing every blob with sha256.

    Raises :class:`ChangeError` for gitlinks, unknown statuses, unattestable modes and paths.
    """
    ids = [
        object_id
        for entry in entries
        for mode, object_id in ((entry.src_mode, entry.src_id), (entry.dst_mode, entry.dst_id))
        if mode != _NULL_MODE and mode != GITLINK_MODE
    ]
    blobs = git.read_blobs(repo, ids, env)
    changes = []
    for entry in entries:
        if GITLINK_MODE in (entry.src_mode, entry.dst_mode):
            raise ChangeError(
                f"{entry.path} is a submodule (gitlink); submodule changes are never attested"
            )
        op: Operation
        if entry.status == "A":
            op = "add"
        elif entry.status == "D":
            op = "delete"
        elif entry.status in ("M", "T"):
            op = "modify"
        else:
            raise ChangeError(f"{entry.path}: unexpected diff status {entry.status!r}")
        before = _state(entry.src_mode, entry.src_id, blobs, entry.path) if op != "add" else None
        after = _state(entry.dst_mode, entry.dst_id, blobs, entry.path) if op != "delete" else None
        check_path(entry.path)
        changes.append(Change(path=entry.path, op=op, before=before, after=after))
    return sort_changes(changes)


def _state(mode: str, object_id: str, blobs: dict[str, bytes], path: str) -> BlobState:
    if mode not in ATTESTABLE_MODES:
        raise ChangeError(f"{path}: file mode {mode} cannot be attested")
    return BlobState(
        mode=cast(FileMode, mode),  # checked against ATTESTABLE_MODES above
        sha256=hashlib.sha256(blobs[object_id]).hexdigest(),
        git_blob=object_id,
    )


def diff_changes(repo: Path, base: str, target: str) -> list[Change]:
    """The change list from commit (or tree) ``base`` to ``target`` in ``repo``."""
    return changes_from_raw(repo, parse_raw(raw_diff(repo, base, target)))
