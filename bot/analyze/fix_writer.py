"""Write fixed files all-or-nothing: a failure restores every file already written.

Fixed files are written without following links (see :mod:`bot.safe_files`): a symlinked
folder or file in a checkout can never redirect a write outside it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path

from bot.analyze.inputs import MAX_BYTES
from bot.errors import WriteError
from bot.safe_files import UnsafeFileError, open_folder, read_regular


def write_all(changes: Mapping[Path, tuple[str, str]], root: Path | None = None) -> None:
    """Write each ``path → (original, new)``; on any failure restore the originals.

    ``root`` is the folder the paths were found in: every folder between it and a file is
    opened without following links, the file itself must still be a regular file (never a
    symlink) holding exactly ``original`` (compared byte for byte: CRLF and BOM count), and the
    new bytes replace it through a complete temporary file in the same folder. Without
    ``root`` only the file's own folder and the file are checked.

    Raises :class:`WriteError` after restoring; no file is left half-written.
    """
    written: list[Path] = []
    try:
        for path, (original, new) in changes.items():
            _replace(path, root, expected=original.encode("utf-8"), data=new.encode("utf-8"))
            written.append(path)
    except (OSError, WriteError) as exc:
        # ``path`` stays the file that failed: the error names it, not the last one restored.
        for restored in written:
            original, new = changes[restored]
            try:
                _replace(
                    restored, root, expected=new.encode("utf-8"), data=original.encode("utf-8")
                )
            except (OSError, WriteError):
                continue
        if isinstance(exc, WriteError):
            raise
        raise WriteError(f"could not write {exc.filename or path}: {exc.strerror or exc}") from None


def _replace(path: Path, root: Path | None, *, expected: bytes, data: bytes) -> None:
    """Replace ``path`` (holding ``expected``) with ``data``, never through a link."""
    name = path.name
    try:
        with open_folder(path.parent, root or path.parent) as folder:
            info = os.lstat(name, dir_fd=folder)
            if stat.S_ISLNK(info.st_mode):
                raise WriteError(
                    f"{path} is a symlink; mendbot never rewrites through a link",
                    advice="fix the file the link points to, or replace the link with the file",
                )
            try:
                current = read_regular(name, MAX_BYTES, dir_fd=folder)
            except UnsafeFileError as exc:
                raise WriteError(f"{path} {exc.reason}; not overwritten") from None
            if current != expected:
                raise WriteError(f"{path} changed on disk during the analysis; not overwritten")
            _write_beside(folder, name, data, stat.S_IMODE(info.st_mode))
    except UnsafeFileError as exc:
        raise WriteError(f"{path} {exc.reason}; not written") from None


def _write_beside(folder: int, name: str, data: bytes, mode: int) -> None:
    """Write ``data`` to a new file in ``folder`` and rename it over ``name`` atomically."""
    temporary = f".{name}.{secrets.token_hex(8)}.mendbot"
    fd = os.open(
        temporary,
        os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
        0o600,
        dir_fd=folder,
    )
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            os.fchmod(handle.fileno(), mode)
        os.replace(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary, dir_fd=folder)
        raise
