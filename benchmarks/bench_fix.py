"""Benchmark ``mendbot analyze --fix=all`` against ``zizmor --fix=all`` on the zizmor corpus.

This is a benchmark, not a test: it prints tables and asserts nothing. pytest does not collect it.

Contract
--------
* Corpus: the files ``compare_zizmor.py`` compares (every workflow, composite or Docker action
  and Dependabot configuration of ``--source``, default ``tests/corpus/zizmor/``), laid out as
  repositories both tools collect completely: ``repo/.github/workflows/<NNN>-<slug>.yml``,
  ``repo/.github/actions/<NNN>-<slug>/action.yml`` and one ``dependabot-<NN>/.github/
  dependabot.yml`` per Dependabot file (with an empty ``workflows`` folder, which mendbot needs
  to look there). Contents are copied byte for byte.
* Runs: each tool gets its own fresh copy and is run on all the repositories at once, from the
  copy's root: ``mendbot analyze --offline --fix=all --format json repo dependabot-01 …`` and
  ``zizmor --offline --no-config --no-ignores --no-progress --fix=all --format json repo …``
  (``--no-ignores`` because the corpus's ``# zizmor: ignore`` comments are zizmor's own test
  fixtures, which mendbot does not read; the optional flags are used when ``zizmor --help``
  lists them). Then the same command runs a second time on the fixed copy (idempotence). With
  ``--repeat R`` the first run is timed on R fresh copies (best and median); every other number
  comes from the first copy. GitHub token and ``ZIZMOR_*`` variables are removed from the
  children's environment.
* Counts, per tool:
  - files changed (bytes differ from the copy before the run);
  - fixes offered: mendbot's findings that carry a fix; zizmor's ``fixes`` entries of its JSON
    findings (both computed on the unfixed files);
  - fixes applied: mendbot's ``summary.fixes_applied``; zizmor's ``Fix Summary`` (the sum of the
    ``<file>: N fixes`` lines it logs);
  - fixes refused: mendbot's fixes with an ``unfixable`` reason (the engine refused the edit, or
    the edit did not resolve the finding and was rolled back); zizmor's ``Failed to apply``
    entries, split into conflicts (``conflict after applying previous fixes``) and the rest;
  - fixes not applied without a reason: mendbot's fixes whose finding disappeared after an
    earlier fix (mendbot re-runs the rules after each fix); for zizmor, offered - applied -
    failed (fixes that no longer changed anything);
  - files left unparseable: every changed file parsed with mendbot's own parser
    (``bot.yamledit.YamlDocument.parse(SourceText.from_text(text).body)``) and with ruamel
    ``YAML(typ="safe", pure=True).load``; also files whose document lost its ``jobs``/``runs``/
    ``updates`` mapping;
  - second run: files it changed again and fixes it applied;
  - wall time of each run.
* Output: plain text (see ``benchmarks/README.md``). Exit status 0 when both tools ran and
  printed their JSON, 1 otherwise, 2 when the corpus or zizmor is missing.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_zizmor import (  # a sibling script, not a package
    _beside_python,
    child_env,
    collect,
    find_source,
    zizmor_argv,
)

from bot.yamledit.document import SourceText, YamlDocument, YamlParseError

_ZIZMOR_APPLIED = re.compile(r"^\s+(?P<path>\S.*): (?P<count>\d+) fixes?\s*$")
_ZIZMOR_FAILED_HEADER = re.compile(r"^Failed to apply (?P<count>\d+) fixes")
_ZIZMOR_FAILED = re.compile(r"^\s+(?P<ident>[\w-]+): (?P<path>\S+) \((?P<why>.*)\)\s*$")
_KINDS = ("jobs", "runs", "updates")


# --------------------------------------------------------------------------- corpus copies


def _slug(relative: str) -> str:
    stem = "--".join(Path(relative).with_suffix("").parts)
    return re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-") or "file"


@dataclass
class Layout:
    """Where each corpus file goes in a copy, and the inputs to pass to the tools."""

    targets: dict[str, str]
    """Copy-relative path → corpus-relative path."""
    inputs: list[str]


def plan_layout(files: dict[str, str]) -> Layout:
    targets: dict[str, str] = {}
    dependabot = 0
    inputs = ["repo"]
    for index, (relative, kind) in enumerate(sorted(files.items())):
        name = Path(relative).name
        slug = f"{index:03d}-{_slug(relative)}"
        if kind == "workflow":
            target = f"repo/.github/workflows/{slug}{Path(relative).suffix}"
        elif kind == "action":
            target = f"repo/.github/actions/{slug}/{name}"
        else:
            dependabot += 1
            repo = f"dependabot-{dependabot:02d}"
            inputs.append(repo)
            target = f"{repo}/.github/{name}"
        targets[target] = relative
    return Layout(targets=targets, inputs=inputs)


def make_copy(source: Path, layout: Layout, destination: Path) -> None:
    for repo in layout.inputs:
        (destination / repo / ".github" / "workflows").mkdir(parents=True, exist_ok=True)
    for target, relative in layout.targets.items():
        path = destination / target
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / relative, path)


def snapshot(root: Path, layout: Layout) -> dict[str, bytes]:
    return {target: (root / target).read_bytes() for target in layout.targets}


# --------------------------------------------------------------------------- parsing checks


def own_parser_error(text: str) -> str | None:
    """Why mendbot's own parser rejects ``text`` (None when it parses)."""
    try:
        YamlDocument.parse(SourceText.from_text(text).body)
    except YamlParseError as exc:
        return exc.message
    return None


