"""A cache of per-file analysis results, safe to share between runs.

An entry is found by a key over everything a file's result is computed from: the text read,
its path and repository, the configuration (and the repository's ``zizmor.yml``), the rules,
the fix mode, mendbot's version and code. A result that also depends on other files (callers of
a reusable workflow, the workflow folder, a local action: see :mod:`bot.outside_reads`) stores
a digest of each of them, and is served only while they all still match. A result that asked
the network is never stored: its answers may change between runs.

Entries are written atomically (a temporary file renamed into place) and carry a checksum of
their content (the first line): a corrupt, truncated or foreign entry is ignored and
rewritten, never served.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bot
from bot import outside_reads
from bot.analyze.inputs import Input
from bot.config import Config, find_zizmor_config
from bot.detectors.interface import Detection
from bot.models import FileError, Finding, Fix, FixMode

#: The layout of entries; bump when it changes.
_FORMAT = "1"
_ACTION_FILES = ("action.yml", "action.yaml")


class Miss:
    """What :meth:`ResultCache.load` returns when it has no usable entry."""


MISS = Miss()


@dataclass(frozen=True)
class FileResult:
    """One file's result as the pipeline uses it: None (not a workflow, skipped quietly), an
    error, or the detections with the fixing run (see ``bot.analyze.pipeline``)."""

    outcome: Any
    reads: frozenset[outside_reads.Read] = frozenset()


def code_digest() -> str:
    """A digest of mendbot's version and of its installed code (names, sizes, times)."""
    package = Path(bot.__file__).parent
    hasher = hashlib.sha256(bot.__version__.encode())
    for path in sorted(package.rglob("*")):
        if path.suffix in (".py", ".yml", ".json"):
            status = path.stat()
            hasher.update(
                f"{path.relative_to(package)}:{status.st_size}:{status.st_mtime_ns}".encode()
            )
    return hasher.hexdigest()


class ResultCache:
    """Entries under ``folder`` for one configuration of a run (``settings``: anything JSON
    that changes results, the rules and configuration among them)."""

    def __init__(self, folder: Path, settings: Any) -> None:
        self.folder = folder / "analysis" / f"v{_FORMAT}"
        canonical = json.dumps([code_digest(), settings], sort_keys=True, default=str)
        self._run = hashlib.sha256(canonical.encode()).hexdigest()
        self._digests: dict[outside_reads.Read, str] = {}
        self._roots: dict[Path, str] = {}

    def key(self, item: Input, root: Path, text: str) -> str:
        """The key of ``item`` (read as ``text``) in this run's configuration."""
        hasher = hashlib.sha256()
        for part in (self._run, self._resolved(root), item.relative, str(item.explicit)):
            hasher.update(part.encode("utf-8", "surrogatepass") + b"\0")
        hasher.update(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest())
        return hasher.hexdigest()

    def _resolved(self, root: Path) -> str:
        found = self._roots.get(root)
        if found is None:
            found = self._roots[root] = str(root.resolve())
        return found

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def load(self, key: str) -> Any:
        """The outcome stored under ``key``, or :data:`MISS` when there is none, it is
        unreadable, corrupt, or a file it depends on changed."""
        try:
            check, _, raw = self._path(key).read_bytes().partition(b"\n")
            if check.decode() != hashlib.sha256(raw).hexdigest():
                return MISS
            body = json.loads(raw)
            if body["key"] != key:
                return MISS
            reads = [tuple(read) for read in body["reads"]]
            if any(self.digest((kind, where)) != digest for kind, where, digest in reads):
                return MISS
            return _decode(body["outcome"])
        except (OSError, ValueError, KeyError, TypeError):
            return MISS

    def store(self, key: str, result: FileResult) -> None:
        """Store ``result`` under ``key`` unless it depends on the network; errors writing
        the cache never fail the analysis."""
        if any(kind == outside_reads.NETWORK for kind, _ in result.reads):
            return
        body = {
            "key": key,
            "reads": [[*read, self.digest(read)] for read in sorted(result.reads)],
            "outcome": _encode(result.outcome),
        }
        raw = json.dumps(body).encode()
        data = hashlib.sha256(raw).hexdigest().encode() + b"\n" + raw
        target = self._path(key)
        with contextlib.suppress(OSError):
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(data)
                os.replace(temporary, target)
            except OSError:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)

    def digest(self, read: outside_reads.Read) -> str:
        """What ``read`` reads now (computed once per run)."""
        found = self._digests.get(read)
        if found is None:
            found = self._digests[read] = _digest_of(read)
        return found


