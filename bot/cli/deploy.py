"""``mendbot deploy``: the deploy identity's commands (plan, apply, observe, verify-record).

``plan`` holds no credentials: it decides the gate again on the merge commit, verifies the
attestation and writes what would be applied. ``apply`` plans again (never trusting the plan
file alone), then applies each change with credentials scoped to it. ``verify-record`` checks a
signed deploy record. ``observe`` re-checks, on a schedule, the changes whose validation needs
time. Exit codes: 0 applied, skipped or nothing to do; 1 a change failed, drifted or was
refused; 2 an error before anything was applied.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bot.cli.console import EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE, report_error
from bot.cli.options import (
    ForgeOptions,
    TrustOptions,
    forge_options,
    grouped,
    make_signer,
    trust_options,
)
from bot.errors import MendbotError

if TYPE_CHECKING:
    from bot.deploy.job import Authorship
    from bot.deploy.plan import DeployPlan
    from bot.forge.interface import ForgeHost
    from bot.provenance.signing.signers import Signer
    from bot.provenance.verification.trust import Trust


class DeployUsageError(MendbotError):
    """A deploy command given something it cannot use: nothing was applied."""

    exit_code = 2


@dataclass(frozen=True)
class DeployIdentityOptions:
    """How the deploy identity acts, shared by ``apply`` and ``observe``: its OIDC token, how
    its records are signed and where they go, and the time it decides as of."""

    oidc_token_file: Path | None
    sign_kind: str | None
    signing_key: Path | None
    record_out: Path
    now: str | None

    def clock(self) -> datetime:
        """``--now``, else the clock (UTC)."""
        return _clock(self.now)

    def signer(self) -> Signer:
        """The record signer (records are always signed); raises :class:`DeployUsageError`."""
        return _signer(self.sign_kind, self.signing_key)

    def oidc_tokens(self) -> Callable[[str], str]:
        """``audience -> token`` for the credential exchanges."""
        return _oidc_tokens(self.oidc_token_file)

    def authorship(self) -> Authorship:
        """Which workflow run acts, as the records name it."""
        from bot.deploy.job import Authorship

        return Authorship(
            workflow_ref=os.environ.get("GITHUB_WORKFLOW_REF"),
            run_url=_run_url(),
            oidc_subject=None,
        )


deploy_identity_options = grouped(
    "deployer",
    DeployIdentityOptions,
    [
        click.option(
            "--oidc-token-file",
            type=click.Path(path_type=Path, dir_okay=False),
            help="This job's OIDC token (outside GitHub Actions; in Actions it is requested for "
            "the audience each applier needs).",
        ),
        click.option(
            "--sign",
            "sign_kind",
            type=click.Choice(["sigstore", "key"]),
            help="How deploy records are signed (default: sigstore in GitHub Actions, else key).",
        ),
        click.option(
            "--signing-key",
            type=click.Path(path_type=Path, dir_okay=False),
            help="ECDSA P-256 PEM private key for --sign key (the deploy identity's, not the "
            "analysis').",
        ),
        click.option(
            "--record-out",
            type=click.Path(path_type=Path, file_okay=False),
            required=True,
            help="Folder for the signed deploy records (one per attempt or follow-up; observe "
            "may write into --records itself).",
        ),
        click.option(
            "--now", help="Decide as of this RFC 3339 time instead of the clock (replays)."
        ),
    ],
)
"""Adds the deploy identity's options and passes ``deployer: DeployIdentityOptions``."""


@click.group("deploy")
def deploy_group() -> None:
    """Apply merged remediations with short-lived, object-scoped credentials (docs/deploy.md)."""


