"""Compare mendbot's findings with zizmor's on the zizmor test corpus and the real-world corpus,
audit by audit: agreement, recall on zizmor's findings, precision, and findings each can fix.

This is a benchmark-style report, not a test: it prints tables and asserts nothing. pytest does
not collect it.

Contract
--------
* Corpus: every workflow, composite action and Dependabot configuration under each
  ``--source`` (repeatable; default ``tests/corpus/zizmor/``, else
  ``/work/shared/reference/corpus/zizmor-test-data/``, and ``tests/corpus/real/``), one report
  per corpus and a summary of both at the end.
  A file is classified by its name and parsed content (ruamel ``YAML(typ="safe", pure=True)``):
  ``action.yml``/``action.yaml`` with a ``runs:`` mapping is an action; ``dependabot.yml`` /
  ``dependabot.yaml`` outside a ``workflows`` folder with ``version`` and an ``updates`` list is
  a Dependabot configuration; anything else with a ``jobs:`` mapping is a workflow. Files that do
  not parse or are none of these (zizmor configurations, pre-commit files) are skipped and
  counted.
* Tools, one child process per file and tool, run on the file's path relative to its checkout:
  the nearest folder above it (up to ``--source``) that has a ``.github`` folder, else the
  corpus root (so local actions such as ``./.github/actions/x`` resolve in a real-world corpus
  of ``<owner>--<repo>/`` checkouts):
  ``mendbot analyze --offline --format json FILE`` and
  ``zizmor --offline --no-config --no-ignores --persona auditor --no-progress --format json FILE``
  (``--no-ignores``/``--persona``/``--no-progress`` only when ``zizmor --help`` lists them). The
  auditor persona shows every finding; each zizmor finding keeps the persona it belongs to, and
  disagreements say when zizmor would only report it under ``--persona auditor``/``pedantic``.
  GitHub token variables and ``ZIZMOR_*`` variables are removed from the children's environment.
* Mapping: each zizmor audit in :data:`MAPPINGS` (mendbot's own audit table) is compared with
  the mendbot rules it maps to. Audits that need the network in both tools
  (:data:`ONLINE_ONLY`) or a configuration (:data:`CONFIGURED_ONLY`) are skipped, and audits of
  a later zizmor (:data:`NEWER_ZIZMOR`) have nothing to compare with; each is listed as such.
* Granularity: per mapping, the files where both tools report, only zizmor, only mendbot; and
  per finding (cheap "line" granularity): a zizmor finding and a mendbot finding match when one
  symbolic route is a prefix of the other (zizmor's ``jobs → build → steps → 0`` against
  mendbot's ``["jobs", "build", "steps", 0, "uses"]``) or when mendbot's line falls inside one of
  the zizmor finding's location spans.
* Hand labels (``--labels FILE``; by default ``benchmarks/labels/<corpus>.yml`` when it exists,
  e.g. ``real-corpus.yml`` for ``tests/corpus/real``, ``zizmor-corpus.yml`` for
  ``tests/corpus/zizmor``): a mapping ``labels:`` of
  ``"<path>:<line>:<rule or audit>"`` → ``{label: tp | fp, reason: one line}``, the path
  relative to ``--source``. A zizmor entry may add ``matches: <mendbot key>`` when mendbot
  reports the same problem at a place the line/route matching does not pair. A label on a
  mendbot finding also labels the zizmor findings it matched, unless they carry their own.
  Precision = tp / (tp + fp) over the labelled findings, per tool and per rule/audit: every
  mendbot finding, and zizmor's default-persona findings of the mapped audits. zizmor findings
  labelled tp that no mendbot finding matches are the true positives mendbot misses. Listed to
  label: mendbot findings that no default-persona zizmor finding matches (any rule) and
  zizmor-only default-persona findings; labels that match no finding are listed as stale.
* Recall on zizmor's findings: over zizmor's default-persona findings of the mapped audits,
  matched / (matched + missed + unlabelled), where a finding is matched when a mendbot finding
  pairs with it (or its label's ``matches`` names one), not counted when labelled ``fp`` (zizmor
  is wrong) or ``tp`` with ``deliberate: true`` (mendbot leaves it out on purpose, the reason
  says why), missed when labelled ``tp`` otherwise, and unlabelled otherwise (counted as
  missed). A labels file may also list ``deliberate_audits: {<audit>: <reason>}``: every
  unlabelled, unmatched finding of that audit is deliberate (a mendbot rule off by default).
* Fixes: findings each tool proposes a fix for, offline: mendbot's with a ``fix`` not marked
  unfixable (its default rules), zizmor's with a non-empty ``fixes`` (default persona, and every
  persona).
* Output: plain text; every disagreement is listed with its lines. Exit status 0 when both tools
  produced valid JSON for every file, 1 otherwise, 2 when zizmor or the corpus is missing or the
  labels file is unreadable.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from bot.detectors.aliases import ZIZMOR_AUDITS

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCES = (
    REPO_ROOT / "tests" / "corpus" / "zizmor",
    Path("/work/shared/reference/corpus/zizmor-test-data"),
)
REAL_CORPUS = REPO_ROOT / "tests" / "corpus" / "real"
SCRUBBED_ENV = ("GH_TOKEN", "GITHUB_TOKEN", "GH_HOST")

#: Audits of a later zizmor than the pinned one: nothing to compare, and said so.
NEWER_ZIZMOR = ("unsafe-checkout",)
#: Audits that need the network in both tools: skipped, and said so.
ONLINE_ONLY = (
    "ref-confusion",
    "ref-version-mismatch",
    "impostor-commit",
    "stale-action-refs",
    "known-vulnerable-actions",
)
#: Audits that report nothing without a configuration (``--no-config`` here): skipped, said so.
CONFIGURED_ONLY = ("forbidden-uses",)
SKIPPED: dict[str, str] = {
    **dict.fromkeys(ONLINE_ONLY, "needs the network in both tools"),
    **dict.fromkeys(CONFIGURED_ONLY, "reports only what a configuration forbids"),
    **dict.fromkeys(NEWER_ZIZMOR, "not in this zizmor (a later release's audit)"),
}
#: zizmor audit → the mendbot rules that cover the same problem: mendbot's own table (the one
#: behind docs/zizmor-mapping.md and ``# zizmor: ignore[…]``), less the audits skipped here.
MAPPINGS: dict[str, tuple[str, ...]] = {
    audit: rules for audit, rules in ZIZMOR_AUDITS.items() if audit not in SKIPPED
}
PERSONA_RANK = {"regular": 0, "pedantic": 1, "auditor": 2}
LABELS_DIR = REPO_ROOT / "benchmarks" / "labels"
#: Corpus → its labels file, used when ``--labels`` is not given.
DEFAULT_LABELS = {
    REPO_ROOT / "tests" / "corpus" / "real": LABELS_DIR / "real-corpus.yml",
    REPO_ROOT / "tests" / "corpus" / "zizmor": LABELS_DIR / "zizmor-corpus.yml",
}
VERDICTS = ("tp", "fp")


# --------------------------------------------------------------------------- corpus


def _die(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def find_sources(explicit: list[Path]) -> list[Path]:
    """The corpora to compare on: those given (each must be a folder), else the zizmor corpus
    (or the shared copy of it) and the real-world corpus, when present."""
    if explicit:
        return [p.resolve() for p in explicit] if all(p.is_dir() for p in explicit) else []
    zizmor = next((c for c in DEFAULT_SOURCES if c.is_dir()), None)
    return [c for c in (zizmor, REAL_CORPUS) if c is not None and c.is_dir()]


def classify(path: Path, source: Path) -> str:
    """``workflow``, ``action``, ``dependabot``, or why the file is skipped."""
    relative = path.relative_to(source)
    try:
        data = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    except (YAMLError, UnicodeDecodeError, ValueError) as exc:
        return f"skip: does not parse ({type(exc).__name__})"
    if not isinstance(data, dict):
        return "skip: not a mapping"
    name = path.name.lower()
    if name in ("action.yml", "action.yaml"):
        return "action" if isinstance(data.get("runs"), dict) else "skip: action without runs"
    if (
        name in ("dependabot.yml", "dependabot.yaml")
        and "workflows" not in relative.parts
        and isinstance(data.get("updates"), list)
    ):
        return "dependabot"
    if isinstance(data.get("jobs"), dict):
        return "workflow"
    return "skip: not a workflow, action or Dependabot file"


@dataclass
class Corpus:
    source: Path
    files: dict[str, str]
    """Relative path → kind, for the files compared."""
    skipped: dict[str, str]
    """Relative path → why it was skipped."""


def collect(source: Path) -> Corpus:
    files: dict[str, str] = {}
    skipped: dict[str, str] = {}
    for path in sorted(source.rglob("*")):
        if path.suffix not in (".yml", ".yaml") or not path.is_file():
            continue
        relative = path.relative_to(source).as_posix()
        kind = classify(path, source)
        if kind.startswith("skip"):
            skipped[relative] = kind.removeprefix("skip: ")
        else:
            files[relative] = kind
    return Corpus(source=source, files=files, skipped=skipped)


# --------------------------------------------------------------------------- tools


@dataclass(frozen=True)
class Hit:
    """One finding, reduced to what the comparison needs."""

    rule: str
    route: tuple[str | int, ...]
    spans: tuple[tuple[int, int], ...]
    """1-based inclusive line ranges (mendbot: its one line)."""
    persona: str = "regular"
    fixable: bool = False
    """Whether the tool proposes a fix for it (zizmor: a non-empty ``fixes``; mendbot: a
    ``fix`` that is not marked unfixable)."""

    @property
    def line(self) -> int:
        return self.spans[0][0] if self.spans else 0


@dataclass
class FileResult:
    hits: list[Hit] = field(default_factory=list)
    error: str | None = None


def child_env() -> dict[str, str]:
    return {
        k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV and not k.startswith("ZIZMOR_")
    }


def _beside_python(name: str) -> str | None:
    return shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)


def zizmor_argv(binary: str, env: dict[str, str], *, persona: bool = True) -> list[str]:
    """The zizmor command, with the optional flags this version supports (the auditor
    persona unless ``persona`` is false)."""
    helptext = subprocess.run(
        [binary, "--help"], capture_output=True, text=True, env=env, check=False
    ).stdout
    argv = [binary, "--offline", "--no-config"]
    if "--no-ignores" in helptext:
        argv.append("--no-ignores")
    if persona and "--persona" in helptext and "auditor" in helptext:
        argv += ["--persona", "auditor"]
    if "--no-progress" in helptext:
        argv.append("--no-progress")
    return [*argv, "--format", "json"]


def mendbot_rules(launcher: list[str], env: dict[str, str]) -> set[str] | None:
    """The rule ids ``mendbot rules --format json`` lists (None if it cannot say)."""
    done = subprocess.run(
        [*launcher, "rules", "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    try:
        return {rule["id"] for rule in json.loads(done.stdout)}
    except (ValueError, KeyError, TypeError):
        return None


def _version(argv: Sequence[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [*argv, "--version"], capture_output=True, text=True, env=env, check=False
    )
    return (done.stdout or done.stderr).strip().splitlines()[0] if done.returncode == 0 else "?"


def _zizmor_route(symbolic: dict[str, Any]) -> tuple[str | int, ...]:
    steps: list[str | int] = []
    for component in symbolic.get("route", {}).get("route", []):
        if "Key" in component:
            steps.append(str(component["Key"]))
        elif "Index" in component:
            steps.append(int(component["Index"]))
    return tuple(steps)


def _zizmor_span(concrete: dict[str, Any]) -> tuple[int, int]:
    location = concrete["location"]
    start = location["start_point"]["row"] + 1
    end_row, end_column = location["end_point"]["row"], location["end_point"]["column"]
    end = end_row if end_column == 0 and end_row + 1 > start else end_row + 1
    return start, max(start, end)


def parse_zizmor(document: Any) -> list[Hit]:
    if not isinstance(document, list):
        raise ValueError("zizmor's JSON output is not a list")
    hits = []
    for finding in document:
        locations = finding.get("locations", [])
        primary = next(
            (loc for loc in locations if loc["symbolic"].get("kind") == "Primary"),
            locations[0] if locations else None,
        )
        spans = [_zizmor_span(loc["concrete"]) for loc in locations if "concrete" in loc]
        if primary is not None and "concrete" in primary:
            first = _zizmor_span(primary["concrete"])
            spans.remove(first)
            spans.insert(0, first)
        hits.append(
            Hit(
                rule=finding["ident"],
                route=_zizmor_route(primary["symbolic"]) if primary else (),
                spans=tuple(spans),
                persona=str(finding.get("determinations", {}).get("persona", "Regular")).lower(),
                fixable=bool(finding.get("fixes")),
            )
        )
    return hits


def parse_mendbot(document: Any) -> tuple[list[Hit], str | None]:
    if not isinstance(document, dict) or not isinstance(document.get("findings"), list):
        raise ValueError("mendbot's JSON output has no findings list")
    hits = [
        Hit(
            rule=f["rule"],
            route=tuple(f.get("route") or ()),
            spans=((f["line"], f["line"]),),
            fixable=isinstance(f.get("fix"), dict) and not f["fix"].get("unfixable"),
        )
        for f in document["findings"]
    ]
    errors = "; ".join(e.get("message", "?") for e in document.get("errors", [])) or None
    return hits, errors


def checkout_root(relative: str, source: Path) -> Path:
    """The nearest folder above the file, up to ``source``, that has a ``.github`` folder."""
    folder = (source / relative).parent
    while folder != source and source in folder.parents:
        if (folder / ".github").is_dir():
            return folder
        folder = folder.parent
    return source


def run_one(
    tool: str, argv: list[str], relative: str, source: Path, env: dict[str, str]
) -> FileResult:
    """Run one tool on one file, from the file's checkout (paths in the result stay
    relative to ``source``)."""
    cwd = checkout_root(relative, source)
    done = subprocess.run(
        [*argv, (source / relative).relative_to(cwd).as_posix()],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    try:
        document = json.loads(done.stdout)
        if tool == "zizmor":
            return FileResult(hits=parse_zizmor(document))
        hits, errors = parse_mendbot(document)
        return FileResult(hits=hits, error=errors)
    except (ValueError, KeyError, TypeError) as exc:
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        said = next((line for line in lines if line.startswith(("WARN", "error", "Error"))), "")
        said = said or (lines[-1] if lines else "")
        return FileResult(error=f"exit {done.returncode}, no JSON ({exc}); {said[:200]}")


# --------------------------------------------------------------------------- comparison


def _prefix(a: tuple[str | int, ...], b: tuple[str | int, ...]) -> bool:
    shorter, longer = (a, b) if len(a) <= len(b) else (b, a)
    return bool(shorter) and longer[: len(shorter)] == shorter


def matches(z: Hit, m: Hit) -> bool:
    """Whether a zizmor finding and a mendbot finding are about the same place."""
    if _prefix(z.route, m.route):
        return True
    return any(start <= m.line <= end for start, end in z.spans)


@dataclass
class MappingResult:
    audit: str
    rules: tuple[str, ...]
    both: list[str] = field(default_factory=list)
    only_zizmor: list[str] = field(default_factory=list)
    only_mendbot: list[str] = field(default_factory=list)
    matched: int = 0
    z_unmatched: dict[str, list[Hit]] = field(default_factory=lambda: defaultdict(list))
    m_unmatched: dict[str, list[Hit]] = field(default_factory=lambda: defaultdict(list))
    regular_files: set[str] = field(default_factory=set)
    """Files where zizmor reports the audit under its default (regular) persona."""
    pairs: list[tuple[str, Hit, Hit]] = field(default_factory=list)
    """(path, zizmor finding, mendbot finding) for every match."""


def compare(
    audit: str,
    rules: tuple[str, ...],
    zizmor: dict[str, FileResult],
    mendbot: dict[str, FileResult],
) -> MappingResult:
    result = MappingResult(audit=audit, rules=rules)
    for path in sorted(zizmor):
        z_hits = [h for h in zizmor[path].hits if h.rule == audit]
        m_hits = [h for h in mendbot[path].hits if h.rule in rules]
        if any(h.persona == "regular" for h in z_hits):
            result.regular_files.add(path)
        if z_hits and m_hits:
            result.both.append(path)
        elif z_hits:
            result.only_zizmor.append(path)
        elif m_hits:
            result.only_mendbot.append(path)
        matched_m: set[int] = set()
        for z in z_hits:
            partners = [i for i, m in enumerate(m_hits) if matches(z, m)]
            if partners:
                result.matched += 1
                matched_m.update(partners)
                result.pairs += [(path, z, m_hits[i]) for i in partners]
            else:
                result.z_unmatched[path].append(z)
        for i, m in enumerate(m_hits):
            if i not in matched_m:
                result.m_unmatched[path].append(m)
    return result


# --------------------------------------------------------------------------- printing


def _shown(argv: list[str]) -> str:
    """A command line with the program's directory left out."""
    return " ".join([Path(argv[0]).name, *argv[1:]])


