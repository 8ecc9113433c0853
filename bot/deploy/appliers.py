"""Every applier the deploy job can use, by desired-state kind, one line each.

Adding an applier is a module in :mod:`bot.deploy` implementing
:class:`~bot.deploy.applier.Applier`, one line here, and its desired-state schema in the deploy
documentation (``docs/contributing.md`` lists the steps). A kind with no applier is refused,
never skipped silently.

Deleting objects (a target with ``deletion`` set) is irreversible and kept apart: its appliers
are in :data:`DELETERS`, never in :data:`APPLIERS`, so an applier that changes objects can never
be handed a deletion, nor a deleting one a change.
"""

from __future__ import annotations

from bot.deploy.applier import Applier, Target
from bot.deploy.aws_access_keys import AwsAccessKeys
from bot.deploy.aws_key_deletion import AwsAccessKeyDeletion
from bot.deploy.git_workflow import GitWorkflowApplier
from bot.deploy.github_secret_deletion import GithubSecretDeletion
from bot.deploy.github_settings import GithubSettingsApplier
from bot.errors import MendbotError

APPLIERS: dict[str, type[Applier]] = {
    AwsAccessKeys.kind: AwsAccessKeys,
    GitWorkflowApplier.kind: GitWorkflowApplier,
    GithubSettingsApplier.kind: GithubSettingsApplier,
}
#: The appliers that delete objects of their kind (irreversible), by kind.
DELETERS: dict[str, type[Applier]] = {
    AwsAccessKeyDeletion.kind: AwsAccessKeyDeletion,
    GithubSecretDeletion.kind: GithubSecretDeletion,
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


def applier_of(target: Target) -> type[Applier]:
    """The applier class that takes ``target``: a deleting one for a deletion; raises
    :class:`UnknownKindError` when there is none."""
    registry = DELETERS if target.deletion else APPLIERS
    try:
        return registry[target.kind]
    except KeyError:
        verb = "deletes" if target.deletion else "applies"
        raise UnknownKindError(
            f"no applier {verb} the desired-state kind {target.kind!r}",
            advice="only kinds with an applier can be deployed; see docs/deploy.md",
        ) from None