def _clock(now: str | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(now.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{now!r} is not an RFC 3339 time", param_hint="--now") from None
    if moment.tzinfo is None:
        raise click.BadParameter("give a time zone (e.g. Z)", param_hint="--now")
    return moment.astimezone(UTC)


def _running_clock(start: datetime) -> Callable[[], datetime]:
    """A clock that starts at ``start`` (``--now``, or the real time) and advances with real
    time, so waits for workflow runs end even in a replay."""
    import time
    from datetime import timedelta

    origin = time.monotonic()
    return lambda: start + timedelta(seconds=time.monotonic() - origin)


def _run_url() -> str | None:
    server, repository, run = (
        os.environ.get(name) for name in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    )
    return f"{server}/{repository}/actions/runs/{run}" if server and repository and run else None


def plan_deployment(host: ForgeHost, trust: Trust, sha: str, now: datetime) -> DeployPlan:
    """Decide the gate again on merge commit ``sha`` (posting ``mendbot/policy`` there), then
    plan it: the composition of the gate identity's decision and the deploy identity's plan
    (neither package imports the other)."""
    import hashlib

    from bot.deploy.plan import GateVerdict, plan_merge
    from bot.gate.merged import decide_merged
    from bot.gate.publish import status_description

    merged = decide_merged(host, sha, trust=trust, now=now, target_url=_run_url())
    record = json.dumps(merged.record, sort_keys=True, separators=(",", ":")).encode()
    gathered = merged.gathered
    verdict = GateVerdict(
        outcome=merged.decision.outcome,
        summary=status_description(merged.decision),
        policies_digest=merged.record.get("policy_digest"),
        record_digest=hashlib.sha256(record).hexdigest(),
        evaluated_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        strong_approvals=merged.strong_approvals,
        pull=merged.pull.number if merged.pull else None,
        approved_head=merged.pull.head_sha if merged.pull else None,
        revert_of=gathered.revert.reverted
        if gathered is not None and gathered.revert.reverts_bot_change
        else None,
    )
    return plan_merge(
        host.workdir,
        merged.sha,
        repository=host.repository_uri,
        trust=trust,
        now=now,
        gate=verdict,
        deployments=host.deployments(),
    )


def _render(plan: DeployPlan) -> str:
    lines = [
        f"merge {plan.sha[:12]} (parent {plan.parent[:12]}): gate {plan.gate.outcome} "
        f"({plan.gate.summary})"
    ]
    lines += [f"nothing is deployed: {problem}" for problem in plan.problems]
    if not plan.changes and not plan.problems:
        lines.append("nothing to deploy: the change touches no workflow or desired state")
    for change in plan.changes:
        objects = ", ".join(change.target.objects) if change.target else change.source
        lines.append(
            f"{change.action:7} {change.environment:12} {change.kind:20} {change.change}: {objects}"
        )
        lines += [f"        {reason}" for reason in change.reasons]
        risk = change.why.get("risk") or {}
        if risk.get("reversibility") == "irreversible" or risk.get("ownership") is not None:
            lines.append(
                f"        risk: {risk.get('disposition')}, {risk.get('reversibility')}, blast "
                f"radius {risk.get('blastRadius')}; owner {risk.get('ownership') or 'n/a'}; "
                f"second-order {'yes' if risk.get('secondOrder') else 'no'}"
            )
    return "\n".join(lines) + "\n"


@deploy_group.command("plan")
@click.option("--sha", required=True, help="The merge commit on the default branch.")
@forge_options
@trust_options
@click.option("--now", help="Decide as of this RFC 3339 time instead of the clock (replays).")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="Write the plan (JSON, with a `matrix` for a workflow's apply job) to this file.",
)
def plan_command(
    sha: str, forge: ForgeOptions, trust: TrustOptions, now: str | None, out: Path
) -> None:
    """Decide the gate again on merge commit --sha, verify its attestation and write what would
    be deployed per environment, and why not otherwise. Holds no credentials."""
    from bot.deploy.plan import plan_json_bytes
    from bot.safe_files import write_text_atomically

    clock = _clock(now)
    try:
        host = forge.build()
        plan = plan_deployment(host, trust.build(), sha, clock)
        try:
            write_text_atomically(out, plan_json_bytes(plan).decode())
        except OSError as exc:
            raise DeployUsageError(
                f"{out}: cannot write the plan ({exc.strerror or exc})",
                advice="give --out a file in a folder that exists and can be written",
            ) from None
    except MendbotError as exc:
        report_error(exc)
        sys.exit(EXIT_USAGE)
    click.echo(_render(plan), nl=False)
    refused = plan.problems or any(change.action == "refuse" for change in plan.changes)
    sys.exit(EXIT_FINDINGS if refused else EXIT_CLEAN)


@deploy_group.command("apply")
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    required=True,
    help="The plan written by `mendbot deploy plan` (it is checked against a fresh plan).",
)
@click.option("--change", help="Apply only this change (a remediation id from the plan).")
@click.option("--env", "environment", help="Apply only in this environment.")
@forge_options
@trust_options
@deploy_identity_options
def apply_command(
    plan_file: Path,
    change: str | None,
    environment: str | None,
    forge: ForgeOptions,
    trust: TrustOptions,
    deployer: DeployIdentityOptions,
) -> None:
    """Apply the changes of --plan (all, or --change / --env), each with credentials scoped to
    it, validate, compensate on failure, and write one signed record per attempt."""
    from bot.deploy.job import ApplyOptions, apply_changes, exit_code, selected
    from bot.deploy.plan import config_at

    clock = deployer.clock()
    try:
        requested = _read_plan(plan_file)
        signer = deployer.signer()
        host = forge.build()
        fresh = plan_deployment(host, trust.build(), str(requested["sha"]), clock)
        chosen = selected(fresh, requested, change, environment)
        options = ApplyOptions(
            forge=host,
            config=config_at(host.workdir, fresh.parent),
            signer=signer,
            record_out=deployer.record_out,
            oidc_token=deployer.oidc_tokens(),
            now=_running_clock(clock),
            authorship=deployer.authorship(),
        )
        with signer:
            attempts = apply_changes(fresh, chosen, options)
    except MendbotError as exc:
        report_error(exc)
        sys.exit(EXIT_USAGE)
    for problem in fresh.problems:
        click.echo(f"nothing is deployed: {problem}")
    if not attempts and not fresh.problems:
        click.echo("nothing to apply")
    for attempt in attempts:
        planned = attempt.change
        click.echo(
            f"{attempt.outcome:10} {planned.environment:12} {planned.kind:20} {planned.change}"
        )
        for reason in attempt.reasons:
            click.echo(f"           {reason}")
        if attempt.rollback:
            state = "dispatched" if attempt.rollback.get("dispatched") else "NOT dispatched"
            click.echo(f"           rollback request {state}; {planned.environment} is frozen")
        if attempt.record is not None:
            click.echo(f"           record: {attempt.record}")
    sys.exit(EXIT_FINDINGS if fresh.problems else exit_code(attempts))


