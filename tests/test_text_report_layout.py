"""The text report as a person reads it in a terminal: a table when wide, blocks when narrow
(run under a real pseudo-terminal of the given size), and the reason when a finding has no fix."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from testpaths import REPO

EXAMPLE = REPO / "examples" / "insecure-repo"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def run_in_terminal(args: list[str], columns: int, cwd: Path) -> tuple[int, str]:
    """Run ``mendbot args`` with its standard output on a pty ``columns`` wide."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {**os.environ, "TERM": "xterm", "PYTHONPATH": str(REPO)}
    env.pop("COLUMNS", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        stdout=follower,
        stderr=subprocess.DEVNULL,
        cwd=cwd,
        env=env,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    code = process.wait(timeout=120)
    text = ANSI.sub("", b"".join(chunks).decode("utf-8")).replace("\r\n", "\n")
    return code, "\n".join(line.rstrip() for line in text.split("\n"))


def test_a_narrow_terminal_gets_one_readable_block_per_finding() -> None:
    code, out = run_in_terminal(["analyze", ".", "--offline"], 80, EXAMPLE)
    assert code == 1
    lines = out.splitlines()
    assert all(len(line) <= 80 for line in lines)
    assert "┃" not in out  # no table
    assert "medium .github/workflows/ci.yml:16:9 gha-persist-credentials" in lines
    assert "  fix: safe fix available" in lines
    assert (
        "  fix: report only (refs are not resolved offline; run without --offline to pin)" in lines
    )
    findings = int(out.rsplit(" finding(s)", 1)[0].rsplit(", ", 1)[1])
    severities = ("critical ", "high ", "medium ", "low ", "info ")
    blocks = [line for line in lines if line.startswith(severities)]
    assert len(blocks) == findings
    assert len(lines) <= 6 * findings


@pytest.mark.parametrize("columns", [120, 200])
def test_a_wide_terminal_gets_the_table_with_the_reason_for_report_only(columns: int) -> None:
    code, out = run_in_terminal(["analyze", ".", "--offline"], columns, EXAMPLE)
    assert code == 1
    assert "┃ Severity ┃" in out
    assert "no fix: refs are not resolved offline" in out
    assert all(len(line) <= columns for line in out.splitlines())
