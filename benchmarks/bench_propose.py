"""Benchmark ``mendbot propose``: git processes and wall time per bundle on the local forge.

This is a benchmark, not a test: it prints a table and asserts nothing. pytest does not collect it.

Contract
--------
* A real repository (the two workflows of ``bench_gate.py`` plus ``--bundles`` minus one more),
  one signed bundle per workflow (the persist-credentials remediation), proposed on the local
  forge by :func:`bot.propose.job.propose` (what ``mendbot propose`` runs after parsing its
  options), ``--repeat`` times, each time on a fresh copy of the repository.
* Reported: wall-clock milliseconds per bundle (best and median run), and git processes per
  bundle by subcommand (counted in this process; the same in every run).
"""

from __future__ import annotations

import argparse
import collections
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_gate import (
    NOW,
    PRODUCTION,
    _git,
    counting_git,
    make_bundles,
    make_repository,
    run_baseline,
)


def bench(bundles_wanted: int, repeat: int) -> None:
    from bot.config import ProposeSettings
    from bot.forge.local import LocalForge
    from bot.propose.job import propose

    with tempfile.TemporaryDirectory(prefix="mendbot-bench-propose-") as scratch:
        root = Path(scratch)
        repo = make_repository(root)
        for index in range(bundles_wanted - 2):
            workflow = PRODUCTION.replace("deploy", f"deploy{index:03}", 1)
            (repo / ".github" / "workflows" / f"d{index:03}.yml").write_text(workflow)
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "-m", "more workflows")
        # Every copy stands for the same repository (the attestation names it).
        _git(repo, "remote", "add", "origin", "https://example.test/acme/app.git")
        signed = NOW - timedelta(hours=1)
        bundles, trust = make_bundles(repo, root / "bundles", signed)
        settings = ProposeSettings(max_new_per_hour=10_000, max_open_prs=10_000)
        walls: list[float] = []
        calls: collections.Counter[str] = collections.Counter()
        for attempt in range(repeat):
            copy = root / f"run-{attempt}"
            shutil.copytree(repo, copy, symlinks=True)
            forge = LocalForge(copy, base="main")
            counted: collections.Counter[str] = collections.Counter()
            with counting_git(counted):
                start = time.perf_counter()
                outcomes = propose(bundles, forge, trust, settings, now=signed)
                walls.append(time.perf_counter() - start)
            opened = [o for o in outcomes if o.number is not None]
            assert len(opened) == len(bundles), [o.message for o in outcomes][:3]
            calls = counted
        count = len(bundles)
        print(f"mendbot propose, local forge: {count} bundles, {repeat} runs")
        print(
            f"  wall per bundle: best {min(walls) * 1000 / count:6.1f} ms, "
            f"median {statistics.median(walls) * 1000 / count:6.1f} ms"
        )
        print(f"  git processes per bundle: {sum(calls.values()) / count:5.1f}")
        for name, number in calls.most_common():
            print(f"    {name:<14} {number / count:5.2f}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--bundles", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--baseline-ref", metavar="REV", help="also run on this earlier revision's bot package"
    )
    args = parser.parse_args(argv)
    bench(args.bundles, args.repeat)
    if args.baseline_ref:
        run_baseline(
            args.baseline_ref,
            Path(__file__),
            ["--bundles", str(args.bundles), "--repeat", str(args.repeat)],
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