def _lines(hits: list[Hit], zizmor_side: bool, rules: tuple[str, ...]) -> str:
    """``L12 L30[pedantic]`` (zizmor) or ``L12 L30(job-permissions)`` (mendbot, when the
    mapping has several rules)."""
    parts = []
    for hit in sorted(hits, key=lambda h: (h.line, h.rule)):
        label = f"L{hit.line}"
        if zizmor_side and hit.persona != "regular":
            label += f"[{hit.persona}]"
        if not zizmor_side and len(rules) > 1:
            label += f"({hit.rule.removeprefix('gha-')})"
        parts.append(label)
    return " ".join(parts)


def print_table(results: list[MappingResult]) -> None:
    header = (
        f"{'zizmor audit':<32} {'mendbot rule(s)':<34} {'z files':>7} {'z reg':>5} "
        f"{'m files':>7} {'both':>5} {'z only':>6} {'m only':>6} │ {'matched':>7} "
        f"{'z-only':>6} {'(reg)':>5} {'m-only':>6}"
    )
    print(header)
    print("─" * len(header))
    for r in results:
        rules = ", ".join(x.removeprefix("gha-") for x in r.rules)
        z_files = len(r.both) + len(r.only_zizmor)
        m_files = len(r.both) + len(r.only_mendbot)
        z_only = sum(len(v) for v in r.z_unmatched.values())
        z_regular = sum(h.persona == "regular" for v in r.z_unmatched.values() for h in v)
        m_only = sum(len(v) for v in r.m_unmatched.values())
        print(
            f"{r.audit:<32} {rules[:34]:<34} {z_files:>7} {len(r.regular_files):>5} "
            f"{m_files:>7} {len(r.both):>5} {len(r.only_zizmor):>6} {len(r.only_mendbot):>6} │ "
            f"{r.matched:>7} {z_only:>6} {z_regular:>5} {m_only:>6}"
        )


