"""The ``mendbot`` command line: thin commands over the library; the only place that exits.

Exit codes of ``mendbot analyze``: 0 nothing to report, 1 findings remain, 2 usage or
configuration error, 3 some inputs could not be read (the others were still analysed).
"""

from __future__ import annotations

import difflib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from bot import __version__
from bot.analysis import Analysis, analyze
from bot.config import find_config, json_schema, load_config
from bot.detectors.registry import RULES, rule_ids, rule_options
from bot.errors import MendbotError
from bot.models import FixMode
from bot.refs import RefResolver, default_cache_dir
from bot.report import github, json_report, sarif, text
from bot.writer import write_all

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INPUT_ERRORS = 3

#: Show a progress bar on a terminal when a scan has at least this many files.
PROGRESS_THRESHOLD = 50


def _console(stderr: bool = False) -> Console:
    console = Console(stderr=stderr, highlight=False, soft_wrap=False)
    if not console.is_terminal:
        # Piped output is read in logs and CI consoles, which are wider than 80 columns.
        console = Console(stderr=stderr, highlight=False, soft_wrap=False, width=140)
    return console


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mendbot")
def cli() -> None:
    """mendbot: find security problems in GitHub Actions workflows and fix them safely."""


@cli.command("analyze")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "sarif", "github"]),
    default="text",
    show_default=True,
    help="Report format.",
)
@click.option(
    "--fix",
    "fix_mode",
    type=click.Choice([m.value for m in FixMode]),
    is_flag=False,
    flag_value="safe",
    default=None,
    help="Apply fixes: `--fix` or `--fix=safe` applies safe fixes, `--fix=all` unsafe ones too.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="With --fix: print the diff of the fixes instead of writing files.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Configuration file (default: .github/mendbot.yml under the analysed directory).",
)
@click.option(
    "--rule",
    "rules",
    multiple=True,
    metavar="ID",
    help="Run only this rule (repeatable). `mendbot rules` lists the ids.",
)
@click.option(
    "--offline",
    is_flag=True,
    envvar="MENDBOT_OFFLINE",
    help="Do not resolve action refs over the network (pinning rules then report only).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the report to this file instead of standard output.",
)
def analyze_command(
    paths: tuple[Path, ...],
    output_format: str,
    fix_mode: str | None,
    dry_run: bool,
    config_path: Path | None,
    rules: tuple[str, ...],
    offline: bool,
    output: Path | None,
) -> None:
    """Analyse workflows under PATHS (default: the current directory) and report findings.

    A directory contributes its .github/workflows/*.yml files (or, without that folder, every
    YAML file below it); files are analysed as workflows.
    """
    unknown = [r for r in rules if r not in rule_ids()]
    if unknown:
        raise click.BadParameter(
            f"unknown rule {unknown[0]!r}; known rules: {', '.join(rule_ids())}",
            param_hint="--rule",
        )
    if dry_run and fix_mode is None:
        raise click.UsageError("--dry-run only makes sense with --fix")
    targets = list(paths) or [Path(".")]
    root = targets[0] if len(targets) == 1 and targets[0].is_dir() else Path(".")
    try:
        config = load_config(config_path or find_config(root), rule_options())
        mode = FixMode(fix_mode) if fix_mode else None
        result = _run_with_progress(
            lambda progress: analyze(
                targets,
                root,
                config,
                only_rules=rules,
                fix_mode=mode,
                progress=progress,
                refs=None if offline else default_resolver(),
            ),
            enabled=output_format == "text",
        )
        if mode is not None:
            _apply(result, dry_run=dry_run)
        _report(result, output_format, output)
    except MendbotError as exc:
        _fail(exc)
    sys.exit(exit_code(result, wrote_fixes=mode is not None and not dry_run))


def default_resolver() -> RefResolver:
    """A resolver for ``$GITHUB_SERVER_URL`` using ``$GITHUB_TOKEN``/``$GH_TOKEN`` if set."""
    token = os.environ.get("GITHUB_TOKEN") or os.environ.get("GH_TOKEN")
    return RefResolver(cache_dir=default_cache_dir(), token=token)


