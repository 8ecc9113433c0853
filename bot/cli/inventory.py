"""``mendbot inventory``: the analysis identity's read-only telemetry, written into a checkout.

``inventory aws`` reads IAM access keys; ``inventory github`` reads one repository's Actions
settings, secrets, variables, deploy keys and environments (GET requests only).

Exit codes: 0 the inventory file is written (or already up to date), 2 it could not be taken
(credentials, permissions, endpoint, output folder); nothing is written then.
"""

from __future__ import annotations

import re
from pathlib import Path

import click

from bot.cli.console import fail, make_console
from bot.cli.times import parse_now
from bot.errors import MendbotError
from bot.inventory.run import inventory_aws, inventory_github

_FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}\.ya?ml$")
#: ``owner/name`` as GitHub spells them (no ``.``/``..`` part: nothing steps out of /repos).
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$")


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
    now = parse_now(now_text)
    try:
        run = inventory_aws(repository, account_file_name, region, now)
    except MendbotError as exc:
        fail(exc)
    err = make_console(stderr=True)
    for line in run.warnings:
        err.print(f"warning: {line}")
    state = "wrote" if run.written else "unchanged:"
    err.print(f"{state} {run.path} ({run.keys} access keys)")


@inventory_group.command("github")
@click.option(
    "--repository",
    required=True,
    metavar="OWNER/NAME",
    help="The GitHub repository to read.",
)
@click.option(
    "--out",
    "repository_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="The checkout to write .mendbot/desired/github-settings/<owner>--<name>.yml and "
    ".mendbot/desired/github-nhi/<owner>--<name>.yml into.",
)
@click.option(
    "--api-url",
    metavar="URL",
    help="GitHub's REST API root (default: $GITHUB_API_URL, else https://api.github.com).",
)
def inventory_github_command(repository: str, repository_dir: Path, api_url: str | None) -> None:
    """Read a repository's Actions settings (default token permissions, whether Actions may
    approve pull requests, allowed actions), Actions secrets and variables (names and dates:
    values are never readable), deploy keys and environments with their protection rules and
    secrets, with the read-only token of $GITHUB_TOKEN or $GH_TOKEN (never an argument; GET
    requests only), and write them to REPO's inventory files, deterministically: a rerun on an
    unchanged repository changes no byte."""
    if not _REPOSITORY.match(repository) or {".", ".."} & set(repository.split("/")):
        raise click.BadParameter(f"{repository!r} is not OWNER/NAME", param_hint="--repository")
    try:
        run = inventory_github(repository_dir, repository, api_url)
    except MendbotError as exc:
        fail(exc)
    err = make_console(stderr=True)
    for line in run.warnings:
        err.print(f"warning: {line}")
    for path, written in run.files:
        err.print(f"{'wrote' if written else 'unchanged:'} {path}")
    err.print(f"{repository}: {run.counts}")
