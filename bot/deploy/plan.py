"""``mendbot deploy plan``: what a merge commit would deploy, per environment, and why not.

No credentials are held here. For the merge commit the plan checks, failing closed, that:

1. it adds exactly one committed attestation (a remediation) or is the exact revert of a merged
   bot change (the gate found which; its attestation is re-verified here);
2. the attestation verifies against the **analysis** identity, has not expired, names this
   repository, and the merge's first-parent change is exactly the attested one;
3. the gate, decided again on the merge commit now, allows it (:class:`GateVerdict`);
4. no successful deployment exists for the same change, target and environment;
5. the risk may be deployed: safe, reversible and at most service-wide changes automatically,
   anything else only under a policy that demanded the stronger approvals; deletions only when
   ``deploy.allow_irreversible`` is also set;

and lists every target (:mod:`bot.deploy.targets`) with ``apply``, ``skip`` or ``refuse`` and
the reasons. The live precondition (drift) is checked by the apply step, with credentials.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from bot import git as gitcmd
from bot.config import DEFAULT_LOCATIONS, Config, parse_config
from bot.deploy.applier import Target
from bot.deploy.appliers import APPLIERS, DELETERS
from bot.deploy.targets import Deletion, Planned, Refusal, targets_of
from bot.desired import DesiredStateError
from bot.errors import MendbotError
from bot.forge.interface import Deployment
from bot.policy.gate_context import UNMAPPED_ENVIRONMENT
from bot.protocol import ATTESTATIONS_DIR, DEPLOY_FREEZING_OUTCOMES
from bot.provenance.changes import RawEntry, parse_raw, raw_diff
from bot.provenance.own_change import own_change_problems, undoes, undoes_own_change
from bot.provenance.statement import Statement
from bot.provenance.verification.trust import Trust
from bot.provenance.verification.verifier import verify_attestation
from bot.risk import BlastRadius, Disposition, Reversibility

#: Version of the plan file's JSON shape.
PLAN_VERSION = 1
#: Blast radii a change may have and still deploy without the stronger approvals.
_AUTOMATIC_RADII = frozenset({BlastRadius.FILE, BlastRadius.SERVICE})
#: Checks of a reverted change's attestation that may fail: they bind it to the pull request
#: it came from, or its time, or (``change-set``) to the whole commit, which may have brought
#: other work too. The reverted commit's change on the remediation's own paths must be the
#: attested one instead (:func:`~bot.provenance.own_change.own_change_problems`): a genuine
#: attestation copied into a person's commit makes no bot change.
_NOT_IDENTITY = frozenset(
    {"head", "base", "base-commit", "change-set", "merge-result", "attestation-path", "expiry"}
)

Action = Literal["apply", "skip", "refuse"]


@dataclass(frozen=True)
class GateVerdict:
    """The gate's decision on the merge commit, decided again at deploy time."""

    outcome: str
    """``allow``, ``require_approval`` or ``deny``."""
    summary: str
    """The status description."""
    policies_digest: str | None
    record_digest: str
    """sha256 of the decision record."""
    evaluated_at: str
    strong_approvals: tuple[str, ...] = ()
    """Matched policies that demanded two or more approvals (and got them, if allowed)."""
    pull: int | None = None
    approved_head: str | None = None
    revert_of: str | None = None
    """The merged bot change this commit exactly reverts, when it does."""


@dataclass(frozen=True)
class PlannedChange:
    """One target of the merge commit, and what the deploy job will do with it."""

    change: str
    """The remediation id (``revert:<id>`` for the exact revert of one)."""
    environment: str
    kind: str
    action: Action
    reasons: tuple[str, ...]
    target: Target | None
    """None for a refused deletion or change the appliers cannot make."""
    source: str
    why: dict[str, Any] = field(default_factory=dict)
    """Rules, findings and risk, from the verified statement."""
    resolves: tuple[int, ...] = ()
    """Failed deployments a successful deploy of this revert resolves (unfreezing)."""

    @property
    def key(self) -> str:
        """``change|kind|source|environment``: what idempotency is keyed by."""
        return f"{self.change}|{self.kind}|{self.source}|{self.environment}"


