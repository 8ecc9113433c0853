"""Option groups shared by several commands: whom to trust, and which forge to talk to.

Each group is one decorator that adds the options and hands the command a single object
(:class:`TrustOptions`, :class:`ForgeOptions`) that knows how to build what the options name.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from bot.forge.interface import ForgeHost
    from bot.provenance.signing.signers import Signer
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
    """``--forge NAME``, the local clone and base branch every forge uses, and the values of the
    options that forge declares (:data:`bot.cli.forges.FORGE_KINDS`)."""

    forge_name: str
    repo: Path
    base: str | None
    settings: Mapping[str, Any]

    def build(self) -> ForgeHost:
        """The forge ``--forge`` names, built from its own options; raises
        :class:`click.UsageError` or a forge error."""
        from bot.cli.forges import FORGE_KINDS

        return FORGE_KINDS[self.forge_name].build(self.settings, self.repo, self.base)


def make_signer(kind: str, key: Path | None) -> Signer:
    """The signer ``--sign KIND`` names: ``sigstore`` (the ambient OIDC identity), ``key``
    (the PEM private key file ``key``), anything else (or ``key`` without a file) none."""
    from bot.provenance.signing.signers import KeySigner, NoSigner, SigstoreSigner
    from bot.provenance.sigstore_config import client_trust_config

    if kind == "key" and key is not None:
        return KeySigner.from_file(key)
    if kind == "sigstore":
        return SigstoreSigner(client_trust_config(os.environ))
    return NoSigner()


def grouped(name: str, model: type[Any], options: list[Any]) -> Callable[[Command], Command]:
    """A decorator adding ``options`` and passing their values as one ``model`` named ``name``
    (a dataclass whose fields are the options' parameter names)."""
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


trust_options = grouped(
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


def forge_options(command: Command) -> Command:
    """Adds ``--forge``, ``--repo``, ``--base`` and every forge's own options, and passes
    ``forge: ForgeOptions`` holding the chosen forge's values."""
    from bot.cli.forges import FORGE_KINDS, Option

    declared = [option for kind in FORGE_KINDS.values() for option in kind.options]
    names = {kind_name: kind.option_names for kind_name, kind in FORGE_KINDS.items()}

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> None:
        forge_name = kwargs.pop("forge_name")
        all_names = {name for kind_names in names.values() for name in kind_names}
        values = {name: kwargs.pop(name) for name in all_names}
        settings = {name: values[name] for name in names[forge_name]}
        forge = ForgeOptions(forge_name, kwargs.pop("repo"), kwargs.pop("base"), settings)
        command(**kwargs, forge=forge)

    common: list[Option] = [
        click.option(
            "--forge",
            "forge_name",
            type=click.Choice(list(FORGE_KINDS)),
            default="local",
            show_default=True,
            help="Where pull requests live: "
            + "; ".join(f"{name}: {kind.help}" for name, kind in FORGE_KINDS.items())
            + ".",
        ),
        *declared,
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
    ]
    decorated: Command = wrapper
    for option in reversed(common):
        decorated = option(decorated)
    return decorated


def signing_options(command: Callable[..., None]) -> Callable[..., None]:
    """``--sign`` (as ``sign_kind``) and ``--signing-key``: how the bundles a command writes
    with ``--bundle-out`` are signed (``analyze``, ``revert``); see :func:`check_signing`."""
    command = click.option(
        "--signing-key",
        type=click.Path(path_type=Path, dir_okay=False),
        help="With --bundle-out: ECDSA P-256 PEM private key for --sign key "
        "(`mendbot key generate`).",
    )(command)
    return click.option(
        "--sign",
        "sign_kind",
        type=click.Choice(["sigstore", "key", "none"]),
        help="With --bundle-out: how bundles are signed. Default: sigstore in GitHub Actions, "
        "key with --signing-key, otherwise none (unsigned dry run).",
    )(command)


def check_signing(sign_kind: str | None, signing_key: Path | None) -> None:
    """Raise a usage error when ``--sign key`` comes without its key."""
    if sign_kind == "key" and signing_key is None:
        raise click.UsageError("--sign key needs --signing-key FILE")
