"""``mendbot fleet merge``: the shards' reports and bundles as one sequential run's.

A shard folder holds what one matrix job wrote (see docs/fleet.md)::

    SHARD/report.json    mendbot analyze CHECKOUTS --format json (files named REPO/...)
    SHARD/report.sarif   the same analysis as SARIF (optional, but then in every shard)
    SHARD/bundles/...    remediation bundles (optional)

Every report names its files ``REPO/path`` relative to the folder of checkouts, which is how
``mendbot analyze`` names them for a folder holding all the repositories, and orders findings by
path: so the merged report is the shards' entries in that order, byte for byte what one run over
every checkout writes. A shard folder uploaded twice (identical report) counts once; the same
repository in two different shards, or two bundles at the same name with different bytes, is a
conflict naming both. Everything is checked before anything is written, and the output appears
at once (a temporary folder renamed), so a failed merge leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.errors import InputError, UsageError, WriteError

REPORT_JSON = "report.json"
REPORT_SARIF = "report.sarif"
BUNDLES = "bundles"

_REPORT_ADVICE = (
    "each shard folder must hold the report.json (and report.sarif) `mendbot analyze` wrote for "
    "that shard's checkouts; rerun the shard's job if its upload is missing or damaged"
)


class MergeConflict(InputError):
    """Two shards disagree about the same thing (a repository, a bundle, the mendbot version)."""


@dataclass(frozen=True)
class Merged:
    """The merged outputs: file name (relative to the output folder) → bytes."""

    files: dict[str, bytes]
    report: dict[str, Any]
    """The merged JSON report (for the summary)."""
    duplicates: tuple[Path, ...]
    """Shard folders skipped because an identical one came first."""


def repository_of(path: str) -> str:
    """The repository a report path belongs to: its first segment (``REPO/.github/...``)."""
    return path.split("/", 1)[0]


def merge_shards(shards: Iterable[Path]) -> Merged:
    """Merge the shard folders (see the module docstring); raises :class:`InputError` (or
    :class:`MergeConflict`) naming the file and what is wrong."""
    folders = list(shards)
    if not folders:
        raise UsageError("name at least one shard folder")
    seen: dict[bytes, Path] = {}
    unique: list[Path] = []
    duplicates: list[Path] = []
    for folder in folders:
        if not folder.is_dir():
            raise InputError(f"{folder}: not a folder", advice=_REPORT_ADVICE)
        raw = _read(folder / REPORT_JSON)
        if raw in seen:
            duplicates.append(folder)
            continue
        seen[raw] = folder
        unique.append(folder)
    reports = [_json_report(folder / REPORT_JSON) for folder in unique]
    _check_one_version(reports)
    _check_repositories_apart(reports)
    files = {REPORT_JSON: _dump(_merge_json(reports))}
    with_sarif = [folder for folder in unique if (folder / REPORT_SARIF).exists()]
    if with_sarif and len(with_sarif) != len(unique):
        missing = next(folder for folder in unique if folder not in with_sarif)
        raise InputError(
            f"{missing / REPORT_SARIF}: missing, while {with_sarif[0] / REPORT_SARIF} exists",
            advice=_REPORT_ADVICE,
        )
    if with_sarif:
        logs = [_sarif_log(folder / REPORT_SARIF) for folder in unique]
        files[REPORT_SARIF] = _dump(_merge_sarif(logs))
    for name, data in _bundles(folders).items():
        files[f"{BUNDLES}/{name}"] = data
    return Merged(files=files, report=json.loads(files[REPORT_JSON]), duplicates=tuple(duplicates))


def write_merged(merged: Merged, out: Path) -> None:
    """Create ``out`` holding the merged files, all at once; refuses a non-empty ``out``."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(
            f"{out} already exists and is not an empty folder",
            advice="choose a new --out folder (nothing is overwritten)",
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for name, data in sorted(merged.files.items()):
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        if out.exists():
            out.rmdir()
        os.replace(staging, out)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise WriteError(f"cannot write {out}: {exc.strerror or exc}") from None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: missing", advice=_REPORT_ADVICE) from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})", advice=_REPORT_ADVICE) from None


def _load(path: Path) -> Any:
    try:
        return json.loads(_read(path))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not JSON ({exc})", advice=_REPORT_ADVICE) from None


def _require(ok: bool, path: Path, field: str, expected: str) -> None:
    if not ok:
        raise InputError(f"{path}: {field} must be {expected}", advice=_REPORT_ADVICE)


def _json_report(path: Path) -> dict[str, Any]:
    document = _load(path)
    _require(isinstance(document, dict), path, "the document", "a JSON object")
    tool = document.get("tool")
    _require(
        isinstance(tool, dict) and tool.get("name") == "mendbot", path, "tool.name", '"mendbot"'
    )
    _require(isinstance(tool.get("version"), str), path, "tool.version", "a string")
    summary = document.get("summary")
    _require(isinstance(summary, dict), path, "summary", "an object")
    for key, value in summary.items():
        _require(type(value) is int, path, f"summary.{key}", "an integer")
    for key in ("findings", "errors", "fix_limits", "reverted"):
        entries = document.get(key)
        _require(isinstance(entries, list), path, key, "a list")
        for index, entry in enumerate(entries):
            _require(isinstance(entry, dict), path, f"{key}[{index}]", "an object")
            if key != "reverted":
                _require(
                    isinstance(entry.get("path"), str), path, f"{key}[{index}].path", "a string"
                )
    return {"path": path, "document": document}


