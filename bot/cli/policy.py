"""``mendbot policy``: check, test, evaluate and explain merge-gate policies."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import click

from bot.cli.console import EXIT_CLEAN, EXIT_FINDINGS, EXIT_INPUT_ERRORS, EXIT_USAGE, fail
from bot.cli.gate import allowed, gate_one, gate_setup
from bot.cli.options import ForgeOptions, TrustOptions, forge_options, trust_options
from bot.errors import MendbotError


@click.group("policy")
def policy_group() -> None:
    """Check, test and evaluate merge-gate policies (docs/policies.md)."""


def policy_folder(command: Callable[..., None]) -> Callable[..., None]:
    """The policy folder of every ``policy`` command: ``[DIR]`` or ``--policies DIR``, default
    ``policies/``; giving both (differently) is a usage error."""
    command = click.option(
        "--policies",
        "option_directory",
        type=click.Path(path_type=Path, file_okay=False),
        help="Folder of policy files (the same as the DIR argument).",
    )(command)
    return click.argument(
        "directory",
        required=False,
        type=click.Path(path_type=Path, file_okay=False),
    )(command)


def _policy_directory(directory: Path | None, option_directory: Path | None) -> Path:
    if directory is not None and option_directory is not None and directory != option_directory:
        raise click.UsageError(f"two policy folders given: {directory} and {option_directory}")
    return directory or option_directory or Path("policies")


@policy_group.command("init")
@click.argument(
    "directory",
    required=False,
    default=Path("policies"),
    type=click.Path(path_type=Path, file_okay=False),
)
def policy_init_command(directory: Path) -> None:
    """Write mendbot's default policies into DIR (default: policies/) to adapt and commit;
    never overwrites a file (exit 0 written, 2 nothing written)."""
    from bot.policy.defaults import write_defaults

    try:
        written = write_defaults(directory)
    except MendbotError as exc:
        fail(exc)
    for path in written:
        click.echo(f"wrote {path}")
    click.echo(
        f"next: adapt them, check with `mendbot policy lint {directory}` and "
        f"`mendbot policy test {directory}`, and commit them on the default branch"
    )


@policy_group.command("test")
@policy_folder
def policy_test_command(directory: Path | None, option_directory: Path | None) -> None:
    """Run the inline tests of every policy in DIR (default: policies/): exit 0 all pass,
    1 a case failed, 2 invalid policies."""
    from bot.policy.render import render_tests
    from bot.policy.schema import load_directory
    from bot.policy.testing import check, run_tests

    directory = _policy_directory(directory, option_directory)
    try:
        policy_set = load_directory(directory)
    except MendbotError as exc:
        fail(exc)
    problems = check(policy_set)
    for problem in problems:
        click.echo(f"error: {problem}", err=True)
    results = run_tests(policy_set.policies)
    click.echo(render_tests(results), nl=False)
    if problems:
        sys.exit(EXIT_USAGE)
    sys.exit(EXIT_FINDINGS if any(not r.passed for r in results) else EXIT_CLEAN)


@policy_group.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
def policy_check_command(files: tuple[Path, ...]) -> None:
    """Validate policy files (schema, CEL syntax, identifiers): exit 0 valid, 1 not."""
    from bot.policy.schema import PolicySet, load_file
    from bot.policy.testing import check

    bad = 0
    for path in files:
        policy_set = PolicySet()
        try:
            for document in load_file(path):
                policy_set.add(document)
        except MendbotError as exc:
            click.echo(f"error: {exc}", err=True)
            bad += 1
            continue
        problems = check(policy_set)
        for problem in problems:
            click.echo(f"error: {problem}", err=True)
        bad += bool(problems)
        if not problems:
            click.echo(f"{path}: valid")
    sys.exit(EXIT_FINDINGS if bad else EXIT_CLEAN)


@policy_group.command("lint")
@policy_folder
def policy_lint_command(directory: Path | None, option_directory: Path | None) -> None:
    """Validate a policy folder DIR (default: policies/) as the gate loads it: schema, unique
    names, CEL syntax, unknown identifiers and functions (exit 0 valid, 1 not)."""
    from bot.policy.schema import load_directory
    from bot.policy.testing import check

    directory = _policy_directory(directory, option_directory)
    try:
        policy_set = load_directory(directory)
    except MendbotError as exc:
        click.echo(f"error: {exc.diagnostics()}", err=True)
        sys.exit(EXIT_FINDINGS)
    problems = check(policy_set)
    for problem in problems:
        click.echo(f"error: {problem}", err=True)
    if problems:
        sys.exit(EXIT_FINDINGS)
    counts = (len(policy_set.policies), len(policy_set.exceptions), len(policy_set.windows))
    click.echo(
        f"{directory}: valid ({counts[0]} policies, {counts[1]} exceptions, {counts[2]} windows; "
        f"{policy_set.digest})"
    )
    sys.exit(EXIT_CLEAN)


@policy_group.command("eval")
@click.option(
    "--context",
    "context_file",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="The context JSON (docs/policy-context.schema.json).",
)
@policy_folder
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text")
def policy_eval_command(
    context_file: Path, directory: Path | None, option_directory: Path | None, output_format: str
) -> None:
    """Decide on a context with the policies in DIR (default: policies/): exit 0 allowed,
    1 not allowed, 2 error."""
    from bot.errors import UsageError
    from bot.policy.decide import decide
    from bot.policy.render import render_decision
    from bot.policy.schema import load_directory

    directory = _policy_directory(directory, option_directory)
    context_advice = (
        "pass a JSON object shaped like docs/policy-context.schema.json, for example the "
        "`context` of `mendbot policy explain --pr N --format json`"
    )
    try:
        policy_set = load_directory(directory)
        try:
            context = json.loads(context_file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise UsageError(
                f"{context_file}: cannot read the context: {exc.strerror}", advice=context_advice
            ) from None
        except ValueError as exc:
            raise UsageError(
                f"{context_file}: the context is not valid JSON: {exc}", advice=context_advice
            ) from None
        if not isinstance(context, dict):
            raise UsageError(
                f"{context_file}: the context must be a JSON object", advice=context_advice
            )
    except MendbotError as exc:
        fail(exc)
    decision = decide(policy_set, context)
    if output_format == "json":
        payload = decision.to_json() | {"policy_digest": policy_set.digest}
        click.echo(json.dumps(payload, indent=2, sort_keys=True))
    else:
        click.echo(render_decision(decision), nl=False)
    sys.exit(EXIT_CLEAN if decision.outcome == "allow" else EXIT_FINDINGS)


@policy_group.command("explain")
@click.option("--pr", "number", type=int, required=True, help="The pull request to explain.")
@forge_options
@trust_options
@click.option("--now", help="Decide as of this RFC 3339 time instead of the clock.")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text")
def policy_explain_command(
    number: int,
    forge: ForgeOptions,
    trust: TrustOptions,
    now: str | None,
    output_format: str,
) -> None:
    """Show the context the gate builds for --pr, every policy's result and why, without
    reporting anything (exit codes of gate)."""
    from bot.policy.render import render_decision

    host, options = gate_setup(forge, trust, now, report=False)
    run = gate_one(host, number, options)
    if run is None:
        sys.exit(EXIT_INPUT_ERRORS)
    if output_format == "json":
        click.echo(json.dumps(run.record, indent=2, sort_keys=True))
    else:
        click.echo("context:")
        click.echo(json.dumps(run.record["context"], indent=2, sort_keys=True))
        if run.gathered is not None:
            for note in run.gathered.attestation.notes:
                click.echo(f"provenance note: {note}")
        click.echo(render_decision(run.decision), nl=False)
        click.echo(f"policies: {run.record['policy_source']} ({run.record['policy_digest']})")
    sys.exit(EXIT_CLEAN if allowed(run) else EXIT_FINDINGS)
