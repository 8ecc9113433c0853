"""Find the files to analyse and read them without ever trusting them.

Inputs that cannot be read become :class:`~bot.models.FileError` values, never exceptions: the
other files are still analysed. Symlinks that leave the repository and symlinked folders are
not followed, only regular files are read (FIFOs and devices are refused without waiting), files
over :data:`MAX_BYTES` are skipped, binary files are ignored.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bot.models import FileError
from bot.safe_files import TooLargeError, UnsafeFileError, linked_folder, open_folder, read_regular

MAX_BYTES = 5 * 1024 * 1024
_YAML_SUFFIXES = (".yml", ".yaml")
_ACTION_NAMES = ("action.yml", "action.yaml")
#: Folders from a repository's root to its desired-state kinds.
_DESIRED_PARTS = (".mendbot", "desired")


@dataclass(frozen=True)
class Input:
    """A file to analyse: where it is, and how reports name it."""

    path: Path
    relative: str
    """Repository-relative with ``/`` separators (the name used in every report)."""
    explicit: bool
    """Named on the command line or under ``.github/workflows/``: a non-workflow is an error."""
    link_target: str | None = None
    """For a symlink inside the repository: the file it points to, as reports name it. The
    link is analysed through its target and never rewritten."""
    root: Path | None = None
    """The folder ``path`` was found in: the folders between them are opened without
    following links when the file is read."""


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _display(target: Path, root: Path) -> str:
    """How a named target appears in the report: relative to ``root`` when below it, else as
    the user wrote it."""
    try:
        return target.absolute().relative_to(root.absolute()).as_posix()
    except ValueError:
        return str(target)


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except (ValueError, OSError):
        return False
    return True


def is_repository(folder: Path) -> bool:
    """A folder holding a ``.github`` folder or desired state (``.mendbot/desired``), or a link
    named so, is a repository checkout."""
    github = folder / ".github"
    mendbot = folder / ".mendbot"
    return github.is_symlink() or github.is_dir() or mendbot.is_symlink() or mendbot.is_dir()


def _linked_folder_error(link: Path, root: Path) -> FileError:
    try:
        target = os.readlink(link)
    except OSError:
        target = "?"
    return FileError(
        path=_relative(link, root),
        message=f"is a symlink to a folder ({target}); symlinked folders are not followed, "
        "nothing in it was analysed or fixed: replace the link with a real folder",
    )


def discover(targets: Iterable[Path], root: Path) -> tuple[list[Input], list[FileError]]:
    """The inputs named by ``targets`` (files or directories), and the ones refused.

    A directory holding ``.github`` (or ``.mendbot``) is a repository: it contributes its
    ``.github/workflows/*.y{a,}ml`` files, its composite actions (``action.yml`` at the root and
    under ``.github/actions/``), ``.github/dependabot.yml`` and its desired-state files
    (``.mendbot/desired/<kind>/*.y{a,}ml``). Any other directory contributes
    every YAML file below it (non-workflows among those are skipped quietly), except those in
    repositories below it, which are analysed on their own (see :mod:`bot.analyze.checkouts`).

    Symlinked folders are never entered: one under ``.github`` (or ``.github`` itself) is an
    error naming it; a symlinked file must point inside ``root``.
    """
    inputs: list[Input] = []
    errors: list[FileError] = []
    seen: set[str] = set()
    # Folder → its first symlinked folder below root: asked once per folder, not per file.
    links: dict[Path, Path | None] = {}

    # Folder → its name in reports, for the names of its files.
    names: dict[Path, str] = {}
    places: dict[Path, str] = {}

    def add(path: Path, explicit: bool, link: bool | None = None) -> None:
        """Add the file ``path``; ``link``: whether it is a symlink, when the caller knows."""
        folder = path.parent
        if folder not in links:
            links[folder] = linked_folder(path, root)
            names[folder] = _relative(folder, root)
            places[folder] = str(folder.absolute())
        relative = _child_name(names[folder], path.name)
        linked = links[folder]
        if linked is not None:
            errors.append(
                FileError(
                    path=relative,
                    message=f"is inside the symlinked folder {_relative(linked, root)}; "
                    "not followed: replace the link with the folder",
                )
            )
            return
        link_target = None
        if path.is_symlink() if link is None else link:
            if not _inside(path, root):
                errors.append(
                    FileError(
                        path=relative,
                        message="symlink points outside the repository; not followed",
                        skipped=True,
                    )
                )
                return
            resolved = path.resolve()
            link_target = _relative(resolved, root.resolve())
            path = resolved
        key = os.path.join(places[folder], path.name) if link_target is None else str(path)
        if key not in seen:
            seen.add(key)
            inputs.append(
                Input(
                    path=path,
                    relative=relative,
                    explicit=explicit,
                    link_target=link_target,
                    root=root.resolve() if link_target else root,
                )
            )

    for target in targets:
        through = _named_through_link(target)
        if through is not None:
            errors.append(
                FileError(
                    path=_display(target, root),
                    message=f"is reached through the symlink {through} inside a repository; "
                    "not followed: name the real path",
                )
            )
            continue
        if target.is_dir():
            if is_repository(target):
                errors += _repository(target, add)
                continue
            for dirpath, dirnames, filenames in os.walk(target, followlinks=False):
                dirnames[:] = sorted(
                    d
                    for d in dirnames
                    if not d.startswith(".git") and not is_repository(Path(dirpath) / d)
                )
                for name in sorted(filenames):
                    if name.endswith(_YAML_SUFFIXES):
                        add(Path(dirpath) / name, explicit=False)
        elif target.exists() or target.is_symlink():
            add(target, explicit=True)
        else:
            errors.append(
                FileError(path=_display(target, root), message="no such file or directory")
            )
    return inputs, errors


def _child_name(folder: str, name: str) -> str:
    """The report name of the file ``name`` in the folder reports name ``folder``."""
    if folder == ".":
        return name
    return f"{folder}{name}" if folder.endswith("/") else f"{folder}/{name}"


def _named_through_link(target: Path) -> Path | None:
    """The symlink, if any, between the repository holding ``target`` and ``target`` itself.

    Naming ``repo/.github/workflows`` when that folder is a link must not lead outside the
    checkout any more than analysing ``repo`` does. A target in no repository is the user's.
    """
    absolute = target.absolute()
    for ancestor in absolute.parents:
        if is_repository(ancestor) or (ancestor / ".git").exists():
            parts = absolute.relative_to(ancestor).parts
            if not target.is_dir():
                parts = parts[:-1]  # a linked file is discovery's to judge (inside or not)
            current = ancestor
            for part in parts:
                current = current / part
                if current.is_symlink():
                    return current
            return None
    return None


class _Add(Protocol):
    def __call__(self, path: Path, explicit: bool, link: bool | None = None) -> None: ...


def _repository(folder: Path, add: _Add) -> list[FileError]:
    """Add the inputs of the repository ``folder``; the errors for its symlinked folders."""
    github = folder / ".github"
    if github.is_symlink():
        return [_linked_folder_error(github, folder)]
    errors: list[FileError] = []
    workflows = github / "workflows"
    if workflows.is_symlink():
        errors.append(_linked_folder_error(workflows, folder))
    elif workflows.is_dir():
        # One listing tells each entry's kind: no system call per file to ask it again.
        with os.scandir(workflows) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
        for entry in entries:
            if Path(entry.name).suffix in _YAML_SUFFIXES and not entry.is_dir():
                add(workflows / entry.name, True, link=entry.is_symlink())
    for name in _ACTION_NAMES:
        if (folder / name).is_file() or (folder / name).is_symlink():
            add(folder / name, True)
    actions = github / "actions"
    if actions.is_symlink():
        errors.append(_linked_folder_error(actions, folder))
    elif actions.is_dir():
        for dirpath, dirnames, filenames in os.walk(actions, followlinks=False):
            dirnames.sort()
            for name in list(dirnames):
                if (Path(dirpath) / name).is_symlink():
                    errors.append(_linked_folder_error(Path(dirpath) / name, folder))
                    dirnames.remove(name)
            for name in sorted(filenames):
                if name in _ACTION_NAMES:
                    add(Path(dirpath) / name, True)
    for name in ("dependabot.yml", "dependabot.yaml"):
        if (github / name).is_file() or (github / name).is_symlink():
            add(github / name, True)
    return errors + _desired_state(folder, add)


def _desired_state(folder: Path, add: Callable[[Path, bool], None]) -> list[FileError]:
    """Add ``.mendbot/desired/<kind>/*.y{a,}ml``; errors for the symlinked folders on the way
    (never followed: a link must not bring outside files in as the repository's state)."""
    errors: list[FileError] = []
    current = folder
    for part in _DESIRED_PARTS:
        current = current / part
        if current.is_symlink():
            return [_linked_folder_error(current, folder)]
        if not current.is_dir():
            return []
    for kind in sorted(current.iterdir()):
        if kind.is_symlink() and not kind.is_file():
            errors.append(_linked_folder_error(kind, folder))
            continue
        if not kind.is_dir():
            continue
        for path in sorted(kind.iterdir()):
            if path.suffix in _YAML_SUFFIXES and not path.is_dir():
                add(path, True)
    return errors


def read_text(item: Input) -> str | FileError | None:
    """The file's text; a :class:`FileError` when it cannot be read; None to ignore it.

    Only a regular file is read (a FIFO, device or socket is refused at once, never waited
    on), never through a link, and never more than :data:`MAX_BYTES`.
    """
    return read_texts([item])[0]


def read_texts(items: Sequence[Input]) -> list[str | FileError | None]:
    """:func:`read_text` of every item, in order, opening each folder once for a run of
    items in that folder rather than once per file (the folders on the way are still opened
    one link-free step at a time, and each file with ``O_NOFOLLOW`` inside the folder held)."""
    texts: list[str | FileError | None] = []
    with contextlib.ExitStack() as stack:
        held: tuple[Path, Path] | None = None
        folder: int | UnsafeFileError | OSError = -1
        for item in items:
            where = (item.path.parent, item.root or item.path.parent)
            if where != held:
                stack.close()
                held = where
                try:
                    folder = stack.enter_context(open_folder(*where))
                except (UnsafeFileError, OSError) as exc:
                    folder = exc
            texts.append(_read_in(item, folder))
    return texts


def _read_in(item: Input, folder: int | UnsafeFileError | OSError) -> str | FileError | None:
    """The text of ``item`` in the open ``folder`` (or the error opening that folder)."""
    try:
        if isinstance(folder, Exception):
            raise folder
        raw = read_regular(item.path.name, MAX_BYTES, dir_fd=folder)
    except TooLargeError as exc:
        return FileError(
            path=item.relative,
            message=f"file is {exc.size} bytes, over the {MAX_BYTES} byte limit; skipped",
            skipped=True,
        )
    except UnsafeFileError as exc:
        return FileError(path=item.relative, message=f"{exc.reason}; not read")
    except OSError as exc:
        return FileError(path=item.relative, message=f"cannot read: {exc.strerror or exc}")
    if b"\x00" in raw[:8192]:
        if item.explicit:
            return FileError(path=item.relative, message="binary file; not analysed", skipped=True)
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return FileError(
            path=item.relative,
            message=f"invalid UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8",
            line=line,
            column=column,
        )
