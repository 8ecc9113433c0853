"""``mendbot inventory``: the analysis identity's read-only telemetry, written into a checkout.

Exit codes: 0 the inventory file is written (or already up to date), 2 it could not be taken
(credentials, permissions, endpoint, output folder); nothing is written then.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import click

from bot.cli.console import fail, make_console
from bot.desired import DESIRED_DIR, AwsIamAccessKeys, DesiredStateError, parse_desired
from bot.errors import MendbotError
from bot.inventory.errors import InventoryError

AWS_KIND = "aws-iam-access-key"
_FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}\.ya?ml$")


@click.group("inventory")
def inventory_group() -> None:
    """Read non-human identities with a read-only identity and write them as desired state."""


@inventory_group.command("aws")
@click.option(
    "--out",
    "repository",
    required=True,
    type=click.Path(path_type=Path),
    help="The checkout to write .mendbot/desired/aws-iam-access-key/<account>.yml into.",
)
@click.option(
    "--account-file-name",
    metavar="NAME.yml",
    help="File name under .mendbot/desired/aws-iam-access-key/ (default: <account id>.yml).",
)
@click.option(
    "--region",
    help="Region of the STS endpoint (default: the AWS chain's, else us-east-1; IAM is global).",
)
@click.option(
    "--now",
    "now_text",
    metavar="TIME",
    help="The time recorded as `inactive_since` for keys first seen Inactive, RFC 3339 UTC "
    "(default: the clock).",
)
def inventory_aws_command(
    repository: Path, account_file_name: str | None, region: str | None, now_text: str | None
) -> None:
    """Read IAM users and access keys (ListUsers, ListAccessKeys, GetAccessKeyLastUsed,
    ListUserTags, GetCallerIdentity; never a write call) with credentials from the standard
    AWS chain and write them to REPO's inventory file, deterministically: a rerun on an
    unchanged account changes no byte."""
    if account_file_name is not None and not _FILE_NAME.match(account_file_name):
        raise click.BadParameter(
            f"{account_file_name!r} is not a plain file name ending in .yml or .yaml",
            param_hint="--account-file-name",
        )
    try:
        now = _parse_now(now_text)
        written, relative, count, pending = _inventory_aws(
            repository, account_file_name, region, now
        )
    except MendbotError as exc:
        fail(exc)
    err = make_console(stderr=True)
    for line in pending:
        err.print(f"warning: {line}")
    state = "wrote" if written else "unchanged:"
    err.print(f"{state} {relative} ({count} access keys)")


def _parse_now(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InventoryError(f"--now {text!r} is not an RFC 3339 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _inventory_aws(
    repository: Path, file_name: str | None, region: str | None, now: datetime
) -> tuple[bool, str, int, list[str]]:
    from bot.inventory.aws import collect
    from bot.inventory.aws_reader import connect
    from bot.inventory.owners import codeowners_of
    from bot.inventory.render import render_access_keys
    from bot.inventory.write import check_repository, read_existing, write_file

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
    text = render_access_keys(inventory)
    # The written file must read back as the model it came from (the rules and the deploy
    # job read it with the same parser).
    if parse_desired(relative, text.encode("utf-8")) != inventory:
        raise InventoryError(f"{relative}: the rendered inventory does not read back; not written")
    written = write_file(repository, relative, text.encode("utf-8"))
    return written, relative, len(inventory.keys), _undeployed(previous, inventory)


def _undeployed(previous: AwsIamAccessKeys | None, observed: AwsIamAccessKeys) -> list[str]:
    """Keys whose status the replaced file asked for and IAM does not show: a merged change not
    deployed yet, or undone by someone. The file now says what IAM says; the user is told."""
    if previous is None:
        return []
    now = {key.id: key.status for key in observed.keys}
    return [
        f"{key.id} of {key.user} is {now[key.id]} in IAM, the file said {key.status}: a merged "
        "change not deployed yet, or undone since; check before committing this inventory"
        for key in previous.keys
        if key.id in now and now[key.id] != key.status
    ]


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