def ruamel_load(text: str) -> tuple[Any, str | None]:
    try:
        return YAML(typ="safe", pure=True).load(text), None
    except YAMLError as exc:
        return None, f"{type(exc).__name__}: {str(exc).splitlines()[0]}"


def _kind_keys(data: Any) -> set[str]:
    return {k for k in _KINDS if isinstance(data, dict) and isinstance(data.get(k), dict | list)}


@dataclass
class Damage:
    """Changed files that no longer parse or lost their top-level structure."""

    own: list[tuple[str, str]] = field(default_factory=list)
    ruamel: list[tuple[str, str]] = field(default_factory=list)
    structure: list[str] = field(default_factory=list)
    emptied: list[str] = field(default_factory=list)


def check_changed(before: dict[str, bytes], after: dict[str, bytes]) -> tuple[list[str], Damage]:
    changed = sorted(t for t in before if before[t] != after[t])
    damage = Damage()
    for target in changed:
        old = before[target].decode("utf-8", errors="replace")
        new = after[target].decode("utf-8", errors="replace")
        if old.strip() and not new.strip():
            damage.emptied.append(target)
        if own_parser_error(old) is None and (why := own_parser_error(new)) is not None:
            damage.own.append((target, why))
        old_data, old_error = ruamel_load(old)
        new_data, new_error = ruamel_load(new)
        if old_error is None and new_error is not None:
            damage.ruamel.append((target, new_error))
        if new_error is None and not _kind_keys(old_data) <= _kind_keys(new_data):
            damage.structure.append(target)
    return changed, damage


# --------------------------------------------------------------------------- tool runs


@dataclass
class FixCounts:
    offered: int = 0
    applied: int = 0
    refused: int = 0
    conflicts: int = 0
    unexplained: int = 0
    report_only: int = 0
    errors: list[str] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)
    offered_by_rule: Counter[str] = field(default_factory=Counter)
    applied_by_rule: Counter[str] = field(default_factory=Counter)
    refused_by_rule: Counter[str] = field(default_factory=Counter)


@dataclass
class Run:
    wall: float
    exit_code: int
    stdout: str
    stderr: str


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> Run:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=env, check=False)
    return Run(time.perf_counter() - started, done.returncode, done.stdout, done.stderr)


def _reason_class(reason: str) -> str:
    """A short class of a refusal reason, for the grouped list (paths and offsets removed)."""
    reason = re.sub(r"\b(jobs|runs|updates)\.[^\s:;]*", "<route>", reason)
    reason = re.sub(r"'Subfeature \{.*?\}'", "<fragment>", reason)
    reason = re.sub(r"\d+", "N", reason)
    return reason[:110]


def mendbot_counts(result: Run) -> FixCounts:
    counts = FixCounts()
    try:
        document = json.loads(result.stdout)
        findings = document["findings"]
        counts.applied = int(document["summary"]["fixes_applied"])
    except (ValueError, KeyError, TypeError) as exc:
        counts.errors.append(f"exit {result.exit_code}, no JSON report ({exc})")
        return counts
    for finding in findings:
        fix = finding.get("fix")
        if fix is None:
            counts.report_only += 1
            continue
        rule = finding["rule"]
        counts.offered += 1
        counts.offered_by_rule[rule] += 1
        if fix.get("applied"):
            counts.applied_by_rule[rule] += 1
        elif fix.get("unfixable"):
            counts.refused += 1
            counts.refused_by_rule[rule] += 1
            counts.reasons[f"{rule}: {_reason_class(fix['unfixable'])}"] += 1
        else:
            counts.unexplained += 1
    counts.errors += [
        f"{e.get('path')}: {e.get('message')}" for e in document.get("errors", []) or []
    ]
    return counts


