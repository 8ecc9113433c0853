"""One change under its own credentials: connect, run one step, read the state after, revoke.

Applying and observing hold credentials the same way: the applier for the target's kind is
connected with credentials scoped to that target's objects, one step runs, the live state is
read again unless the step failed, and the grant is revoked whatever happened. Nothing here
raises, and no error text leaves without passing :func:`scrub`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.deploy.applier import Applier, DeployContext, Grant, State, Target
from bot.deploy.appliers import applier_of
from bot.deploy.lifecycle import Outcome, Step, error_text
from bot.deploy.record import SECRET_SHAPES


def scrub(text: str) -> str:
    """``text`` with anything shaped like a credential replaced by ``***``."""
    return SECRET_SHAPES.sub("***", text)


def why(exc: Exception) -> str:
    """The exception's own message, scrubbed: safe for a record, a log or a status."""
    return scrub(error_text(exc))


def run_with_credentials(
    target: Target,
    context: DeployContext,
    step: Callable[[Applier], Step],
    known_before: State | None,
) -> tuple[Step, Grant | None, dict[str, Any] | None]:
    """Connect, run ``step`` on the connected applier, snapshot after, revoke; never raises.

    Returns the step, the grant (``None`` when no credentials were issued) and the live state
    after the step (``None`` when the step failed or the state could not be read: the record
    then says "after" is unknown). Without credentials nothing runs: the step is FAILED and
    keeps ``known_before`` as its snapshot (``None`` when applying, since nothing was read yet;
    the last recorded state when observing).
    """
    try:
        applier, grant = applier_of(target).connect(target, context)
    except Exception as exc:  # NOTE(deploy): no credentials, nothing runs (fail closed).
        refused = Step(Outcome.FAILED, known_before, reasons=(f"no credentials: {why(exc)}",))
        return refused, None, None
    try:
        done = step(applier)
        after: dict[str, Any] | None = None
        if done.outcome is not Outcome.FAILED:
            try:
                after = dict(applier.snapshot(target))
            except Exception:  # NOTE(deploy): the record then says "after" is unknown.
                after = None
        return done, grant, after
    finally:
        grant.revoke()