def run_settings(
    config: Config,
    root: Path,
    only_rules: Sequence[str],
    fix_mode: FixMode | None,
    online: bool,
) -> list[Any]:
    """What, besides a file, decides its result in a run: the configuration, the repository's
    ``zizmor.yml``, the rules asked for, the fix mode and whether the network may be asked."""
    zizmor = find_zizmor_config(root)
    return [
        config.model_dump(mode="json"),
        None if zizmor is None else _file_digest(zizmor),
        sorted(only_rules),
        None if fix_mode is None else fix_mode.value,
        online,
    ]


def _file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        return f"unreadable:{exc.errno}"


def _listed_digest(path: Path) -> str:
    """A workflow folder entry: the bytes of a workflow file, nothing for anything else."""
    return _file_digest(path) if path.suffix in (".yml", ".yaml") else ""


def _digest_of(read: outside_reads.Read) -> str:
    kind, where = read
    place = Path(where)
    parts: list[str] = []
    if kind == outside_reads.FILE:
        parts.append(_file_digest(place) if place.is_file() else "absent")
    elif kind == outside_reads.WORKFLOW_FOLDER:
        folder = place / ".github" / "workflows"
        try:
            names = sorted(p.name for p in folder.iterdir())
        except OSError:
            names = None
        if names is None:
            parts.append("absent")
        parts.extend(f"{name}={_listed_digest(folder / name)}" for name in names or ())
    elif kind == outside_reads.ACTION_FILES:
        found = [place / name for name in _ACTION_FILES if (place / name).is_file()]
        for walked, _, files in os.walk(place / ".github"):
            found.extend(Path(walked, name) for name in files if name in _ACTION_FILES)
        parts.extend(f"{p.relative_to(place)}={_file_digest(p)}" for p in sorted(found))
    else:
        return "never"  # the network: such results are not stored
    return hashlib.sha256("\n".join([kind, *parts]).encode()).hexdigest()


def _encode(outcome: Any) -> dict[str, Any]:
    if outcome is None:
        return {"kind": "none"}
    if isinstance(outcome, FileError):
        return {"kind": "error", "error": outcome.model_dump(mode="json")}
    detections, _text, run = outcome
    return {
        "kind": "ok",
        "detections": [
            {
                "finding": d.finding.model_dump(mode="json"),
                "fix": None if d.fix is None else d.fix.model_dump(mode="json"),
                "no_fix_reason": d.no_fix_reason,
            }
            for d in detections
        ],
        "run": None
        if run is None
        else {
            "text": run.text,
            "applied": sorted(run.applied),
            "refused": run.refused,
            "left": run.left,
        },
    }


def _decode(data: dict[str, Any]) -> Any:
    """An outcome without its text (the caller has it): None, a FileError, or
    ``(detections, run fields)``."""
    if data["kind"] == "none":
        return None
    if data["kind"] == "error":
        return FileError.model_validate(data["error"])
    detections: Sequence[Detection] = [
        Detection(
            finding=Finding.model_validate(d["finding"]),
            fix=None if d["fix"] is None else Fix.model_validate(d["fix"]),
            no_fix_reason=d["no_fix_reason"],
        )
        for d in data["detections"]
    ]
    return list(detections), data["run"]
