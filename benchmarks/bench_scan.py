"""Scan scale: workers, text vs JSON, a large text run's memory, and rescans with the result cache.

Every figure is printed beside zizmor's (``zizmor --offline``) or mendbot's own cold run,
measured in the same invocation on the same corpus:

1. cold JSON scans (``--no-cache``) with ``--jobs`` 1, 2, 4 and 8 against zizmor's JSON scan;
2. the text report against the JSON report (both ``--jobs 1 --no-cache``), and zizmor's;
3. peak memory of the text run against zizmor's (``--count 50000`` for the 50,000-file figure);
4. rescans with the cache: the replicated corpus (every copy has its own path, so replication
   cannot flatter the cache) and a corpus of distinct real workflows (``tests/corpus/real`` and
   ``tests/corpus/zizmor``): cold with an empty cache, warm, and after editing one file;
5. ``--fix=all`` against zizmor's ``--fix=all``, each run on a fresh copy of the corpus, mendbot
   with ``-j1`` and the automatic worker count.

``--only-rescans`` runs part 4 alone, ``--fix-only`` part 5 alone, ``--only-cold`` part 1
alone; with ``--baseline-ref REV`` each of their figures is also taken, in turns with this
revision's, on the ``bot`` package of ``REV`` (``git archive`` into a temporary folder; the
repository is not touched): each rescan with its own cache folder and the same edits, each
``--fix=all`` on its own fresh copy, and the files each ``--fix=all`` writes are compared byte
for byte with ``REV``'s. Children compile their bytecode once into a folder of the run (as any
installation does) even when ``PYTHONDONTWRITEBYTECODE`` is set here, so no run pays for
compiling mendbot.

Wall time is what a user waits. The cold scans and the text report (parts 1 to 3) are
measured over the whole process tree (``process_tree``: the workers are children of
multiprocessing's fork server, not of the timed process): CPU of the timed process and of the
tree, each worker's CPU, the critical path (CPU on the longest chain of work: what the wall
time would be with a free CPU for each process, which other jobs on the machine hardly move),
and the peak of the summed RSS and PSS of every process. Elsewhere CPU and peak RSS are the
timed process's. Nothing is asserted: this prints tables. Usage:
``python benchmarks/bench_scan.py [--count 5000] [--repeat 2] [--text-only | --only-rescans |
--fix-only | --only-cold] [--baseline-ref REV]`` (``--text-only``: the text report against
zizmor alone, for ``--count 50000``).
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import process_tree
from bench_analyze import (
    REPO_ROOT,
    Run,
    build_corpus,
    child_env,
    find_source,
    gnu_time,
    run_child,
    zizmor_tool,
)

MIB = 1024 * 1024


def _mendbot() -> list[str]:
    script = Path(sys.executable).with_name("mendbot")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


class Bench:
    """Runs children on one corpus and keeps the best run per label."""

    def __init__(self, repeat: int, scratch: Path) -> None:
        self.repeat = repeat
        self.scratch = scratch
        self.env = child_env()
        # Bytecode as an installation has it: compiled once, into a folder of this run.
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        self.env["PYTHONPYCACHEPREFIX"] = str(scratch / "pycache")
        self.timer = gnu_time()
        self.best: dict[str, Run] = {}
        self.trees: dict[str, process_tree.TreeRun] = {}

    def tree(self, label: str, argv: Sequence[str], *, env: dict[str, str] | None = None) -> None:
        """One run of ``argv`` measured over its whole process tree (see ``process_tree``);
        the best wall time per label is kept, beside the best of :meth:`time`'s runs."""
        out = self.scratch / label.replace(" ", "_")
        run = process_tree.run_tree(argv, {**self.env, **(env or {})}, out)
        assert run.stdout is not None
        previous = self.trees.get(label)
        if previous is None or run.wall < previous.wall:
            self.trees[label] = run
            self.best[label] = Run(run.wall, run.tree_cpu, run.peak_rss, run.exit_code,
                                   run.stdout, out / "stderr")  # fmt: skip
        workers = "+".join(f"{cpu:.2f}" for cpu in run.worker_cpu) or "-"
        critical = "n/a" if run.critical_path is None else f"{run.critical_path:.2f}"
        if run.critical_path is not None:  # its parts: before the workers, the last one, after
            critical += (
                f" ({run.main_cpu_before_workers:.2f}/{run.server_cpu_before_workers:.2f} "
                f"+ {max(run.worker_cpu):.2f} + {run.main_cpu_after_workers:.2f})"
            )
        print(
            f"  {label:<30} wall {run.wall:6.2f} s  cpu main {run.main_cpu:5.2f} "
            f"tree {run.tree_cpu:5.2f} workers {workers:<23} critical {critical:>5} s  "
            f"peak RSS sum {run.peak_rss / MIB:5.0f} PSS sum {run.peak_pss / MIB:5.0f} MiB  "
            f"exit {run.exit_code}",
            flush=True,
        )

    def time(
        self,
        label: str,
        argv: Sequence[str],
        *,
        repeat: int | None = None,
        env: dict[str, str] | None = None,
        quiet: bool = False,
    ) -> Run:
        runs = []
        for _ in range(repeat or self.repeat):
            out = self.scratch / label.replace(" ", "_")
            out.mkdir(parents=True, exist_ok=True)
            runs.append(run_child(argv, {**self.env, **(env or {})}, out, self.timer))
        run = min(runs, key=lambda r: r.wall)
        previous = self.best.get(label)
        self.best[label] = run if previous is None or run.wall < previous.wall else previous
        if quiet:
            return run
        cpu = "n/a" if run.cpu is None else f"{run.cpu:.2f}"
        rss = "n/a" if run.max_rss is None else f"{run.max_rss / MIB:.0f}"
        print(
            f"  {label:<34} wall {run.wall:7.2f} s  cpu {cpu:>6} s  peak RSS {rss:>5} MiB  "
            f"exit {run.exit_code}",
            flush=True,
        )
        return run

    def ratio(self, label: str, a: str, b: str, *, cpu: bool = False) -> None:
        x, y = self.best.get(a), self.best.get(b)
        if x is None or y is None:
            return
        walls = f"wall {x.wall / y.wall:.2f}x"
        cpus = f", cpu {x.cpu / y.cpu:.2f}x" if cpu and x.cpu is not None and y.cpu else ""
        print(f"  {label:<44} {walls}{cpus}")


