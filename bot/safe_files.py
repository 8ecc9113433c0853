"""Open files and folders the way hostile checkouts cannot exploit: no links, no waiting.

A checkout is untrusted input. A symlink can point a read or a write anywhere on the machine,
a FIFO blocks a reader forever, and ``/dev/zero`` never ends. Everything here opens with
``O_NOFOLLOW`` (a link is refused, never followed) and ``O_NONBLOCK`` (a FIFO opens at once and
is then refused), accepts only regular files and reads at most a bounded number of bytes.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class UnsafeFileError(Exception):
    """The path is not a regular file of bounded size reachable without links.

    ``reason`` completes a sentence about the file (``"is a FIFO, not a regular file"``).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TooLargeError(UnsafeFileError):
    """The file holds more bytes than the caller accepts."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"is {size} bytes, over the {limit} byte limit")
        self.size = size
        self.limit = limit


def kind_of(mode: int) -> str:
    """A reader's name for what a ``st_mode`` describes (``"a FIFO"``, ``"a directory"``)."""
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISLNK(mode):
        return "a symlink"
    return "not a regular file"


def read_regular(path: Path | str, limit: int, *, dir_fd: int | None = None) -> bytes:
    """The bytes of the regular file ``path`` (at most ``limit``), never following a link.

    Raises :class:`UnsafeFileError` for a symlink, FIFO, socket, device or directory,
    :class:`TooLargeError` over ``limit`` bytes (also for files that grow while being read),
    and :class:`OSError` when the file cannot be opened or read. Never blocks on a FIFO.
    """
    try:
        fd = os.open(path, _READ_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafeFileError("is a symlink") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeFileError(f"is {kind_of(info.st_mode)}, not a regular file")
        if info.st_size > limit:
            raise TooLargeError(info.st_size, limit)
        chunks: list[bytes] = []
        remaining = limit + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        data = b"".join(chunks)
        if len(data) > limit:
            raise TooLargeError(len(data), limit)
        return data
    finally:
        os.close(fd)


def linked_folder(path: Path, root: Path) -> Path | None:
    """The first folder between ``root`` (excluded) and ``path`` (excluded) that is a symlink.

    None when every folder on the way is a real folder, or when ``path`` is not below ``root``
    (a path the user named outside the analysed folder is the user's choice).
    """
    try:
        parts = path.absolute().relative_to(root.absolute()).parts
    except ValueError:
        return None
    current = root
    for part in parts[:-1]:
        current = current / part
        if current.is_symlink():
            return current
    return None


@contextmanager
def open_folder(path: Path, root: Path) -> Iterator[int]:
    """A descriptor of the folder ``path``, reached from ``root`` one link-free step at a time.

    Each folder below ``root`` is opened with ``O_NOFOLLOW`` relative to its parent, so a
    folder swapped for a symlink at any moment is refused rather than followed. Raises
    :class:`UnsafeFileError` for a symlinked folder and :class:`OSError` otherwise; a ``path``
    not below ``root`` is opened from its own parent (still never through a final link).
    """
    try:
        parts = path.absolute().relative_to(root.absolute()).parts
        start = root
    except ValueError:
        parts = (path.name,) if path.name else ()
        start = path.parent
    fd = os.open(start, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts:
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR) and _is_link(part, fd):
                    raise UnsafeFileError(
                        f"is inside the symlinked folder {start / part}"
                    ) from None
                raise
            os.close(fd)
            fd = child
            start = start / part
        yield fd
    finally:
        os.close(fd)


def _is_link(name: str, dir_fd: int) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(name, dir_fd=dir_fd).st_mode)
    except OSError:
        return False


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


@contextmanager
def make_folders(root: Path, relative: str) -> Iterator[int]:
    """A descriptor of the folder ``root/relative``, creating the missing folders on the way,
    each opened with ``O_NOFOLLOW`` from its parent: a symlinked folder anywhere below
    ``root`` raises :class:`UnsafeFileError` (a write is never redirected through a link)."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in Path(relative).parts:
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                os.mkdir(part, 0o755, dir_fd=fd)
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR) and _is_link(part, fd):
                    raise UnsafeFileError(f"is inside the symlinked folder {part}") from None
                raise
            os.close(fd)
            fd = child
        yield fd
    finally:
        os.close(fd)


def replace_in_folder(folder: int, name: str, data: bytes, limit: int) -> bool:
    """Make the file ``name`` in the open ``folder`` hold ``data``; False when it already
    did (nothing is written, not even its time). The new bytes go to a complete temporary file
    renamed over ``name``, with the old file's permissions (0644 for a new one); an existing
    ``name`` must be a regular file (never a link).
    Raises :class:`UnsafeFileError` or :class:`OSError`."""
    try:
        info = os.lstat(name, dir_fd=folder)
    except FileNotFoundError:
        info = None
    if info is not None:
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeFileError(f"is {kind_of(info.st_mode)}, not a regular file")
        if read_regular(name, limit, dir_fd=folder) == data:
            return False
    temporary = f".{name}.{os.urandom(8).hex()}.mendbot"
    fd = os.open(
        temporary,
        os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
        0o600,
        dir_fd=folder,
    )
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            os.fchmod(handle.fileno(), stat.S_IMODE(info.st_mode) if info else 0o644)
        os.replace(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary, dir_fd=folder)
        raise
    return True
