"""Option groups shared by several commands: whom to trust, and which forge to talk to.

Each group is one decorator that adds the options and hands the command a single object
(:class:`TrustOptions`, :class:`ForgeOptions`) that knows how to build what the options name.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from bot.forge.github import GitHubForge
    from bot.forge.local import LocalForge
    from bot.provenance.verification.trust import Trust

Command = Callable[..., None]


@dataclass(frozen=True)
class TrustOptions:
    """``--verify-key`` / ``--identity --issuer`` / ``--allow-unsigned`` and their companions."""

    verify_key: Path | None
    identity: str | None
    issuer: str | None
    repository_id: str | None
    triggers: tuple[str, ...]
    allow_unsigned: bool
    offline: bool

    def build(self) -> Trust:
        """The verifier's trust from exactly one of --verify-key, --identity/--issuer and
        --allow-unsigned; raises :class:`click.UsageError` otherwise."""
        from bot.provenance.sigstore_config import client_trust_config
        from bot.provenance.verification.trust import (
            DEFAULT_TRIGGERS,
            KeyTrust,
            SigstoreTrust,
            UnsafeAcceptUnsigned,
        )

        chosen = [
            name
            for name, given in (
                ("--verify-key", self.verify_key),
                ("--identity", self.identity),
                ("--allow-unsigned", self.allow_unsigned),
            )
            if given
        ]
        if len(chosen) != 1:
            raise click.UsageError(
                "give exactly one of --verify-key PUB, --identity SAN --issuer URL, "
                "--allow-unsigned"
            )
        if (self.identity is None) != (self.issuer is None):
            raise click.UsageError("--identity and --issuer go together")
        if self.verify_key is not None:
            return KeyTrust.from_file(self.verify_key)
        if self.identity is not None and self.issuer is not None:
            config = client_trust_config(os.environ)
            return SigstoreTrust(
                identity=self.identity,
                issuer=self.issuer,
                repository_id=self.repository_id,
                triggers=self.triggers or DEFAULT_TRIGGERS,
                trusted_root=config.trusted_root if config is not None else None,
                offline=self.offline,
            )
        return UnsafeAcceptUnsigned()


@dataclass(frozen=True)
class ForgeOptions:
    """``--forge`` and what reaching it needs (repository, API, GitHub App, local clone)."""

    forge_name: str
    repository: str | None
    api_url: str
    app_id: str | None
    app_private_key: Path | None
    installation_id: int | None
    repo: Path
    base: str | None

    def build(self) -> LocalForge | GitHubForge:
        """The forge (a GitHub App installation token when --app-id is given, else
        $GITHUB_TOKEN); raises :class:`click.UsageError` or a forge error."""
        from bot.forge.local import LocalForge
        from bot.git import toplevel as git_toplevel

        if self.forge_name != "github":
            return LocalForge(self.repo, self.base)
        from bot.forge.github import GitHubForge, installation_token, token_from_environment

        if not self.repository:
            raise click.UsageError("--forge github needs --repository OWNER/NAME")
        if bool(self.app_id) != bool(self.app_private_key):
            raise click.UsageError("--app-id and --app-private-key go together")
        token = (
            installation_token(
                self.repository,
                self.app_id,
                self.app_private_key,
                self.installation_id,
                base_url=self.api_url,
            )
            if self.app_id and self.app_private_key
            else token_from_environment()
        )
        return GitHubForge(
            self.repository, git_toplevel(self.repo), token, base_url=self.api_url, base=self.base
        )


def _grouped(
    name: str, model: type[TrustOptions] | type[ForgeOptions], options: list[Any]
) -> Callable[[Command], Command]:
    """A decorator adding ``options`` and passing their values as one ``model`` named ``name``."""
    names = [f.name for f in fields(model)]

    def decorate(command: Command) -> Command:
        @functools.wraps(command)
        def wrapper(**kwargs: Any) -> None:
            group = model(**{key: kwargs.pop(key) for key in names})
            command(**kwargs, **{name: group})

        for option in reversed(options):
            wrapper = option(wrapper)
        return wrapper

    return decorate


trust_options = _grouped(
    "trust",
    TrustOptions,
    [
        click.option(
            "--verify-key",
            type=click.Path(path_type=Path, dir_okay=False),
            help="Trust bundles signed by this ECDSA P-256 PEM public key.",
        ),
        click.option("--identity", help="Trusted Sigstore signer: the analysis workflow's SAN."),
        click.option("--issuer", help="Trusted OIDC issuer of --identity."),
        click.option(
            "--repository-id", help="With --identity: the source repository's numeric id."
        ),
        click.option(
            "--trigger",
            "triggers",
            multiple=True,
            help="With --identity: an allowed workflow trigger (repeatable; default: schedule, "
            "workflow_dispatch, push).",
        ),
        click.option(
            "--allow-unsigned",
            is_flag=True,
            help="UNSAFE: accept bundles without a signature; the source becomes human-override.",
        ),
        click.option(
            "--offline",
            is_flag=True,
            envvar="MENDBOT_OFFLINE",
            help="No network request of mendbot's own (also MENDBOT_OFFLINE=1): here, use the "
            "cached/embedded Sigstore trusted root instead of refreshing it over TUF.",
        ),
    ],
)
"""Adds the trust options and passes ``trust: TrustOptions``."""

forge_options = _grouped(
    "forge",
    ForgeOptions,
    [
        click.option(
            "--forge",
            "forge_name",
            type=click.Choice(["local", "github"]),
            default="local",
            show_default=True,
            help="Where pull requests live (local: branches plus records under .git/mendbot/; "
            "github: the token in $GITHUB_TOKEN).",
        ),
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
            help="With --forge github: the REST API root (GitHub Enterprise: https://HOST/api/v3).",
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
            help="With --app-id: the installation (default: the one installed on --repository).",
        ),
        click.option(
            "--repo",
            type=click.Path(path_type=Path, file_okay=False),
            default=Path("."),
            show_default=True,
            help="A local git repository holding the base commits (with --forge github, "
            "commits are fetched into it; it is never checked out).",
        ),
        click.option(
            "--base",
            help="Local forge: the default branch (propose targets it; the gate reads policies "
            "from it); default: the branch origin/HEAD names, else init.defaultBranch, else "
            "main, else master (never merely the checked-out branch).",
        ),
    ],
)
"""Adds the forge options and passes ``forge: ForgeOptions``."""
