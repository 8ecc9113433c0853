"""``mendbot deploy apply``: each planned change, once, with its own credentials, recorded.

The plan file comes from another job; it is never trusted alone. The caller plans the merge
commit again now (:func:`bot.deploy.plan.plan_merge`, with the gate decided again), and only a
change that both plans say ``apply``, with the same target, is applied. For each one, in order:

1. a deployment is created on the forge (GitHub refuses unless ``mendbot/policy`` is
   ``success`` on the merge commit; the local forge also refuses a second concurrent attempt);
2. the applier connects: credentials scoped to exactly the target's objects, for minutes;
3. :func:`~bot.deploy.lifecycle.deploy_change` runs snapshot → precheck → apply → validate →
   compensate, failing closed; the credentials are revoked at once after;
4. a failure that was applied (compensated or not) dispatches a rollback request to the
   propose identity (the deploy identity cannot push) — and, until it is resolved, the failed
   deployment itself freezes the environment in the gate;
5. the signed deploy record is written and the deployment's status set.

Every attempt, refused and skipped ones included, gets a signed record. No credential is ever
logged, recorded or put in an error.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.config import Config, DeployEnvironment
from bot.deploy.applier import Authority, DeployContext, Grant, Target
from bot.deploy.appliers import applier_of
from bot.deploy.lifecycle import Step, deploy_change
from bot.deploy.plan import DeployPlan, PlannedChange
from bot.deploy.record import sign_record, statement_for
from bot.deploy.session import run_with_credentials, scrub, why
from bot.forge.interface import DeployForge, ForgeError
from bot.protocol import DEPLOY_FREEZING_OUTCOMES, ROLLBACK_EVENT
from bot.provenance.signing.signers import Signer
from bot.safe_files import write_text_atomically

#: How a deploy record's file name ends.
RECORD_SUFFIX = ".deploy.sigstore.json"
#: Deployment state for each outcome.
STATES = {
    "applied": "success",
    "drift": "error",
    "failed": "error",
    "compensated": "failure",
    "compensation-failed": "failure",
}


@dataclass(frozen=True)
class Authorship:
    """Who is deploying, for the record (from the Actions environment and the OIDC token's
    claims; None outside Actions)."""

    workflow_ref: str | None = None
    run_url: str | None = None
    oidc_subject: str | None = None


@dataclass
class Attempt:
    """What happened to one planned change."""

    change: PlannedChange
    outcome: str
    reasons: tuple[str, ...]
    record: Path | None = None
    deployment: int | None = None
    rollback: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ApplyOptions:
    """How to apply."""

    forge: DeployForge
    config: Config
    """``.github/mendbot.yml`` of the merge's first parent."""
    signer: Signer
    record_out: Path
    oidc_token: Callable[[str], str]
    now: Callable[[], datetime]
    authorship: Authorship = Authorship()


def selected(
    fresh: DeployPlan, requested: dict[str, Any], change: str | None, environment: str | None
) -> list[tuple[PlannedChange, tuple[str, ...]]]:
    """The changes to attempt, each with the reasons it must be refused (empty: apply).

    A change is attempted when the plan file asks to apply it (optionally only ``change`` /
    ``environment``); it is refused unless the fresh plan also says ``apply`` for the same
    target. A fresh ``skip`` (already applied) is reported, never applied again."""
    wanted = {
        item["key"]: item
        for item in requested.get("changes", [])
        if isinstance(item, dict) and item.get("action") == "apply"
    }
    chosen: list[tuple[PlannedChange, tuple[str, ...]]] = []
    for planned in fresh.changes:
        if change is not None and planned.change != change:
            continue
        if environment is not None and planned.environment != environment:
            continue
        asked = wanted.get(planned.key)
        if asked is None:
            continue
        if planned.action != "apply":
            chosen.append((planned, planned.reasons))
            continue
        if _target_json(planned.target) != _canonical(asked.get("target")):
            chosen.append((planned, ("the plan file's target differs from the plan now",)))
            continue
        chosen.append((planned, ()))
    return chosen


def _target_json(target: Target | None) -> Any:
    return None if target is None else _canonical(target.__dict__)


def _canonical(value: Any) -> Any:
    """``value`` as JSON reads it back (tuples become lists), for comparing plans."""
    return json.loads(json.dumps(value, sort_keys=True, default=list))


