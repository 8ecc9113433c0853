"""Benchmark ``mendbot analyze`` against ``zizmor`` on a large replicated corpus.

This is a benchmark, not a test: it asserts nothing about speed and is not collected by pytest.

Contract
--------
* Corpus: the workflow files (``*.yml``/``*.yaml`` with a top-level ``jobs:`` key; the
  ``invalid`` folder, ``action.yml`` and Dependabot configurations are skipped) of the zizmor
  MIT test corpus are copied, round-robin and under distinct names, into a fresh temporary directory
  laid out as ``<tmp>/repo/.github/workflows/<NNNNN>-<source-name>.yml`` until ``--count``
  files exist (default 5000). The source is ``--source DIR``, else ``tests/corpus/zizmor/``
  of this repository, else ``/work/shared/reference/corpus/zizmor-test-data/``. The
  temporary directory is deleted at the end unless ``--keep`` is given.
* Tools: ``mendbot analyze --offline <repo> --format json`` and
  ``zizmor --offline [--no-config] [--no-progress] --format json <repo>`` (the optional flags
  are used when ``zizmor --help`` lists them) run as child processes on the same directory,
  interleaved, ``--repeat`` times each (default 3). GitHub token variables and ``ZIZMOR_*``
  variables are removed from the children's environment. If zizmor is not installed, the
  script says so and times mendbot alone.
* Measures: wall time per run (best and median), CPU time (user+sys) and peak RSS of each child
  as GNU time (``/usr/bin/time -f``) reports them for that child alone, or from ``os.wait4``
  when GNU time is missing (then, on Linux, the peak RSS is never below this script's own peak:
  the kernel counts what the child had before ``exec``), and the number of findings parsed from
  its JSON output (mendbot: the ``findings`` list; zizmor: the top-level list). A non-zero exit
  status is expected when there are findings; a run fails only when its standard output is not
  valid JSON of the expected shape.
* Breakdown: interpreter start-up and ``import bot.cli.app`` (subprocesses, best and median of
  ``--repeat``), the cold phases of one analysis in a fresh interpreter (import, ``analyze``,
  JSON rendering), and a cProfile of ``analyze([repo], repo, Config())`` in this process: the
  top 15 functions by cumulative time and the own time grouped by package.
* Output: plain text on standard output (see ``benchmarks/README.md``). Exit status 0 when
  every run produced valid JSON, 1 when a run failed, 2 when no corpus could be built.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import io
import json
import os
import pstats
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCES = (
    REPO_ROOT / "tests" / "corpus" / "zizmor",
    Path("/work/shared/reference/corpus/zizmor-test-data"),
)
#: A top-level ``jobs:`` key (optionally quoted) at the start of a line.
TOP_LEVEL_JOBS = re.compile(r"""^["']?jobs["']?[ \t]*:""", re.MULTILINE)
#: Environment variables that would give zizmor a token or a configuration.
SCRUBBED_ENV = ("GH_TOKEN", "GITHUB_TOKEN", "GH_HOST")
PROFILE_TOP = 15
AREA_TOP = 12
MIB = 1024 * 1024


# --------------------------------------------------------------------------- corpus


def _die(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def find_source(explicit: Path | None) -> Path:
    """The corpus directory: ``explicit``, else the first default location that exists."""
    if explicit is not None:
        if not explicit.is_dir():
            _die(f"--source {explicit} is not a directory")
        return explicit
    for candidate in DEFAULT_SOURCES:
        if candidate.is_dir():
            return candidate
    tried = ", ".join(str(c) for c in DEFAULT_SOURCES)
    _die(f"no corpus found (tried {tried}); pass --source DIR")


def is_workflow_file(path: Path, source: Path) -> bool:
    """A workflow of the corpus: YAML with a top-level ``jobs:``, not under ``invalid``.

    Action definitions and Dependabot configurations are skipped by name (and have no ``jobs``
    anyway); a workflow that happens to be called ``dependabot.yml`` in a ``workflows`` folder
    is kept.
    """
    relative = path.relative_to(source)
    name = path.name.lower()
    if path.suffix not in (".yml", ".yaml") or not path.is_file():
        return False
    if "invalid" in relative.parts[:-1]:
        return False
    if name in ("action.yml", "action.yaml"):
        return False
    if name in ("dependabot.yml", "dependabot.yaml") and "workflows" not in relative.parts:
        return False
    text = path.read_text(encoding="utf-8", errors="replace")
    return TOP_LEVEL_JOBS.search(text) is not None


def _slug(relative: Path) -> str:
    stem = "--".join((*relative.parts[:-1], relative.stem))
    return re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-") or "workflow"


@dataclass
class Corpus:
    """The replicated corpus and where it came from."""

    source: Path
    yaml_files: int
    workflows: list[Path]
    directory: Path
    files: int
    total_bytes: int
    seconds: float


def build_corpus(source: Path, destination: Path, count: int) -> Corpus:
    """Copy the source workflows round-robin into ``destination/.github/workflows``."""
    started = time.perf_counter()
    yaml_files = sorted(p for p in source.rglob("*") if p.suffix in (".yml", ".yaml"))
    workflows = [p for p in yaml_files if is_workflow_file(p, source)]
    if not workflows:
        _die(f"no workflow files (with a top-level `jobs:`) under {source}")
    target = destination / ".github" / "workflows"
    target.mkdir(parents=True)
    width = len(str(count - 1))
    total = 0
    for index in range(count):
        original = workflows[index % len(workflows)]
        copy = target / f"{index:0{width}d}-{_slug(original.relative_to(source))}.yml"
        shutil.copyfile(original, copy)
        total += original.stat().st_size
    return Corpus(
        source=source,
        yaml_files=len(yaml_files),
        workflows=workflows,
        directory=destination,
        files=count,
        total_bytes=total,
        seconds=time.perf_counter() - started,
    )


# --------------------------------------------------------------------------- child processes


@dataclass
class Run:
    """One timed child process; its output stays in files under the scratch directory."""

    wall: float
    cpu: float | None
    max_rss: int | None
    """Peak resident set size in bytes, when it could be measured."""
    exit_code: int
    stdout: Path
    stderr: Path


def _max_rss_bytes(ru_maxrss: int) -> int:
    # Linux reports kibibytes, macOS bytes.
    return ru_maxrss if sys.platform == "darwin" else ru_maxrss * 1024


def gnu_time() -> str | None:
    """``/usr/bin/time`` when it is GNU time (``-f``/``-o``), else None."""
    binary = "/usr/bin/time"
    if not os.access(binary, os.X_OK):
        return None
    try:
        done = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return binary if "GNU" in done.stdout + done.stderr else None


def run_child(argv: Sequence[str], env: dict[str, str], scratch: Path, timer: str | None) -> Run:
    """Run ``argv`` with stdout/stderr to files; wall time, CPU and peak RSS of that child.

    With GNU time the CPU and peak RSS are those GNU time reads for its own child. Otherwise they
    come from ``os.wait4``, whose ``ru_maxrss`` on Linux is never below this process's own peak
    RSS (the kernel counts the memory the child had before ``exec``).
    """
    out_path, err_path, usage_path = scratch / "stdout", scratch / "stderr", scratch / "rusage"
    command = list(argv)
    if timer is not None:
        command = [timer, "-f", "%M %U %S", "-o", str(usage_path), *command]
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env)
        if hasattr(os, "wait4"):
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - started
            proc.returncode = os.waitstatus_to_exitcode(status)
            cpu: float | None = usage.ru_utime + usage.ru_stime
            rss: int | None = _max_rss_bytes(usage.ru_maxrss)
        else:  # no per-child rusage on this platform
            proc.wait()
            wall = time.perf_counter() - started
            cpu, rss = None, None
    if timer is not None:
        # The last line is the format; GNU time writes a note about a signal above it.
        lines = usage_path.read_text(encoding="utf-8", errors="replace").split("\n")
        fields = [line for line in lines if line.strip()][-1].split()
        rss, cpu = int(fields[0]) * 1024, float(fields[1]) + float(fields[2])
    return Run(
        wall=wall,
        cpu=cpu,
        max_rss=rss,
        exit_code=proc.returncode,
        stdout=out_path,
        stderr=err_path,
    )


def child_env() -> dict[str, str]:
    """This process's environment without GitHub tokens or zizmor settings."""
    return {
        key: value
        for key, value in os.environ.items()
        if key not in SCRUBBED_ENV and not key.startswith("ZIZMOR_")
    }


def _beside_python(name: str) -> str | None:
    """``name`` from this interpreter's ``bin`` directory, else from ``PATH``."""
    return shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)


