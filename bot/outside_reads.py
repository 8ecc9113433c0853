"""What analysing one file read besides that file: other files of its repository, the network.

A file's findings may depend on other files (the callers of a reusable workflow, the workflow
folder a dispatch names, a local action) and on answers from the network (action refs, image
digests). The result cache may reuse a file's result only while all of that is unchanged, so
code that reads outside the analysed file notes it here, and the cache records what was noted
while each file was analysed (see :mod:`bot.analyze.result_cache`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

#: A repository's ``.github/workflows`` folder: which workflow files it holds and their bytes.
WORKFLOW_FOLDER = "workflow-folder"
#: A repository's composite actions (``action.y{a,}ml`` at its root and under ``.github``).
ACTION_FILES = "action-files"
#: One file, by its absolute path.
FILE = "file"
#: An answer from the network (refs of an action repository, the digest of an image tag).
NETWORK = "network"

#: ``(kind, where)``: one thing a result depends on besides its own file.
Read = tuple[str, str]

_NOTED: ContextVar[set[Read] | None] = ContextVar("mendbot_outside_reads", default=None)


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
