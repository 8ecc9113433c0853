"""A cache of per-file analysis results, safe to share between runs.

An entry is found by a key over everything a file's result is computed from: the text read,
its path and repository, the configuration (and the repository's ``zizmor.yml``), the rules,
the fix mode, mendbot's version and code. A result that also depends on other files (callers of
a reusable workflow, the workflow folder, a local action: see :mod:`bot.outside_reads`) stores
a digest of each of them, and is served only while they all still match. A result that asked
the network is never stored: its answers may change between runs.

The entries of one repository analysed with one configuration live in one *pack* file, one
entry per file path (a newer result for a path replaces the older one), read once per run and
written once at its end, only when an entry changed. A pack is written atomically (a temporary
file renamed into place) and carries a checksum of its content (the first line): a corrupt,
truncated or foreign pack is ignored whole and rewritten, never served. Two runs writing the same
pack at once leave one of the two, complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel

import bot
from bot import outside_reads
from bot.analyze.inputs import Input
from bot.config import Config, find_zizmor_config
from bot.detectors.interface import Detection
from bot.models import FileError, Finding, Fix, FixMode

#: The layout of packs; bump when it changes.
_FORMAT = "3"
#: A pack of the installed code not used (read or written) for this long is removed: its
#: repository or configuration is gone, or rarely analysed.
KEEP_UNUSED_SECONDS = 30 * 24 * 3600
#: Anything else under the cache's ``analysis`` folder (packs of another version of mendbot or
#: another layout, temporary files of interrupted writes) not touched for this long is removed.
KEEP_FOREIGN_SECONDS = 3600
#: The cache is pruned at most once per this many seconds (a marker file's time).
PRUNE_EVERY_SECONDS = 3600
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


class CacheKey(NamedTuple):
    """Where an entry lives and what it must match."""

    pack: str
    """The pack: this run's configuration and the repository."""
    name: str
    """The file's repository-relative path: its entry in the pack."""
    digest: str
    """Everything the result is computed from; an entry is served only when it matches."""


@dataclass
class _Pack:
    """The entries of one pack: path → the entry's JSON line, as read or newly stored."""

    entries: dict[str, bytes] = field(default_factory=dict)
    changed: bool = False


def code_digest() -> str:
    """A digest of mendbot's version and of its installed code and data (names and bytes):
    the rules' identity among them, derived without importing a rule. Bytes rather than sizes
    and times, so that an edit keeping both is still a change (2.6 MB: a few milliseconds)."""
    package = Path(bot.__file__).parent
    hasher = hashlib.sha256(bot.__version__.encode())
    for path in sorted(package.rglob("*")):
        if path.suffix in (".py", ".yml", ".json"):
            data = path.read_bytes()
            hasher.update(f"\0{path.relative_to(package)}\0{len(data)}\0".encode())
            hasher.update(data)
    return hasher.hexdigest()