def _scan(corpus: Path, fmt: str, *extra: str) -> list[str]:
    return [*_mendbot(), "analyze", str(corpus), "--offline", "--format", fmt, *extra]


def cold_and_text(bench: Bench, corpus: Path, zizmor: list[str] | None) -> None:
    print("\n== cold scans (--no-cache), whole process trees")
    for _ in range(bench.repeat):
        if zizmor is not None:
            bench.tree("zizmor json", [*zizmor, str(corpus)])
        for jobs in (1, 2, 4, 8):
            bench.tree(
                f"mendbot json -j{jobs}", _scan(corpus, "json", "--no-cache", "-j", str(jobs))
            )
        bench.tree("mendbot text -j1", _scan(corpus, "text", "--no-cache", "-j", "1"))
    print("\n== ratios (best wall; cpu: the whole tree's)")
    for jobs in (1, 2, 4, 8):
        bench.ratio(f"json -j{jobs} / zizmor json", f"mendbot json -j{jobs}", "zizmor json")
    bench.ratio("json -j1 / zizmor json (cpu)", "mendbot json -j1", "zizmor json", cpu=True)
    bench.ratio("text -j1 / json -j1", "mendbot text -j1", "mendbot json -j1", cpu=True)
    bench.ratio("text -j1 / zizmor json", "mendbot text -j1", "zizmor json", cpu=True)
    _critical_ratios(bench, [f"mendbot json -j{jobs}" for jobs in (2, 4, 8)], "zizmor json")
    text, zizmor_run = bench.best.get("mendbot text -j1"), bench.best.get("zizmor json")
    if text and zizmor_run and text.max_rss and zizmor_run.max_rss:
        print(f"  {'peak RSS text -j1 / zizmor':<44} {text.max_rss / zizmor_run.max_rss:.2f}x")


def _critical_ratios(bench: Bench, labels: Sequence[str], reference: str) -> None:
    """Each run's critical path (CPU on its longest chain of work, what its wall time would be
    with a free CPU for every process) against the reference's CPU (one process)."""
    base = bench.trees.get(reference)
    for label in labels:
        run = bench.trees.get(label)
        if run is None or base is None or run.critical_path is None or not base.tree_cpu:
            continue
        print(
            f"  {label + ' critical path / ' + reference + ' cpu':<44} "
            f"{run.critical_path / base.tree_cpu:.2f}x"
        )


