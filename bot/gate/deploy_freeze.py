"""Environments frozen by a failed deployment that nothing has resolved yet.

After a failed deploy the deploy job compensates, records the failure and asks the propose
identity for the revert pull request; until that pull request opens (and freezes the
environment by its label) nothing else would stop the next change. So a deployment whose
outcome is a failure freezes its environment by itself, until a later successful deployment in
the same environment names it in ``resolves`` (the deploy of the revert does). A revert that
fails in turn resolves nothing: the environment stays frozen for a person.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.forge.interface import Deployment
from bot.protocol import DEPLOY_FREEZING_OUTCOMES as FREEZING_OUTCOMES


def unresolved_failures(deployments: Iterable[Deployment]) -> list[Deployment]:
    """The failed deployments (by :data:`FREEZING_OUTCOMES`, or a ``failure`` state) that no
    later successful deployment in their environment resolves, oldest first.

    A success resolves only failures of its own environment that happened before it: a
    deployment elsewhere, or one naming ids that did not exist yet, unfreezes nothing."""
    ordered = sorted(deployments, key=lambda d: d.id)
    failed = [
        d for d in ordered if d.payload.get("outcome") in FREEZING_OUTCOMES or d.state == "failure"
    ]
    resolved: set[int] = set()
    for deployment in ordered:
        if deployment.state == "success":
            named = _ids(deployment.payload.get("resolves"))
            resolved.update(
                d.id
                for d in failed
                if d.id in named
                and d.id < deployment.id
                and d.environment == deployment.environment
            )
    return [d for d in failed if d.id not in resolved]


def frozen_by_deployments(deployments: Iterable[Deployment]) -> set[str]:
    """Environments with an unresolved failed deployment."""
    return {d.environment for d in unresolved_failures(deployments)}


def _ids(value: object) -> set[int]:
    if not isinstance(value, list):
        return set()
    return {item for item in value if isinstance(item, int) and not isinstance(item, bool)}