def apply_changes(
    plan: DeployPlan,
    chosen: list[tuple[PlannedChange, tuple[str, ...]]],
    options: ApplyOptions,
) -> list[Attempt]:
    """Attempt each chosen change (see the module docstring) and return what happened."""
    return [_attempt(plan, planned, refusals, options) for planned, refusals in chosen]


def _attempt(
    plan: DeployPlan, planned: PlannedChange, refusals: tuple[str, ...], options: ApplyOptions
) -> Attempt:
    started = options.now()
    if refusals:
        outcome = "skipped" if planned.action == "skip" else "refused"
        attempt = Attempt(planned, outcome, refusals)
        _record(plan, planned, attempt, None, None, None, started, options)
        return attempt
    target = planned.target
    if target is None:  # NOTE(deploy): "apply" is only ever planned for a target.
        attempt = Attempt(planned, "refused", ("nothing to apply: the change has no target",))
        _record(plan, planned, attempt, None, None, None, started, options)
        return attempt
    payload = {
        "change": planned.change,
        "key": planned.key,
        "kind": planned.kind,
        "target": target.source or ",".join(target.objects),
        "resolves": list(planned.resolves),
    }
    try:
        deployment = options.forge.create_deployment(plan.sha, planned.environment, payload)
        options.forge.set_deployment_status(deployment, "in_progress", "applying")
    except ForgeError as exc:
        attempt = Attempt(planned, "refused", (f"the forge refused the deployment: {exc}",))
        _record(plan, planned, attempt, None, None, None, started, options)
        return attempt
    step, grant, after = _run(plan, planned, target, options)
    attempt = Attempt(planned, str(step.outcome), step.reasons, deployment=deployment)
    if attempt.outcome in DEPLOY_FREEZING_OUTCOMES:
        attempt.rollback = _ask_for_rollback(plan, planned, deployment, options)
    written = _record(plan, planned, attempt, step, grant, after, started, options)
    state = STATES.get(attempt.outcome, "error")
    status_payload = {"outcome": attempt.outcome, "record": written}
    if written is None:
        attempt.reasons += ("the deploy record could not be written",)
        state = "error" if state == "success" else state
    try:
        options.forge.set_deployment_status(deployment, state, _describe(attempt), status_payload)
    except ForgeError as exc:
        attempt.reasons += (f"the deployment status could not be set: {exc}",)
    return attempt


def _run(
    plan: DeployPlan, planned: PlannedChange, target: Target, options: ApplyOptions
) -> tuple[Step, Grant | None, dict[str, Any] | None]:
    """The change applied under credentials scoped to it (:func:`run_with_credentials`)."""
    context = DeployContext(
        change_id=planned.change,
        environment=planned.environment,
        repository=plan.repository,
        merge_sha=plan.sha,
        parent_sha=plan.parent,
        deploy=options.config.deploy,
        settings=options.config.deploy.environments.get(planned.environment, DeployEnvironment()),
        oidc_token=options.oidc_token,
        forge=options.forge,
        now=options.now,
    )
    return run_with_credentials(
        target, context, lambda applier: deploy_change(applier, target), known_before=None
    )


def _ask_for_rollback(
    plan: DeployPlan, planned: PlannedChange, deployment: int, options: ApplyOptions
) -> dict[str, Any]:
    return dispatch_rollback(
        options.forge, plan.sha, planned.environment, deployment, planned.change
    )


def dispatch_rollback(
    forge: DeployForge, sha: str, environment: str, deployment: int | None, change: str
) -> dict[str, Any]:
    """Ask the propose identity for the exact revert of ``sha`` (event
    :data:`~bot.protocol.ROLLBACK_EVENT`); what the record's ``rollback`` says. Never raises:
    a lost request is recorded, and the failed deployment keeps the environment frozen."""
    request = {
        "sha": sha,
        "environment": environment,
        "deployment": deployment,
        "change": change,
    }
    try:
        forge.dispatch(ROLLBACK_EVENT, request)
    except ForgeError as exc:
        return {
            "dispatched": False,
            "error": str(exc),
            "frozen": [environment],
            "note": "the failed deployment keeps the environment frozen; open the revert "
            "pull request with `mendbot propose --rollback`",
        }
    return {"dispatched": True, "event": ROLLBACK_EVENT, "frozen": [environment]}


