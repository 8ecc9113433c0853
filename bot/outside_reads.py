"""What analysing one file read besides that file: other files of its repository, the network.

A file's findings may depend on other files (the callers of a reusable workflow, the workflow
folder a dispatch names, a local action) and on answers from the network (action refs, image
digests). The result cache may reuse a file's result only while all of that is unchanged, so
code that reads outside the analysed file notes it here, and the cache records what was noted
while each file was analysed (see :mod:`bot.analyze.result_cache`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")

#: A repository's ``.github/workflows`` folder: which workflow files it holds and their bytes.
#: Code reading it treats a folder of more than :data:`WORKFLOW_FOLDER_LIMIT` workflow files
#: as unknown and reads none of them: what such a folder holds does not change a result.
WORKFLOW_FOLDER = "workflow-folder"
#: More workflow files than this in one folder and nothing reads them (see above).
WORKFLOW_FOLDER_LIMIT = 500
#: A repository's composite actions (``action.y{a,}ml`` at its root and under ``.github``).
ACTION_FILES = "action-files"
#: One file, by its absolute path.
FILE = "file"
#: An answer from the network (refs of an action repository, the digest of an image tag).
NETWORK = "network"

#: ``(kind, where)``: one thing a result depends on besides its own file.
Read = tuple[str, str]


def is_workflow_name(name: str) -> bool:
    """Whether a workflow folder entry named ``name`` counts as a workflow file."""
    return os.path.splitext(name)[1] in (".yml", ".yaml")


_NOTED: ContextVar[set[Read] | None] = ContextVar("mendbot_outside_reads", default=None)
_SEEN: ContextVar[dict[Read, Any] | None] = ContextVar("mendbot_outside_seen", default=None)


def note(kind: str, where: str) -> None:
    """Record that the analysis in progress read ``where`` (of ``kind``); a no-op unless a
    :func:`recording` is active."""
    noted = _NOTED.get()
    if noted is not None:
        noted.add((kind, where))


@contextmanager
def recording() -> Iterator[set[Read]]:
    """Collect what is noted inside the ``with`` block into the set it yields."""
    noted: set[Read] = set()
    token = _NOTED.set(noted)
    try:
        yield noted
    finally:
        _NOTED.reset(token)


@contextmanager
def one_state(seen: dict[Read, Any]) -> Iterator[None]:
    """Inside the ``with`` block, :func:`read_once` answers each read from ``seen`` once it was
    read: pass the same dict for every file of one analysis run, and the run sees one state of
    each outside thing (a folder of 5,000 workflows is listed once, not once per file that
    traces its callers). Results cached between runs are keyed on that same state."""
    token = _SEEN.set(seen)
    try:
        yield
    finally:
        _SEEN.reset(token)


def read_once(kind: str, where: str, read: Callable[[], T]) -> T:
    """Note the read of ``where`` (of ``kind``) and return ``read()``, or, inside
    :func:`one_state`, what it returned the first time in that state."""
    note(kind, where)
    seen = _SEEN.get()
    if seen is None:
        return read()
    key = (kind, where)
    if key not in seen:
        seen[key] = read()
    found: T = seen[key]
    return found
