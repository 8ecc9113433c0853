"""``mendbot deploy observe``: the scheduled re-check of changes whose validation needs time.

Some changes cannot be judged when they are applied: a deactivated access key is watched for
use, a repository setting for workflows it newly breaks, a workflow change whose run had not
finished for that run's conclusion. The deploy records say which (an ``applied`` change with
validation ``passed`` or ``not-observable`` that its applier ``watches``), and this job, run on
a schedule, re-checks each of them until a verdict is final:

1. every record under the given folders is verified (signature by the deploy identity, every
   field); one that does not verify is refused, named, and never acted on;
2. a change is watched while no verified follow-up record of it is final and its deployment is
   still the successful deployment the forge lists;
3. the applier connects exactly as for applying — through ``connect`` with the record's target:
   the same objects, the same scope — and observes
   (:func:`~bot.deploy.observation.observe_change`);
4. on a regression it compensates with the record's snapshot, marks the deployment failed
   (which freezes the environment in the gate) and dispatches the rollback request, as
   ``apply`` does;
5. a signed follow-up record (``observes``: the first record's digest, the window, whether the
   verdict is final) is written — unless nothing changed since the last one: a rerun with
   nothing new to decide writes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot import git
from bot.config import Config, DeployEnvironment
from bot.deploy.applier import DeployContext, Grant, Target, Verdict, Watch
from bot.deploy.appliers import APPLIERS
from bot.deploy.job import (
    RECORD_SUFFIX,
    STATES,
    Authorship,
    credential_json,
    dispatch_rollback,
    record_time,
    unused_path,
)
from bot.deploy.lifecycle import Outcome, Step, error_text
from bot.deploy.observation import is_final, observe_change
from bot.deploy.record import DeployStatement, sign_record, statement_for, verify_record
from bot.deploy.session import run_with_credentials, scrub
from bot.errors import MendbotError
from bot.forge.interface import DeployForge, Deployment, ForgeError
from bot.git import GitError
from bot.protocol import DEPLOY_FREEZING_OUTCOMES
from bot.provenance.signing.signers import Signer
from bot.provenance.verification.trust import Trust
from bot.safe_files import write_text_atomically

#: Validation results of an applied change that may still need watching.
_WATCHABLE = ("passed", "not-observable")


@dataclass(frozen=True)
class DeployRecord:
    """A verified deploy record on disk."""

    path: Path
    sha256: str
    """sha256 of the file's bytes: what a follow-up record's ``observes`` names."""
    statement: DeployStatement

    @property
    def predicate(self) -> dict[str, Any]:
        """The predicate as JSON (field names as written)."""
        dumped: dict[str, Any] = self.statement.predicate.model_dump(
            by_alias=True, exclude_none=False
        )
        return dumped


@dataclass(frozen=True)
class Refused:
    """A record that did not verify: never acted on."""

    path: Path
    reason: str


@dataclass
class Watched:
    """One applied change and its follow-up records (oldest first)."""

    first: DeployRecord
    follow_ups: list[DeployRecord] = field(default_factory=list)

    @property
    def latest(self) -> DeployRecord:
        """The newest record of the change (the first when none followed)."""
        return self.follow_ups[-1] if self.follow_ups else self.first


@dataclass
class Observed:
    """What one observe run did with one watched change."""

    watched: Watched
    status: str
    """``watching``, ``unchanged``, ``passed``, ``done``, ``drift``, ``failed``,
    ``compensated``, ``compensation-failed`` or ``not-watched``."""
    lines: tuple[str, ...] = ()
    record: Path | None = None
    rollback: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ObserveOptions:
    """How to observe."""

    forge: DeployForge
    signer: Signer
    record_out: Path
    oidc_token: Callable[[str], str]
    now: Callable[[], datetime]
    config_at: Callable[[str], Config]
    """``.github/mendbot.yml`` at a commit (the merge's first parent, as for applying)."""
    environment: str | None = None
    authorship: Authorship = field(default_factory=Authorship)


class RecordsError(MendbotError):
    """The records folder cannot be read: nothing was observed."""

    exit_code = 2


def read_records(folders: list[Path], trust: Trust) -> tuple[list[DeployRecord], list[Refused]]:
    """Every ``*.deploy.sigstore.json`` under ``folders`` (once each, by content), verified;
    raises :class:`RecordsError` when the first folder (``--records``) cannot be listed."""
    first = folders[0]
    if not first.is_dir():
        raise RecordsError(
            f"{first}: not a folder of deploy records",
            advice="give --records the folder `mendbot deploy apply --record-out` wrote",
        )
    verified: list[DeployRecord] = []
    refused: list[Refused] = []
    seen: set[str] = set()
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob(f"*{RECORD_SUFFIX}")):
            try:
                raw = path.read_bytes()
            except OSError as exc:
                refused.append(Refused(path, f"cannot be read ({exc.strerror or exc})"))
                continue
            digest = hashlib.sha256(raw).hexdigest()
            if digest in seen:
                continue
            seen.add(digest)
            checked = verify_record(raw, trust)
            if checked.ok and checked.record is not None:
                verified.append(DeployRecord(path, digest, checked.record))
                continue
            why = "; ".join(f"{c.id}: {c.message}" for c in checked.result.failures)
            refused.append(Refused(path, why or "it does not verify"))
    return verified, refused