def _check_one_version(reports: list[dict[str, Any]]) -> None:
    first = reports[0]["document"]["tool"]["version"]
    for report in reports[1:]:
        version = report["document"]["tool"]["version"]
        if version != first:
            raise MergeConflict(
                f"{report['path']} was written by mendbot {version}, {reports[0]['path']} by "
                f"{first}",
                advice="run every shard with the same mendbot version (pin it in the workflow)",
            )


def _check_repositories_apart(reports: list[dict[str, Any]]) -> None:
    owner: dict[str, Path] = {}
    for report in reports:
        document = report["document"]
        names = {
            repository_of(entry["path"])
            for key in ("findings", "errors", "fix_limits")
            for entry in document[key]
        }
        for name in sorted(names):
            if name in owner and owner[name] != report["path"]:
                raise MergeConflict(
                    f"repository {name!r} is in both {owner[name]} and {report['path']}",
                    advice="each repository belongs to one shard; merge the shards of one plan",
                )
            owner[name] = report["path"]


def _merge_json(reports: list[dict[str, Any]]) -> dict[str, Any]:
    documents = [report["document"] for report in reports]
    first = documents[0]
    summary = {key: sum(d["summary"].get(key, 0) for d in documents) for key in first["summary"]}

    def by_repository(entry: dict[str, Any]) -> str:
        return repository_of(entry["path"])

    def joined(key: str) -> list[Any]:
        return [entry for document in documents for entry in document[key]]

    merged: dict[str, Any] = {}
    for key in first:
        if key == "summary":
            merged[key] = summary
        elif key == "findings":
            merged[key] = sorted(joined(key), key=lambda e: e["path"])
        elif key in ("errors", "fix_limits"):
            merged[key] = sorted(joined(key), key=by_repository)
        elif key == "reverted":
            merged[key] = sorted(joined(key), key=lambda e: json.dumps(e, sort_keys=True))
        else:
            merged[key] = first[key]
    return merged


def _sarif_log(path: Path) -> dict[str, Any]:
    log = _load(path)
    _require(isinstance(log, dict), path, "the document", "a JSON object")
    runs = log.get("runs")
    _require(isinstance(runs, list) and len(runs) == 1, path, "runs", "a list of one run")
    run = runs[0]
    _require(isinstance(run, dict), path, "runs[0]", "an object")
    _require(isinstance(run.get("results"), list), path, "runs[0].results", "a list")
    invocations = run.get("invocations")
    one_invocation = isinstance(invocations, list) and len(invocations) == 1
    _require(
        one_invocation and isinstance(invocations[0], dict),
        path,
        "runs[0].invocations",
        "a list of one invocation",
    )
    _require(
        isinstance(invocations[0].get("toolExecutionNotifications"), list),
        path,
        "runs[0].invocations[0].toolExecutionNotifications",
        "a list",
    )
    for index, result in enumerate(run["results"]):
        _require(
            isinstance(_uri(result), str),
            path,
            f"runs[0].results[{index}].locations[0].physicalLocation.artifactLocation.uri",
            "a string",
        )
    return {"path": path, "log": log}


def _uri(entry: Any) -> Any:
    try:
        return entry["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    except (KeyError, IndexError, TypeError):
        return None


def _merge_sarif(logs: list[dict[str, Any]]) -> dict[str, Any]:
    first = logs[0]["log"]
    run0 = first["runs"][0]
    for other in logs[1:]:
        if other["log"]["runs"][0].get("tool") != run0.get("tool"):
            raise MergeConflict(
                f"{other['path']} and {logs[0]['path']} describe different tools or rule sets",
                advice="run every shard with the same mendbot version and configuration",
            )
    runs = [entry["log"]["runs"][0] for entry in logs]
    results = sorted([r for run in runs for r in run["results"]], key=lambda r: str(_uri(r)))
    notifications = sorted(
        [n for run in runs for n in run["invocations"][0]["toolExecutionNotifications"]],
        key=lambda n: repository_of(str(_uri(n) or "")),
    )
    invocation = dict(run0["invocations"][0])
    invocation["executionSuccessful"] = all(
        run["invocations"][0].get("executionSuccessful") is True for run in runs
    )
    invocation["toolExecutionNotifications"] = notifications
    run = {
        key: (results if key == "results" else [invocation] if key == "invocations" else value)
        for key, value in run0.items()
    }
    return {key: ([run] if key == "runs" else value) for key, value in first.items()}


def _bundles(folders: list[Path]) -> dict[str, bytes]:
    """Every file under the shards' ``bundles/`` by relative name; the same name twice must
    hold the same bytes."""
    found: dict[str, tuple[bytes, Path]] = {}
    for folder in folders:
        root = folder / BUNDLES
        if not root.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames) + [d for d in dirnames if Path(dirpath, d).is_symlink()]:
                path = Path(dirpath) / name
                if path.is_symlink() or not path.is_file():
                    raise InputError(
                        f"{path}: not a regular file (a link or a special file)",
                        advice="a bundle folder holds regular files only; rerun the shard",
                    )
                relative = path.relative_to(root).as_posix()
                data = _read(path)
                if relative in found and found[relative][0] != data:
                    raise MergeConflict(
                        f"two different bundles named {relative}: {found[relative][1]} and {path}",
                        advice="a bundle name belongs to one remediation of one repository; "
                        "merge the shards of one run, or remove the stale one",
                    )
                found.setdefault(relative, (data, path))
    return {name: data for name, (data, _) in sorted(found.items())}


def _dump(document: dict[str, Any]) -> bytes:
    """JSON as ``mendbot analyze`` writes it (indent 2, UTF-8, final newline)."""
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
