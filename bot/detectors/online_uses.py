"""What the online ``uses:`` rules share: GitHub's API next to the refs, and why it is absent.

The rules are ``gha-impostor-commit``, ``gha-stale-action-refs``, ``gha-archived-uses`` and
``gha-known-vulnerable-actions`` (each in its own module of :mod:`bot.detectors.workflows`).
They reuse the pinning rules' ref resolver and its disk cache; the API lookups hang off that
resolver (:attr:`~bot.resolvers.action_refs.RefResolver.api`), so ``--offline`` turns both off.
"""

from __future__ import annotations

from typing import ClassVar

from bot import outside_reads
from bot.detectors.pinned_refs import RefRule
from bot.resolvers.action_api import RepositoryApi

#: Why a check that needs the network did not run under ``--offline``.
OFFLINE = "needs network; run without --offline"
#: Why a check that needs GitHub's API did not run: mendbot asks the API only with a token.
WITHOUT_API = "needs GitHub's API, which mendbot asks only with a token: set GITHUB_TOKEN"


class OnlineUsesRule(RefRule):
    """A ``uses:`` rule that decides from the network (refs, and GitHub's API when
    :attr:`needs_api`); it reports nothing about what it could not check, and ``mendbot
    analyze`` says on standard error which of these rules were skipped and why."""

    works_offline: ClassVar[bool] = False
    needs_api: ClassVar[bool] = True
    """Whether the rule asks GitHub's API (and so needs a token), not only ``git ls-remote``."""
    offline_coverage: ClassVar[str | None] = None
    """What the rule still checks without the network (None: nothing)."""

    def api(self) -> RepositoryApi | str:
        """GitHub's API, or why it is not available."""
        refs = self.services.refs
        if refs is None:
            return OFFLINE
        if refs.api is None:
            # NOTE: the result depends on the token being absent; the result cache must not
            # serve it to a run that has one, so it counts as asking the network.
            outside_reads.note(outside_reads.NETWORK, "api unavailable")
            return WITHOUT_API
        return refs.api


def skipped_reason(
    rule: OnlineUsesRule | type[OnlineUsesRule], *, offline: bool, has_api: bool
) -> str | None:
    """Why ``rule`` checks nothing (or only its :attr:`~OnlineUsesRule.offline_coverage`) in a
    run; None when it runs fully."""
    if offline:
        return OFFLINE
    if rule.needs_api and not has_api:
        return WITHOUT_API
    return None
