"""Run the real ``mendbot`` command as a user does: a child process, text output, any exit code."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def run_mendbot(
    *args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m bot args…`` in ``cwd`` with ``env`` (default: this process's); never raises
    on a non-zero exit, so the test reads the code, standard output and standard error."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=None if env is None else dict(env),
        capture_output=True,
        text=True,
        check=False,
    )
