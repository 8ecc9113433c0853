"""``mendbot unignore``: list a reverted remediation under ``propose.allow_reverted``."""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli.console import fail
from bot.errors import MendbotError


@click.command("unignore")
@click.argument("target")
@click.option(
    "--repo",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("."),
    show_default=True,
    help="The checkout whose default branch remembers the revert.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The configuration file to edit (default: .github/mendbot.yml, created if missing).",
)
def unignore_command(target: str, repo: Path, config_path: Path | None) -> None:
    """Let mendbot apply and propose again the reverted remediation TARGET (its id, or its
    fingerprint): adds it to `propose.allow_reverted` in the configuration, keeping every
    comment and the rest of the file as it is. Commit the change to make it count. Exit 0
    (listed, or listed already), 2 when TARGET names no reverted remediation or the file
    cannot be edited safely (it is left unchanged)."""
    from bot.analyze.unignore import unignore

    try:
        done = unignore(repo, target, config_path)
    except MendbotError as exc:
        fail(exc)
    if done.changed:
        click.echo(f"{done.config}: {done.remediation_id} listed under propose.allow_reverted")
    else:
        click.echo(f"{done.config}: {done.remediation_id} was listed already; nothing changed")
