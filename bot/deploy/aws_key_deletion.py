"""Deleting IAM access keys a desired-state file no longer lists: irreversible, so it happens
only when everything the analysis saw still holds, re-read with the deploy credentials.

A deletion target (:attr:`~bot.deploy.applier.Target.deletion`) names keys present in the
``aws-iam-access-key`` file at the merge's first parent and absent at the merge; the plan hands
it over only with ``deploy.allow_irreversible`` and a gate decision from a policy demanding the
stronger approvals.

* ``connect``: the role ``deploy.environments.<env>.aws_deletion_role_arn`` (apart from the
  role of every other change, which can never delete), with a session policy allowing
  ``iam:DeleteAccessKey``, ``iam:ListAccessKeys`` and ``iam:GetAccessKeyLastUsed`` on exactly
  the keys' users until the session ends (checked before STS is asked).
* ``snapshot``: per key, its status under the named user and its last use.
* ``precheck``: the key must still be an access key of the same user, be ``Inactive`` (as the
  analysis saw it), and have the same last use as the analysis saw: a key used since is not
  abandoned, whatever its status, and nothing is deleted (the date is named).
* ``apply``: ``DeleteAccessKey``, key by key, stopping at the first failure.
* ``validate``: the key is no longer listed under its user.
* ``compensate``: impossible (IAM never returns a secret again): it raises, and the deploy job
  records the failure without asking for a revert (there is nothing to revert to).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Self

from bot.deploy.applier import DeployContext, Grant, State, Target
from bot.deploy.aws_access_keys import (
    KIND,
    AccessKeyTargetError,
    AwsAccessKeys,
    AwsCallError,
    iso_time,
    parse_time,
)
from bot.deploy.deletion import Deletion
from bot.deploy.session_policy import DELETION_ACTIONS
from bot.errors import MendbotError

#: The only status a key may have to be deleted.
DELETABLE_STATUS = "Inactive"


class AwsAccessKeyDeletion(Deletion, AwsAccessKeys):
    """Deletes Inactive, unused IAM access keys with a change-scoped session."""

    kind: ClassVar[str] = KIND
    compensation: ClassVar[str] = (
        "none possible: a deleted access key cannot be restored (IAM never shows its secret "
        "again); nothing to revert"
    )

    @classmethod
    def connect(cls, target: Target, context: DeployContext) -> tuple[Self, Grant]:
        """Check the deletion target, then assume the deletion role with a session policy for
        exactly its users; raises :class:`~bot.errors.MendbotError` (nothing deleted)."""
        check_deletion(target)
        return cls.with_session(target, context, DELETION_ACTIONS, "aws_deletion_role_arn")

    def precheck(self, target: Target, live: State) -> list[str]:
        """One line per key that is not exactly as the analysis saw it: gone or moved, not
        Inactive, or used since; empty when deleting is what was reviewed."""
        drift = []
        for key_id in target.objects:
            seen, now = target.pre_image[key_id], live[key_id]
            user = seen["user"]
            if now["status"] is None:
                drift.append(
                    f"{key_id} is not an access key of IAM user {user} any more (deleted, or "
                    "owned by another user): nothing was deleted"
                )
                continue
            if now["status"] != DELETABLE_STATUS:
                drift.append(
                    f"{key_id} of {user} is {now['status']} again: someone re-activated it "
                    "since the analysis, so it is in use; nothing was deleted"
                )
            used_then = parse_time((seen.get("last_used") or {}).get("date"))
            used_now = parse_time((now.get("last_used") or {}).get("date"))
            if used_now != used_then:
                where = now.get("last_used") or {}
                then = "no use" if used_then is None else f"its last use at {iso_time(used_then)}"
                drift.append(
                    f"{key_id} of {user} was last used at {iso_time(used_now) or 'no time'} "
                    f"({where.get('service') or 'unknown service'}, "
                    f"{where.get('region') or 'unknown region'}), the analysis saw {then}: a "
                    "key used since it was deactivated is not abandoned; nothing was deleted"
                )
        return drift

    def apply(self, target: Target) -> None:
        """``DeleteAccessKey`` each key, in order, stopping at the first failure; raises
        :class:`~bot.deploy.aws_access_keys.AwsCallError`."""
        for key_id in target.objects:
            user = str(target.pre_image[key_id]["user"])
            self.call("DeleteAccessKey", UserName=user, AccessKeyId=key_id)

    def label(self, target: Target, obj: str) -> str:
        """``AKIA… of <user>``."""
        return f"{obj} of {target.pre_image[obj]['user']}"

    def still_listed(self, target: Target, obj: str) -> str | None:
        """The key's status under its user, None when IAM no longer lists it."""
        status = self.status(str(target.pre_image[obj]["user"]), obj)
        return None if status is None else f" ({status})"

    def not_compensable(self, target: Target) -> MendbotError:
        """An :class:`~bot.deploy.aws_access_keys.AwsCallError`: a deleted key cannot be
        restored."""
        return AwsCallError(
            f"{', '.join(target.objects)}: {self.compensation}", code="NotCompensable"
        )


def check_deletion(target: Target) -> None:
    """Refuse anything but the deletion of Inactive keys named with their user in a named
    account; raises :class:`~bot.deploy.aws_access_keys.AccessKeyTargetError`."""
    where = target.source or KIND
    if not target.deletion or not target.objects:
        raise AccessKeyTargetError(f"{where}: not a deletion of access keys")
    if not str(target.location.get("account", "")).isdigit():
        raise AccessKeyTargetError(f"{where}: the change names no AWS account")
    for key_id in target.objects:
        seen = target.pre_image.get(key_id)
        if target.desired.get(key_id) is not None or not isinstance(seen, Mapping):
            raise AccessKeyTargetError(f"{where}: {key_id} is not a key the file stopped listing")
        if not isinstance(seen.get("user"), str):
            raise AccessKeyTargetError(f"{where}: {key_id} names no IAM user")
        if seen.get("status") != DELETABLE_STATUS:
            raise AccessKeyTargetError(
                f"{where}: {key_id} of {seen['user']} was {seen.get('status')} when the "
                "analysis saw it; only an Inactive key is deleted",
                advice="deactivate the key first (nhi-aws-unused-access-key) and let the "
                "cooling period pass (nhi-aws-inactive-access-key)",
            )