def watched_changes(records: list[DeployRecord], options: ObserveOptions) -> list[Watched]:
    """The applied changes of this repository (and ``options.environment``) whose applier
    watches them, each with its follow-ups, in record order."""
    chains: dict[str, Watched] = {}
    for record in records:
        predicate = record.statement.predicate
        if predicate.observes is not None or predicate.outcome != "applied":
            continue
        if predicate.validation.result not in _WATCHABLE:
            continue
        if predicate.repository != options.forge.repository_uri:
            continue
        if options.environment is not None and predicate.environment != options.environment:
            continue
        applier = APPLIERS.get(predicate.target.kind)
        verdict = Verdict(predicate.validation.result)
        if applier is None or not applier.watches(_target(record), verdict):
            continue
        chains[record.sha256] = Watched(record)
    for record in records:
        observes = record.statement.predicate.observes
        if observes is not None and observes.record_sha256 in chains:
            chain = chains[observes.record_sha256]
            if _same_change(chain.first, record):
                chain.follow_ups.append(record)
    for chain in chains.values():
        chain.follow_ups.sort(key=lambda r: (r.statement.predicate.time_finished, r.path.name))
    return sorted(chains.values(), key=lambda c: (c.first.path.name, c.first.sha256))


def observe_all(watched: list[Watched], options: ObserveOptions) -> list[Observed]:
    """Observe each watched change (see the module docstring); raises :class:`ForgeError`
    when the deployments cannot be read (nothing was observed)."""
    deployments = options.forge.deployments(options.environment)
    return [_observe(chain, deployments, options) for chain in watched]


def _observe(chain: Watched, deployments: list[Deployment], options: ObserveOptions) -> Observed:
    first = chain.first.statement.predicate
    final = next((r for r in chain.follow_ups if _final(r)), None)
    if final is not None:
        ended = final.statement.predicate
        return Observed(
            chain,
            "done",
            (f"observed for good: {ended.outcome} ({ended.validation.result}), {final.path.name}",),
        )
    deployment = _deployment_of(chain.first, deployments)
    if deployment is None:
        return Observed(
            chain,
            "not-watched",
            (
                f"no successful deployment of {first.merge_sha[:12]} to {first.environment} is "
                "listed on the forge any more: not observed",
            ),
        )
    started = options.now()
    target = _target(chain.first)
    try:
        parent = git.rev_parse(options.forge.workdir, f"{first.merge_sha}^1")
        config = options.config_at(parent)
    except (GitError, MendbotError) as exc:
        why = f"cannot read the merge's parent or its configuration: {error_text(exc)}"
        step = Step(Outcome.FAILED, first.before, reasons=(why,))
        return _finish(chain, step, None, None, None, started, deployment, options)
    applied_at = _parse_time(first.time_started)
    watch = Watch(
        applied_at=applied_at,
        window_ends_at=applied_at + timedelta(hours=config.deploy.observation_hours),
        now=started,
    )
    context = DeployContext(
        change_id=first.change,
        environment=first.environment,
        repository=first.repository,
        merge_sha=first.merge_sha,
        parent_sha=parent,
        deploy=config.deploy,
        settings=config.deploy.environments.get(first.environment, DeployEnvironment()),
        oidc_token=options.oidc_token,
        forge=options.forge,
        now=options.now,
    )
    step, grant, after = _run(target, context, watch, dict(first.before or {}))
    return _finish(chain, step, grant, after, watch, started, deployment, options)


