"""Who can start a run of a workflow with data of their own, from its ``on:`` events.

A value mendbot cannot trace (a step's output, an environment variable a step writes) is
computed by the repository's own code at run time. Whether an outsider can be behind it
depends on who starts the run: see :class:`Starters`. A reusable workflow
(``on: workflow_call``) is started by the workflows that call it: the repository's own
callers are read from disk.
"""

from __future__ import annotations

import os
import posixpath
import re
import shlex
from enum import Enum
from functools import lru_cache
from pathlib import Path, PurePosixPath

from bot import outside_reads
from bot.knowledge.events import AUTHOR_OWNED_EVENTS, WRITER_EVENTS
from bot.workflow.model import Job, Step, Workflow
from bot.workflow.permission_needs import load_repository_workflow

#: More calling workflows than this and mendbot stops looking: the callers stay unknown (the
#: result cache relies on it: see :data:`~bot.outside_reads.WORKFLOW_FOLDER`).
_MAX_WORKFLOW_FILES = outside_reads.WORKFLOW_FOLDER_LIMIT


class Starters(Enum):
    """Who can start a run of a workflow, and bring their data into it."""

    PR_AUTHOR = "pull-request author"
    """Only pull-request events: the run uses the pull request's own copy of the workflow,
    so its author already decides everything the run executes."""
    WRITERS = "writers"
    """Only events people with write access cause (push, dispatch, schedule, …), possibly
    with pull-request events too: the repository's code runs on their data."""
    ANYONE = "anyone"
    """An event an outsider causes (an issue, a comment, ``pull_request_target``,
    ``workflow_run``), a caller mendbot cannot see (a reusable workflow no workflow of the
    repository calls, a composite action), or an ``on:`` mendbot cannot read."""


def starters(workflow: Workflow) -> Starters:
    """Who can start a run of ``workflow`` (:attr:`Starters.ANYONE` for a composite action:
    its callers are unknown)."""
    if workflow.kind != "workflow":
        return Starters.ANYONE
    return _starters(workflow, unseen_callers=Starters.ANYONE)


def exposed(workflow: Workflow) -> bool:
    """Whether an outsider's event (an issue, a comment, ``pull_request_target``,
    ``workflow_run``) can start a run of ``workflow`` through its own ``on:`` or through the
    repository's workflows that call it; for a composite action, through the workflows whose
    steps use it. Callers mendbot cannot see (another repository calling a reusable workflow,
    users of a published action) do not count here: what they bring in is their inputs,
    which :class:`~bot.knowledge.contexts.Provenance` ``CALLER`` covers."""
    visited: set[str] = set()
    pending = [workflow]
    while pending:
        current = pending.pop()
        if current.path in visited:  # actions using each other in a loop: each read once
            continue
        visited.add(current.path)
        if current.kind != "workflow":
            pending.extend(step.workflow for step in calling_steps(current))
        elif _starters(current, unseen_callers=Starters.WRITERS) is Starters.ANYONE:
            return True
    return False


def _starters(workflow: Workflow, *, unseen_callers: Starters) -> Starters:
    """Who starts ``workflow``: its own events, and those of every workflow of the repository
    that calls it, directly or through others, each read once (workflows calling each other
    in a loop, which GitHub refuses to run, add nobody)."""
    found: list[Starters] = []
    visited: set[str] = set()
    pending = [workflow]
    while pending:
        current = pending.pop()
        if current.path in visited:
            continue
        visited.add(current.path)
        events = current.triggers
        if not events:
            return Starters.ANYONE
        if events - {"workflow_call"}:
            found.append(_by_events(events - {"workflow_call"}))
        if "workflow_call" in events:
            callers = _callers(current)
            if not callers:
                found.append(unseen_callers)
            pending.extend(callers)
    if Starters.ANYONE in found:
        return Starters.ANYONE
    if all(s is Starters.PR_AUTHOR for s in found):
        return Starters.PR_AUTHOR
    return Starters.WRITERS


