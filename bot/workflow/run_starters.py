"""Who can start a run of a workflow with data of their own, from its ``on:`` events.

A value mendbot cannot trace (a step's output, an environment variable a step writes) is
computed by the repository's own code at run time. Whether an outsider can be behind it
depends on who starts the run: see :class:`Starters`. A reusable workflow
(``on: workflow_call``) is started by the workflows that call it: the repository's own
callers are read from disk.
"""

from __future__ import annotations

import re
from enum import Enum
from functools import lru_cache
from pathlib import Path, PurePosixPath

from bot.knowledge.events import AUTHOR_OWNED_EVENTS, WRITER_EVENTS
from bot.workflow.model import Workflow
from bot.workflow.permission_needs import load_repository_workflow

#: More calling workflows than this and mendbot stops looking: the callers stay unknown.
_MAX_WORKFLOW_FILES = 500


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
    return _starters(workflow, frozenset())


def _starters(workflow: Workflow, seen: frozenset[str]) -> Starters:
    events = workflow.triggers
    if not events:
        return Starters.ANYONE
    found = [_by_events(events - {"workflow_call"})] if events - {"workflow_call"} else []
    if "workflow_call" in events:
        callers = _callers(workflow) if workflow.path not in seen else ()
        if not callers:
            return Starters.ANYONE
        found.extend(_starters(caller, seen | {workflow.path}) for caller in callers)
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
    if found is None:
        return None
    root, path = found
    try:
        files = sorted(
            (p.name, p.stat().st_mtime_ns, p.stat().st_size)
            for p in (root / ".github" / "workflows").iterdir()
            if p.suffix in (".yml", ".yaml")
        )
    except OSError:
        return None
    if len(files) > _MAX_WORKFLOW_FILES:
        return None
    return root, path, tuple(files)


def _callers(workflow: Workflow) -> tuple[Workflow, ...]:
    """The workflows of ``workflow``'s repository with a job that calls it; none when the
    repository's workflow folder cannot be read (see :func:`_workflow_listing`)."""
    listing = _workflow_listing(workflow)
    return () if listing is None else _read_callers(*listing)


@lru_cache(maxsize=64)
def _read_callers(
    root: Path, path: str, listing: tuple[tuple[str, int, int], ...]
) -> tuple[Workflow, ...]:
    found: list[Workflow] = []
    for name, _, _ in listing:
        relative = f".github/workflows/{name}"
        if relative == path:
            continue
        caller = load_repository_workflow(root, relative)
        if caller is not None and any(
            job.uses is not None and job.uses.local and _called_path(job.uses.raw) == path
            for job in caller.jobs
        ):
            found.append(caller)
    return tuple(found)


def _called_path(raw: str) -> str:
    """``.github/workflows/x.yml`` for ``./.github/workflows/x.yml`` (a ref, if any, dropped)."""
    return raw.strip()[2:].split("@", 1)[0].lstrip("/")


#: A workflow step that starts ``workflow_dispatch`` runs itself (with inputs it chooses).
_DISPATCHES = re.compile(
    r"\bgh\b[^\n]*\bworkflow\s+run\b|createWorkflowDispatch|/dispatches\b|workflow-dispatch@",
    re.IGNORECASE,
)


def dispatched_by_workflows(workflow: Workflow) -> bool:
    """Whether a workflow of ``workflow``'s repository starts ``workflow_dispatch`` runs
    itself (``gh workflow run``, ``createWorkflowDispatch``, a dispatch action): then a dispatch
    input may carry whatever started that workflow, an issue title for instance. True when the
    repository's workflow folder cannot be read (unknown is not trusted)."""
    listing = _workflow_listing(workflow)
    return True if listing is None else _any_dispatch(listing[0], listing[2])


@lru_cache(maxsize=64)
def _any_dispatch(root: Path, listing: tuple[tuple[str, int, int], ...]) -> bool:
    for name, _, _ in listing:
        try:
            text = (root / ".github" / "workflows" / name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return True
        if _DISPATCHES.search(text):
            return True
    return False