def print_disagreements(results: list[MappingResult]) -> None:
    for r in results:
        files = sorted(set(r.z_unmatched) | set(r.m_unmatched))
        if not files:
            print(f"\n{r.audit}: full agreement")
            continue
        print(f"\n{r.audit} → {', '.join(r.rules)}: {len(files)} file(s) disagree")
        for path in files:
            where = (
                "only zizmor"
                if path in r.only_zizmor
                else "only mendbot"
                if path in r.only_mendbot
                else "both, lines differ"
            )
            print(f"  {path}  [{where}]")
            if r.z_unmatched.get(path):
                print(f"      zizmor  {_lines(r.z_unmatched[path], True, r.rules)}")
            if r.m_unmatched.get(path):
                print(f"      mendbot {_lines(r.m_unmatched[path], False, r.rules)}")


# --------------------------------------------------------------------------- hand labels


@dataclass(frozen=True)
class Label:
    """A person's verdict on one finding."""

    verdict: str
    """``tp`` (the workflow is at risk as the message says) or ``fp``."""
    reason: str
    matches: str | None = None
    """On a zizmor finding: the key of the mendbot finding that reports the same problem
    where the line/route matching could not see it (then it is not a miss)."""
    deliberate: bool = False
    """On a zizmor finding labelled ``tp``: mendbot leaves it out on purpose (an inline
    suppression it honours, an auditor's option off by default, a documented difference of
    the rule); the reason says which. Not counted as a miss in the recall."""


