"""Running one git command: bytes in, bytes out, git's own message on failure."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from bot.errors import MendbotError


class GitError(MendbotError):
    """A git command failed or returned something mendbot cannot read."""

    exit_code = 3
    advice = "check that the path is a git repository and the commits named exist in it"


def run(
    repo: Path,
    *args: str,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
) -> bytes:
    """Run ``git args`` in ``repo`` and return its standard output.

    Raises :class:`GitError` when git is missing or exits non-zero.
    """
    done = completed(repo, args, stdin, env)
    if done.returncode != 0:
        raise failure(repo, args, done)
    return done.stdout


def completed(
    repo: Path,
    args: tuple[str, ...],
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``git args`` in ``repo`` and return the finished process, whatever its exit status;
    raises :class:`GitError` only when git cannot start there."""
    try:
        return subprocess.run(
            ["git", *args],
            cwd=repo,
            input=stdin,
            env=git_env(env),
            capture_output=True,
            check=False,
        )
    except OSError as exc:
        raise start_failure(repo, exc) from None


def start_failure(repo: Path, exc: OSError) -> GitError:
    """Why git could not start in ``repo`` (``exc`` from starting the process)."""
    if isinstance(exc, NotADirectoryError):
        return GitError(f"{repo} is not a directory")
    if isinstance(exc, FileNotFoundError):
        if not repo.exists():
            return GitError(f"{repo} does not exist")
        return GitError("git is not installed or not on PATH")
    return GitError(f"cannot start git in {repo}: {exc}")


def failure(
    repo: Path, args: tuple[str, ...], done: subprocess.CompletedProcess[bytes]
) -> GitError:
    """The error of a git command that exited non-zero, with git's own message."""
    message = done.stderr.decode("utf-8", "replace").strip() or f"exit {done.returncode}"
    return GitError(f"git {subcommand(args)} failed in {repo}: {message}")


def subcommand(args: tuple[str, ...]) -> str:
    """The git command of ``args``, past global options such as ``-c key=value``."""
    rest = list(args)
    while rest and rest[0].startswith("-"):
        rest = rest[2:] if rest[0] in ("-c", "-C") else rest[1:]
    return rest[0] if rest else "(no command)"


def git_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a git child: ours plus ``env``, never prompting for credentials."""
    full_env = {**os.environ, **(env or {})}
    # The terminal prompt would hang a non-interactive run; nothing here needs credentials.
    full_env["GIT_TERMINAL_PROMPT"] = "0"
    return full_env
