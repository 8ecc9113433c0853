"""``mendbot demo``: the whole chain, locally, on a bundled insecure repository."""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli.console import fail, make_console
from bot.errors import MendbotError


@click.command("demo")
@click.option(
    "--workdir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where to create the demo repository (default: a new temporary directory).",
)
def demo_command(workdir: Path | None) -> None:
    """Run the whole chain locally on a bundled insecure example repository."""
    from bot.demo import run_demo

    try:
        run_demo(make_console(), workdir)
    except MendbotError as exc:
        fail(exc)