@dataclass(frozen=True)
class DeployPlan:
    """The plan of one merge commit."""

    repository: str
    sha: str
    parent: str
    created: str
    gate: GateVerdict
    attestation: dict[str, str]
    """``path`` and ``sha256`` of the attestation the change is deployed under."""
    changes: tuple[PlannedChange, ...]
    problems: tuple[str, ...] = ()
    """Why nothing at all is deployed (empty when the checks passed)."""

    def matrix(self) -> list[dict[str, str]]:
        """``{"change", "environment"}`` of each change to apply (a workflow matrix)."""
        seen: list[dict[str, str]] = []
        for change in self.changes:
            entry = {"change": change.change, "environment": change.environment}
            if change.action == "apply" and entry not in seen:
                seen.append(entry)
        return seen

    def to_json(self) -> dict[str, Any]:
        """The plan file's content."""
        return {
            "version": PLAN_VERSION,
            "repository": self.repository,
            "sha": self.sha,
            "parent": self.parent,
            "created": self.created,
            "gate": asdict(self.gate),
            "attestation": self.attestation,
            "problems": list(self.problems),
            "changes": [_change_json(change) for change in self.changes],
            "matrix": self.matrix(),
        }


def _change_json(change: PlannedChange) -> dict[str, Any]:
    data = asdict(change)
    data["key"] = change.key
    return data


def config_at(repo: Path, commit: str) -> Config:
    """``.github/mendbot.yml`` as committed at ``commit`` (defaults when absent); raises
    :class:`~bot.errors.ConfigError` naming ``<sha12>:<path>`` when it is unusable."""
    for location in DEFAULT_LOCATIONS:
        blob = gitcmd.blob_at(repo, commit, location)
        if blob is None:
            continue
        raw = gitcmd.read_blobs(repo, [blob[1]])[blob[1]]
        return parse_config(raw.decode("utf-8", "replace"), f"{commit[:12]}:{location}", None)
    return Config()


def plan_merge(
    repo: Path,
    sha: str,
    *,
    repository: str,
    trust: Trust,
    now: datetime,
    gate: GateVerdict,
    deployments: list[Deployment],
) -> DeployPlan:
    """The plan of merge commit ``sha`` (see the module docstring); never raises for a failed
    check, which becomes a problem or a refused change. Raises :class:`MendbotError` only when
    git cannot be read."""
    sha = gitcmd.rev_parse(repo, sha)
    parent = gitcmd.rev_parse(repo, f"{sha}^1")
    created = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    entries = parse_raw(raw_diff(repo, parent, sha))
    empty = DeployPlan(repository, sha, parent, created, gate, {}, ())
    try:
        config = config_at(repo, parent)
    except MendbotError as exc:
        return _nothing(empty, f"the configuration cannot be read: {exc}")
    added = [e for e in entries if _is_attestation(e) and e.status == "A"]
    removed = [e for e in entries if _is_attestation(e) and e.status == "D"]
    statement: Statement | None = None
    attestation: dict[str, str] = {}
    if len(added) == 1 and not removed:
        raw = gitcmd.read_blobs(repo, [added[0].dst_id])[added[0].dst_id]
        result = verify_attestation(
            raw, repo=repo, head=sha, base=parent, trust=trust, now=now, repository=repository
        )
        if not result.ok or result.statement is None:
            failed = "; ".join(f"{c.id}: {c.message}" for c in result.failures)
            return _nothing(empty, f"the attestation {added[0].path} does not hold: {failed}")
        statement = result.statement
        attestation = {"path": added[0].path, "sha256": hashlib.sha256(raw).hexdigest()}
        change_id = statement.predicate.remediation.id
    elif not added and removed and gate.revert_of:
        found = _reverted_statement(repo, gate.revert_of, removed, trust, now, repository)
        if isinstance(found, str):
            return _nothing(empty, found)
        statement, attestation = found
        if not _turns_around(repo, entries, gate.revert_of, statement):
            return _nothing(
                empty,
                f"the merge commit is not the exact revert of {gate.revert_of[:12]}: it changes "
                "more or other than the reverted change, so part of it was never reviewed as "
                "a revert",
            )
        change_id = "revert:" + statement.predicate.remediation.id
    else:
        return _nothing(
            empty,
            f"the commit adds {len(added)} and removes {len(removed)} attestation(s): it is "
            "neither one remediation nor the exact revert of one",
        )
    plan = DeployPlan(repository, sha, parent, created, gate, attestation, ())
    others = [e for e in entries if not _is_attestation(e)]
    read = _contents(repo, parent, sha, others)
    try:
        planned = targets_of(others, read, config.environments)
    except DesiredStateError as exc:
        return _nothing(plan, str(exc))
    changes = tuple(
        _decide(
            item,
            change_id=change_id,
            statement=statement,
            revert=gate.revert_of is not None,
            gate=gate,
            config=config,
            deployments=deployments,
            resolves=_resolved_by(gate.revert_of, deployments, item.environment)
            if gate.revert_of
            else (),
        )
        for item in planned
    )
    return DeployPlan(repository, sha, parent, created, gate, attestation, changes)


