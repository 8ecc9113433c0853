"""Environments frozen by a failed deployment that nothing has resolved yet.

After a failed deploy the deploy job compensates, records the failure and asks the propose
identity for the revert pull request; until that pull request opens (and freezes the
environment by its label) nothing else would stop the next change. So a deployment whose
outcome is a failure freezes its environment by itself — and so does one that never finished
within its time bound (a deploy job killed half-way left something nobody validated) — until
a later successful deployment in the same environment, **of the exact revert of the failed
deployment's commit**, names it in ``resolves`` (the deploy of the revert does). Anyone who can
write deployments can name ids; only git can say a commit reverts another, so a forged success
unfreezes nothing. A revert that fails in turn resolves nothing: the environment stays frozen
for a person.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from bot.forge.interface import Deployment
from bot.protocol import DEPLOY_FREEZING_OUTCOMES as FREEZING_OUTCOMES

#: States that end a deployment.
FINAL_STATES = frozenset({"success", "failure", "error", "inactive"})

#: ``reverts(resolver_commit, failed_commit)``: whether the first commit's change is exactly the
#: second's turned around (False when either cannot be read).
RevertCheck = Callable[[str, str], bool]


def failed(deployment: Deployment, now: datetime, stale_after: timedelta) -> bool:
    """Whether ``deployment`` failed: a freezing outcome, a ``failure`` state, or still not
    finished ``stale_after`` after it was created (an unreadable creation time counts)."""
    if deployment.payload.get("outcome") in FREEZING_OUTCOMES or deployment.state == "failure":
        return True
    if deployment.state in FINAL_STATES:
        return False
    try:
        created = datetime.fromisoformat(deployment.created_at.replace("Z", "+00:00"))
    except ValueError:
        return True
    return now - created > stale_after


def unresolved_failures(
    deployments: Iterable[Deployment],
    *,
    reverts: RevertCheck,
    now: datetime,
    stale_after: timedelta,
) -> list[Deployment]:
    """The failed deployments (see :func:`failed`) that no later successful deployment in
    their environment, of a commit that exactly reverts theirs, resolves; oldest first."""
    ordered = sorted(deployments, key=lambda d: d.id)
    failures = [d for d in ordered if failed(d, now, stale_after)]
    resolved: set[int] = set()
    for deployment in ordered:
        if deployment.state != "success":
            continue
        named = _ids(deployment.payload.get("resolves"))
        resolved.update(
            d.id
            for d in failures
            if d.id in named
            and d.id < deployment.id
            and d.environment == deployment.environment
            and reverts(deployment.sha, d.sha)
        )
    return [d for d in failures if d.id not in resolved]


def frozen_by_deployments(
    deployments: Iterable[Deployment],
    *,
    reverts: RevertCheck,
    now: datetime,
    stale_after: timedelta,
) -> set[str]:
    """Environments with an unresolved failed deployment."""
    found = unresolved_failures(deployments, reverts=reverts, now=now, stale_after=stale_after)
    return {d.environment for d in found}


def _ids(value: object) -> set[int]:
    if not isinstance(value, list):
        return set()
    return {item for item in value if isinstance(item, int) and not isinstance(item, bool)}