@deploy_group.command("observe")
@click.option(
    "--records",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Folder of earlier deploy records (searched recursively; each one is verified).",
)
@click.option("--env", "environment", help="Observe only changes deployed to this environment.")
@forge_options
@trust_options
@deploy_identity_options
def observe_command(
    records: Path,
    environment: str | None,
    forge: ForgeOptions,
    trust: TrustOptions,
    deployer: DeployIdentityOptions,
) -> None:
    """Re-check the changes of --records whose validation needs time (a deactivated key
    watched for use, settings for newly failing runs, a workflow run that had not finished),
    with fresh credentials of the same scope; compensate and ask for the rollback on a
    regression; write one signed follow-up record per new finding. The trust options name
    the deploy identity (whose records are believed). Exit 0 fine or still watching, 1 a
    regression (handled), drift or failure, 2 a record refused or bad input."""
    from bot.deploy.observe import (
        ObserveOptions,
        exit_code,
        observe_all,
        read_records,
        watched_changes,
    )
    from bot.deploy.plan import config_at

    clock = deployer.clock()
    try:
        verifier = trust.build()
        signer = deployer.signer()
        host = forge.build()
        verified, refused = read_records([records, deployer.record_out], verifier)
        options = ObserveOptions(
            forge=host,
            signer=signer,
            record_out=deployer.record_out,
            oidc_token=deployer.oidc_tokens(),
            now=_running_clock(clock),
            config_at=lambda commit: config_at(host.workdir, commit),
            environment=environment,
            authorship=deployer.authorship(),
        )
        watched = watched_changes(verified, options)
        with signer:
            observed = observe_all(watched, options)
    except MendbotError as exc:
        report_error(exc)
        sys.exit(EXIT_USAGE)
    for bad in refused:
        click.echo(
            f"refused    {bad.path}: not a verified deploy record ({bad.reason}); not acted on"
        )
    if not observed:
        click.echo("nothing to observe")
    for item in observed:
        first = item.watched.first.statement.predicate
        click.echo(f"{item.status:10} {first.environment:12} {first.target.kind:20} {first.change}")
        for line in item.lines:
            click.echo(f"           {line}")
        if item.rollback:
            state = "dispatched" if item.rollback.get("dispatched") else "NOT dispatched"
            click.echo(f"           rollback request {state}; {first.environment} is frozen")
        if item.record is not None:
            click.echo(f"           record: {item.record}")
    sys.exit(exit_code(observed, refused))


