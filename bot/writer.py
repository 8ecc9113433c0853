"""Write fixed files all-or-nothing: a failure restores every file already written."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from bot.errors import WriteError


def write_text_atomically(path: Path, text: str, *, mode: int | None = None) -> None:
    """Replace (or create) ``path`` with ``text`` via a complete temporary file in the same
    folder, so a reader never sees half a file; the folder is created when missing. ``mode``
    sets the file's permissions (None: the temporary file's, owner read/write)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".mendbot", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_atomically(path: Path, text: str) -> None:
    """Replace the existing ``path`` with ``text``, keeping its mode."""
    write_text_atomically(path, text, mode=path.stat().st_mode & 0o7777)


def write_all(changes: Mapping[Path, tuple[str, str]]) -> None:
    """Write each ``path → (original, new)``; on any failure restore the originals.

    Raises :class:`WriteError` after restoring; no file is left half-written because every
    write is a rename of a complete temporary file.
    """
    written: list[Path] = []
    try:
        for path, (original, new) in changes.items():
            if path.read_text(encoding="utf-8") != original:
                raise WriteError(f"{path} changed on disk during the analysis; not overwritten")
            _write_atomically(path, new)
            written.append(path)
    except (OSError, WriteError) as exc:
        for path in written:
            try:
                _write_atomically(path, changes[path][0])
            except OSError:
                continue
        if isinstance(exc, WriteError):
            raise
        raise WriteError(f"could not write {exc.filename or 'a file'}: {exc.strerror}") from None
