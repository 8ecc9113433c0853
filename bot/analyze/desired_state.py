"""Analyse one desired-state file (``.mendbot/desired/<kind>/…``): validate it, run the
desired-state rules, and fix to a fix-point through the YAML engine.

A file that does not parse or does not match its kind's schema is that file's error, naming the
field and its line; nothing of it is judged. Fixes are applied one at a time from the last key
to the first (removing a key never moves the keys still to fix), each re-parsed, re-validated
and re-checked: a fix must make its own finding disappear and leave a valid file, or it is
rolled back with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError

from bot import git
from bot.analyze.inputs import discover, read_text
from bot.config import Config
from bot.desired import (
    DESIRED_MODELS,
    MAX_DESIRED_BYTES,
    AwsIamAccessKeys,
    GithubNhi,
    GithubSettings,
    kind_of,
)
from bot.detectors.desired_rule import (
    AccessKeysFile,
    DesiredFile,
    DesiredStateRule,
    GithubNhiFile,
    GithubSettingsFile,
    locate,
)
from bot.detectors.interface import Detection
from bot.detectors.nhi.workflow_usage import WorkflowUsage, workflow_usage
from bot.detectors.suppression import comment_suppresses, span_lines
from bot.git import GitError
from bot.models import FileError, Fix, FixMode
from bot.yamledit.document import SourceText, YamlDocument, YamlParseError
from bot.yamledit.engine import Edited, apply_operations


@dataclass
class DesiredRun:
    """What analysing (and fixing) one desired-state file did."""

    detections: list[Detection]
    text: str
    """The final text (the input text when nothing was applied)."""
    applied: set[str] = field(default_factory=set)
    refused: dict[str, str] = field(default_factory=dict)


class _Invalid(Exception):
    def __init__(self, error: FileError) -> None:
        super().__init__(error.message)
        self.error = error


def is_desired_state(relative: str) -> bool:
    """Whether a repository path is a desired-state file."""
    return kind_of(relative) is not None and relative.endswith((".yml", ".yaml"))


#: Kinds whose rules judge the file by the repository's workflows.
GITHUB_KINDS = frozenset({"github-settings", "github-nhi"})


def needs_workflows(relative: str) -> bool:
    """Whether the rules of this desired-state file read the repository's workflows."""
    return kind_of(relative) in GITHUB_KINDS


#: Dependabot's configuration: its ``${{secrets.X}}`` are Dependabot secrets, another store.
DEPENDABOT_FILES = frozenset({".github/dependabot.yml", ".github/dependabot.yaml"})


def repository_usage(root: Path) -> WorkflowUsage:
    """What the workflows and composite actions of the repository at ``root`` read (its
    ``.github/workflows`` files, ``action.yml`` at the root and under ``.github/actions``), read
    as the analysis reads them: never through a link, a file that cannot be read counted as
    unknown."""
    inputs, errors = discover([root], root)
    files: list[tuple[str, str | None]] = []
    inventoried: set[str] = set()
    for item in inputs:
        if needs_workflows(item.relative):
            text = read_text(item)
            named = _inventoried_repository(text) if isinstance(text, str) else None
            inventoried |= {named} if named else set()
            continue
        if is_desired_state(item.relative) or item.relative in DEPENDABOT_FILES:
            continue
        text = read_text(item)
        files.append((item.relative, text if isinstance(text, str) else None))
    files += [(error.path, None) for error in errors if not error.skipped]
    return replace(
        workflow_usage(files),
        checkout_repository=checkout_repository(root),
        inventoried=frozenset(inventoried),
    )


#: ``https://host/owner/name(.git)``, ``ssh://git@host/owner/name`` or ``git@host:owner/name``.
_REMOTE_REPOSITORY = re.compile(r"[:/]([\w.-]+)/([\w.-]+?)(?:\.git)?/?$")


def checkout_repository(root: Path) -> str | None:
    """``owner/name`` (lower-cased) that the ``origin`` remote of the checkout at ``root``
    names, or None (not a git checkout, no origin, or a URL that names no ``owner/name``)."""
    try:
        url = git.run(root, "remote", "get-url", "origin").decode().strip()
    except GitError:
        return None
    match = _REMOTE_REPOSITORY.search(url)
    return f"{match[1]}/{match[2]}".lower() if match else None


def _inventoried_repository(text: str) -> str | None:
    try:
        doc = YamlDocument.parse(SourceText.from_text(text).body)
    except (YamlParseError, ValueError):
        return None
    data = doc.data() if len(doc.roots) == 1 else None
    repository = data.get("repository") if isinstance(data, dict) else None
    return repository.lower() if isinstance(repository, str) else None


