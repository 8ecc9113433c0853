"""Find the files to analyse and read them without ever trusting them.

Inputs that cannot be read become :class:`~bot.models.FileError` values, never exceptions: the
other files are still analysed. Symlinks that leave the repository are not followed, files over
:data:`MAX_BYTES` are skipped, binary files are ignored.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.models import FileError

MAX_BYTES = 5 * 1024 * 1024
_YAML_SUFFIXES = (".yml", ".yaml")
_ACTION_NAMES = ("action.yml", "action.yaml")


@dataclass(frozen=True)
class Input:
    """A file to analyse: where it is, and how reports name it."""

    path: Path
    relative: str
    """Repository-relative with ``/`` separators (the name used in every report)."""
    explicit: bool
    """Named on the command line or under ``.github/workflows/``: a non-workflow is an error."""


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except (ValueError, OSError):
        return False
    return True


def discover(targets: Iterable[Path], root: Path) -> tuple[list[Input], list[FileError]]:
    """The inputs named by ``targets`` (files or directories), and the ones refused.

    A directory contributes its ``.github/workflows/*.y{a,}ml`` files, its composite actions
    (``action.yml`` at the root and under ``.github/actions/``) and ``.github/dependabot.yml``
    when it has a workflows folder, and
    otherwise every YAML file below it (non-workflows among those are skipped quietly).
    """
    inputs: list[Input] = []
    errors: list[FileError] = []
    seen: set[Path] = set()

    def add(path: Path, explicit: bool) -> None:
        relative = _relative(path, root)
        if path.is_symlink() and not _inside(path, root):
            errors.append(
                FileError(
                    path=relative,
                    message="symlink points outside the repository; not followed",
                    skipped=True,
                )
            )
            return
        key = path.absolute()
        if key not in seen:
            seen.add(key)
            inputs.append(Input(path=path, relative=relative, explicit=explicit))

    for target in targets:
        if target.is_dir():
            workflows = target / ".github" / "workflows"
            if workflows.is_dir():
                for path in sorted(workflows.iterdir()):
                    if path.suffix in _YAML_SUFFIXES and (path.is_file() or path.is_symlink()):
                        add(path, explicit=True)
                for action in _action_files(target):
                    add(action, explicit=True)
                for name in ("dependabot.yml", "dependabot.yaml"):
                    if (target / ".github" / name).is_file():
                        add(target / ".github" / name, explicit=True)
                continue
            for dirpath, dirnames, filenames in os.walk(target, followlinks=False):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith(".git"))
                for name in sorted(filenames):
                    if name.endswith(_YAML_SUFFIXES):
                        add(Path(dirpath) / name, explicit=False)
        elif target.exists() or target.is_symlink():
            add(target, explicit=True)
        else:
            errors.append(FileError(path=str(target), message="no such file or directory"))
    return inputs, errors


def _action_files(root: Path) -> list[Path]:
    """``action.yml``/``action.yaml`` at the root and under ``.github/actions/``."""
    found = [root / name for name in _ACTION_NAMES if (root / name).is_file()]
    actions = root / ".github" / "actions"
    if actions.is_dir():
        for dirpath, dirnames, filenames in os.walk(actions, followlinks=False):
            dirnames.sort()
            found += [Path(dirpath) / n for n in sorted(filenames) if n in _ACTION_NAMES]
    return found


def read_text(item: Input) -> str | FileError | None:
    """The file's text; a :class:`FileError` when it cannot be read; None to ignore it."""
    try:
        size = item.path.stat().st_size
        if size > MAX_BYTES:
            return FileError(
                path=item.relative,
                message=f"file is {size} bytes, over the {MAX_BYTES} byte limit; skipped",
                skipped=True,
            )
        raw = item.path.read_bytes()
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
