"""``mendbot key``: local signing keys for ``analyze --bundle-out --sign key``."""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli.console import fail
from bot.errors import MendbotError


@click.group("key")
def key_group() -> None:
    """Manage local signing keys for --sign key."""


@key_group.command("generate")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Folder for mendbot.key (private, mode 0600) and mendbot.pub.",
)
def key_generate_command(out: Path) -> None:
    """Create an ECDSA P-256 key pair for signing remediation bundles."""
    from bot.provenance.keys import generate

    try:
        keys = generate(out)
    except MendbotError as exc:
        fail(exc)
    click.echo(f"private key: {keys.private} (keep it secret)")
    click.echo(f"public key:  {keys.public} (give it to verifiers: --verify-key)")
    click.echo(f"hint:        {keys.hint}")
