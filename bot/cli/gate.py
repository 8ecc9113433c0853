"""``mendbot gate``: the gate identity's command, and the setup ``policy explain`` shares."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.cli.console import (
    EXIT_CLEAN,
    EXIT_FINDINGS,
    EXIT_INPUT_ERRORS,
    EXIT_USAGE,
    print_error,
    report_error,
)
from bot.cli.options import ForgeOptions, TrustOptions, forge_options, trust_options
from bot.errors import MendbotError

if TYPE_CHECKING:
    from bot.forge.interface import GateForge
    from bot.gate.run import GateOptions, GateRun


def gate_setup(
    forge: ForgeOptions,
    trust: TrustOptions,
    now: str | None,
    *,
    report: bool,
    status_sha: str | None = None,
    target_url: str | None = None,
) -> tuple[GateForge, GateOptions]:
    """The forge and the gate's options; usage and forge errors exit 2."""
    from datetime import UTC, datetime

    from bot.gate.run import GateOptions

    if now is None:
        clock = datetime.now(UTC)
    else:
        try:
            clock = datetime.fromisoformat(now.replace("Z", "+00:00"))
        except ValueError:
            raise click.BadParameter(
                f"{now!r} is not an RFC 3339 time", param_hint="--now"
            ) from None
        if clock.tzinfo is None:
            raise click.BadParameter("give a time zone (e.g. Z)", param_hint="--now")
    try:
        options = GateOptions(
            trust=trust.build(),
            now=clock.astimezone(UTC),
            report=report,
            status_sha=status_sha,
            target_url=target_url,
        )
        return forge.build(), options
    except MendbotError as exc:
        report_error(exc)
        sys.exit(EXIT_USAGE)


def gate_one(forge: GateForge, number: int, options: GateOptions) -> GateRun | None:
    """One decision; None (after printing why) when the forge failed for this pull request."""
    from bot.gate.run import evaluate

    try:
        return evaluate(forge, number, options)
    except MendbotError as exc:
        report_error(exc)
        return None
    except Exception as exc:  # NOTE(gate): a crash must exit 2 (error), never 1 (decided).
        print_error(
            f"the gate failed on #{number}: {type(exc).__name__}: {exc}\n"
            "  hint: nothing was allowed (the status stays pending or error); please report "
            "this with the command line"
        )
        return None


def _run_url() -> str | None:
    """The Actions run that is deciding, for the status link."""
    server, repository, run = (
        os.environ.get(name) for name in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    )
    return f"{server}/{repository}/actions/runs/{run}" if server and repository and run else None


def allowed(run: GateRun) -> bool:
    return run.decision.outcome == "allow" and not run.superseded


@click.command("gate")
@click.option("--pr", "number", type=int, help="The pull request to decide on.")
@click.option(
    "--all-open",
    is_flag=True,
    help="Decide on every open pull request (the scheduled run: windows open and close).",
)
@forge_options
@trust_options
@click.option("--now", help="Decide as of this RFC 3339 time instead of the clock (replays).")
@click.option(
    "--record",
    type=click.Path(path_type=Path),
    help="Write the decision record (JSON: context, digests, outcome, what was reported) to "
    "this file; with --all-open, this folder gets one pr-<number>.json per pull request.",
)
@click.option(
    "--merge-group-sha",
    help="In a merge queue (merge_group event): post the status on this commit.",
)
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text")
def gate_command(
    number: int | None,
    all_open: bool,
    forge: ForgeOptions,
    trust: TrustOptions,
    now: str | None,
    record: Path | None,
    merge_group_sha: str | None,
    output_format: str,
) -> None:
    """Decide whether pull request --pr (or every open one) may merge and report it on the
    forge: commit status mendbot/policy, one sticky comment, a gate:* label (exit 0 allowed,
    1 not allowed, 2 usage or configuration error, 3 a pull request could not be decided)."""
    from bot.gate.run import write_record
    from bot.git import batched
    from bot.policy.render import render_decision

    if (number is None) == (not all_open):
        raise click.UsageError("give exactly one of --pr N and --all-open")
    if all_open and merge_group_sha:
        raise click.UsageError("--merge-group-sha decides one pull request: use --pr")
    host, options = gate_setup(
        forge, trust, now, report=True, status_sha=merge_group_sha, target_url=_run_url()
    )
    if number is not None:
        numbers = [number]
    else:
        try:
            numbers = host.open_pull_numbers()
        except MendbotError as exc:
            report_error(exc)
            sys.exit(EXIT_INPUT_ERRORS)
    runs: list[GateRun] = []
    failed = False
    # One batched git session for the whole run: what one pull request's decision read about
    # commits and trees (the base branch's history, say) serves the next.
    with batched():
        for each in numbers:
            run = gate_one(host, each, options)
            if run is None:
                failed = True
                continue
            runs.append(run)
            if record is not None:
                write_record(record / f"pr-{each}.json" if all_open else record, run.record)
            if output_format == "text":
                if all_open:
                    click.echo(f"#{each}: ", nl=False)
                click.echo(render_decision(run.decision), nl=False)
                for line in run.reported:
                    click.echo(f"reported: {line}")
    if output_format == "json":
        records = [run.record for run in runs]
        click.echo(
            json.dumps(
                records if all_open else records[0] if records else {}, indent=2, sort_keys=True
            )
        )
    if failed:
        sys.exit(EXIT_INPUT_ERRORS)
    sys.exit(EXIT_CLEAN if all(allowed(run) for run in runs) else EXIT_FINDINGS)
