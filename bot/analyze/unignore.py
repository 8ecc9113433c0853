"""``mendbot unignore``: a person brings back a remediation that was reverted.

A reverted remediation is remembered by git (:mod:`bot.provenance.reverted`) and skipped by
``analyze --fix``, ``--bundle-out`` and ``propose`` until its id is listed under
``propose.allow_reverted`` in ``.github/mendbot.yml``. This writes that entry through the YAML
engine, so every comment, quote and blank line of the file stays as it was, checks that the
result is a valid configuration before anything is written, and writes all or nothing.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bot import git
from bot.analyze.fix_writer import write_all
from bot.config import DEFAULT_LOCATIONS, find_config, load_config
from bot.detectors.rule_registry import rule_options
from bot.errors import MendbotError, WriteError
from bot.git import GitError
from bot.provenance.reverted import reverted_remediations
from bot.yamledit.document import YamlDocument, YamlParseError
from bot.yamledit.engine import Edited, apply_operations
from bot.yamledit.ops import Add, Append, Operation

_FINGERPRINT = re.compile(r"^[0-9a-f]{8,64}$")
_ADVICE = "`mendbot analyze` lists the reverted remediations (`reverted:` lines)"


class UnignoreError(MendbotError):
    """What to unignore cannot be found, or the configuration cannot be edited."""

    exit_code = 2


@dataclass(frozen=True)
class Unignored:
    """What ``mendbot unignore`` did."""

    remediation_id: str
    config: Path
    changed: bool
    """False when the id was listed already (nothing written)."""


def unignore(root: Path, target: str, config: Path | None = None) -> Unignored:
    """List the reverted remediation ``target`` (its id, or its fingerprint or a prefix of at
    least 8 hex digits) under ``propose.allow_reverted`` in ``config`` (default: the
    repository's ``.github/mendbot.yml``, created when there is none). Raises
    :class:`UnignoreError` when ``target`` names no remediation reverted on the branch checked
    out at ``root``, or the file cannot be edited safely; the file is then unchanged."""
    try:
        repo = git.toplevel(root)
        reverted = reverted_remediations(repo, "HEAD")
    except GitError as exc:
        raise UnignoreError(f"{root} is not a git checkout with history: {exc}") from None
    rid = _reverted_id(target, sorted(reverted))
    path = config or find_config(repo) or repo / DEFAULT_LOCATIONS[0]
    if not path.exists():
        _create(path, f"propose:\n  allow_reverted:\n    - {rid}\n")
        return Unignored(rid, path, True)
    original = _read(path)
    if rid in load_config(path, rule_options()).propose.allow_reverted:
        return Unignored(rid, path, False)
    edited = apply_operations(original, [_operation(original, path, rid)])
    if not isinstance(edited, Edited):
        raise UnignoreError(
            f"{path}: cannot add {rid} under propose.allow_reverted safely ({edited.reason})",
            advice=f"add `{rid}` to the list propose.allow_reverted by hand",
        )
    _check(edited.text, path)
    write_all({path: (original, edited.text)}, path.parent)
    return Unignored(rid, path, True)


def _reverted_id(target: str, reverted: list[str]) -> str:
    if target in reverted:
        return target
    if _FINGERPRINT.match(target):
        found = [rid for rid in reverted if rid.rsplit("-", 1)[-1] == target[:8]]
        if len(found) == 1:
            return found[0]
        if found:
            raise UnignoreError(
                f"{target} matches several reverted remediations: {', '.join(found)}",
                advice="name the remediation by its id",
            )
    listed = ", ".join(reverted) or "none"
    raise UnignoreError(
        f"{target!r} names no remediation reverted on this branch (reverted: {listed})",
        advice=_ADVICE,
    )


def _operation(text: str, path: Path, rid: str) -> Operation:
    """The one edit that lists ``rid``, given what the file already holds."""
    try:
        data = YamlDocument.parse(text).data()
    except YamlParseError as exc:  # load_config accepted it, so this is a parser disagreement
        raise UnignoreError(f"{path}: {exc}") from None
    propose = data.get("propose") if isinstance(data, dict) else None
    if not isinstance(propose, dict):
        return Add(route=(), key="propose", value={"allow_reverted": [rid]})
    if propose.get("allow_reverted") is None:
        return Add(route=("propose",), key="allow_reverted", value=[rid])
    return Append(route=("propose", "allow_reverted"), value=rid)


def _check(text: str, path: Path) -> None:
    """Refuse an edit whose result is not a valid configuration (nothing is written)."""
    with tempfile.TemporaryDirectory(prefix="mendbot-unignore-") as scratch:
        candidate = Path(scratch) / path.name
        candidate.write_text(text, encoding="utf-8", newline="")
        load_config(candidate, rule_options())


def _read(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UnignoreError(f"cannot read {path}: {exc}") from None


def _create(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8", newline="") as handle:
            handle.write(text)
    except OSError as exc:
        raise WriteError(f"cannot create {path}: {exc.strerror or exc}") from None