def zizmor_counts(result: Run) -> FixCounts:
    counts = FixCounts()
    try:
        findings = json.loads(result.stdout)
        if not isinstance(findings, list):
            raise TypeError("not a list")
    except (ValueError, TypeError) as exc:
        counts.errors.append(f"exit {result.exit_code}, no JSON report ({exc})")
        return counts
    for finding in findings:
        fixes = finding.get("fixes") or []
        if not fixes:
            counts.report_only += 1
        counts.offered += len(fixes)
        counts.offered_by_rule[finding["ident"]] += len(fixes)
    lines = (result.stdout + "\n" + result.stderr).splitlines()
    section = None
    failed_header = 0
    for line in lines:
        if line.startswith("Successfully applied fixes to"):
            section = "applied"
            continue
        if header := _ZIZMOR_FAILED_HEADER.match(line):
            section = "failed"
            failed_header = int(header["count"])
            continue
        if section == "applied" and (m := _ZIZMOR_APPLIED.match(line)):
            counts.applied += int(m["count"])
        elif section == "failed" and (m := _ZIZMOR_FAILED.match(line)):
            why = m["why"]
            ident = m["ident"]
            counts.refused_by_rule[ident] += 1
            if why.startswith("conflict after applying previous fixes"):
                counts.conflicts += 1
                counts.reasons[f"{ident}: conflict after applying previous fixes"] += 1
            else:
                counts.refused += 1
                counts.reasons[f"{ident}: {_reason_class(why)}"] += 1
        elif section and line and not line.startswith(" "):
            section = None
    if failed_header != counts.refused + counts.conflicts:
        counts.errors.append(
            f"zizmor said it failed {failed_header} fixes, the log lists "
            f"{counts.refused + counts.conflicts}"
        )
    counts.unexplained = max(0, counts.offered - counts.applied - counts.refused - counts.conflicts)
    for ident, offered in counts.offered_by_rule.items():
        counts.applied_by_rule[ident] = offered - counts.refused_by_rule[ident]
    return counts


@dataclass
class ToolResult:
    name: str
    argv: list[str]
    first: Run
    second: Run
    counts: FixCounts
    second_counts: FixCounts
    changed: list[str]
    damage: Damage
    second_changed: list[str]
    walls: list[float]


def bench_tool(
    name: str,
    argv: list[str],
    source: Path,
    layout: Layout,
    workdir: Path,
    env: dict[str, str],
    repeat: int,
) -> ToolResult:
    copy = workdir / f"{name}-1"
    make_copy(source, layout, copy)
    before = snapshot(copy, layout)
    command = [*argv, *layout.inputs]
    first = run(command, copy, env)
    after = snapshot(copy, layout)
    second = run(command, copy, env)
    again = snapshot(copy, layout)
    walls = [first.wall]
    for number in range(2, repeat + 1):
        extra = workdir / f"{name}-{number}"
        make_copy(source, layout, extra)
        walls.append(run(command, extra, env).wall)
        shutil.rmtree(extra, ignore_errors=True)
    parse = mendbot_counts if name == "mendbot" else zizmor_counts
    changed, damage = check_changed(before, after)
    return ToolResult(
        name=name,
        argv=command,
        first=first,
        second=second,
        counts=parse(first),
        second_counts=parse(second),
        changed=changed,
        damage=damage,
        second_changed=sorted(t for t in after if after[t] != again[t]),
        walls=walls,
    )


# --------------------------------------------------------------------------- printing


def _shown(argv: list[str]) -> str:
    return " ".join([Path(argv[0]).name, *argv[1:]])


def print_results(results: list[ToolResult], files: int) -> None:
    header = (
        f"{'tool':<8} {'files':>5} {'changed':>7} {'offered':>7} {'applied':>7} "
        f"{'refused':>7} {'conflict':>8} {'no reason':>9} {'report-only':>11} "
        f"{'unparseable own/ruamel':>22} {'wall s':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        c = r.counts
        unparseable = f"{len(r.damage.own)}/{len(r.damage.ruamel)}"
        print(
            f"{r.name:<8} {files:>5} {len(r.changed):>7} {c.offered:>7} {c.applied:>7} "
            f"{c.refused:>7} {c.conflicts:>8} {c.unexplained:>9} {c.report_only:>11} "
            f"{unparseable:>22} {min(r.walls):>7.2f}"
        )


def print_second_run(results: list[ToolResult]) -> None:
    header = f"{'tool':<8} {'changed again':>13} {'fixes applied':>13} {'wall s':>7}"
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.name:<8} {len(r.second_changed):>13} {r.second_counts.applied:>13} "
            f"{r.second.wall:>7.2f}"
        )
    for r in results:
        for target in r.second_changed:
            print(f"  {r.name}: changed again: {target}")