def _nothing(plan: DeployPlan, problem: str) -> DeployPlan:
    return DeployPlan(
        plan.repository,
        plan.sha,
        plan.parent,
        plan.created,
        plan.gate,
        plan.attestation,
        (),
        (problem,),
    )


def _is_attestation(entry: RawEntry) -> bool:
    return entry.path.startswith(ATTESTATIONS_DIR + "/") and entry.path.endswith(".sigstore.json")


def _contents(
    repo: Path, parent: str, sha: str, entries: list[RawEntry]
) -> dict[str, tuple[bytes | None, bytes | None]]:
    ids = [i for e in entries for i in (e.src_id, e.dst_id) if set(i) != {"0"}]
    blobs = gitcmd.read_blobs(repo, ids) if ids else {}
    return {
        e.path: (
            blobs.get(e.src_id) if set(e.src_id) != {"0"} else None,
            blobs.get(e.dst_id) if set(e.dst_id) != {"0"} else None,
        )
        for e in entries
    }


def _turns_around(repo: Path, entries: list[RawEntry], reverted: str, statement: Statement) -> bool:
    """Whether the merge's change (``entries``, first parent → merge) is exactly ``reverted``'s
    change turned around, path for path (modes and blobs): all of it, or exactly the own paths
    of the remediation ``statement`` attests (``mendbot revert`` of a remediation that came in
    with other work, a release merge). The gate judged the pull request's head; a merge commit
    that carries more than that head (an evil merge) is not the revert."""
    change = parse_raw(raw_diff(repo, gitcmd.rev_parse(repo, f"{reverted}^1"), reverted))
    return undoes(entries, change) or undoes_own_change(entries, change, statement)


def _reverted_statement(
    repo: Path,
    reverted: str,
    removed: list[RawEntry],
    trust: Trust,
    now: datetime,
    repository: str,
) -> tuple[Statement, dict[str, str]] | str:
    """The statement of the bot change ``reverted`` (signed by ``trust``; it may have expired,
    since a revert restores the reviewed state before it; ``reverted``'s own change on the
    remediation's paths is exactly the attested one, whatever else that commit brought), or
    why there is none."""
    if len(removed) != 1:
        return f"the revert removes {len(removed)} attestations; a remediation has one"
    raw = gitcmd.read_blobs(repo, [removed[0].src_id])[removed[0].src_id]
    result = verify_attestation(
        raw,
        repo=repo,
        head=reverted,
        base=f"{reverted}^1",
        trust=trust,
        now=now,
        repository=repository,
    )
    failed = [f"{c.id}: {c.message}" for c in result.failures if c.id not in _NOT_IDENTITY]
    if result.statement is not None and not failed:
        try:
            failed = own_change_problems(repo, result.statement, reverted)
        except MendbotError as exc:
            failed = [str(exc)]
    if result.statement is None or failed:
        why = "; ".join(failed) or "no verified statement"
        return f"the reverted change's attestation {removed[0].path} does not hold: {why}"
    return result.statement, {"path": removed[0].path, "sha256": hashlib.sha256(raw).hexdigest()}


def _resolved_by(
    reverted: str | None, deployments: list[Deployment], environment: str
) -> tuple[int, ...]:
    """Failed or unfinished deployments of the reverted commit in ``environment``: deploying
    its revert there resolves them (a deployment elsewhere resolves nothing here)."""
    return tuple(
        d.id
        for d in deployments
        if d.sha == reverted
        and d.environment == environment
        and (
            d.payload.get("outcome") in DEPLOY_FREEZING_OUTCOMES
            or d.state not in ("success", "error", "inactive")
        )
    )


