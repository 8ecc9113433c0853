"""An account's IAM access keys, read through :class:`~bot.inventory.aws_reader.IamReader`,
as the ``aws-iam-access-key`` desired-state model.

Deterministic: keys are ordered by user then key id, times are whole-second UTC, and nothing
records when the inventory ran, so an unchanged account gives the same model. What a person
or an earlier inventory wrote and IAM cannot say is carried over from the previous file: an
owner set by hand (when no tag or CODEOWNERS line names one) and ``inactive_since``, the first
time a key was seen ``Inactive`` (the clock of ``nhi-aws-inactive-access-key``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from bot.desired import AccessKey, AwsIamAccessKeys, KeyLastUsed
from bot.inventory.aws_reader import IamReader, iso
from bot.inventory.errors import InventoryError
from bot.inventory.owners import owner_from_tags


def collect(
    reader: IamReader,
    account: str,
    *,
    previous: AwsIamAccessKeys | None,
    file_owner: str | None,
    now: datetime,
) -> AwsIamAccessKeys:
    """The keys of ``account`` (the reader's) now. ``previous`` is the file being replaced
    (when there is one); ``file_owner`` is the CODEOWNERS owner of the inventory file."""
    before = {key.id: key for key in previous.keys} if previous is not None else {}
    fallback = file_owner
    keys: list[AccessKey] = []
    for user, path in sorted(set(reader.users())):
        listed = sorted(reader.access_keys(user), key=lambda k: k.id)
        if not listed:
            continue
        tagged = owner_from_tags(reader.user_tags(user))
        for meta in listed:
            use = reader.last_used(meta.id)
            earlier = before.get(meta.id)
            owner = tagged or fallback or (earlier.owner if earlier is not None else None)
            keys.append(
                _key(
                    id=meta.id,
                    user=meta.user,
                    user_path=path,
                    status=meta.status,
                    created=iso(meta.created),
                    last_used=KeyLastUsed(
                        date=iso(use.date), service=use.service, region=use.region
                    ),
                    owner=owner,
                    inactive_since=_inactive_since(meta.status, earlier, now),
                )
            )
    keys.sort(key=lambda k: (k.user, k.id))
    return AwsIamAccessKeys(account=account, keys=tuple(keys))


def _key(**fields: Any) -> AccessKey:
    """An :class:`AccessKey` from IAM's answer; raises :class:`InventoryError` for a value the
    format cannot hold (nothing is written then)."""
    try:
        return AccessKey(**fields)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = ".".join(str(part) for part in error["loc"])
        raise InventoryError(
            f"IAM returned a value the inventory format cannot hold for access key "
            f"{fields.get('id')!r}: {name}: {error['msg']}",
            advice="nothing was written; report this to mendbot with the field above",
        ) from None


def _inactive_since(status: str, earlier: AccessKey | None, now: datetime) -> str | None:
    if status != "Inactive":
        return None
    if earlier is not None and earlier.status == "Inactive" and earlier.inactive_since:
        return earlier.inactive_since
    return iso(now)