def exit_code(result: Analysis, *, wrote_fixes: bool) -> int:
    """The documented exit code for an analysis (see the module docstring)."""
    if any(not error.skipped for error in result.result.errors):
        return EXIT_INPUT_ERRORS
    applied = set(result.result.applied) if wrote_fixes else set()
    if any(f.id not in applied for f in result.result.findings):
        return EXIT_FINDINGS
    return EXIT_CLEAN


def _run_with_progress(
    job: Callable[[Callable[[int, int], None] | None], Analysis], *, enabled: bool
) -> Analysis:
    console = _console(stderr=True)
    if not (enabled and console.is_terminal):
        return job(None)
    with Progress(
        TextColumn("analysing"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("analyse", total=None)

        def advance(done: int, total: int) -> None:
            if total >= PROGRESS_THRESHOLD:
                bar.update(task, completed=done, total=total)

        return job(advance)


def _apply(result: Analysis, *, dry_run: bool) -> None:
    changes = {
        result.paths[name]: (outcome.original, outcome.fixed)
        for name, outcome in result.files.items()
        if outcome.fixed is not None
    }
    if dry_run:
        for name, outcome in sorted(result.files.items()):
            if outcome.fixed is not None:
                sys.stderr.write(unified_diff(name, outcome.original, outcome.fixed))
        return
    write_all(changes)


def unified_diff(name: str, before: str, after: str) -> str:
    """A ``git diff``-style unified diff of one file."""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"a/{name}",
        tofile=f"b/{name}",
    )
    return "".join(lines)


def _report(result: Analysis, output_format: str, output: Path | None) -> None:
    if output_format == "text":
        if output is not None:
            with output.open("w", encoding="utf-8") as handle:
                text.render(result, Console(file=handle, width=160, no_color=True))
        else:
            text.render(result, _console())
        return
    if output_format == "json":
        rendered = json_report.render(result)
    elif output_format == "sarif":
        rendered = sarif.render(result)
    else:
        rendered = github.render_annotations(result)
        github.write_step_summary(result)
    if output is not None:
        output.write_text(rendered, encoding="utf-8")
    else:
        sys.stdout.write(rendered)


def _fail(exc: MendbotError) -> None:
    _console(stderr=True).print(f"[red]error:[/red] {exc.diagnostics()}", markup=True)
    sys.exit(exc.exit_code)


@cli.command("rules")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text")
def rules_command(output_format: str) -> None:
    """List every rule with its severity and fix disposition."""
    rows = [
        {
            "id": rule.id,
            "title": rule.title,
            "severity": rule.default_severity.value,
            "fix": rule.fix_disposition.value if rule.fix_disposition else "report only",
            "docs": rule.docs_url(),
        }
        for rule in RULES
    ]
    if output_format == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    width = max(len(row["id"]) for row in rows)
    for row in rows:
        click.echo(f"{row['id']:<{width}}  {row['severity']:<8} {row['fix']:<12} {row['title']}")


@cli.group("config")
def config_group() -> None:
    """Inspect and validate the .github/mendbot.yml configuration."""


@config_group.command("schema")
def config_schema_command() -> None:
    """Print the JSON Schema of .github/mendbot.yml (for editors)."""
    click.echo(json.dumps(json_schema(), indent=2))


@config_group.command("check")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False), required=False)
def config_check_command(path: Path | None) -> None:
    """Validate a configuration file (default: .github/mendbot.yml)."""
    target = path or find_config(Path("."))
    if target is None:
        click.echo("no configuration file found; the defaults apply")
        return
    try:
        load_config(target, rule_options())
    except MendbotError as exc:
        _fail(exc)
    click.echo(f"{target}: valid")


@cli.command("demo")
@click.option(
    "--workdir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where to create the demo repository (default: a new temporary directory).",
)
def demo_command(workdir: Path | None) -> None:
    """Run the whole chain locally on a bundled insecure example repository."""
    from bot.demo import run_demo

    try:
        run_demo(_console(), workdir)
    except MendbotError as exc:
        _fail(exc)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="mendbot")
