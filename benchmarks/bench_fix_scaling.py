"""Benchmark how ``mendbot analyze --fix=all`` and ``--bundle-out`` grow with one file's size.

This is a benchmark, not a test: it prints a table and asserts nothing. pytest does not
collect it.

Contract
--------
* Input: for each size N of ``--sizes`` (default 150, 300, 600, 1200, 3000), a new git
  repository holding one workflow, ``.github/workflows/big.yml``: one job whose N steps are
  ``--step`` steps, ``checkout`` (``uses: actions/checkout@v4``: gha-persist-credentials
  fixes, gha-unpinned-uses report-only findings offline, plus the workflow's and the job's
  permissions) or ``injection`` (``run: echo "${{ github.event.issue.title }}"`` on
  ``issues``: one gha-template-injection fix per step, two operations each).
* Runs, each in a child process on a fresh copy, offline, without GitHub tokens in the
  environment, stopped after ``--timeout`` seconds:
  - ``analyze``: ``python -m bot analyze --offline --format json`` (detection only);
  - ``fix``: the same with ``--fix=all`` (writes the fixed file);
  - ``bundle``: the same with ``--bundle-out DIR --sign none`` (regenerates every
    remediation on the committed text and writes unsigned bundles); skipped with
    ``--no-bundle``.
  The lowest CPU time (user + system, of the child) of ``--repeat`` runs is kept: on a
  shared machine it varies far less than the wall time, which is printed below each row.
* Output: per size, the file size, each run's time, the fixes applied out of the fixes
  offered and the files the round limit stopped (``fix_limits`` of the JSON report), and per
  run the growth per doubling of the size: ``(t_N / t_prev) ** (1 / log2(N / prev))``, which is
  2.0 for linear time and 4.0 for quadratic time.
* ``python -m bot`` runs the ``bot`` package the interpreter imports, so setting
  ``PYTHONPATH`` to another checkout's root times that version (how the README's "before"
  numbers were taken). Exit status: 0 when every run finished with a JSON report, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCRUBBED_ENV = {"GH_TOKEN", "GITHUB_TOKEN", "GH_HOST", "GITHUB_ACTIONS"}
STEPS = {
    "checkout": "      - name: checkout {i}\n        uses: actions/checkout@v4\n",
    "injection": (
        '      - name: greet {i}\n        run: echo "${{{{ github.event.issue.title }}}}"\n'
    ),
}
HEADS = {
    "checkout": "name: big\non: [push]\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n",
    "injection": (
        "name: big\non: [issues]\npermissions: {}\njobs:\n  build:\n    runs-on: ubuntu-latest\n"
        "    permissions: {}\n    steps:\n"
    ),
}


@dataclass
class Timing:
    """One kind of run at one size: CPU time (None on timeout or failure) and wall time."""

    seconds: float | None
    report: dict[str, Any] | None
    note: str = ""
    wall: float | None = None


def workflow(kind: str, steps: int) -> str:
    """The benchmark workflow: one job of ``steps`` steps of ``kind``."""
    return HEADS[kind] + "".join(STEPS[kind].format(i=i) for i in range(steps))


def make_repo(path: Path, text: str) -> None:
    """A git repository at ``path`` whose one commit holds the workflow."""
    target = path / ".github" / "workflows" / "big.yml"
    target.parent.mkdir(parents=True)
    target.write_text(text, encoding="utf-8")
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "benchmark workflow"]):
        subprocess.run([*git, *args], cwd=path, check=True)


def run_once(argv: list[str], cwd: Path, env: dict[str, str], timeout: float) -> Timing:
    """Run one child and time it; its standard output must be the JSON report."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    try:
        done = subprocess.run(
            argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return Timing(None, None, f"> {timeout:.0f} s")
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    try:
        report = json.loads(done.stdout)
    except ValueError:
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        return Timing(None, None, f"exit {done.returncode}: {tail[0][:60]}")
    return Timing(cpu, report, wall=wall)


def best(
    kind: str, steps: int, extra: list[str], repeat: int, timeout: float, env: dict[str, str]
) -> Timing:
    """The fastest of ``repeat`` runs, each on a fresh repository."""
    text = workflow(kind, steps)
    fastest: Timing | None = None
    for _ in range(repeat):
        work = Path(tempfile.mkdtemp(prefix="mendbot-scaling-"))
        try:
            make_repo(work / "repo", text)
            argv = [
                sys.executable,
                "-m",
                "bot",
                "analyze",
                "--offline",
                "--format",
                "json",
                "--no-cache",
            ]
            extra_args = [a.replace("{work}", str(work)) for a in extra]
            timing = run_once([*argv, *extra_args], work / "repo", env, timeout)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if timing.seconds is None:
            return timing
        if fastest is None or timing.seconds < (fastest.seconds or math.inf):
            fastest = timing
    assert fastest is not None
    return fastest


def growth(previous: tuple[int, Timing] | None, steps: int, timing: Timing) -> str:
    """Growth per doubling of the size since the previous size, as text."""
    if previous is None or timing.seconds is None or previous[1].seconds is None:
        return "-"
    ratio = timing.seconds / previous[1].seconds
    return f"{ratio ** (1 / math.log2(steps / previous[0])):.2f}"


def fixes(report: dict[str, Any] | None) -> str:
    """``applied/offered`` and the files stopped by the round limit, from a JSON report."""
    if report is None:
        return "-"
    offered = sum(1 for f in report["findings"] if f["fix"] is not None)
    applied = report["summary"]["fixes_applied"]
    limits = report.get("fix_limits")
    limited = "limit not reported" if limits is None else f"{len(limits)} stopped"
    return f"{applied}/{offered} ({limited})"


def _present(
    previous: dict[str, tuple[int, Timing] | None],
) -> dict[str, tuple[int, Timing]]:
    return {kind: value for kind, value in previous.items() if value is not None}


def cell(timing: Timing) -> str:
    return f"{timing.seconds:.2f}" if timing.seconds is not None else timing.note


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Growth of --fix=all with one file's size.")
    parser.add_argument("--sizes", default="150,300,600,1200,3000", help="steps per workflow")
    parser.add_argument("--step", choices=sorted(STEPS), default="checkout")
    parser.add_argument("--repeat", type=int, default=1, help="runs per size and kind (best)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per run")
    parser.add_argument("--no-bundle", action="store_true", help="skip the --bundle-out runs")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    kinds = {"analyze": [], "fix": ["--fix=all"]}
    if not args.no_bundle:
        kinds["bundle"] = ["--bundle-out", "{work}/bundles", "--sign", "none"]
    print("== machine")
    print(f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs")
    print(f"step kind: {args.step}; repeat {args.repeat}; timeout {args.timeout:.0f} s")
    print(
        "\n== runs: CPU seconds of the child (best of --repeat; wall seconds on the line "
        "below), growth per doubling: 2.0 linear, 4.0 quadratic"
    )
    header = f"{'steps':>6} {'KiB':>6}"
    for kind in kinds:
        header += f" {kind + ' cpu s':>12} {'growth':>6}"
    header += "  fixes applied/offered (round limit)"
    print(header)
    previous: dict[str, tuple[int, Timing] | None] = dict.fromkeys(kinds)
    failed = False
    for steps in sizes:
        size = len(workflow(args.step, steps).encode()) / 1024
        line = f"{steps:>6} {size:>6.0f}"
        fix_report = None
        for kind, extra in kinds.items():
            timing = best(args.step, steps, extra, args.repeat, args.timeout, env)
            failed |= timing.seconds is None
            line += f" {cell(timing):>12} {growth(previous[kind], steps, timing):>6}"
            previous[kind] = (steps, timing)
            if kind == "fix":
                fix_report = timing.report
        print(f"{line}  {fixes(fix_report)}", flush=True)
        walls = ", ".join(
            f"{kind} {t.wall:.2f}" for kind, (_, t) in _present(previous).items() if t.wall
        )
        print(f"{'':>13} wall s: {walls}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