def cold_in_turns(
    bench: Bench, corpus: Path, zizmor: list[str] | None, variants: Sequence[Variant]
) -> None:
    """The cold JSON scans with ``--jobs`` 1, 2, 4 and 8 of each variant and zizmor's, in
    turns run by run, each measured over its process tree."""
    print(f"\n== cold scans in turns ({', '.join(v.name for v in variants)}), process trees")
    for v in variants:  # compile the bytecode, outside any timed run
        bench.time(f"{v.name} warm-up", v.scan(corpus, "--rule", "gha-unpinned-uses", "--no-cache"),
                   repeat=1, env=v.env, quiet=True)  # fmt: skip
    for _ in range(bench.repeat):
        if zizmor is not None:
            bench.tree("zizmor json", [*zizmor, str(corpus)])
        for jobs in (1, 2, 4, 8):
            for v in variants:
                argv = v.scan(corpus, "--no-cache", "-j", str(jobs))
                bench.tree(f"{v.name} json -j{jobs}", argv, env=v.env)
    print("\n== ratios (best wall; critical path: CPU on the longest chain of work)")
    for jobs in (1, 2, 4, 8):
        for v in variants:
            bench.ratio(
                f"{v.name} -j{jobs} / zizmor json", f"{v.name} json -j{jobs}", "zizmor json"
            )
        for v in variants[1:]:
            now, before = f"{variants[0].name} json -j{jobs}", f"{v.name} json -j{jobs}"
            bench.ratio(f"now -j{jobs} / {v.name} -j{jobs}", now, before)
    _critical_ratios(
        bench, [f"{v.name} json -j{jobs}" for jobs in (2, 4, 8) for v in variants], "zizmor json"
    )


def large_text(bench: Bench, corpus: Path, zizmor: list[str] | None) -> None:
    """The large-corpus figures alone: zizmor's JSON scan against mendbot's text report with
    ``-j1`` and with the automatic worker count, each measured over its whole process tree
    (memory: the peak of the summed resident and proportional sets of every process)."""
    print("\n== text report against zizmor (--no-cache), whole process trees")
    for _ in range(bench.repeat):
        if zizmor is not None:
            bench.tree("zizmor json", [*zizmor, str(corpus)])
        bench.tree("mendbot text -j1", _scan(corpus, "text", "--no-cache", "-j", "1"))
        bench.tree("mendbot text", _scan(corpus, "text", "--no-cache"))
    print("\n== ratios (best wall; cpu: the whole tree's)")
    bench.ratio("text -j1 / zizmor json", "mendbot text -j1", "zizmor json", cpu=True)
    bench.ratio("text (workers) / zizmor json", "mendbot text", "zizmor json", cpu=True)
    _critical_ratios(bench, ["mendbot text"], "zizmor json")
    base = bench.trees.get("zizmor json")
    for label in ("mendbot text -j1", "mendbot text"):
        run = bench.trees.get(label)
        if run is None or base is None or not base.peak_rss:
            continue
        pss = f", PSS sum {run.peak_pss / base.peak_pss:.2f}x" if base.peak_pss else ""
        print(f"  {'peak memory ' + label + ' / zizmor':<44} RSS sum "
              f"{run.peak_rss / base.peak_rss:.2f}x{pss}")  # fmt: skip


def rescans(bench: Bench, name: str, corpus: Path, edited: Path) -> None:
    """Cold with an empty cache, warm, then after appending a comment to ``edited``."""
    cache = bench.scratch / f"cache-{name}"
    shutil.rmtree(cache, ignore_errors=True)
    cached = ("--cache-dir", str(cache), "-j", "1")
    print(f"\n== rescans with the cache: {name}")
    bench.time(f"{name} no cache", _scan(corpus, "json", "--no-cache", "-j", "1"))
    bench.time(f"{name} cold cache", _scan(corpus, "json", *cached), repeat=1)
    bench.time(f"{name} warm", _scan(corpus, "json", *cached))
    with edited.open("a", encoding="utf-8") as handle:
        handle.write("# edited by bench_scan\n")
    bench.time(f"{name} 1 file edited", _scan(corpus, "json", *cached), repeat=1)
    bench.ratio("warm / no cache", f"{name} warm", f"{name} no cache", cpu=True)
    bench.ratio("1 file edited / no cache", f"{name} 1 file edited", f"{name} no cache", cpu=True)


@dataclass(frozen=True)
class Variant:
    """One mendbot to time: its label and the environment its children run in."""

    name: str
    env: dict[str, str]

    def scan(self, corpus: Path, *extra: str) -> list[str]:
        return [sys.executable, "-m", "bot", "analyze", str(corpus), "--offline", "--format",
                "json", *extra]  # fmt: skip


