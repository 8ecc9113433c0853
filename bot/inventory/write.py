"""Put an inventory file into a repository folder: atomically, never through a link, and not at
all when its bytes would not change."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from bot.desired import MAX_DESIRED_BYTES
from bot.inventory.errors import InventoryError
from bot.safe_files import (
    UnsafeFileError,
    make_folders,
    open_folder,
    read_regular,
    replace_in_folder,
)


def check_repository(repository: Path) -> None:
    """Raise :class:`InventoryError` unless ``repository`` is an existing folder."""
    if not repository.is_dir():
        state = "does not exist" if not repository.exists() else "is not a folder"
        raise InventoryError(
            f"--out {repository}: {state}",
            advice="name the checkout the inventory file belongs in (it must exist)",
        )


def read_existing(repository: Path, relative: str) -> bytes | None:
    """The current bytes of ``repository/relative``, None when there is no such file; raises
    :class:`InventoryError` when it is reached through a link or is not a regular file."""
    path = repository / relative
    try:
        with open_folder(path.parent, repository) as folder:
            return read_regular(path.name, MAX_DESIRED_BYTES, dir_fd=folder)
    except FileNotFoundError:
        return None
    except UnsafeFileError as exc:
        raise _refused(relative, exc.reason) from None
    except OSError as exc:
        raise InventoryError(f"{relative}: cannot read ({exc.strerror or exc})") from None


def write_file(repository: Path, relative: str, data: bytes) -> bool:
    """Write ``data`` to ``repository/relative`` (folders created as needed); False when the
    file already held exactly ``data``. Raises :class:`InventoryError`; a failed write leaves
    the old file as it was."""
    posix = PurePosixPath(relative)
    try:
        with make_folders(repository, str(posix.parent)) as folder:
            return replace_in_folder(folder, posix.name, data, MAX_DESIRED_BYTES)
    except UnsafeFileError as exc:
        raise _refused(relative, exc.reason) from None
    except OSError as exc:
        raise InventoryError(
            f"{relative}: cannot write ({exc.strerror or exc})",
            advice="check that the folder is writable; the previous file, if any, is unchanged",
        ) from None


def _refused(relative: str, reason: str) -> InventoryError:
    return InventoryError(
        f"{relative} {reason}; mendbot never writes through a link or over a non-file",
        advice="replace the link with a real folder or file, then rerun",
    )