def _by_events(events: frozenset[str]) -> Starters:
    if events <= AUTHOR_OWNED_EVENTS:
        return Starters.PR_AUTHOR
    if events <= WRITER_EVENTS | AUTHOR_OWNED_EVENTS:
        return Starters.WRITERS
    return Starters.ANYONE


def _repository_of(workflow: Workflow) -> tuple[Path, str] | None:
    """The folder of ``workflow``'s repository and its path in it (``.github/workflows/x.yml``);
    None when the root is unknown or the file is not under ``.github/workflows``. The analysed
    root may hold several checkouts: the repository is the folder above ``.github``."""
    parts = PurePosixPath(workflow.path).parts
    if workflow.root is None or len(parts) < 3 or parts[-3:-1] != (".github", "workflows"):
        return None
    return workflow.root.joinpath(*parts[:-3]), "/".join(parts[-3:])


#: A repository's workflow folder as read: its root, the workflow's path in it, and the
#: folder's listing (names, times, sizes), which keys the caches so an edited folder is read
#: again.
_Listing = tuple[Path, str, tuple[tuple[str, int, int], ...]]


def _workflow_listing(workflow: Workflow) -> _Listing | None:
    """The workflow folder of ``workflow``'s repository; None when the repository is unknown,
    the folder unreadable or larger than :data:`_MAX_WORKFLOW_FILES`."""
    found = _repository_of(workflow)
    return None if found is None else _listing_of(*found)


def _listing_of(root: Path, path: str) -> _Listing | None:
    """The workflow folder of the repository at ``root``, read for the file at ``path``."""
    files = outside_reads.read_once(
        outside_reads.WORKFLOW_FOLDER, str(root), lambda: _workflow_files(root)
    )
    return None if files is None else (root, path, files)


def _workflow_files(root: Path) -> tuple[tuple[str, int, int], ...] | None:
    """The workflow files of the repository at ``root``: names, times and sizes; None when
    the folder cannot be read or holds more than :data:`_MAX_WORKFLOW_FILES`."""
    try:
        with os.scandir(root / ".github" / "workflows") as entries:
            found = [e for e in entries if outside_reads.is_workflow_name(e.name)]
        # A folder over the limit is known without a stat of each of its files.
        if len(found) > _MAX_WORKFLOW_FILES:
            return None
        stats = [(entry.name, entry.stat()) for entry in found]
        return tuple(sorted((name, status.st_mtime_ns, status.st_size) for name, status in stats))
    except OSError:
        return None


def calling_jobs(workflow: Workflow) -> tuple[Job, ...]:
    """The jobs of ``workflow``'s repository that call the reusable ``workflow``
    (``uses: ./.github/workflows/x.yml`` or ``$/…``); none when no workflow of the repository
    calls it or its workflow folder cannot be read."""
    found = _repository_of(workflow)
    if found is None:
        return ()
    path = found[1]
    return tuple(
        job
        for caller in _callers(workflow)
        for job in caller.jobs
        if job.uses is not None and job.uses.local and _called_path(job.uses.raw) == path
    )


def calling_steps(action: Workflow) -> tuple[Step, ...]:
    """The steps of the repository's workflows, and of its composite actions under ``.github``
    or at its root, that use the composite ``action`` when it lives under the repository's
    ``.github`` folder (``uses: ./.github/actions/x``); none for an action elsewhere (a
    published action: its users are other repositories), or when nothing uses it."""
    parts = PurePosixPath(action.path).parts
    if action.kind != "action" or action.root is None or ".github" not in parts[:-1]:
        return ()
    top = parts.index(".github")
    folder = "/".join(parts[top:-1])
    repository = action.root.joinpath(*parts[:top])
    listing = _listing_of(repository, f"{folder}/{parts[-1]}")
    actions = _action_listing(repository)
    if listing is None or actions is None:
        return ()
    workflow_steps = (
        step
        for caller in _read_workflows(listing[0], listing[2])
        for job in caller.jobs
        for step in job.steps
    )
    action_steps = (
        step for user in _read_actions(repository, actions) for step in user.action_steps
    )
    return tuple(
        step
        for step in (*workflow_steps, *action_steps)
        if step.uses is not None and step.uses.local and _called_path(step.uses.raw) == folder
    )


