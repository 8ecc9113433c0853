"""One ``mendbot inventory aws`` run: read the account, merge what the replaced file knew,
render, check that it reads back, and write it only when a byte changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.desired import DESIRED_DIR, AwsIamAccessKeys, DesiredStateError, parse_desired
from bot.inventory.aws import collect
from bot.inventory.aws_reader import connect
from bot.inventory.errors import InventoryError
from bot.inventory.owners import codeowners_of
from bot.inventory.render import render_access_keys
from bot.inventory.write import check_repository, read_existing, write_file

AWS_KIND = "aws-iam-access-key"


@dataclass(frozen=True)
class InventoryRun:
    """What one run did."""

    path: str
    """The inventory file, relative to the repository."""
    written: bool
    """False when the file already held exactly these bytes (it was not touched)."""
    keys: int
    warnings: tuple[str, ...]
    """Keys whose status the replaced file asked for and IAM does not show."""


def inventory_aws(
    repository: Path, file_name: str | None, region: str | None, now: datetime
) -> InventoryRun:
    """Inventory the access keys of the AWS chain's account into ``repository``; raises
    :class:`InventoryError` (or :class:`~bot.desired.DesiredStateError`) with nothing
    written."""
    check_repository(repository)
    reader = connect(region)
    account = reader.account_id()
    relative = f"{DESIRED_DIR}/{AWS_KIND}/{file_name or account + '.yml'}"
    previous = _previous(relative, read_existing(repository, relative), account)
    inventory = collect(
        reader,
        account,
        previous=previous,
        file_owner=codeowners_of(repository, relative),
        now=now,
    )
    data = render_access_keys(inventory).encode("utf-8")
    # The written file must read back as the model it came from (the rules and the deploy
    # job read it with the same parser).
    if parse_desired(relative, data) != inventory:
        raise InventoryError(f"{relative}: the rendered inventory does not read back; not written")
    written = write_file(repository, relative, data)
    return InventoryRun(relative, written, len(inventory.keys), _undeployed(previous, inventory))


def _undeployed(previous: AwsIamAccessKeys | None, observed: AwsIamAccessKeys) -> tuple[str, ...]:
    """Keys whose status the replaced file asked for and IAM does not show: a merged change not
    deployed yet, or undone by someone. The file now says what IAM says; the user is told."""
    if previous is None:
        return ()
    now = {key.id: key.status for key in observed.keys}
    return tuple(
        f"{key.id} of {key.user} is {now[key.id]} in IAM, the file said {key.status}: a merged "
        "change not deployed yet, or undone since; check before committing this inventory"
        for key in previous.keys
        if key.id in now and now[key.id] != key.status
    )


def _previous(relative: str, raw: bytes | None, account: str) -> AwsIamAccessKeys | None:
    if raw is None:
        return None
    try:
        parsed = parse_desired(relative, raw)
    except DesiredStateError as exc:
        raise InventoryError(
            f"the existing inventory is not valid: {exc}",
            advice="fix or remove the file, then rerun; it was left unchanged",
        ) from None
    if not isinstance(parsed, AwsIamAccessKeys) or parsed.account != account:
        found = getattr(parsed, "account", "?")
        raise InventoryError(
            f"{relative} holds account {found}, the credentials are of account {account}",
            advice="use --account-file-name to give each account its own file",
        )
    return parsed