def _decide(
    item: Planned,
    *,
    change_id: str,
    statement: Statement,
    revert: bool,
    gate: GateVerdict,
    config: Config,
    deployments: list[Deployment],
    resolves: tuple[int, ...],
) -> PlannedChange:
    remediation = statement.predicate.remediation
    risk = remediation.risk
    risk_json: dict[str, Any] = {
        "disposition": str(Disposition.SAFE if revert else risk.disposition),
        "reversibility": str(Reversibility.REVERSIBLE if revert else risk.reversibility),
        "blastRadius": str(BlastRadius.FILE if revert else risk.blast_radius),
        # What a reviewer of the deployment must see too (the gate's change.ownership and
        # change.second_order): who answers for the identity, and whether an agent holds it.
        "ownership": str(risk.ownership) if risk.ownership is not None else None,
        "secondOrder": risk.second_order,
    }
    why: dict[str, Any] = {
        "rules": list(remediation.rules),
        "findings": [finding.id for finding in statement.predicate.findings],
        "risk": risk_json,
        "title": remediation.title,
    }
    kind = item.kind if not isinstance(item, Refusal) else "desired-state"
    target = item if isinstance(item, Target) else None
    if isinstance(item, Deletion):
        target = item.target()
    base = PlannedChange(
        change=change_id,
        environment=item.environment,
        kind=kind,
        action="refuse",
        reasons=(),
        target=target,
        source=item.source,
        why=why,
        resolves=resolves,
    )
    reasons = _refusals(item, revert=revert, gate=gate, config=config, risk=risk_json)
    if reasons:
        # A refused deletion names no target: nothing may be read or written for it.
        refused = _with(base, "refuse", reasons)
        return refused if not isinstance(item, Deletion) else _without_target(refused)
    done = [
        d
        for d in deployments
        if d.state == "success"
        and d.environment == base.environment
        and d.payload.get("key") == base.key
    ]
    if done:
        return _with(base, "skip", (f"already applied by deployment {done[-1].id}",))
    return _with(base, "apply", (f"gate: {gate.outcome} ({gate.summary})",))


def _refusals(
    item: Planned,
    *,
    revert: bool,
    gate: GateVerdict,
    config: Config,
    risk: dict[str, Any],
) -> tuple[str, ...]:
    if isinstance(item, Refusal):
        return (item.reason,)
    if gate.outcome != "allow":
        return (f"the gate does not allow the merge commit now: {gate.outcome}: {gate.summary}",)
    if item.environment == UNMAPPED_ENVIRONMENT:
        # The apply job runs under `environment: <name>`: an unmapped path would deploy from an
        # environment GitHub creates on the fly, with no protection rule and no pinned role.
        return (
            f"{item.source or 'the change'} maps to no environment: map it under environments "
            "in .github/mendbot.yml",
        )
    if isinstance(item, Deletion):
        return _deletion_refusals(item, revert=revert, gate=gate, config=config)
    if item.kind not in APPLIERS:
        return (f"no applier for {item.kind!r} (known: {', '.join(sorted(APPLIERS))})",)
    automatic = (
        risk["disposition"] == Disposition.SAFE
        and risk["reversibility"] != Reversibility.IRREVERSIBLE
        and BlastRadius(risk["blastRadius"]) in _AUTOMATIC_RADII
    )
    if not revert and not automatic and not gate.strong_approvals:
        return (
            f"risk {risk['disposition']}/{risk['reversibility']}/{risk['blastRadius']} is "
            "deployed only under a policy demanding the stronger approvals",
        )
    if risk["reversibility"] == Reversibility.IRREVERSIBLE and not (
        config.deploy.allow_irreversible and gate.strong_approvals
    ):
        return ("an irreversible change needs deploy.allow_irreversible and stronger approvals",)
    return ()


def _deletion_refusals(
    item: Deletion, *, revert: bool, gate: GateVerdict, config: Config
) -> tuple[str, ...]:
    """Why ``item`` may not be deleted: a deletion deploys only with
    ``deploy.allow_irreversible``, a gate decision from a policy demanding the stronger
    approvals, and an applier that deletes its kind; never as part of a revert."""
    objects = ", ".join(item.objects)
    if revert:
        return (
            f"deleting {objects}: a revert restores the state before a change, it never "
            "deletes anything",
        )
    if not config.deploy.allow_irreversible:
        return (f"deleting {objects} is irreversible and deploy.allow_irreversible is not set",)
    if not gate.strong_approvals:
        return (
            f"deleting {objects} is irreversible and the gate's decision came from no policy "
            "demanding the stronger approvals",
        )
    if item.kind not in DELETERS:
        return (f"no applier deletes {item.kind} objects",)
    return ()


def _without_target(change: PlannedChange) -> PlannedChange:
    return PlannedChange(
        change.change,
        change.environment,
        change.kind,
        change.action,
        change.reasons,
        None,
        change.source,
        change.why,
        change.resolves,
    )


def _with(change: PlannedChange, action: Action, reasons: tuple[str, ...]) -> PlannedChange:
    return PlannedChange(
        change.change,
        change.environment,
        change.kind,
        action,
        reasons,
        change.target,
        change.source,
        change.why,
        change.resolves,
    )


def plan_json_bytes(plan: DeployPlan) -> bytes:
    """The plan file's bytes (sorted keys, so two equal plans are equal bytes)."""
    return (json.dumps(plan.to_json(), indent=2, sort_keys=True) + "\n").encode()
