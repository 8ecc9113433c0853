"""Who can start a run of a workflow with data of their own, from its ``on:`` events.

A value mendbot cannot trace (a step's output, an environment variable a step writes) is
computed by the repository's own code at run time. Whether an outsider can be behind it
depends on who starts the run: see :class:`Starters`.
"""

from __future__ import annotations

from enum import Enum

from bot.knowledge.events import AUTHOR_OWNED_EVENTS, WRITER_EVENTS
from bot.workflow.model import Workflow


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
    ``workflow_run``), a caller mendbot cannot see (``workflow_call``, a composite action),
    or an ``on:`` mendbot cannot read."""


def starters(workflow: Workflow) -> Starters:
    """Who can start a run of ``workflow`` (:attr:`Starters.ANYONE` for a composite action:
    its callers are unknown)."""
    events = workflow.triggers if workflow.kind == "workflow" else frozenset()
    if not events:
        return Starters.ANYONE
    if events <= AUTHOR_OWNED_EVENTS:
        return Starters.PR_AUTHOR
    if events <= WRITER_EVENTS | AUTHOR_OWNED_EVENTS:
        return Starters.WRITERS
    return Starters.ANYONE