#: The composite actions of a repository that may use another (``.github/**/action.yml``
#: and ``action.yml`` at its root), as read: paths, times and sizes.
_ActionListing = tuple[tuple[str, int, int], ...]
_ACTION_FILES = ("action.yml", "action.yaml")


def _action_listing(repository: Path) -> _ActionListing | None:
    """The action files of ``repository``; None when a folder cannot be read or there are more
    than :data:`_MAX_WORKFLOW_FILES`."""
    outside_reads.note(outside_reads.ACTION_FILES, str(repository))
    try:
        found = [
            (name, *_stamp(repository / name))
            for name in _ACTION_FILES
            if (repository / name).is_file()
        ]
        for folder, _, files in os.walk(repository / ".github", onerror=_raise):
            for name in files:
                if name in _ACTION_FILES:
                    path = Path(folder, name)
                    found.append((path.relative_to(repository).as_posix(), *_stamp(path)))
                    if len(found) > _MAX_WORKFLOW_FILES:
                        return None
    except OSError:
        return None
    return tuple(sorted(found))


def _stamp(path: Path) -> tuple[int, int]:
    status = path.stat()
    return status.st_mtime_ns, status.st_size


def _raise(error: OSError) -> None:
    raise error


@lru_cache(maxsize=64)
def _read_actions(repository: Path, listing: _ActionListing) -> tuple[Workflow, ...]:
    """Every composite action of the ``listing`` that parses."""
    loaded = (load_repository_workflow(repository, name, "action") for name, _, _ in listing)
    return tuple(a for a in loaded if a is not None)


def _callers(workflow: Workflow) -> tuple[Workflow, ...]:
    """The workflows of ``workflow``'s repository with a job that calls it; none when the
    repository's workflow folder cannot be read (see :func:`_workflow_listing`)."""
    listing = _workflow_listing(workflow)
    return () if listing is None else _read_callers(*listing)


@lru_cache(maxsize=64)
def _read_workflows(root: Path, listing: tuple[tuple[str, int, int], ...]) -> tuple[Workflow, ...]:
    """Every workflow of the folder ``listing`` names that parses."""
    loaded = (load_repository_workflow(root, f".github/workflows/{name}") for name, _, _ in listing)
    return tuple(w for w in loaded if w is not None)


@lru_cache(maxsize=64)
def _read_callers(
    root: Path, path: str, listing: tuple[tuple[str, int, int], ...]
) -> tuple[Workflow, ...]:
    # Every file of the folder is parsed once for all of them (not once per file whose
    # callers are asked for, which made a repository's analysis quadratic in its workflows).
    return tuple(
        caller
        for caller in _read_workflows(root, listing)
        if caller.path != path
        and any(
            job.uses is not None and job.uses.local and _called_path(job.uses.raw) == path
            for job in caller.jobs
        )
    )


def _called_path(raw: str) -> str:
    """``.github/workflows/x.yml`` for ``./.github/workflows/x.yml`` (a ref, if any, dropped;
    ``.``, empty and trailing parts folded as the runner's file system reads them)."""
    return posixpath.normpath(raw.strip()[2:].split("@", 1)[0]).lstrip("/")


#: A workflow step that starts ``workflow_dispatch`` runs itself (with inputs it chooses).
_DISPATCHES = re.compile(
    r"\bgh\b[^\n]*\bworkflow\s+run\b|createWorkflowDispatch|/dispatches\b|workflow-dispatch@",
    re.IGNORECASE,
)


def dispatched_by_workflows(workflow: Workflow) -> bool:
    """Whether a workflow of ``workflow``'s repository starts ``workflow_dispatch`` runs of it
    (``gh workflow run``, ``createWorkflowDispatch``, a dispatch action): then a dispatch
    input may carry whatever started that workflow, an issue title for instance. A dispatch
    that names other workflow files only (``gh workflow run other.yml``, ``workflow_id:
    'main.yml'``) does not count; one that names its target otherwise (the workflow's
    ``name:``, its id, a variable) does.
    True when the repository's workflow folder cannot be read (unknown is not trusted)."""
    listing = _workflow_listing(workflow)
    if listing is None:
        return True
    targets = _dispatch_targets(listing[0], listing[2])
    return targets is None or PurePosixPath(listing[1]).name.lower() in targets


