"""Start-up of each ``mendbot`` command, and the ``bot`` modules it loads, against zizmor.

Every command is a fresh child process (``python -m bot …`` with the checkout first on
``PYTHONPATH``), run ``--repeat`` times in turns with ``zizmor --version``; the table prints the
best and the median wall time, the ratio of the best to zizmor's best in the same run, and how
many ``bot`` modules the command imported (and how many of them are rules, the workflow model,
knowledge, resolvers or the analysis, which the gate and the verifier must never load).

``--compare REV`` also times a second checkout of an earlier revision (``git worktree add``) in
the same turns, so a change to the package layout shows as a ratio, not as a guess.

Usage: ``python benchmarks/bench_startup.py [--repeat 15] [--compare REV]``. It asserts
nothing and exits 0 unless a command failed to start.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

#: Commands whose start-up a user waits for; ``--help`` stops before any work, so the time is
#: the interpreter, click and the modules the command imports.
COMMANDS: tuple[tuple[str, ...], ...] = (
    ("--version",),
    ("gate", "--help"),
    ("verify", "--help"),
    ("propose", "--help"),
    ("policy", "eval", "--help"),
    ("analyze", "--help"),
)
INFERENCE = ("bot.detectors", "bot.workflow", "bot.knowledge", "bot.resolvers", "bot.analy")

_COUNT_MODULES = """
import atexit, json, sys
atexit.register(lambda: sys.__stderr__.write("\\nMODULES " + json.dumps(
    sorted(m for m in sys.modules if m == "bot" or m.startswith("bot."))) + "\\n"))
import runpy
sys.argv = ["mendbot", *sys.argv[1:]]
runpy.run_module("bot", run_name="__main__")
"""


def _env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GH_", "GITHUB_"))}
    env["PYTHONPATH"] = str(root)
    return env


def _wall(argv: list[str], env: dict[str, str], cwd: Path = REPO) -> float:
    start = time.perf_counter()
    # ``python -m`` puts the working directory first on sys.path: run in the checkout timed.
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed: {done.stderr.decode()[-500:]}")
    return elapsed


def _modules(root: Path, command: tuple[str, ...]) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", _COUNT_MODULES, *command],
        env=_env(root),
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    line = next(x for x in done.stderr.splitlines() if x.startswith("MODULES "))
    names: list[str] = json.loads(line.removeprefix("MODULES "))
    return names


def _checkout(revision: str, into: Path) -> Path:
    target = into / "previous"
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "-q", "--detach", str(target), revision],
        check=True,
    )
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=15, help="runs per command (default 15)")
    parser.add_argument("--compare", metavar="REV", help="also time this earlier revision")
    args = parser.parse_args(argv)
    zizmor = shutil.which("zizmor") or str(Path(sys.executable).with_name("zizmor"))
    has_zizmor = Path(zizmor).is_file()
    scratch = Path(tempfile.mkdtemp(prefix="mendbot-startup-"))
    roots = {"now": REPO}
    try:
        if args.compare:
            roots[args.compare] = _checkout(args.compare, scratch)
        for root in roots.values():  # compile byte code once, outside the timings
            _wall([sys.executable, "-m", "bot", "--version"], _env(root), root)
        times: dict[tuple[str, tuple[str, ...]], list[float]] = {}
        zizmor_times: list[float] = []
        for _ in range(args.repeat):
            if has_zizmor:
                zizmor_times.append(_wall([zizmor, "--version"], dict(os.environ)))
            for name, root in roots.items():
                for command in COMMANDS:
                    argv_ = [sys.executable, "-m", "bot", *command]
                    wall = _wall(argv_, _env(root), root)
                    times.setdefault((name, command), []).append(wall)
        floor = min(zizmor_times) if zizmor_times else None
        print(f"== start-up, {args.repeat} runs each, best / median wall, in turns")
        if floor is not None:
            print(f"zizmor --version                best {floor * 1000:7.1f} ms")
        header = f"{'revision':10} {'command':22} {'best':>9} {'median':>9} {'vs zizmor':>10}"
        print(header + f" {'bot modules':>12} {'of them inference':>18}")
        for name, root in roots.items():
            for command in COMMANDS:
                walls = times[(name, command)]
                loaded = _modules(root, command)
                inference = [m for m in loaded if m.startswith(INFERENCE)]
                ratio = f"{min(walls) / floor:9.1f}x" if floor else "         -"
                print(
                    f"{name[:10]:10} {' '.join(command):22} {min(walls) * 1000:7.1f}ms "
                    f"{statistics.median(walls) * 1000:7.1f}ms {ratio} {len(loaded):12d} "
                    f"{len(inference):18d}"
                )
        if args.compare:
            print("== now / previous (best)")
            for command in COMMANDS:
                now = min(times[("now", command)])
                before = min(times[(args.compare, command)])
                print(f"{' '.join(command):22} {now / before:6.2f}x")
    finally:
        if args.compare:
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "remove", "--force", str(roots[args.compare])],
                check=False,
            )
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