def _version(argv: Sequence[str], env: dict[str, str]) -> str:
    try:
        done = subprocess.run(
            [*argv, "--version"], capture_output=True, text=True, env=env, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc})"
    return (done.stdout.strip() or done.stderr.strip() or "unknown").splitlines()[0]


@dataclass
class Tool:
    """A tool under test: how to run it on a directory and how to count its findings."""

    name: str
    base: list[str]
    argv: Callable[[Path], list[str]]
    findings: Callable[[Any], int]
    """Findings in the parsed JSON; raises ``ValueError`` if the shape is wrong."""
    version: str = ""
    runs: list[Run] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    finding_counts: list[int] = field(default_factory=list)
    analysed: list[int | None] = field(default_factory=list)


def _mendbot_findings(document: Any) -> int:
    if not isinstance(document, dict) or not isinstance(document.get("findings"), list):
        raise ValueError("expected an object with a `findings` list")
    return len(document["findings"])


def _zizmor_findings(document: Any) -> int:
    if not isinstance(document, list):
        raise ValueError("expected a list of findings")
    return len(document)


def mendbot_tool(env: dict[str, str]) -> Tool:
    """``mendbot analyze --offline DIR --format json`` (the script beside this interpreter)."""
    script = _beside_python("mendbot")
    base = [script] if script else [sys.executable, "-m", "bot"]
    return Tool(
        name="mendbot",
        base=base,
        argv=lambda d: [*base, "analyze", "--offline", str(d), "--format", "json", "--no-cache"],
        findings=_mendbot_findings,
        version=_version(base, env),
    )