class ResultCache:
    """Entries under ``folder`` for one configuration of a run (``settings``: anything JSON
    that changes results, the rules and configuration among them). Stored entries reach the
    disk with :meth:`save`."""

    def __init__(self, folder: Path, settings: Any) -> None:
        code = code_digest()
        self.top = folder / "analysis"
        self.folder = self.top / f"v{_FORMAT}" / code[:32]
        """This code's packs: one folder per version of mendbot's code, so that packs of
        other versions are told apart without reading them (see :func:`prune`)."""
        canonical = json.dumps([code, settings], sort_keys=True, default=str)
        self._run = hashlib.sha256(canonical.encode()).hexdigest()
        self._digests: dict[outside_reads.Read, str] = {}
        self._roots: dict[Path, str] = {}
        self._packs: dict[str, _Pack] = {}
        self._read: dict[str, str] = {}
        """Absolute path → digest of the bytes this run read from it (see :meth:`key`)."""

    def key(self, item: Input, root: Path, text: str) -> CacheKey:
        """The key of ``item`` (read as ``text``) in this run's configuration.

        The digest of ``text`` also stands for the file's bytes when another file's entry
        depends on this one (the workflow folder): what the analysis read is what is compared.
        """
        resolved = self._resolved(root)
        content = hashlib.sha256(text.encode("utf-8", "surrogatepass"))
        self._read[os.path.abspath(item.path)] = content.hexdigest()
        hasher = hashlib.sha256()
        for part in (self._run, resolved, item.relative, str(item.explicit)):
            hasher.update(part.encode("utf-8", "surrogatepass") + b"\0")
        hasher.update(content.digest())
        pack = hashlib.sha256(f"{self._run}\0{resolved}".encode("utf-8", "surrogatepass"))
        return CacheKey(pack.hexdigest(), item.relative, hasher.hexdigest())

    def _resolved(self, root: Path) -> str:
        found = self._roots.get(root)
        if found is None:
            found = self._roots[root] = str(root.resolve())
        return found

    def _path(self, pack: str) -> Path:
        return self.folder / f"{pack}.pack"

    def _pack(self, name: str) -> _Pack:
        found = self._packs.get(name)
        if found is None:
            path = self._path(name)
            found = self._packs[name] = _read_pack(path)
            if found.entries:
                with contextlib.suppress(OSError):
                    os.utime(path)  # in use: pruning keeps it (its time is its last use)
        return found

    def load(self, key: CacheKey) -> Any:
        """The outcome stored under ``key``, or :data:`MISS` when there is none, it is
        unreadable, corrupt, or a file it depends on changed."""
        line = self._pack(key.pack).entries.get(key.name)
        if line is None:
            return MISS
        try:
            entry = _parsed(line)
        except ValueError:
            return MISS
        if entry.key != key.digest:
            return MISS
        if any(self.digest((kind, where)) != digest for kind, where, digest in entry.reads):
            return MISS
        return entry.outcome.restored()

    def store(self, key: CacheKey, result: FileResult) -> None:
        """Keep ``result`` under ``key`` unless it depends on the network."""
        if any(kind == outside_reads.NETWORK for kind, _ in result.reads):
            return
        body = {
            "key": key.digest,
            "reads": [[*read, self.digest(read)] for read in sorted(result.reads)],
            "outcome": _encode(result.outcome),
        }
        pack = self._pack(key.pack)
        pack.entries[key.name] = json.dumps(body).encode()
        pack.changed = True

    def save(self) -> None:
        """Write the packs that changed, then prune the cache (at most once per
        :data:`PRUNE_EVERY_SECONDS`); errors writing the cache never fail the analysis."""
        for name, pack in self._packs.items():
            if pack.changed:
                _write_pack(self._path(name), pack)
                pack.changed = False
        now = time.time()
        marker = self.top / "pruned"
        with contextlib.suppress(OSError):
            if now - marker.stat().st_mtime < PRUNE_EVERY_SECONDS:
                return
        with contextlib.suppress(OSError):
            marker.touch()  # first, so that runs ending together do not all prune
        prune(self.top, self.folder, now)

    def digest(self, read: outside_reads.Read) -> str:
        """What ``read`` reads now (computed once per run)."""
        found = self._digests.get(read)
        if found is None:
            found = self._digests[read] = _digest_of(read, self._read)
        return found


def prune(top: Path, current: Path, now: float) -> list[Path]:
    """Remove what under ``top`` (the cache's ``analysis`` folder) no run will use again:
    packs in ``current`` (the installed code's folder) unused for :data:`KEEP_UNUSED_SECONDS`
    (and its other files), and every other file (another code's packs, another layout's,
    temporary files) untouched for :data:`KEEP_FOREIGN_SECONDS`; then the folders left
    empty. Returns what was removed.

    Safe while other runs use the cache: a run reading a pack has all of it in memory (or
    none: a missing pack is an empty one, its files are analysed again), a run writing one
    renames a complete file into place (into a folder it creates again if needed), and a
    folder is only removed when empty (``rmdir``). What is in use has a recent time: a run
    touches the packs it reads. Errors are ignored: pruning never fails an analysis.
    """
    removed: list[Path] = []
    for walked, folders, files in os.walk(top, topdown=False):
        place = Path(walked)
        for name in files:
            path = place / name
            if place == top:
                continue  # the marker
            keep = KEEP_UNUSED_SECONDS
            if place != current or name.startswith(".tmp-"):
                keep = KEEP_FOREIGN_SECONDS
            with contextlib.suppress(OSError):
                if now - path.lstat().st_mtime > keep:
                    path.unlink()
                    removed.append(path)
        for name in folders:
            with contextlib.suppress(OSError):
                (place / name).rmdir()  # only when empty: a folder in use is not
                removed.append(place / name)
    return removed


def read_checked(path: Path) -> bytes | None:
    """The content :func:`write_checked` wrote at ``path``; None when it is missing,
    truncated or altered."""
    try:
        check, _, content = path.read_bytes().partition(b"\n")
    except OSError:
        return None
    if check.decode("ascii", "replace") != hashlib.sha256(content).hexdigest():
        return None
    return content


def _read_pack(path: Path) -> _Pack:
    """The entries of the pack at ``path``; none when it is missing, truncated or altered."""
    content = read_checked(path)
    if content is None:
        return _Pack()
    entries: dict[str, bytes] = {}
    try:
        for line in content.splitlines():
            name, _, entry = line.partition(b"\t")
            entries[json.loads(name)] = entry
    except ValueError:
        return _Pack()
    return _Pack(entries)