#: A workflow file a dispatch names as its target (``build.yml``, ``.github/workflows/b.yaml``).
_WORKFLOW_FILE = re.compile(r"(?:[\w.-]+/)*(?P<name>[\w.-]+\.ya?ml)", re.IGNORECASE)
#: How far past a ``createWorkflowDispatch(`` or a dispatch action its target is looked for.
_CALL_WINDOW = 300
#: The target of a ``createWorkflowDispatch`` call or of a dispatch action: its
#: ``workflow_id:`` or ``workflow:`` value.
_TARGET_KEY = re.compile(
    r"\bworkflow(?:_id)?\s*:\s*(?P<quote>['\"`]?)(?P<target>[^'\"`\s,}#]+)(?P=quote)"
)
#: The target of a REST dispatch: ``…/actions/workflows/<id>/dispatches``.
_REST_TARGET = re.compile(r"/workflows/(?P<target>[^/\s'\"]+)/dispatches\b", re.IGNORECASE)
#: ``gh workflow run``'s options that take a value (``--json`` reads inputs from stdin).
_GH_RUN_VALUE_OPTIONS = frozenset(
    {"-f", "-F", "-r", "-R", "--ref", "--repo", "--raw-field", "--field"}
)


def _file_name(target: str) -> str | None:
    """``build.yml`` when ``target`` is a workflow file name (or path); None for a workflow's
    ``name:``, its numeric id or a variable, which may be any workflow of the repository."""
    found = _WORKFLOW_FILE.fullmatch(target)
    return None if found is None else found["name"].lower()


def _gh_run_target(arguments: str) -> str | None:
    """The workflow file ``gh workflow run`` is given in ``arguments`` (the rest of its line):
    the first word that is not an option or an option's value."""
    try:
        words = shlex.split(arguments, comments=True)
    except ValueError:
        return None
    expects_value = False
    for word in words:
        if expects_value:
            expects_value = False
        elif word == "--json":
            continue
        elif word in _GH_RUN_VALUE_OPTIONS:
            expects_value = True
        elif word.startswith("-"):
            if "=" not in word and not (word[:2] in _GH_RUN_VALUE_OPTIONS and len(word) > 2):
                return None  # an option mendbot does not know may take the next word
        else:
            return _file_name(word)
    return None


def _dispatch_target(text: str, match: re.Match[str]) -> str | None:
    """The workflow file the dispatch at ``match`` starts; None when it names its target any
    other way (or not at all on its line)."""
    line_end = text.find("\n", match.end())
    rest_of_line = text[match.end() : len(text) if line_end < 0 else line_end]
    kind = match.group().lower()
    if kind.startswith("createworkflowdispatch") or kind.startswith("workflow-dispatch@"):
        key = _TARGET_KEY.search(text, match.end(), match.end() + _CALL_WINDOW)
        return None if key is None else _file_name(key["target"])
    if kind.startswith("/dispatches"):
        line_start = text.rfind("\n", 0, match.start()) + 1
        rest = _REST_TARGET.search(text, line_start, match.end())
        return None if rest is None else _file_name(rest["target"])
    return _gh_run_target(rest_of_line)


@lru_cache(maxsize=64)
def _dispatch_targets(
    root: Path, listing: tuple[tuple[str, int, int], ...]
) -> frozenset[str] | None:
    """The workflow files the repository's workflows dispatch; None when one of them
    dispatches a workflow it does not name by its file (or a file cannot be read)."""
    named: set[str] = set()
    for name, _, _ in listing:
        try:
            text = (root / ".github" / "workflows" / name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        for match in _DISPATCHES.finditer(text):
            target = _dispatch_target(text, match)
            if target is None:
                return None
            named.add(target)
    return frozenset(named)
