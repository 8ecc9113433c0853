"""Every applier the deploy job can use, by desired-state kind, one line each.

Adding an applier is a module in :mod:`bot.deploy` implementing
:class:`~bot.deploy.applier.Applier`, one line here, and its desired-state schema in the deploy
documentation (``docs/contributing.md`` lists the steps). A kind with no applier is refused,
never skipped silently.
"""

from __future__ import annotations

from bot.deploy.applier import Applier
from bot.deploy.aws_access_keys import AwsAccessKeys
from bot.deploy.git_workflow import GitWorkflowApplier
from bot.deploy.github_settings import GithubSettingsApplier
from bot.errors import MendbotError

APPLIERS: dict[str, type[Applier]] = {
    AwsAccessKeys.kind: AwsAccessKeys,
    GitWorkflowApplier.kind: GitWorkflowApplier,
    GithubSettingsApplier.kind: GithubSettingsApplier,
}


class UnknownKindError(MendbotError):
    """A desired-state kind no applier handles."""

    exit_code = 2


def applier_for(kind: str) -> type[Applier]:
    """The applier class of ``kind``; raises :class:`UnknownKindError` naming the known kinds."""
    try:
        return APPLIERS[kind]
    except KeyError:
        known = ", ".join(sorted(APPLIERS)) or "none yet"
        raise UnknownKindError(
            f"no applier for the desired-state kind {kind!r} (known: {known})",
            advice="only kinds with an applier can be deployed; see docs/contributing.md",
        ) from None
