"""The ``mendbot`` command group: each command's module is imported only when it runs.

A command belongs to one identity (analysis, propose, gate, deploy) and its module imports only
what that identity uses, so ``mendbot gate`` never loads a detector or the propose job and
``mendbot --version`` loads nothing but click. :data:`COMMANDS` maps each top-level command to
``module:attribute``; ``tests/test_identity_imports.py`` checks what each one loads.
"""

from __future__ import annotations

import gc
import importlib

import click

from bot import __version__

#: Top-level command → ``module:attribute`` of its click command, in help order.
COMMANDS: dict[str, str] = {
    "analyze": "bot.cli.analyze:analyze_command",
    "rules": "bot.cli.analyze:rules_command",
    "config": "bot.cli.analyze:config_group",
    "key": "bot.cli.keys:key_group",
    "inventory": "bot.cli.inventory:inventory_group",
    "verify": "bot.cli.verify:verify_command",
    "propose": "bot.cli.propose:propose_command",
    "revert": "bot.cli.revert:revert_command",
    "unignore": "bot.cli.unignore:unignore_command",
    "policy": "bot.cli.policy:policy_group",
    "gate": "bot.cli.gate:gate_command",
    "deploy": "bot.cli.deploy:deploy_group",
    "fleet": "bot.cli.fleet:fleet_group",
    "demo": "bot.cli.demo:demo_command",
}


#: The module of the job ``analyze`` runs in worker processes, which their fork server imports.
ANALYSIS_JOB_MODULE = "bot.analyze.file_job"


def asks_for_workers(args: list[str]) -> bool:
    """Whether ``analyze``'s arguments ask for more than one worker (``-j N``, ``-jN``,
    ``--jobs N``, ``--jobs=N`` with N above 1, before any ``--``) and for no cache (with a
    cache, every file may be a hit, and a rescan that needs no rule imports none). Only a hint
    to start the fork server early: a wrong answer costs time, never a result."""
    head = args[: args.index("--")] if "--" in args else args
    if "--no-cache" not in head:
        return False
    for position, arg in enumerate(head):
        if arg in ("-j", "--jobs"):
            value = head[position + 1] if position + 1 < len(head) else ""
        elif arg.startswith("--jobs="):
            value = arg.removeprefix("--jobs=")
        elif arg.startswith("-j") and not arg.startswith("--"):
            value = arg[2:]
        else:
            continue
        return value.isdigit() and int(value) > 1
    return False


class LazyGroup(click.Group):
    """A group whose commands are imported on first use (as click's documentation suggests)."""

    def __init__(self, *args: object, lazy: dict[str, str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy = lazy
        self.freeze_loaded = False
        """Move what importing a command created out of the garbage collector's sight (only in
        a process of its own: see :func:`main`)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*self.lazy, *super().list_commands(ctx)]

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if self.freeze_loaded and args and args[0] == "analyze" and asks_for_workers(args[1:]):
            # The fork server imports the rules on another CPU while this process imports the
            # command: a run with workers no longer waits for one import after the other.
            from bot.analyze.workers import prepare_workers

            prepare_workers(ANALYSIS_JOB_MODULE)
        return super().resolve_command(ctx, args)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = self.lazy.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module_name, _, attribute = target.partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if self.freeze_loaded:
            # Modules, classes and schemas live as long as the process: collections need not
            # walk them again and again while an analysis allocates its findings.
            gc.freeze()
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        return command


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="mendbot", package_name="mendbot")
def cli() -> None:
    """mendbot: find security problems in GitHub Actions workflows and fix them safely."""


#: Allocations between two collections of the youngest generation (Python's default: 700).
#: A rescan builds thousands of findings that all live until the report; collecting every 700
#: allocations cost a fifth of its time, and 10,000 leaves the peak memory where it was.
GC_YOUNG_THRESHOLD = 10_000


def main() -> None:
    """Console-script entry point: the command in a process of its own, whose garbage collector
    is tuned for a short run that keeps most of what it builds (see
    :data:`GC_YOUNG_THRESHOLD`)."""
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)
    cli.freeze_loaded = True
    cli(prog_name="mendbot")
