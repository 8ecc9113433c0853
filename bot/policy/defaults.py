"""The default merge-gate policies mendbot ships, and writing them into a repository."""

from __future__ import annotations

import os
from pathlib import Path

from bot.errors import UsageError, WriteError


def shipped_policies() -> Path:
    """The default policies: inside the installed package, or ``policies/`` in a checkout."""
    packaged = Path(__file__).resolve().parent.parent / "_policies"
    if packaged.is_dir():
        return packaged
    source = Path(__file__).resolve().parent.parent.parent / "policies"
    if source.is_dir():
        return source
    raise UsageError("the shipped default policies are missing; reinstall mendbot")


def write_defaults(directory: Path) -> list[Path]:
    """Copy every shipped policy file into ``directory`` (created if missing) and return the
    written paths.

    Nothing is written when any target exists, is a symlink, or ``directory`` is not a folder:
    an existing policy is a decision of the repository's owners and is never overwritten.
    """
    sources = sorted(p for p in shipped_policies().iterdir() if p.suffix in {".yaml", ".yml"})
    if directory.is_symlink() or (directory.exists() and not directory.is_dir()):
        raise UsageError(
            f"{directory} is not a folder", advice="name a new or existing policy folder"
        )
    clashes = [directory / s.name for s in sources if os.path.lexists(directory / s.name)]
    if clashes:
        raise UsageError(
            f"{clashes[0]} already exists; nothing was written",
            advice="move the existing policies away, or choose another folder",
        )
    written: list[Path] = []
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for source in sources:
            target = directory / source.name
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
            with os.fdopen(os.open(target, flags, 0o644), "wb") as handle:
                written.append(target)
                handle.write(source.read_bytes())
    except OSError as exc:
        for path in written:
            path.unlink(missing_ok=True)
        raise WriteError(
            f"cannot write the default policies to {directory}: {exc.strerror}"
        ) from None
    return written