def _record(
    plan: DeployPlan,
    planned: PlannedChange,
    attempt: Attempt,
    step: Step | None,
    grant: Grant | None,
    after: dict[str, Any] | None,
    started: datetime,
    options: ApplyOptions,
) -> str | None:
    """Sign and write the record; its sha256, or None when it could not be written."""
    target = planned.target
    authority = grant.authority if grant is not None else None
    validation = step.validation if step is not None else None
    predicate = {
        "change": planned.change,
        "environment": planned.environment,
        "repository": plan.repository,
        "mergeSha": plan.sha,
        "target": {
            "kind": planned.kind,
            "source": planned.source,
            "location": dict(target.location) if target else {},
            "objects": list(target.objects) if target else [],
        },
        "before": dict(step.before) if step is not None and step.before is not None else None,
        "after": after,
        "desired": dict(target.desired) if target else {},
        "why": planned.why,
        "gate": {
            "decision": plan.gate.outcome,
            "summary": plan.gate.summary,
            "policiesDigest": plan.gate.policies_digest,
            "decisionRecordSha256": plan.gate.record_digest,
            "evaluatedAt": plan.gate.evaluated_at,
            "pull": plan.gate.pull,
            "approvedHead": plan.gate.approved_head,
        },
        "authority": {
            "workflowRef": options.authorship.workflow_ref,
            "runUrl": options.authorship.run_url,
            "oidcSubject": options.authorship.oidc_subject,
            "credential": credential_json(authority),
        },
        "validation": {
            "result": str(validation.verdict) if validation else "not-run",
            "checks": list(validation.checks) if validation else [],
        },
        "outcome": attempt.outcome,
        "reasons": [scrub(reason) for reason in attempt.reasons],
        "resolves": list(planned.resolves),
        "rollback": attempt.rollback,
        "timeStarted": record_time(started),
        "timeFinished": record_time(options.now()),
    }
    if target is not None and target.deletion:
        predicate["deletion"] = {
            "objects": list(target.objects),
            "reversibility": "irreversible",
            "compensation": applier_of(target).compensation,
        }
    try:
        statement = statement_for(predicate, plan.attestation)
        bundle = sign_record(statement, options.signer)
        options.record_out.mkdir(parents=True, exist_ok=True)
        path = unused_path(options.record_out, _file_name(planned))
        write_text_atomically(path, bundle.decode())
    except Exception as exc:  # NOTE(deploy): reported on the deployment; never a traceback.
        attempt.reasons += (f"record not written: {why(exc)}",)
        return None
    attempt.record = path
    return hashlib.sha256(bundle).hexdigest()


def credential_json(authority: Authority | None) -> dict[str, Any] | None:
    """The record's ``authority.credential``: what the credentials could reach, never them."""
    if authority is None:
        return None
    return {
        "type": authority.credential_type,
        "principal": authority.principal,
        "sessionName": authority.session_name,
        "expiresAt": authority.expires_at,
        "scopeSha256": authority.scope_digest,
        "scope": dict(authority.scope),
    }


def _file_name(planned: PlannedChange) -> str:
    slug = re.sub(
        r"[^A-Za-z0-9._-]+", "-", f"{planned.change}-{planned.environment}-{planned.kind}"
    )
    digest = hashlib.sha256(planned.key.encode()).hexdigest()[:8]
    return f"{slug.strip('-')[:120]}-{digest}{RECORD_SUFFIX}"


def unused_path(folder: Path, name: str) -> Path:
    """``folder/name``, or ``name`` numbered ``-2``, ``-3``… when taken: a rerun into the same
    folder (its attempt skipped or refused) never replaces the record of an earlier attempt."""
    stem = name.removesuffix(RECORD_SUFFIX)
    path, number = folder / name, 1
    while path.exists():
        number += 1
        path = folder / f"{stem}-{number}{RECORD_SUFFIX}"
    return path


def _describe(attempt: Attempt) -> str:
    return (attempt.reasons[0] if attempt.reasons else attempt.outcome)[:120]


def record_time(moment: datetime) -> str:
    """``moment`` as records write times (RFC 3339, whole seconds, UTC)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def exit_code(attempts: list[Attempt]) -> int:
    """0 when everything was applied or skipped, and recorded (or nothing was asked), 1 when any
    change failed, drifted or was refused, or its record could not be written."""
    fine = all(a.outcome in ("applied", "skipped") and a.record is not None for a in attempts)
    return 0 if fine else 1