def _run(
    target: Target, context: DeployContext, watch: Watch, snapshot: dict[str, Any]
) -> tuple[Step, Grant | None, dict[str, Any] | None]:
    """The change observed under credentials scoped exactly as when it was applied."""
    return run_with_credentials(
        target,
        context,
        lambda applier: observe_change(applier, target, watch, snapshot),
        known_before=snapshot,
    )


def _finish(
    chain: Watched,
    step: Step,
    grant: Grant | None,
    after: dict[str, Any] | None,
    watch: Watch | None,
    started: datetime,
    deployment: Deployment,
    options: ObserveOptions,
) -> Observed:
    """Decide what is new, handle a regression (deployment failed, rollback asked), write
    the follow-up record."""
    final = watch is not None and is_final(step, watch)
    validation = step.validation
    lines = tuple(
        scrub(line) for line in (*(validation.checks if validation else ()), *step.reasons)
    )
    status = str(step.outcome)
    if step.outcome is Outcome.APPLIED:
        status = (
            "passed"
            if final and validation and validation.verdict is Verdict.PASSED
            else "watching"
        )
    latest = chain.latest.statement.predicate
    unchanged = (
        not final
        and step.outcome is Outcome.APPLIED
        and validation is not None
        and latest.outcome == "applied"
        and latest.validation.result == str(validation.verdict)
        and tuple(latest.validation.checks) == tuple(validation.checks)
    )
    if unchanged:
        return Observed(chain, "unchanged", (f"nothing new since {chain.latest.path.name}",))
    observed = Observed(chain, status, lines)
    first = chain.first.statement.predicate
    if str(step.outcome) in DEPLOY_FREEZING_OUTCOMES:
        observed.rollback = dispatch_rollback(
            options.forge, first.merge_sha, first.environment, deployment.id, first.change
        )
    predicate = _predicate(chain, step, grant, after, watch, final, started, observed, options)
    digest = _write(chain, predicate, observed, options)
    if str(step.outcome) in DEPLOY_FREEZING_OUTCOMES:
        # NOTE(deploy): the deployment that succeeded now failed: the gate freezes the
        # environment from here until the revert's deployment resolves it.
        try:
            options.forge.set_deployment_status(
                deployment.id,
                STATES[str(step.outcome)],
                f"a later check failed: {(step.reasons or ('regression',))[0]}"[:120],
                {"outcome": str(step.outcome), "record": digest, "observation": True},
            )
        except ForgeError as exc:
            observed.lines += (f"the deployment status could not be set: {exc}",)
    return observed