def _write_pack(path: Path, pack: _Pack) -> None:
    """Write ``pack`` whole (see :func:`write_checked`)."""
    # One line per entry: the path and the entry as JSON, which escapes tabs and line breaks.
    content = b"".join(
        json.dumps(name).encode() + b"\t" + pack.entries[name] + b"\n"
        for name in sorted(pack.entries)
    )
    write_checked(path, content)


def write_checked(path: Path, content: bytes) -> None:
    """Write ``content`` after a line with its checksum to a temporary file renamed over
    ``path``: a reader sees the old file or the new one, never a part, and
    :func:`read_checked` refuses one truncated or altered. Errors are ignored (a cache)."""
    data = hashlib.sha256(content).hexdigest().encode() + b"\n" + content
    for _ in range(2):  # once more when a concurrent prune removed the folder just made
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        except OSError:
            continue
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        return


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


def _file_digest(path: Path, read: dict[str, str] | None = None) -> str:
    """The digest of the file's bytes: as this run read them when it did (``read``)."""
    known = None if read is None else read.get(os.path.abspath(path))
    if known is not None:
        return known
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        return f"unreadable:{exc.errno}"


def _listed_digest(path: Path, read: dict[str, str]) -> str:
    """A workflow folder entry: the bytes of a workflow file, nothing for anything else."""
    return _file_digest(path, read) if outside_reads.is_workflow_name(path.name) else ""


def _digest_of(read: outside_reads.Read, texts: dict[str, str]) -> str:
    """The digest of what ``read`` reads now (``texts``: the files this run read)."""
    kind, where = read
    place = Path(where)
    parts: list[str] = []
    if kind == outside_reads.FILE:
        parts.append(_file_digest(place, texts) if place.is_file() else "absent")
    elif kind == outside_reads.WORKFLOW_FOLDER:
        folder = place / ".github" / "workflows"
        try:
            names = sorted(p.name for p in folder.iterdir())
        except OSError:
            names = None
        if names is None:
            parts.append("absent")
        elif sum(map(outside_reads.is_workflow_name, names)) > outside_reads.WORKFLOW_FOLDER_LIMIT:
            # Nothing reads such a folder's files: a result depends on its size alone, and
            # editing one of 5,000 workflows does not invalidate the other 4,999.
            names = None
            parts.append(f"more than {outside_reads.WORKFLOW_FOLDER_LIMIT} workflows")
        parts.extend(f"{name}={_listed_digest(folder / name, texts)}" for name in names or ())
    elif kind == outside_reads.ACTION_FILES:
        found = [place / name for name in _ACTION_FILES if (place / name).is_file()]
        for walked, _, files in os.walk(place / ".github"):
            found.extend(Path(walked, name) for name in files if name in _ACTION_FILES)
        parts.extend(f"{p.relative_to(place)}={_file_digest(p, texts)}" for p in sorted(found))
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
                "id": d.finding.id,
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


def _parsed(line: bytes) -> _StoredEntry:
    """The entry stored as ``line``; raises ValueError when it is not one."""
    try:
        # Parsed and validated in one pass of native code, without Python dicts between.
        return _StoredEntry.model_validate_json(line)
    except ValueError:
        # Its JSON parser refuses the escape of a lone surrogate (a file name that is not
        # UTF-8, as Python decodes it), which Python's writes and reads back.
        return _StoredEntry.model_validate(json.loads(line))


class _StoredDetection(BaseModel):
    """A detection as :func:`_encode` stores it."""

    finding: Finding
    id: str
    fix: Fix | None
    no_fix_reason: str | None

    def restored(self) -> Detection:
        """The detection, its finding keeping the id it had when stored: the id is a digest of
        the finding's fields computed by this same code (the code is part of every key), so it
        is not computed again for each finding served."""
        self.finding.__dict__["id"] = self.id  # what the cached property would compute and keep
        return Detection(finding=self.finding, fix=self.fix, no_fix_reason=self.no_fix_reason)


class _StoredOutcome(BaseModel):
    """An outcome as :func:`_encode` stores it."""

    kind: Literal["none", "error", "ok"]
    error: FileError | None = None
    detections: list[_StoredDetection] = []
    run: dict[str, Any] | None = None

    def restored(self) -> Any:
        """The outcome without its text (the caller has it): None, a FileError, or
        ``(detections, run fields)``."""
        if self.kind == "none":
            return None
        if self.kind == "error":
            return self.error
        return [d.restored() for d in self.detections], self.run


class _StoredEntry(BaseModel):
    """One pack entry: the key it was stored under, the outside reads it depends on (kind,
    place, digest) and the outcome."""

    key: str
    reads: list[tuple[str, str, str]]
    outcome: _StoredOutcome