@deploy_group.command("verify-record")
@click.argument("record", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@trust_options
def verify_record_command(record: Path, trust: TrustOptions) -> None:
    """Verify a signed deploy record: the signature by the deploy identity (--verify-key, or
    --identity/--issuer of the deploy workflow) and every field (exit 0 only when all hold)."""
    from bot.deploy.record import verify_record

    try:
        result = verify_record(record.read_bytes(), trust.build())
    except MendbotError as exc:
        report_error(exc)
        sys.exit(EXIT_USAGE)
    for check in result.checks:
        click.echo(f"{check.status!s:7} {check.id}: {check.message}")
    sys.exit(EXIT_CLEAN if result.ok else EXIT_FINDINGS)


def _read_plan(path: Path) -> dict[str, Any]:
    from bot.deploy.plan import PLAN_VERSION

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DeployUsageError(f"{path}: not a plan file ({exc})") from None
    if not isinstance(data, dict) or data.get("version") != PLAN_VERSION:
        raise DeployUsageError(
            f"{path}: not a version {PLAN_VERSION} plan", advice="run `mendbot deploy plan`"
        )
    if not isinstance(data.get("sha"), str) or not isinstance(data.get("changes"), list):
        raise DeployUsageError(f"{path}: the plan has no sha or changes")
    for index, item in enumerate(data["changes"]):
        if not isinstance(item, dict) or not all(
            isinstance(item.get(name), str) for name in ("key", "action")
        ):
            raise DeployUsageError(
                f"{path}: changes[{index}] has no text key and action",
                advice="write the plan again with `mendbot deploy plan`; never edit a plan file",
            )
    return data


def _signer(kind: str | None, key: Path | None) -> Signer:
    from bot.provenance.run_context import in_github_actions

    kind = kind or ("sigstore" if in_github_actions(os.environ) and key is None else "key")
    if kind == "key" and key is None:
        raise DeployUsageError(
            "deploy records are always signed: give --signing-key FILE (or --sign sigstore)"
        )
    return make_signer(kind, key)


def _oidc_tokens(path: Path | None) -> Callable[[str], str]:
    """``audience -> token``: the file's token (whatever the audience: its issuer chose it), or
    GitHub Actions' token service; raises when neither is available."""
    from bot.deploy.oidc import actions_token, file_token

    if path is not None:
        return lambda audience: file_token(path)
    return actions_token