def print_by_rule(results: list[ToolResult]) -> None:
    for r in results:
        c = r.counts
        approx = r.name == "zizmor" and c.unexplained > 0
        note = " (applied = offered - failed; approximate)" if approx else ""
        print(f"{r.name}{note}:")
        offered_rules = [(rule, n) for rule, n in c.offered_by_rule.items() if n]
        for rule, offered in sorted(offered_rules, key=lambda kv: (-kv[1], kv[0])):
            print(
                f"  {rule:<36} offered {offered:>4}  applied {c.applied_by_rule[rule]:>4}  "
                f"refused/failed {c.refused_by_rule[rule]:>4}"
            )


def print_reasons(results: list[ToolResult]) -> None:
    for r in results:
        if not r.counts.reasons:
            print(f"{r.name}: none")
            continue
        print(f"{r.name}:")
        for reason, count in r.counts.reasons.most_common():
            print(f"  {count:>4}  {reason}")


def print_damage(results: list[ToolResult]) -> None:
    for r in results:
        d = r.damage
        problems = [
            *(f"own parser rejects {t}: {why}" for t, why in d.own),
            *(f"ruamel rejects {t}: {why}" for t, why in d.ruamel),
            *(f"lost its jobs/runs/updates mapping: {t}" for t in d.structure),
            *(f"emptied: {t}" for t in d.emptied),
        ]
        print(f"{r.name}: " + ("none" if not problems else f"{len(problems)}"))
        for problem in problems:
            print(f"  {problem}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark --fix=all: mendbot vs zizmor.")
    parser.add_argument("--source", type=Path, help="corpus directory (default: zizmor corpus)")
    parser.add_argument("--repeat", type=int, default=3, help="timed first runs per tool")
    parser.add_argument("--keep", action="store_true", help="keep the fixed copies")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    source = find_source(args.source)
    if source is None:
        print("error: no corpus found; pass --source DIR", file=sys.stderr)
        return 2
    env = child_env()
    zizmor_bin = _beside_python("zizmor")
    if zizmor_bin is None:
        print("error: zizmor not found: pip install -e '.[bench]'", file=sys.stderr)
        return 2
    mendbot_bin = _beside_python("mendbot")
    launcher = [mendbot_bin] if mendbot_bin else [sys.executable, "-m", "bot"]
    tools = {
        "mendbot": [
            *launcher,
            "analyze",
            "--offline",
            "--fix=all",
            "--format",
            "json",
            "--no-cache",
        ],
        "zizmor": [
            *zizmor_argv(zizmor_bin, env, persona=False),
            "--fix=all",
        ],
    }

    corpus = collect(source)
    layout = plan_layout(corpus.files)
    kinds = Counter(corpus.files.values())
    workdir = Path(tempfile.mkdtemp(prefix="mendbot-fix-bench-"))
    try:
        print("== corpus")
        print(f"source    {source}")
        print(
            f"files     {len(corpus.files)}: {kinds['workflow']} workflows, {kinds['action']} "
            f"actions, {kinds['dependabot']} Dependabot configurations "
            f"({len(corpus.skipped)} other YAML files skipped)"
        )
        print(f"layout    {', '.join(layout.inputs[:3])}, … ({len(layout.inputs)} repositories)")
        print("\n== tools (each on its own fresh copy, run from the copy's root)")
        for name, command in tools.items():
            print(f"{name:<9} {_shown(command)} repo dependabot-01 …")
        results = [
            bench_tool(name, command, source, layout, workdir, env, args.repeat)
            for name, command in tools.items()
        ]
        print(f"\n== fix runs (first run; wall = best of {args.repeat} on fresh copies)")
        print_results(results, len(layout.targets))
        for r in results:
            print(
                f"{r.name}: exit {r.first.exit_code}; wall best {min(r.walls):.2f} s, median "
                f"{statistics.median(r.walls):.2f} s over {len(r.walls)} run(s)"
            )
        print("\n== second --fix=all on the fixed copy (idempotence)")
        print_second_run(results)
        print("\n== files left broken after the first run (changed files only)")
        print_damage(results)
        print("\n== fixes by rule / audit (first run)")
        print_by_rule(results)
        print("\n== refused and conflicting fixes, grouped (first run)")
        print_reasons(results)
        failed = False
        for r in results:
            for error in r.counts.errors:
                print(f"{r.name} error: {error}")
                failed = failed or "no JSON" in error
        return 1 if failed else 0
    finally:
        if args.keep:
            print(f"\nkept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