def finding_key(path: str, hit: Hit) -> str:
    """``<path>:<line>:<rule or audit>``, the key of a finding in a labels file."""
    return f"{path}:{hit.line}:{hit.rule}"


def load_labels(path: Path) -> dict[str, Label]:
    """The labels of ``path``; raises :class:`ValueError` naming the bad entry."""
    try:
        document = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    except (OSError, YAMLError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read labels ({exc})") from None
    entries = document.get("labels") if isinstance(document, dict) else None
    if not isinstance(entries, dict):
        raise ValueError(f"{path}: expected a mapping `labels:` of key -> {{label, reason}}")
    labels: dict[str, Label] = {}
    for key, entry in entries.items():
        if (
            not isinstance(entry, dict)
            or entry.get("label") not in VERDICTS
            or not str(entry.get("reason") or "").strip()
        ):
            raise ValueError(f"{path}: {key}: needs `label: tp|fp` and a one-line `reason`")
        matches = entry.get("matches")
        deliberate = entry.get("deliberate", False)
        if not isinstance(deliberate, bool):
            raise ValueError(f"{path}: {key}: `deliberate` is true or false")
        labels[str(key)] = Label(
            verdict=str(entry["label"]),
            reason=str(entry["reason"]).strip(),
            matches=str(matches) if matches else None,
            deliberate=deliberate,
        )
    return labels


def load_deliberate_audits(path: Path) -> dict[str, str]:
    """The optional ``deliberate_audits:`` of a labels file: zizmor audit → why mendbot, as
    configured by default, leaves all of that audit's unmatched findings out on purpose (a
    rule off by default, a documented difference). Raises :class:`ValueError`."""
    try:
        document = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    except (OSError, YAMLError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read labels ({exc})") from None
    entries = document.get("deliberate_audits") if isinstance(document, dict) else None
    if entries is None:
        return {}
    if not isinstance(entries, dict) or not all(
        isinstance(reason, str) and reason.strip() for reason in entries.values()
    ):
        raise ValueError(f"{path}: `deliberate_audits:` maps a zizmor audit to a one-line reason")
    return {str(audit): reason.strip() for audit, reason in entries.items()}


@dataclass
class Tally:
    """Labelled findings of one tool, rule or audit."""

    findings: int = 0
    tp: int = 0
    fp: int = 0

    def add(self, label: Label | None) -> None:
        self.findings += 1
        if label is not None:
            setattr(self, label.verdict, getattr(self, label.verdict) + 1)

    def row(self, name: str) -> str:
        labelled = self.tp + self.fp
        share = f"{100 * self.tp / labelled:.1f} %" if labelled else "-"
        return f"  {name:<38} {self.findings:>8} {labelled:>8} {self.tp:>5} {self.fp:>5} {share:>9}"


def _table(title: str, tallies: dict[str, Tally]) -> None:
    print(f"  {title:<38} {'findings':>8} {'labelled':>8} {'tp':>5} {'fp':>5} {'precision':>9}")
    for name, tally in sorted(tallies.items()):
        print(tally.row(name))


@dataclass
class Recall:
    """What became of zizmor's default-persona findings of one audit (or of all)."""

    findings: int = 0
    matched: int = 0
    """mendbot reports the same problem (same route or line, or a label's ``matches``)."""
    zizmor_fp: int = 0
    """Labelled fp: nothing to recall."""
    deliberate: int = 0
    """Labelled tp and ``deliberate``: left out on purpose, the reason documented."""
    missed: int = 0
    """Labelled tp, not deliberate: a real miss."""
    unlabelled: int = 0
    """Unmatched and not labelled yet: counted as missed."""

    def add(self, other: Recall) -> None:
        for name in ("findings", "matched", "zizmor_fp", "deliberate", "missed", "unlabelled"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def recall(self) -> float | None:
        """matched / (matched + missed + unlabelled); None when there is nothing to recall."""
        wanted = self.matched + self.missed + self.unlabelled
        return self.matched / wanted if wanted else None

    def row(self, name: str) -> str:
        share = "-" if self.recall is None else f"{100 * self.recall:.1f} %"
        return (
            f"  {name:<32} {self.findings:>8} {self.matched:>7} {self.zizmor_fp:>6} "
            f"{self.deliberate:>10} {self.missed:>6} {self.unlabelled:>10} {share:>8}"
        )


def _recall_table(per_audit: dict[str, Recall], total: Recall) -> None:
    print(
        f"  {'zizmor audit (default persona)':<32} {'findings':>8} {'matched':>7} "
        f"{'z fp':>6} {'deliberate':>10} {'missed':>6} {'unlabelled':>10} {'recall':>8}"
    )
    for name, recall in sorted(per_audit.items()):
        print(recall.row(name))
    print(total.row("all mapped audits"))


@dataclass
class CorpusSummary:
    """The headline figures of one corpus."""

    name: str
    results: list[MappingResult]
    mendbot: Tally = field(default_factory=Tally)
    zizmor: Tally = field(default_factory=Tally)
    recall: Recall = field(default_factory=Recall)
    fixable: dict[str, int] = field(default_factory=dict)
    """``mendbot`` / ``zizmor`` (default persona) / ``zizmor auditor`` → findings with a fix."""
    findings: dict[str, int] = field(default_factory=dict)
    """The same keys → all findings."""


def print_precision(
    results: list[MappingResult],
    z_results: dict[str, FileResult],
    m_results: dict[str, FileResult],
    labels: dict[str, Label],
    labels_path: Path,
    summary: CorpusSummary,
    deliberate_audits: dict[str, str],
) -> None:
    """Precision of both tools over the labelled findings, mendbot's recall on zizmor's
    default-persona findings, what is left to label, and the labels that match no finding
    any more. The totals go into ``summary``."""
    audits = {r.audit for r in results}
    agreed_m: dict[str, str] = {}
    """mendbot key → the lowest persona of a zizmor finding it matched."""
    inherited: dict[str, Label] = {}
    matched_z: set[str] = set()
    for r in results:
        for path, z, m in r.pairs:
            z_key, m_key = finding_key(path, z), finding_key(path, m)
            best = agreed_m.get(m_key)
            if best is None or PERSONA_RANK.get(z.persona, 2) < PERSONA_RANK.get(best, 2):
                agreed_m[m_key] = z.persona
            matched_z.add(z_key)
            current = inherited.get(z_key)
            if m_key in labels and (current is None or current.verdict == "fp"):
                inherited[z_key] = labels[m_key]  # a tp partner wins over an fp one

    m_keys = {finding_key(p, h) for p, r in m_results.items() for h in r.hits}
    mendbot, per_rule = summary.mendbot, defaultdict(Tally)
    zizmor, per_audit = summary.zizmor, defaultdict(Tally)
    recall, per_audit_recall = summary.recall, defaultdict(Recall)
    seen: set[str] = set()
    todo_m: list[str] = []
    todo_z: list[str] = []
    missed: list[str] = []
    for path, result in sorted(m_results.items()):
        for hit in result.hits:
            key = finding_key(path, hit)
            seen.add(key)
            label = labels.get(key)
            mendbot.add(label)
            per_rule[hit.rule].add(label)
            if label is None and agreed_m.get(key) != "regular":
                todo_m.append(key + (f"  # zizmor {agreed_m[key]} only" if key in agreed_m else ""))
    for path, result in sorted(z_results.items()):
        for hit in result.hits:
            if hit.rule not in audits or hit.persona != "regular":
                continue
            key = finding_key(path, hit)
            seen.add(key)
            label = labels.get(key) or inherited.get(key)
            zizmor.add(label)
            per_audit[hit.rule].add(label)
            fate = per_audit_recall[hit.rule]
            fate.findings += 1
            if key in matched_z or (label is not None and label.matches in m_keys):
                fate.matched += 1  # also: the same problem as a mendbot finding elsewhere
            elif label is None and hit.rule in deliberate_audits:
                fate.deliberate += 1
            elif label is None:
                fate.unlabelled += 1
                todo_z.append(key)
            elif label.verdict == "fp":
                fate.zizmor_fp += 1
            elif label.deliberate:
                fate.deliberate += 1
            else:
                fate.missed += 1
                missed.append(key)
    for fate in per_audit_recall.values():
        recall.add(fate)
    # Fixes of findings a person did not label as false positives (unlabelled ones count).
    summary.fixable["mendbot not fp"] = sum(
        h.fixable and getattr(labels.get(finding_key(p, h)), "verdict", "") != "fp"
        for p, r in m_results.items()
        for h in r.hits
    )
    summary.fixable["zizmor not fp"] = sum(
        h.fixable
        and h.persona == "regular"
        and getattr(
            labels.get(finding_key(p, h)) or inherited.get(finding_key(p, h)), "verdict", ""
        )
        != "fp"
        for p, r in z_results.items()
        for h in r.hits
    )

    print(f"\n== precision (hand labels: {_relative_to_repo(labels_path)}, {len(labels)} labels)")
    print("   mendbot: every finding of every rule; zizmor: default-persona findings of the")
    print("   mapped audits, a zizmor finding taking the label of the mendbot finding it matched")
    _table("tool", {"mendbot": mendbot, "zizmor": zizmor})
    print()
    _table("mendbot rule", dict(per_rule))
    print()
    _table("zizmor audit (default persona)", dict(per_audit))
    print(
        "\n== recall on zizmor's findings (default persona, mapped audits): matched by a mendbot"
        "\n   finding; z fp = labelled fp; deliberate = labelled tp and left out on purpose;"
        "\n   recall = matched / (matched + missed + unlabelled)"
    )
    _recall_table(dict(per_audit_recall), recall)
    for audit, reason in sorted(deliberate_audits.items()):
        print(f"  deliberate, every unlabelled {audit} finding: {reason}")
    print(f"\n== true positives zizmor reports and mendbot misses ({len(missed)})")
    for key in missed:
        print(f"  {key}: {labels[key].reason}")
    stale = sorted(set(labels) - seen)
    print(f"\n== stale labels (match no finding; {len(stale)})")
    for key in stale:
        print(f"  {key}")
    print(
        f"\n== to label ({len(todo_m)} mendbot findings zizmor does not report by default, "
        f"{len(todo_z)} zizmor-only)"
    )
    for entry in [*todo_m, *todo_z]:
        key, _, note = entry.partition("  # ")
        print(f'  "{key}": {{label: , reason: }}' + (f"  # {note}" if note else ""))


def count_fixes(
    z_results: dict[str, FileResult], m_results: dict[str, FileResult], summary: CorpusSummary
) -> None:
    """Findings each tool proposes a fix for: every mendbot finding (its default rules), and
    zizmor's under its default persona and under ``auditor`` (all it can report)."""
    m_hits = [h for r in m_results.values() for h in r.hits]
    z_hits = [h for r in z_results.values() for h in r.hits]
    z_regular = [h for h in z_hits if h.persona == "regular"]
    for name, hits in (("mendbot", m_hits), ("zizmor", z_regular), ("zizmor auditor", z_hits)):
        summary.findings[name] = len(hits)
        summary.fixable[name] = sum(h.fixable for h in hits)
    print("\n== findings each tool can fix (mendbot: a fix not marked unfixable, offline;")
    print("   zizmor: a non-empty `fixes` in its JSON)")
    print(f"  {'tool':<24} {'findings':>8} {'fixable':>8}")
    for name in ("mendbot", "zizmor", "zizmor auditor"):
        print(f"  {name:<24} {summary.findings[name]:>8} {summary.fixable[name]:>8}")
    by_rule = Counter(h.rule for h in m_hits if h.fixable)
    by_audit = Counter(h.rule for h in z_hits if h.fixable)
    print("  mendbot by rule: " + ", ".join(f"{r} {n}" for r, n in sorted(by_rule.items())))
    print(
        "  zizmor by audit (any persona): "
        + ", ".join(f"{a} {n}" for a, n in sorted(by_audit.items()))
    )


def print_summary(summaries: list[CorpusSummary]) -> None:
    """Per audit, files both / only zizmor / only mendbot on every corpus; then recall,
    precision and fixable findings per corpus and overall."""
    print("\n\n== summary: files both / only zizmor / only mendbot, per audit and corpus")
    audits = [r.audit for r in summaries[0].results] if summaries else []
    header = f"  {'zizmor audit':<32}" + "".join(f" {s.name:>22}" for s in summaries)
    print(header)
    for audit in audits:
        cells = []
        for summary in summaries:
            r = next((x for x in summary.results if x.audit == audit), None)
            cell = (
                "-"
                if r is None
                else f"{len(r.both)} / {len(r.only_zizmor)} / {len(r.only_mendbot)}"
            )
            cells.append(f" {cell:>22}")
        print(f"  {audit:<32}" + "".join(cells))
    print(f"\n  {'measure':<40}" + "".join(f" {s.name:>22}" for s in summaries) + f" {'all':>22}")
    total_recall, total_m, total_z = Recall(), Tally(), Tally()
    fixable: Counter[str] = Counter()
    for summary in summaries:
        total_recall.add(summary.recall)
        for tally, part in ((total_m, summary.mendbot), (total_z, summary.zizmor)):
            tally.findings += part.findings
            tally.tp += part.tp
            tally.fp += part.fp
        fixable.update(summary.fixable)

    def share(part: int, whole: int) -> str:
        return f"{part}/{whole} = {100 * part / whole:.1f} %" if whole else "-"

    rows = [
        (
            "zizmor's findings mendbot matches (raw)",
            [share(s.recall.matched, s.recall.findings) for s in summaries],
            share(total_recall.matched, total_recall.findings),
        ),
        (
            "recall on zizmor's findings",
            [
                share(s.recall.matched, s.recall.matched + s.recall.missed + s.recall.unlabelled)
                for s in [*summaries]
            ],
            share(
                total_recall.matched,
                total_recall.matched + total_recall.missed + total_recall.unlabelled,
            ),
        ),
        (
            "mendbot precision (labelled)",
            [share(s.mendbot.tp, s.mendbot.tp + s.mendbot.fp) for s in summaries],
            share(total_m.tp, total_m.tp + total_m.fp),
        ),
        (
            "zizmor precision (labelled, default)",
            [share(s.zizmor.tp, s.zizmor.tp + s.zizmor.fp) for s in summaries],
            share(total_z.tp, total_z.tp + total_z.fp),
        ),
        (
            "mendbot findings it can fix",
            [str(s.fixable.get("mendbot", 0)) for s in summaries],
            str(fixable["mendbot"]),
        ),
        (
            "zizmor findings it can fix (default)",
            [str(s.fixable.get("zizmor", 0)) for s in summaries],
            str(fixable["zizmor"]),
        ),
        (
            "zizmor findings it can fix (auditor)",
            [str(s.fixable.get("zizmor auditor", 0)) for s in summaries],
            str(fixable["zizmor auditor"]),
        ),
        (
            "mendbot fixable, not labelled fp",
            [str(s.fixable.get("mendbot not fp", "-")) for s in summaries],
            str(fixable["mendbot not fp"]),
        ),
        (
            "zizmor fixable (default), not labelled fp",
            [str(s.fixable.get("zizmor not fp", "-")) for s in summaries],
            str(fixable["zizmor not fp"]),
        ),
    ]
    for name, cells, overall in rows:
        print(f"  {name:<40}" + "".join(f" {c:>22}" for c in cells) + f" {overall:>22}")
    if fixable["zizmor"] and fixable["zizmor not fp"]:
        print(
            f"  mendbot fixes / zizmor fixes: {fixable['mendbot'] / fixable['zizmor']:.2f}x "
            f"(default persona), {fixable['mendbot not fp'] / fixable['zizmor not fp']:.2f}x "
            "(findings not labelled fp)"
        )


def _relative_to_repo(path: Path) -> str:
    try:
        return path.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(path)


def compare_corpus(
    source: Path,
    labels_path: Path | None,
    selected_audits: list[str],
    jobs: int,
    env: dict[str, str],
    launcher: list[str],
    zizmor: list[str],
) -> tuple[CorpusSummary, bool]:
    """Run both tools on every file of ``source`` and print the corpus's report. Returns its
    summary and whether mendbot failed to answer in JSON for some file. Raises
    :class:`ValueError` when the labels cannot be read."""
    labels = load_labels(labels_path) if labels_path is not None else None
    deliberate = load_deliberate_audits(labels_path) if labels_path is not None else {}
    mendbot = [*launcher, "analyze", "--offline", "--format", "json"]
    corpus = collect(source)
    kinds = Counter(corpus.files.values())
    print(f"\n\n######## {_relative_to_repo(source)}")
    print("== corpus")
    print(f"source    {source}")
    print(
        f"compared  {len(corpus.files)} files: {kinds['workflow']} workflows, "
        f"{kinds['action']} actions, {kinds['dependabot']} Dependabot configurations"
    )
    reasons = Counter(corpus.skipped.values())
    print(
        f"skipped   {len(corpus.skipped)} YAML files: "
        + "; ".join(f"{n} {why}" for why, n in sorted(reasons.items()))
    )
    print("\n== tools (one child per file and tool, from the file's checkout)")
    m_version = _version(launcher[:1] if len(launcher) == 1 else launcher, env)
    print(f"mendbot   {m_version}: {_shown(mendbot)} FILE")
    print(f"zizmor    {_version([zizmor[0]], env)}: {_shown(zizmor)} FILE")

    paths = list(corpus.files)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        z_futures = {p: pool.submit(run_one, "zizmor", zizmor, p, source, env) for p in paths}
        m_futures = {p: pool.submit(run_one, "mendbot", mendbot, p, source, env) for p in paths}
        z_results = {p: f.result() for p, f in z_futures.items()}
        m_results = {p: f.result() for p, f in m_futures.items()}

    print("\n== errors (files a tool could not analyse; they count as no findings)")
    errors = [
        (name, path, result.error)
        for name, results in (("zizmor", z_results), ("mendbot", m_results))
        for path, result in results.items()
        if result.error
    ]
    for name, path, error in errors:
        print(f"  {name:<8} {path}: {error}")
    if not errors:
        print("  none")
    # zizmor refusing a schema-invalid file is expected; mendbot must always answer in JSON.
    failed = any(name == "mendbot" and "no JSON" in error for name, _, error in errors)

    shipped = mendbot_rules(launcher, env)
    selected = {a: r for a, r in MAPPINGS.items() if not selected_audits or a in selected_audits}
    absent = {a: r for a, r in selected.items() if shipped is not None and not set(r) & shipped}
    results = [
        compare(audit, rules, z_results, m_results)
        for audit, rules in selected.items()
        if audit not in absent
    ]
    summary = CorpusSummary(name=source.name, results=results)
    print(
        "\n== agreement per mapping (files: z = zizmor, z reg = files zizmor reports under its "
        "default persona;\n   findings │ matched = zizmor findings with a mendbot finding at the "
        "same route/line,\n   (reg) = unmatched zizmor findings of its default persona)"
    )
    print_table(results)
    for audit, rules in absent.items():
        names = ", ".join(r.removeprefix("gha-") for r in rules)
        print(f"{audit:<32} {names:<34} skipped: this mendbot has no such rule")
    for audit, why in SKIPPED.items():
        names = ", ".join(r.removeprefix("gha-") for r in ZIZMOR_AUDITS[audit])
        print(f"{audit:<32} {names:<34} skipped: {why}")

    print("\n== disagreements (L<line>; [persona] = zizmor reports it only with that persona)")
    print_disagreements(results)

    mapped = set(ZIZMOR_AUDITS)
    unmapped = Counter(h.rule for r in z_results.values() for h in r.hits if h.rule not in mapped)
    print("\n== zizmor audits without a mendbot counterpart (findings; not compared)")
    print("  " + (", ".join(f"{a} {n}" for a, n in sorted(unmapped.items())) or "none"))
    own = Counter(
        h.rule
        for r in m_results.values()
        for h in r.hits
        if not any(h.rule in rules for rules in MAPPINGS.values())
    )
    print("== mendbot rules without a zizmor counterpart (findings; not compared)")
    print("  " + (", ".join(f"{a} {n}" for a, n in sorted(own.items())) or "none"))
    if labels is not None and labels_path is not None:
        print_precision(results, z_results, m_results, labels, labels_path, summary, deliberate)
    count_fixes(z_results, m_results, summary)
    return summary, failed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--source",
        type=Path,
        action="append",
        default=[],
        help="corpus directory (repeatable; default: the zizmor corpus and the real-world one)",
    )
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="parallel children")
    parser.add_argument(
        "--audit", action="append", default=[], help="compare only this zizmor audit (repeatable)"
    )
    parser.add_argument(
        "--labels",
        type=Path,
        help="hand labels (only with one --source; default: benchmarks/labels/<corpus>.yml)",
    )
    args = parser.parse_args(argv)
    sources = find_sources(args.source)
    if not sources:
        return _die("no corpus found; pass --source DIR")
    if args.labels is not None and len(sources) > 1:
        return _die("--labels names the labels of one corpus: pass one --source with it")
    env = child_env()
    zizmor_bin = _beside_python("zizmor")
    mendbot_bin = _beside_python("mendbot")
    if zizmor_bin is None:
        return _die("zizmor not found: pip install -e '.[bench]'")
    launcher = [mendbot_bin] if mendbot_bin else [sys.executable, "-m", "bot"]
    zizmor = zizmor_argv(zizmor_bin, env)
    summaries = []
    failed = False
    for source in sources:
        labels_path = args.labels
        if labels_path is None and DEFAULT_LABELS.get(source, Path("/nonexistent")).is_file():
            labels_path = DEFAULT_LABELS[source]
        try:
            summary, corpus_failed = compare_corpus(
                source, labels_path, args.audit, args.jobs, env, launcher, zizmor
            )
        except ValueError as exc:
            return _die(str(exc))
        summaries.append(summary)
        failed = failed or corpus_failed
    print_summary(summaries)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