def zizmor_tool(env: dict[str, str]) -> Tool | None:
    """``zizmor --offline ... --format json DIR``, or None when zizmor is not installed."""
    binary = _beside_python("zizmor")
    if binary is None:
        return None
    try:
        help_text = subprocess.run(
            [binary, "--help"], capture_output=True, text=True, env=env, timeout=60, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        print(f"zizmor at {binary} does not run ({exc})")
        return None
    flags = ["--offline"]
    flags += [flag for flag in ("--no-config", "--no-progress") if flag in help_text]
    base = [binary]
    return Tool(
        name="zizmor",
        base=base,
        argv=lambda d: [*base, *flags, "--format", "json", str(d)],
        findings=_zizmor_findings,
        version=_version(base, env),
    )


def _analysed_count(tool: Tool, run: Run, document: Any) -> int | None:
    """Files each tool says it analysed (mendbot: summary; zizmor: its `completed` log lines)."""
    if tool.name == "mendbot":
        summary = document.get("summary", {}) if isinstance(document, dict) else {}
        files = summary.get("files")
        return files if isinstance(files, int) else None
    with run.stderr.open("rb") as stderr:
        completed = sum(1 for line in stderr if b" completed " in line)
    return completed or None


def time_tool(
    tool: Tool, corpus: Path, env: dict[str, str], scratch: Path, timer: str | None, label: str
) -> None:
    """One timed run of ``tool`` on ``corpus``; records timing, findings or the failure."""
    run = run_child(tool.argv(corpus), env, scratch, timer)
    tool.runs.append(run)
    document: Any = None
    try:
        document = json.loads(run.stdout.read_bytes())
        count = tool.findings(document)
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        stderr = run.stderr.read_text(encoding="utf-8", errors="replace")
        tool.failures.append(f"{label}: exit {run.exit_code}, stdout is not valid JSON ({exc})")
        tool.failures.extend(f"    stderr: {line}" for line in stderr.strip().splitlines()[-5:])
        findings = "INVALID JSON"
        tool.analysed.append(None)
    else:
        tool.finding_counts.append(count)
        tool.analysed.append(_analysed_count(tool, run, document))
        findings = f"{count} findings"
    del document  # keep this process small: it is the parent of the next child
    print(
        f"  {label:<9} {tool.name:<8} wall {run.wall:8.3f} s  cpu {_fmt(run.cpu, '.2f'):>7} s  "
        f"peak RSS {_fmt(_mib(run.max_rss), '.1f'):>7} MiB  exit {run.exit_code:<3} {findings}",
        flush=True,
    )


# --------------------------------------------------------------------------- reporting


def _mib(value: int | None) -> float | None:
    return None if value is None else value / MIB


def _fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def _ratio(a: float | None, b: float | None) -> str:
    return "n/a" if a is None or b is None or b == 0 else f"{a / b:.2f}x"


@dataclass
class Summary:
    """The aggregate of one tool's runs."""

    best: float
    median: float
    cpu: float | None
    rss: float | None
    findings: str


def summarize(tool: Tool) -> Summary:
    """Best/median wall time, best CPU, peak RSS (max over runs) and findings."""
    walls = [run.wall for run in tool.runs]
    cpus = [run.cpu for run in tool.runs if run.cpu is not None]
    rsses = [run.max_rss for run in tool.runs if run.max_rss is not None]
    counts = sorted(set(tool.finding_counts))
    findings = "/".join(str(c) for c in counts) if counts else "n/a"
    return Summary(
        best=min(walls),
        median=statistics.median(walls),
        cpu=min(cpus) if cpus else None,
        rss=_mib(max(rsses)) if rsses else None,
        findings=findings,
    )


def print_table(tools: list[Tool], files: int) -> dict[str, Summary]:
    """The results table; returns the summaries by tool name."""
    header = (
        f"{'tool':<8} {'files':>6} {'best s':>8} {'median s':>9} {'files/s':>8} "
        f"{'cpu s':>7} {'peak RSS MiB':>13} {'findings':>9}"
    )
    print(header)
    print("-" * len(header))
    summaries: dict[str, Summary] = {}
    for tool in tools:
        s = summarize(tool)
        summaries[tool.name] = s
        print(
            f"{tool.name:<8} {files:>6} {s.best:>8.3f} {s.median:>9.3f} {files / s.best:>8.0f} "
            f"{_fmt(s.cpu, '.2f'):>7} {_fmt(s.rss, '.1f'):>13} {s.findings:>9}"
        )
    return summaries


# --------------------------------------------------------------------------- mendbot breakdown

_PHASES = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    t0 = time.perf_counter()
    import bot.cli.app
    t1 = time.perf_counter()
    from bot.analyze.pipeline import analyze
    from bot.config import Config
    from bot.analyze.report import json_report
    root = Path(sys.argv[1])
    t2 = time.perf_counter()
    result = analyze([root], root, Config())
    t3 = time.perf_counter()
    text = json_report.render(result)
    t4 = time.perf_counter()
    print(json.dumps({"import": t1 - t0, "analyze": t3 - t2, "render": t4 - t3,
                      "files": result.result.files_analysed, "bytes": len(text)}))
    """
)


def _subprocess_walls(code: str, repeat: int, env: dict[str, str]) -> list[float]:
    walls = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], env=env, check=True)
        walls.append(time.perf_counter() - started)
    return walls


def print_startup(repeat: int, env: dict[str, str], mendbot_median: float) -> None:
    """Interpreter start-up and ``import bot.cli.app``, each in fresh subprocesses."""
    bare = _subprocess_walls("pass", repeat, env)
    imported = _subprocess_walls("import bot.cli.app", repeat, env)
    import_cost = statistics.median(imported) - statistics.median(bare)
    print(
        f"python -c pass            best {min(bare):.3f} s  median {statistics.median(bare):.3f} s"
    )
    print(
        f"python -c 'import bot.cli.app' best {min(imported):.3f} s  "
        f"median {statistics.median(imported):.3f} s  "
        f"(import alone ~{import_cost:.3f} s = {import_cost / mendbot_median:.1%} of the median "
        "mendbot run)"
    )


def print_phases(corpus: Path, env: dict[str, str], mendbot_median: float) -> float | None:
    """Cold phases of one analysis in a fresh interpreter; returns the ``analyze`` seconds."""
    done = subprocess.run(
        [sys.executable, "-c", _PHASES, str(corpus)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        print(f"phase timing failed (exit {done.returncode}):")
        print(textwrap.indent(done.stderr.strip(), "    "))
        return None
    phases = json.loads(done.stdout)
    for name in ("import", "analyze", "render"):
        seconds = phases[name]
        print(
            f"  {name:<8} {seconds:8.3f} s  {seconds / mendbot_median:6.1%} of the median run"
            + (
                f"  ({phases['files'] / seconds:.0f} files/s, "
                f"{seconds / phases['files'] * 1000:.2f} ms/file)"
                if name == "analyze"
                else ""
            )
        )
    accounted = phases["import"] + phases["analyze"] + phases["render"]
    print(
        f"  rest     {mendbot_median - accounted:8.3f} s  "
        "(interpreter start-up, config, writing stdout, exit; median run minus the above)"
    )
    return float(phases["analyze"])


def _area(filename: str, bot_dir: Path) -> str:
    """A coarse owner of a code location: a mendbot sub-package, a dependency, stdlib, C."""
    if filename.startswith("<") or filename == "~":
        return "(C builtins)" if filename == "~" else filename
    path = Path(filename)
    if path.is_relative_to(bot_dir):
        return "bot/" + path.relative_to(bot_dir).as_posix()
    parts = path.parts
    if "site-packages" in parts:
        index = parts.index("site-packages")
        return parts[index + 1] if index + 1 < len(parts) else filename
    return f"stdlib/{path.name}"


def _short_paths(text: str, bot_dir: Path) -> str:
    text = text.replace(str(bot_dir.parent) + os.sep, "")
    return re.sub(r"\S*/site-packages/", "", text)


def print_profile(corpus: Path, analyze_seconds: float | None) -> None:
    """cProfile one in-process analysis: top functions by cumulative time, own time by area."""
    try:
        bot = importlib.import_module("bot")
        analysis = importlib.import_module("bot.analyze.pipeline")
        config = importlib.import_module("bot.config")
    except ImportError as exc:
        print(f"cannot import mendbot in this interpreter ({exc}); skipping the profile")
        return
    bot_dir = Path(bot.__file__ or ".").resolve().parent
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    result = analysis.analyze([corpus], corpus, config.Config())
    profiler.disable()
    wall = time.perf_counter() - started
    overhead = f", {wall / analyze_seconds:.1f}x the unprofiled time" if analyze_seconds else ""
    print(
        f"profiled analyze(): {result.result.files_analysed} files, "
        f"{len(result.result.findings)} findings, {wall:.3f} s under cProfile{overhead}"
    )
    stream = io.StringIO()
    pstats.Stats(profiler, stream=stream).sort_stats("cumulative").print_stats(PROFILE_TOP)
    body = stream.getvalue()
    body = body[body.find("   ncalls") :] if "   ncalls" in body else body
    print(f"\ntop {PROFILE_TOP} functions by cumulative time:")
    print(_short_paths(body.rstrip(), bot_dir))

    own: dict[str, float] = defaultdict(float)
    for entry in profiler.getstats():
        code = entry.code
        filename = code if isinstance(code, str) else code.co_filename
        own[_area("~" if isinstance(code, str) else filename, bot_dir)] += entry.inlinetime
    total = sum(own.values()) or 1.0
    print(f"\nown (exclusive) time by area, top {AREA_TOP}:")
    for area, seconds in sorted(own.items(), key=lambda kv: -kv[1])[:AREA_TOP]:
        print(f"  {area:<46} {seconds:8.3f} s  {seconds / total:6.1%}")


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark `mendbot analyze` against `zizmor` on a replicated corpus.",
    )
    parser.add_argument("--source", type=Path, help="corpus directory (default: zizmor corpus)")
    parser.add_argument("--count", type=int, default=5000, help="workflow files (default 5000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per tool (default 3)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary corpus")
    parser.add_argument("--no-profile", action="store_true", help="skip the mendbot breakdown")
    args = parser.parse_args(argv)
    if args.count < 1 or args.repeat < 1:
        parser.error("--count and --repeat must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    source = find_source(args.source)
    env = child_env()
    workdir = Path(tempfile.mkdtemp(prefix="mendbot-bench-"))
    try:
        return _benchmark(args, source, env, workdir)
    finally:
        if args.keep:
            print(f"\nkept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _benchmark(args: argparse.Namespace, source: Path, env: dict[str, str], workdir: Path) -> int:
    print("== corpus")
    corpus = build_corpus(source, workdir / "repo", args.count)
    print(f"source    {corpus.source}")
    print(
        f"          {len(corpus.workflows)} workflow files of {corpus.yaml_files} YAML files "
        "(skipped: invalid/, action.yml, Dependabot configs, no top-level `jobs:`)"
    )
    print(
        f"replica   {corpus.directory}/.github/workflows: {corpus.files} files, "
        f"{corpus.total_bytes / MIB:.1f} MiB, built in {corpus.seconds:.2f} s"
    )
    print(f"machine   {os.cpu_count()} CPUs, {sys.platform}, Python {sys.version.split()[0]}")

    tools = [mendbot_tool(env)]
    zizmor = zizmor_tool(env)
    print("\n== tools")
    if zizmor is not None:
        tools.append(zizmor)
    for tool in tools:
        print(f"{tool.name:<9} {tool.version}: {' '.join(tool.argv(Path('<repo>')))}")
    if zizmor is None:
        print(
            "zizmor    NOT FOUND: install it with `pip install -e '.[bench]'` (or "
            "`pip install zizmor`); timing mendbot alone"
        )

    timer = gnu_time()
    if timer is not None:
        measured = f"CPU and peak RSS from {timer} (GNU time) around each child"
    else:
        floor = _max_rss_bytes(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / MIB
        measured = (
            "CPU and peak RSS from os.wait4 (GNU time not found): peak RSS is never below this "
            f"process's own peak, now {floor:.1f} MiB"
        )
    print(f"\n== runs ({args.repeat} per tool, interleaved; {measured})")
    scratch = workdir / "out"
    scratch.mkdir()
    for number in range(1, args.repeat + 1):
        for tool in tools:
            time_tool(tool, corpus.directory, env, scratch, timer, f"run {number}/{args.repeat}")

    failed = [tool for tool in tools if tool.failures]
    for tool in failed:
        print(f"\n{tool.name} FAILED:")
        print("\n".join(tool.failures))

    print("\n== results")
    summaries = print_table(tools, corpus.files)
    for tool in tools:
        analysed = sorted({a for a in tool.analysed if a is not None})
        said = "/".join(str(a) for a in analysed) if analysed else "unknown"
        codes = "/".join(str(c) for c in sorted({run.exit_code for run in tool.runs}))
        print(f"{tool.name}: files analysed per its own output: {said}; exit status {codes}")
    if "zizmor" in summaries:
        m, z = summaries["mendbot"], summaries["zizmor"]
        print(
            f"mendbot/zizmor: wall best {_ratio(m.best, z.best)}, "
            f"median {_ratio(m.median, z.median)}; cpu {_ratio(m.cpu, z.cpu)}; "
            f"peak RSS {_ratio(m.rss, z.rss)}"
        )
    else:
        print("mendbot/zizmor: n/a (zizmor not installed)")

    if not args.no_profile:
        median = summaries["mendbot"].median
        print("\n== mendbot cold start (fresh interpreters)")
        print_startup(args.repeat, env, median)
        print("\n== mendbot phases (one cold in-process analysis in a fresh interpreter)")
        analyze_seconds = print_phases(corpus.directory, env, median)
        print("\n== mendbot profile (cProfile, in this process)")
        print_profile(corpus.directory, analyze_seconds)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
