"""``mendbot propose``: the propose identity's command."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bot.cli.console import EXIT_CLEAN, EXIT_FINDINGS, EXIT_INPUT_ERRORS, fail
from bot.cli.options import ForgeOptions, TrustOptions, forge_options, trust_options
from bot.errors import MendbotError


@click.command("propose")
@click.argument(
    "bundle_dirs", nargs=-1, required=True, type=click.Path(path_type=Path, file_okay=False)
)
@forge_options
@trust_options
def propose_command(
    bundle_dirs: tuple[Path, ...], forge: ForgeOptions, trust: TrustOptions
) -> None:
    """Verify remediation bundles and open or update one pull request per remediation (exit 1
    if any bundle was refused, 3 if the forge failed on some bundle while the others were
    proposed; held-back ones are listed)."""
    from bot.config import find_config, load_config
    from bot.propose.job import Status, propose, render_outcomes

    try:
        verifier = trust.build()
        host = forge.build()
        config = load_config(find_config(host.workdir), None)
        outcomes = propose(
            list(bundle_dirs), host, verifier, config.propose, environments=config.environments
        )
    except MendbotError as exc:
        fail(exc)
    click.echo(render_outcomes(outcomes), nl=False)
    statuses = {o.status for o in outcomes}
    if Status.FAILED in statuses:
        sys.exit(EXIT_INPUT_ERRORS)
    sys.exit(EXIT_FINDINGS if Status.REFUSED in statuses else EXIT_CLEAN)
