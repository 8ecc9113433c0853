"""``mendbot propose``: the propose identity's command."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bot.cli.console import EXIT_CLEAN, EXIT_FINDINGS, EXIT_INPUT_ERRORS, fail, report_error
from bot.cli.options import ForgeOptions, TrustOptions, forge_options, trust_options
from bot.errors import MendbotError


@click.command("propose")
@click.argument("bundle_dirs", nargs=-1, type=click.Path(path_type=Path, file_okay=False))
@forge_options
@trust_options
@click.option(
    "--rollback",
    "rollback_sha",
    help="Instead of bundles: open the exact revert pull request of this merge commit (what "
    "the deploy job asks for when a deployment did not hold).",
)
@click.option("--env", "environment", help="With --rollback: the environment that failed.")
@click.option(
    "--reason", default="its validation failed", help="With --rollback: why, for the body."
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="How the outcome of each bundle is printed: a line each, or JSON (`outcomes`: status, "
    "remediation_id, bundle, message, pull_request, branch, failed_checks).",
)
@click.option(
    "--rollback-requests",
    is_flag=True,
    help="Local forge: open the revert pull request of every rollback the deploy job asked for.",
)
def propose_command(
    bundle_dirs: tuple[Path, ...],
    forge: ForgeOptions,
    trust: TrustOptions,
    rollback_sha: str | None,
    environment: str | None,
    reason: str,
    output_format: str,
    rollback_requests: bool,
) -> None:
    """Verify remediation bundles and open or update one pull request per remediation (exit 1
    if any bundle was refused, 3 if the forge failed on some bundle while the others were
    proposed; held-back ones are listed). With --rollback or --rollback-requests: open the
    exact revert pull request of a failed deployment instead (exit 1 if it cannot be exact)."""
    from bot.config import find_config, load_config
    from bot.propose.job import Status, outcomes_json, propose, render_outcomes

    if rollback_sha or rollback_requests:
        if bundle_dirs:
            raise click.UsageError("bundles and --rollback/--rollback-requests do not mix")
        _rollback(forge, rollback_sha, environment, reason, rollback_requests)
        return
    if not bundle_dirs:
        raise click.UsageError(
            "give bundle folders, --rollback SHA --env NAME, or --rollback-requests"
        )
    try:
        verifier = trust.build()
        host = forge.build()
        config = load_config(find_config(host.workdir), None)
        outcomes = propose(
            list(bundle_dirs), host, verifier, config.propose, environments=config.environments
        )
    except MendbotError as exc:
        fail(exc)
    render = outcomes_json if output_format == "json" else render_outcomes
    click.echo(render(outcomes), nl=False)
    statuses = {o.status for o in outcomes}
    if Status.FAILED in statuses:
        sys.exit(EXIT_INPUT_ERRORS)
    sys.exit(EXIT_FINDINGS if Status.REFUSED in statuses else EXIT_CLEAN)


def _rollback(
    forge: ForgeOptions,
    sha: str | None,
    environment: str | None,
    reason: str,
    from_requests: bool,
) -> None:
    from bot.propose.rollback import RollbackError, propose_rollback

    unserved: list[RollbackError] = []
    try:
        host = forge.build()
        if from_requests:
            requests = host.dispatches()
        else:
            if not sha or not environment:
                raise click.UsageError("--rollback SHA needs --env NAME")
            requests = [{"client_payload": {"sha": sha, "environment": environment}}]
        for request in requests:
            payload = request.get("client_payload")
            if not isinstance(payload, dict):
                payload = {}
            try:
                done = propose_rollback(
                    host, str(payload.get("sha")), str(payload.get("environment")), reason
                )
            except RollbackError as exc:
                # One request that cannot be served (kept for a person) must not hold back
                # the rollbacks of other failed deployments.
                report_error(exc)
                unserved.append(exc)
                continue
            verb = "opened" if done.created else "already open:"
            click.echo(f"{verb} #{done.number} ({done.branch})")
            if "id" in request:
                host.handled(int(request["id"]))
    except MendbotError as exc:
        fail(exc)
    sys.exit(unserved[0].exit_code if unserved else EXIT_CLEAN)