def _predicate(
    chain: Watched,
    step: Step,
    grant: Grant | None,
    after: dict[str, Any] | None,
    watch: Watch | None,
    final: bool,
    started: datetime,
    observed: Observed,
    options: ObserveOptions,
) -> dict[str, Any]:
    first = chain.first.predicate
    applied_at = first["timeStarted"]
    predicate = {
        key: first[key]
        for key in (
            "change",
            "environment",
            "repository",
            "mergeSha",
            "target",
            "desired",
            "why",
            "gate",
        )
    }
    predicate.update(
        {
            "before": first["before"],
            "after": after,
            "authority": {
                "workflowRef": options.authorship.workflow_ref,
                "runUrl": options.authorship.run_url,
                "oidcSubject": options.authorship.oidc_subject,
                "credential": credential_json(grant.authority if grant else None),
            },
            "validation": {
                "result": str(step.validation.verdict) if step.validation else "not-run",
                "checks": list(step.validation.checks) if step.validation else [],
            },
            "outcome": str(step.outcome),
            "reasons": [scrub(reason) for reason in step.reasons],
            "resolves": [],
            "rollback": observed.rollback,
            "timeStarted": record_time(started),
            "timeFinished": record_time(options.now()),
            "observes": {
                "recordSha256": chain.first.sha256,
                "appliedAt": applied_at,
                "windowEndsAt": record_time(watch.window_ends_at) if watch else applied_at,
                "final": final,
            },
        }
    )
    return predicate


def _write(
    chain: Watched, predicate: dict[str, Any], observed: Observed, options: ObserveOptions
) -> str | None:
    """Sign and write the follow-up record; its sha256, or None when it could not be."""
    subject = chain.first.statement.subject[1]
    attestation = {"path": subject.name, "sha256": subject.digest.sha256 or ""}
    if subject.name == "_no-attestation":
        attestation = {}
    try:
        statement = statement_for(predicate, attestation)
        bundle = sign_record(statement, options.signer)
        options.record_out.mkdir(parents=True, exist_ok=True)
        stem = chain.first.path.name.removesuffix(RECORD_SUFFIX)
        path = unused_path(options.record_out, f"{stem}-observed{RECORD_SUFFIX}")
        write_text_atomically(path, bundle.decode())
    except Exception as exc:  # NOTE(deploy): reported; never a traceback.
        observed.lines += (f"record not written: {scrub(error_text(exc))}",)
        return None
    observed.record = path
    return hashlib.sha256(bundle).hexdigest()


def _target(record: DeployRecord) -> Target:
    """The target the change was applied to, as its record states it; the state read before
    applying stands for the pre-image (the precheck found them equal)."""
    predicate = record.statement.predicate
    return Target(
        kind=predicate.target.kind,
        environment=predicate.environment,
        objects=tuple(predicate.target.objects),
        pre_image=dict(predicate.before or {}),
        desired=dict(predicate.desired),
        location=dict(predicate.target.location),
        source=predicate.target.source,
    )


def _final(record: DeployRecord) -> bool:
    observes = record.statement.predicate.observes
    return observes is not None and observes.final


def _same_change(first: DeployRecord, other: DeployRecord) -> bool:
    a, b = first.statement.predicate, other.statement.predicate
    return (a.change, a.environment, a.repository, a.merge_sha, a.target) == (
        b.change,
        b.environment,
        b.repository,
        b.merge_sha,
        b.target,
    )


def _deployment_of(record: DeployRecord, deployments: list[Deployment]) -> Deployment | None:
    """The successful deployment the record was written for (same commit, environment and
    idempotency key), if it still stands."""
    predicate = record.statement.predicate
    key = (
        f"{predicate.change}|{predicate.target.kind}|{predicate.target.source}|"
        f"{predicate.environment}"
    )
    found = [
        d
        for d in deployments
        if d.sha == predicate.merge_sha
        and d.environment == predicate.environment
        and d.payload.get("key") == key
    ]
    if not found or found[-1].state != "success":
        return None
    return found[-1]


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def exit_code(observed: list[Observed], refused: list[Refused]) -> int:
    """2 when a record was refused; 1 when a regression was handled, a change drifted, an
    observation failed or its record could not be written; 0 otherwise (still watching,
    passed, nothing new)."""
    if refused:
        return 2
    bad = {"compensated", "compensation-failed", "drift", "failed"}
    if any(o.status in bad for o in observed):
        return 1
    if any(o.status in ("watching", "passed") and o.record is None for o in observed):
        return 1
    return 0