def analyse_desired(
    relative: str,
    text: str,
    rules: Sequence[DesiredStateRule],
    config: Config,
    fix_mode: FixMode | None,
    now: datetime,
    usage: WorkflowUsage | None = None,
    *,
    hold: Callable[[Fix], str | None] | None = None,
) -> DesiredRun | FileError:
    """Validate ``text`` (the file ``relative``), run ``rules`` on it, and with ``fix_mode``
    apply the allowed fixes but those ``hold`` gives a reason for (refused with it); a
    :class:`FileError` when the file is not valid desired state. ``usage`` is what the
    repository's workflows read (for the GitHub kinds' rules)."""
    if len(text.encode("utf-8")) > MAX_DESIRED_BYTES:
        return FileError(
            path=relative,
            message=f"larger than {MAX_DESIRED_BYTES} bytes, the desired-state limit; skipped",
            skipped=True,
        )
    try:
        parsed = _parse(relative, text, config, now, usage)
    except _Invalid as invalid:
        return invalid.error
    if parsed is None:
        return DesiredRun([], text)
    detections = _detect(parsed, rules, config)
    run = DesiredRun(detections, text)
    if fix_mode is None:
        return run
    # Last key first: a removal then never moves a key whose fix is still to come.
    pending = sorted(
        (d for d in detections if d.fix is not None and fix_mode.allows(d.fix.disposition)),
        key=lambda d: d.finding.location.route,
        reverse=True,
    )
    for detection in pending:
        assert detection.fix is not None  # noqa: S101 - filtered above
        held = hold(detection.fix) if hold is not None else None
        if held is not None:
            run.refused[detection.finding.id] = held
            continue
        outcome = apply_operations(run.text, detection.fix.patches)
        if not isinstance(outcome, Edited):
            run.refused[detection.finding.id] = outcome.reason
            continue
        try:
            after = _parse(relative, outcome.text, config, now, usage)
        except _Invalid as invalid:
            run.refused[detection.finding.id] = (
                f"the fix would leave an invalid file ({invalid.error.message}); rolled back"
            )
            continue
        remaining = _detect(after, rules, config) if after is not None else []
        if any(d.finding.id == detection.finding.id for d in remaining):
            run.refused[detection.finding.id] = "the fix did not resolve the finding; rolled back"
            continue
        run.text = outcome.text
        run.applied.add(detection.finding.id)
    return run


def _parse(
    relative: str, text: str, config: Config, now: datetime, usage: WorkflowUsage | None
) -> DesiredFile | None:
    """The file as its rules see it; None for a valid kind no rule reads yet. Raises
    :class:`_Invalid` with the file's error."""
    kind = kind_of(relative) or ""
    model = DESIRED_MODELS.get(kind)
    if model is None:
        known = ", ".join(sorted(DESIRED_MODELS))
        raise _Invalid(
            FileError(
                path=relative,
                message=f"no desired-state kind {kind!r} (known: {known}); not analysed",
            )
        )
    try:
        doc = YamlDocument.parse(SourceText.from_text(text).body)
    except YamlParseError as exc:
        raise _Invalid(
            FileError(path=relative, message=exc.message, line=exc.line, column=exc.column)
        ) from None
    try:
        value = model.model_validate(doc.data())
    except ValidationError as exc:
        error = exc.errors()[0]
        route = tuple(error["loc"])
        name = ".".join(str(part) for part in route) or "<root>"
        location = locate(doc, relative, route)
        raise _Invalid(
            FileError(
                path=relative,
                message=f"{name}: {error['msg']} (the {kind} schema: "
                f"docs/schemas/desired-{kind}.json)",
                line=location.line,
                column=location.column,
            )
        ) from None
    if getattr(value, "kind", kind) != kind:
        raise _Invalid(
            FileError(
                path=relative,
                message=f"kind is {value.kind!r}, the folder says {kind!r}",  # type: ignore[attr-defined]
            )
        )
    if isinstance(value, AwsIamAccessKeys):
        return AccessKeysFile(relative, doc, config.nhi, now, value)
    if isinstance(value, GithubSettings):
        return GithubSettingsFile(relative, doc, config.nhi, now, value, usage)
    if isinstance(value, GithubNhi):
        return GithubNhiFile(relative, doc, config.nhi, now, value, usage)
    return None


def _visit(rule: DesiredStateRule, parsed: DesiredFile) -> list[Detection]:
    if isinstance(parsed, AccessKeysFile):
        return list(rule.visit_access_keys(parsed))
    if isinstance(parsed, GithubSettingsFile):
        return list(rule.visit_github_settings(parsed))
    if isinstance(parsed, GithubNhiFile):
        return list(rule.visit_github_nhi(parsed))
    return []


def _detect(
    keys: DesiredFile, rules: Sequence[DesiredStateRule], config: Config
) -> list[Detection]:
    """The rules' detections, without those a person suppressed: ``rules.<id>.ignore`` globs,
    or ``# mendbot: ignore[<id>]`` on any line of the key's entry."""
    found: list[Detection] = []
    for rule in rules:
        if rule.id in config.rules and config.ignored(rule.id, keys.path):
            continue
        for detection in _visit(rule, keys):
            route = detection.finding.location.route
            entry = route[:2] if len(route) >= 2 else route
            lines = span_lines(keys.doc, entry) | {detection.finding.location.line - 1}
            if comment_suppresses(keys.doc, lines, rule.id) is not None:
                continue
            found.append(detection)
    return found