def rescans_in_turns(
    bench: Bench, name: str, corpus: Path, edited: Path, variants: Sequence[Variant]
) -> None:
    """:func:`rescans` for each of ``variants`` in turns, run by run (each its own cache), then
    one line per figure and variant with its CPU against that variant's own run without cache;
    every edit is seen by each variant once."""
    print(f"\n== rescans with the cache: {name} (in turns: {', '.join(v.name for v in variants)})")
    caches = {v.name: bench.scratch / f"cache-{name}-{v.name}" for v in variants}
    for v in variants:  # compile the bytecode, outside any timed run
        bench.time(f"{v.name} warm-up", v.scan(corpus, "--rule", "gha-unpinned-uses", "--no-cache"),
                   repeat=1, env=v.env, quiet=True)  # fmt: skip
        shutil.rmtree(caches[v.name], ignore_errors=True)

    def cached(v: Variant) -> list[str]:
        return v.scan(corpus, "--cache-dir", str(caches[v.name]), "-j", "1")

    for _ in range(bench.repeat):
        for v in variants:
            bench.time(f"{v.name} {name} no cache", v.scan(corpus, "--no-cache", "-j", "1"),
                       repeat=1, env=v.env)  # fmt: skip
    for v in variants:
        bench.time(f"{v.name} {name} cold cache", cached(v), repeat=1, env=v.env)
    for _ in range(bench.repeat):
        for v in variants:
            bench.time(f"{v.name} {name} warm", cached(v), repeat=1, env=v.env)
    for round_ in range(bench.repeat):
        with edited.open("a", encoding="utf-8") as handle:
            handle.write(f"# edited by bench_scan ({round_})\n")
        for v in variants:
            bench.time(f"{v.name} {name} 1 file edited", cached(v), repeat=1, env=v.env)
    print(f"  {'figure':<22} " + "  ".join(f"{v.name + ' cpu':>16}" for v in variants))
    for figure in ("warm", "1 file edited"):
        cells = []
        for v in variants:
            run, base = (
                bench.best[f"{v.name} {name} {figure}"],
                bench.best[f"{v.name} {name} no cache"],
            )
            cells.append(
                "n/a"
                if run.cpu is None or not base.cpu
                else f"{run.cpu:.2f} s {run.cpu / base.cpu:.2f}x"
            )
        print(f"  {figure + ' / no cache':<22} " + "  ".join(f"{c:>16}" for c in cells))


def baseline_package(revision: str, into: Path) -> Path:
    """The ``bot`` package of ``revision`` (``git archive``; the repository is not touched)
    extracted under ``into``, a folder to put first on ``PYTHONPATH``."""
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "archive", "--format=tar", revision, "bot"],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def only_rescans(bench: Bench, work: Path, corpus: Path, baseline: str | None) -> None:
    """The rescan figures alone, on this revision and, in turns, on ``baseline``."""
    variants = _variants(work, baseline)
    first = sorted((corpus / ".github" / "workflows").iterdir())[0]
    rescans_in_turns(bench, "replicated", corpus, first, variants)
    real, edited = distinct_corpus(work / "distinct")
    rescans_in_turns(bench, "distinct", real, edited, variants)


def _variants(work: Path, baseline: str | None) -> list[Variant]:
    """This revision's mendbot and, with ``baseline``, that revision's."""
    # PYTHONSAFEPATH: `python -m` must not put the current folder (this checkout) first.
    variants = [Variant("now", {"PYTHONPATH": str(REPO_ROOT), "PYTHONSAFEPATH": "1"})]
    if baseline is not None:
        root = baseline_package(baseline, work / "baseline")
        variants.append(Variant(baseline, {"PYTHONPATH": str(root), "PYTHONSAFEPATH": "1"}))
    return variants


def fix_all(
    bench: Bench, corpus: Path, zizmor: list[str] | None, variants: Sequence[Variant]
) -> None:
    """``--fix=all`` of each tool on a fresh copy per run, in turns; each mendbot with ``-j1``
    and the automatic worker count."""
    print("\n== --fix=all, a fresh copy of the corpus per run")
    tools: list[tuple[str, Callable[[Path], list[str]], dict[str, str]]] = []
    if zizmor is not None:
        tools.append(("zizmor fix", lambda copy: [*zizmor, "--fix=all", str(copy)], {}))
    for v in variants:
        for jobs in ("-j1", "auto"):
            extra = ["-j", "1"] if jobs == "-j1" else []
            tools.append(
                (
                    f"mendbot {v.name} fix {jobs}",
                    lambda copy, v=v, extra=extra: v.scan(copy, "--no-cache", "--fix=all", *extra),
                    v.env,
                )
            )
    copies: dict[str, Path] = {}
    for turn in range(bench.repeat):
        for label, argv, env in tools:
            copy = bench.scratch / "fix" / f"{label.replace(' ', '_')}-{turn}"
            shutil.copytree(corpus, copy)
            copies.setdefault(label, copy)
            bench.time(label, argv(copy), repeat=1, env=env)
    print("\n== ratios (best wall; cpu of that run)")
    for label, _, _ in tools:
        if label.startswith("mendbot"):
            bench.ratio(f"{label} / zizmor fix", label, "zizmor fix", cpu=True)
    for jobs in ("-j1", "auto"):
        for v in variants[1:]:
            now, before = f"mendbot now fix {jobs}", f"mendbot {v.name} fix {jobs}"
            bench.ratio(f"{now} / {v.name}", now, before, cpu=True)
            print(f"  {'same files written as ' + v.name:<44} {_same(copies, now, before)}")


