"""Every forge ``--forge`` can name, each with its own options, one entry each.

A forge kind declares the click options only it takes and builds its adapter from their values
plus the local clone (``--repo``) and base branch (``--base``) every forge uses. Adding a forge
is an adapter in :mod:`bot.forge` and one entry in :data:`FORGE_KINDS`; ``--forge``'s choices
and help follow from this map.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from bot.forge.interface import ForgeHost

Option = Callable[[Callable[..., None]], Callable[..., None]]


@dataclass(frozen=True)
class ForgeKind:
    """One forge: a help line, its own options (by parameter name) and how to build it."""

    help: str
    options: tuple[Option, ...]
    option_names: tuple[str, ...]
    build: Callable[[Mapping[str, Any], Path, str | None], ForgeHost]


def _local(settings: Mapping[str, Any], repo: Path, base: str | None) -> ForgeHost:
    from bot.forge.local import LocalForge

    return LocalForge(repo, base)


def _github(settings: Mapping[str, Any], repo: Path, base: str | None) -> ForgeHost:
    """A GitHub App installation token when --app-id is given, else $GITHUB_TOKEN."""
    from bot.forge.github.client import installation_token, token_from_environment
    from bot.forge.github.forge import GitHubForge
    from bot.git import toplevel

    repository: str | None = settings["repository"]
    app_id: str | None = settings["app_id"]
    app_private_key: Path | None = settings["app_private_key"]
    if not repository:
        raise click.UsageError("--forge github needs --repository OWNER/NAME")
    if bool(app_id) != bool(app_private_key):
        raise click.UsageError("--app-id and --app-private-key go together")
    token = (
        installation_token(
            repository,
            app_id,
            app_private_key,
            settings["installation_id"],
            base_url=settings["api_url"],
        )
        if app_id and app_private_key
        else token_from_environment()
    )
    return GitHubForge(repository, toplevel(repo), token, base_url=settings["api_url"], base=base)


FORGE_KINDS: dict[str, ForgeKind] = {
    "local": ForgeKind(
        help="branches plus records under .git/mendbot/",
        options=(),
        option_names=(),
        build=_local,
    ),
    "github": ForgeKind(
        help="the token in $GITHUB_TOKEN, or a GitHub App",
        options=(
            click.option(
                "--repository",
                envvar="GITHUB_REPOSITORY",
                help="With --forge github: OWNER/NAME (default: $GITHUB_REPOSITORY).",
            ),
            click.option(
                "--api-url",
                envvar="GITHUB_API_URL",
                default="https://api.github.com",
                show_default=True,
                help="With --forge github: the REST API root (GitHub Enterprise: "
                "https://HOST/api/v3).",
            ),
            click.option(
                "--app-id",
                envvar="MENDBOT_APP_ID",
                help="With --forge github: authenticate as this GitHub App (with "
                "--app-private-key) instead of $GITHUB_TOKEN.",
            ),
            click.option(
                "--app-private-key",
                envvar="MENDBOT_APP_PRIVATE_KEY_FILE",
                type=click.Path(path_type=Path, dir_okay=False),
                help="With --app-id: the App's PEM private key file.",
            ),
            click.option(
                "--installation-id",
                envvar="MENDBOT_APP_INSTALLATION_ID",
                type=int,
                help="With --app-id: the installation (default: the one installed on "
                "--repository).",
            ),
        ),
        option_names=("repository", "api_url", "app_id", "app_private_key", "installation_id"),
        build=_github,
    ),
}
