"""``mendbot fleet``: plan an organisation's analysis as a matrix, merge what the shards wrote.

Exit codes: 0 done; 2 usage error; 3 GitHub refused or failed (plan), or a shard folder is
missing, damaged or conflicts with another (merge). Nothing is written on an error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from bot.cli.console import fail, make_console
from bot.errors import MendbotError, WriteError
from bot.fleet.shards import MAX_SHARDS


@click.group("fleet")
def fleet_group() -> None:
    """Analyse every repository of an organisation in parallel jobs (docs/fleet.md)."""


@fleet_group.command("plan")
@click.option("--org", required=True, help="The organisation whose repositories to analyse.")
@click.option(
    "--shards",
    type=click.IntRange(1, MAX_SHARDS),
    default=8,
    show_default=True,
    help=f"Split the repositories into at most this many jobs (GitHub allows {MAX_SHARDS}).",
)
@click.option("--include-archived", is_flag=True, help="Also analyse archived repositories.")
@click.option("--include-forks", is_flag=True, help="Also analyse forks.")
@click.option(
    "--api-url",
    envvar="GITHUB_API_URL",
    default="https://api.github.com",
    show_default=True,
    help="The REST API root (GitHub Enterprise: https://HOST/api/v3).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the matrix to this file instead of standard output.",
)
def plan_command(
    org: str,
    shards: int,
    include_archived: bool,
    include_forks: bool,
    api_url: str,
    output: Path | None,
) -> None:
    """List ORG's repositories (token in $GITHUB_TOKEN, never an option) and print the analysis
    job's matrix on one line: {"include": [{"shard", "repositories", "workflows"}, ...]},
    shards balanced by workflow count, the same for the same organisation. Archived
    repositories, forks and repositories without workflows are skipped (listed on stderr)."""
    from bot.fleet.listing import list_organisation
    from bot.fleet.shards import balance, matrix
    from bot.forge.github.client import token_from_environment

    err = make_console(stderr=True)
    try:
        listing = list_organisation(
            org,
            token_from_environment(),
            api_url=api_url,
            include_archived=include_archived,
            include_forks=include_forks,
        )
        planned = balance(listing.repositories, shards)
        text = json.dumps(matrix(planned), separators=(",", ":"), sort_keys=True) + "\n"
        if output is None:
            sys.stdout.write(text)
        else:
            _write_atomically(output, text)
    except MendbotError as exc:
        fail(exc)
    for name, reason in listing.skipped:
        err.print(f"skipped {org}/{name}: {reason}", markup=False, highlight=False)
    workflows = sum(repo.workflows for repo in listing.repositories)
    err.print(
        f"{len(listing.repositories)} repositories ({workflows} workflows) in {len(planned)} "
        f"shards; {len(listing.skipped)} skipped",
        highlight=False,
    )


@fleet_group.command("merge")
@click.argument(
    "shard_dirs", nargs=-1, required=True, type=click.Path(path_type=Path, file_okay=False)
)
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="New folder for the merged report.json, report.sarif and bundles/.",
)
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="The matrix of `mendbot fleet plan`, so the summary lists clean repositories too.",
)
@click.option(
    "--summary",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Append a Markdown summary per repository to this file (e.g. $GITHUB_STEP_SUMMARY).",
)
def merge_command(
    shard_dirs: tuple[Path, ...], out: Path, plan_file: Path | None, summary: Path | None
) -> None:
    """Combine the shard folders SHARD_DIRS (each: report.json, report.sarif, bundles/) into
    OUT, byte for byte what one sequential `mendbot analyze` over all the checkouts writes:
    duplicates count once, a conflict (one repository in two shards, one bundle name with two
    contents, two mendbot versions) is an error naming both."""
    from bot.fleet.merge import merge_shards, write_merged
    from bot.fleet.summary import render_summary

    try:
        planned = _planned(plan_file) if plan_file is not None else []
        merged = merge_shards(shard_dirs)
        write_merged(merged, out)
        if summary is not None:
            _append(summary, render_summary(merged.report, planned))
    except MendbotError as exc:
        fail(exc)
    err = make_console(stderr=True)
    for duplicate in merged.duplicates:
        err.print(f"skipped {duplicate}: the same report as an earlier shard", markup=False)
    counts = merged.report["summary"]
    err.print(
        f"merged {len(shard_dirs) - len(merged.duplicates)} shards into {out}: "
        f"{counts.get('findings', 0)} findings, {counts.get('errors', 0)} errors",
        markup=False,
        highlight=False,
    )


def _planned(plan_file: Path) -> list[str]:
    """The repository names of a ``fleet plan`` matrix file."""
    from bot.errors import InputError

    advice = "pass the file `mendbot fleet plan --output` wrote"
    try:
        document = json.loads(plan_file.read_text(encoding="utf-8"))
        return [
            str(name)
            for entry in document["include"]
            for name in entry["repositories"]
            if isinstance(name, str)
        ]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{plan_file}: cannot read the plan ({exc})", advice=advice) from None
    except (KeyError, TypeError):
        raise InputError(
            f"{plan_file}: not a plan (no include[].repositories)", advice=advice
        ) from None


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise WriteError(f"cannot write {path}: {exc.strerror}") from None


def _append(path: Path, text: str) -> None:
    try:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise WriteError(
            f"cannot append the summary to {path}: {exc.strerror}",
            advice="the merged reports were written; rerun with another --summary",
        ) from None