def _same(copies: dict[str, Path], a: str, b: str) -> str:
    """Whether the first runs of ``a`` and ``b`` wrote the same files."""
    differing = _differing(filecmp.dircmp(copies[a], copies[b]))
    return "yes" if not differing else f"no: {len(differing)} files differ"


def _differing(compared: filecmp.dircmp[str]) -> list[str]:
    found = [*compared.left_only, *compared.right_only]
    left, right = Path(compared.left), Path(compared.right)
    found.extend(
        name
        for name in compared.common_files
        if (left / name).read_bytes() != (right / name).read_bytes()
    )
    for sub in compared.subdirs.values():
        found.extend(_differing(sub))
    return found


def distinct_corpus(destination: Path) -> tuple[Path, Path]:
    """``tests/corpus/real`` and ``tests/corpus/zizmor`` copied side by side; the file to edit."""
    for part in ("real", "zizmor"):
        shutil.copytree(REPO_ROOT / "tests" / "corpus" / part, destination / part)
    edited = sorted((destination / "real").rglob("*.yml"))[0]
    return destination, edited


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=5000, help="replicated workflows")
    parser.add_argument("--repeat", type=int, default=2, help="timed runs per figure (best)")
    parser.add_argument(
        "--text-only",
        action="store_true",
        help="only zizmor's JSON scan against mendbot's text report (-j1 and workers)",
    )
    parser.add_argument(
        "--only-rescans", action="store_true", help="only the rescans with the result cache"
    )
    parser.add_argument(
        "--fix-only", action="store_true", help="only --fix=all against zizmor's --fix=all"
    )
    parser.add_argument(
        "--only-cold",
        action="store_true",
        help="only the cold JSON scans with -j 1/2/4/8 against zizmor's, over process trees",
    )
    parser.add_argument(
        "--baseline-ref",
        metavar="REV",
        help="with --only-rescans, --fix-only or --only-cold: the same runs, in turns, on REV's "
        "bot package",
    )
    args = parser.parse_args(argv)
    if args.baseline_ref and not (args.only_rescans or args.fix_only or args.only_cold):
        parser.error("--baseline-ref needs --only-rescans, --fix-only or --only-cold")
    if (args.only_cold or args.text_only) and not process_tree.available():
        parser.error("--only-cold and --text-only measure process trees, which needs Linux")
    with tempfile.TemporaryDirectory(prefix="mendbot-bench-scan-") as tmp:
        work = Path(tmp)
        corpus = build_corpus(find_source(None), work / "repo", args.count)
        print(f"corpus: {corpus.files} workflows, {corpus.total_bytes / MIB:.1f} MiB")
        print("machine: " + _machine())
        bench = Bench(args.repeat, work / "out")
        zizmor = zizmor_tool(bench.env)
        zizmor_argv = None if zizmor is None else zizmor.argv(Path("."))[:-1]
        if args.only_rescans:
            only_rescans(bench, work, corpus.directory, args.baseline_ref)
            return 0
        if args.text_only:
            large_text(bench, corpus.directory, zizmor_argv)
            return 0
        if args.only_cold:
            cold_in_turns(bench, corpus.directory, zizmor_argv, _variants(work, args.baseline_ref))
            return 0
        if args.fix_only:
            variants = _variants(work, args.baseline_ref)
            fix_all(bench, corpus.directory, zizmor_argv, variants)
            return 0
        cold_and_text(bench, corpus.directory, zizmor_argv)
        first = sorted((corpus.directory / ".github" / "workflows").iterdir())[0]
        rescans(bench, "replicated", corpus.directory, first)
        real, edited = distinct_corpus(work / "distinct")
        rescans(bench, "distinct", real, edited)
        fix_all(bench, corpus.directory, zizmor_argv, _variants(work, None))
    return 0


def _machine() -> str:

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 1
    return f"{usable} usable CPUs, Python {sys.version.split()[0]}"


if __name__ == "__main__":
    sys.exit(main())
