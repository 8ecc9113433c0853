"""The pure decision: policies + context -> outcome, reasons, missing approvals, digest.

Fails closed: a compile or evaluation error, a non-boolean result, an unknown identifier or an
invalid context is a ``deny`` naming the policy and the error, never an ``allow``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import rfc8785
from pydantic import ValidationError

from bot.policy.engine import DEFAULT_ENGINE, CelError, PolicyEngine, unknown_identifiers
from bot.policy.gate_context import Approval, GateContext, context_digest
from bot.policy.schema import (
    Action,
    ApprovalRequirement,
    GateException,
    GatePolicy,
    NamedExpression,
    PolicySet,
    Validation,
)
from bot.risk import Reversibility

Outcome = Literal["allow", "require_approval", "deny"]

#: Policy name used for problems that belong to no policy (an invalid context).
CONTEXT = "<context>"
#: The digest recorded for a context that has no canonical JSON form.
_NO_DIGEST = "sha256:" + "0" * 64


@dataclass(frozen=True)
class MissingApproval:
    """Approvals a ``require_approval`` validation still needs, and who may give them."""

    policy: str
    validation: str
    needed: int
    """How many more counted approvals are needed."""
    have: int
    users: tuple[str, ...]
    teams: tuple[str, ...]
    code_owners: bool
    """Code owners of the touched paths may approve."""
    no_code_owners: bool
    """Code owners are asked for but no CODEOWNERS line covers the touched paths: fail closed,
    nobody qualifies until one is added."""
    uncovered: tuple[str, ...]
    """Owned paths still waiting for an approval from one of their own owners."""
    not_user: str | None
    """Who may not approve (the author and the PR's other contributors), joined with "or"."""
    sha: str
    """Only approvals on this commit count."""
    contributors_unknown: bool = False
    """Self-approval is prevented but commits tied to no account hide who contributed, so no
    approval counts (fail closed)."""

    def describe(self) -> str:
        """One line: ``2 more approvals (have 0) on abc1234 from team security, not alice``."""
        who: list[str] = [f"user {u}" for u in self.users] + [f"team {t}" for t in self.teams]
        if self.no_code_owners:
            who.append("a code owner (no CODEOWNERS line covers these paths yet: add one)")
        elif self.uncovered:
            shown = ", ".join(self.uncovered[:5]) + (", ..." if len(self.uncovered) > 5 else "")
            who.append(f"a code owner of each of {shown}")
        elif self.code_owners:
            who.append("a code owner")
        text = f"{self.needed} more approval{'s' if self.needed != 1 else ''} (have {self.have})"
        text += f" on {self.sha[:12]} from " + (" or ".join(who) if who else "any reviewer")
        if self.not_user:
            text += f", not {self.not_user}"
        if self.contributors_unknown:
            text += (
                "; none counts while the pull request has commits tied to no account "
                "(any reviewer may have pushed them)"
            )
        return text


@dataclass(frozen=True)
class Result:
    """A validation that did not pass (or a policy that could not be evaluated)."""

    policy: str
    validation: str
    action: Action
    message: str
    error: bool = False
    """The policy failed to evaluate (fail closed)."""
    excepted_by: str | None = None
    """The exception that turned this result into an audit."""


@dataclass(frozen=True)
class PolicyReport:
    """How one policy went."""

    name: str
    matched: bool
    outcome: Outcome | Literal["not-matched", "warn", "audit"]
    auto_merge: bool


@dataclass(frozen=True)
class Decision:
    """The gate's answer for one context."""

    outcome: Outcome
    auto_merge: bool
    """Allowed, a matched policy marks the change eligible for auto-merge, and the change is
    not irreversible (a deletion is merged by a person, whatever a policy says)."""
    results: tuple[Result, ...]
    """Every contributing validation (deny, require_approval, warn, audit), strongest first."""
    missing_approvals: tuple[MissingApproval, ...]
    policies: tuple[PolicyReport, ...]
    exceptions_applied: tuple[str, ...]
    exceptions_expired: tuple[str, ...]
    context_digest: str
    engine: str
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """The decision as plain JSON (``decision`` is the outcome)."""
        data = asdict(self)
        data["decision"] = data.pop("outcome")
        for result in data["results"]:
            result["action"] = str(result["action"])
        return data


def decide(
    policies: PolicySet | Sequence[GatePolicy],
    context: Mapping[str, Any],
    *,
    engine: PolicyEngine = DEFAULT_ENGINE,
) -> Decision:
    """Evaluate every policy against ``context`` and combine the results.

    Precedence: ``deny`` > ``require_approval`` > ``warn`` > ``audit``. When no policy matches,
    the outcome is ``require_approval`` (nothing says the change is safe to merge unattended).
    Never raises for bad policies or contexts: those become ``deny`` results.
    """
    if isinstance(policies, PolicySet):
        policy_list, exceptions = list(policies.policies), list(policies.exceptions)
    else:
        policy_list, exceptions = list(policies), []
    try:
        model = GateContext.model_validate(dict(context))
    except ValidationError as exc:
        return _invalid_context(exc, context, engine)
    data = model.to_json()
    try:
        digest = context_digest(data)
    except rfc8785.CanonicalizationError as exc:
        problem = f"invalid context: {exc}; numbers must lie within ±(2**53 - 1)"
        return denial(CONTEXT, "canonical-json", problem, _NO_DIGEST, engine)
    activation: dict[str, Any] = dict(data)
    activation["now"] = model.now
    try:
        bound = engine.bind(activation)
    except CelError as exc:
        return denial(CONTEXT, "engine", str(exc), digest, engine)
    results: list[Result] = []
    missing: list[MissingApproval] = []
    reports: list[PolicyReport] = []
    applied: set[str] = set()
    expired = sorted(e.metadata.name for e in exceptions if e.spec.expires <= model.now)
    live = [e for e in exceptions if e.spec.expires > model.now]
    notes: list[str] = []
    for policy in policy_list:
        run = _PolicyRun(policy, engine, bound, model)
        own = run.evaluate()
        if own and not any(r.error for r in own):
            waiver, note = _exception_for(policy.name, live, engine, bound)
            if note:
                notes.append(note)
            if waiver is not None:
                applied.add(waiver)
                own = [
                    Result(r.policy, r.validation, Action.AUDIT, r.message, excepted_by=waiver)
                    for r in own
                ]
                run.missing = []
        results.extend(own)
        missing.extend(run.missing)
        reports.append(
            PolicyReport(policy.name, run.matched, _policy_outcome(run.matched, own), run.auto)
        )
    outcome = _combine(results)
    if outcome == "allow" and not any(r.matched for r in reports):
        outcome = "require_approval"
        results.append(
            Result(
                CONTEXT,
                "no-policy-matched",
                Action.REQUIRE_APPROVAL,
                "no policy matched this change, so it needs a human decision",
            )
        )
    ordered = sorted(results, key=lambda r: (-r.action.rank, r.policy, r.validation))
    eligible = outcome == "allow" and any(r.matched and r.auto_merge for r in reports)
    if eligible and model.change.reversibility is Reversibility.IRREVERSIBLE:
        # NOTE(gate): nothing can undo an irreversible change (a deleted key or secret), so no
        # policy, shipped or written by a user, can let it merge without a person pressing merge.
        eligible = False
        notes.append("not eligible for auto-merge: the change is irreversible")
    return Decision(
        outcome=outcome,
        auto_merge=eligible,
        results=tuple(ordered),
        missing_approvals=tuple(missing),
        policies=tuple(reports),
        exceptions_applied=tuple(sorted(applied)),
        exceptions_expired=tuple(expired),
        context_digest=digest,
        engine=engine.name,
        notes=tuple(notes),
    )


def _invalid_context(
    exc: ValidationError, context: Mapping[str, Any], engine: PolicyEngine
) -> Decision:
    problems = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "<root>"
        problems.append(
            Result(CONTEXT, key, Action.DENY, f"invalid context: {key}: {error['msg']}", error=True)
        )
    try:
        digest = context_digest(context)
    except Exception:  # NOTE(policy): a context that is not JSON still gets a decision.
        digest = _NO_DIGEST
    return Decision("deny", False, tuple(problems), (), (), (), (), digest, engine.name)


def denial(
    policy: str, validation: str, problem: str, digest: str, engine: PolicyEngine
) -> Decision:
    """A ``deny`` with one error result: what every failure outside a policy's own validations
    becomes (fail closed)."""
    result = Result(policy, validation, Action.DENY, problem, error=True)
    return Decision("deny", False, (result,), (), (), (), (), digest, engine.name)


def _combine(results: Sequence[Result]) -> Outcome:
    top = max((r.action.rank for r in results), default=-1)
    if top == Action.DENY.rank:
        return "deny"
    if top == Action.REQUIRE_APPROVAL.rank:
        return "require_approval"
    return "allow"


def _policy_outcome(
    matched: bool, results: Sequence[Result]
) -> Outcome | Literal["not-matched", "warn", "audit"]:
    if not matched and not results:
        return "not-matched"
    top = max((r.action for r in results), key=lambda a: a.rank, default=None)
    if top is None:
        return "allow"
    if top is Action.DENY:
        return "deny"
    if top is Action.REQUIRE_APPROVAL:
        return "require_approval"
    return "warn" if top is Action.WARN else "audit"


class _PolicyRun:
    """Evaluation of one policy; every failure is a deny result naming the policy."""

    def __init__(
        self,
        policy: GatePolicy,
        engine: PolicyEngine,
        bound: Any,
        context: GateContext,
    ) -> None:
        self.policy = policy
        self.engine = engine
        self.bound = bound
        self.context = context
        self.matched = False
        self.auto = policy.spec.auto_merge
        self.missing: list[MissingApproval] = []

    def _error(self, route: tuple[str | int, ...], label: str, problem: str) -> list[Result]:
        # The position is looked up only on error: it is the slow part of a passing decision.
        message = f"policy '{self.policy.name}' ({self.policy.where(*route)}) {label}: {problem}"
        return [Result(self.policy.name, label, Action.DENY, message, error=True)]

    def _eval(self, expression: str, variables: Mapping[str, Any]) -> Any:
        unknown = unknown_identifiers(expression)
        if unknown:
            raise CelError(f"unknown identifier {', '.join(repr(u) for u in unknown)}")
        program = self.engine.compile(expression)
        return self.engine.evaluate(program, self.bound, variables)

    def _bool(self, expression: str, variables: Mapping[str, Any]) -> bool:
        value = self._eval(expression, variables)
        if type(value) is not bool:
            raise CelError(f"result is {type(value).__name__} {value!r}, not a bool")
        return value

    def evaluate(self) -> list[Result]:
        spec = self.policy.spec
        variables: dict[str, Any] = {}
        for index, cond in enumerate(spec.match_conditions):
            where = ("spec", "matchConditions", index, "expression")
            try:
                if not self._bool(cond.expression, variables):
                    return []
            except CelError as exc:
                return self._error(where, f"matchConditions[{cond.name}]", str(exc))
        self.matched = True
        for index, var in enumerate(spec.variables):
            where = ("spec", "variables", index, "expression")
            try:
                variables[var.name] = self._eval(var.expression, variables)
            except CelError as exc:
                return self._error(where, f"variables[{var.name}]", str(exc))
        results: list[Result] = []
        for index, validation in enumerate(spec.validations):
            label = validation.name or f"validations[{index}]"
            where = ("spec", "validations", index, "expression")
            try:
                results.extend(self._validate(validation, label, variables))
            except CelError as exc:
                results.extend(self._error(where, label, str(exc)))
        return results

    def _validate(
        self, validation: Validation, label: str, variables: Mapping[str, Any]
    ) -> list[Result]:
        if validation.expression is not None and self._bool(validation.expression, variables):
            return []
        if validation.approvals is not None:
            have = count_approvals(validation.approvals, self.context)
            if have >= validation.approvals.count:
                return []
            self.missing.append(self._missing(validation.approvals, label, have))
        return [
            Result(self.policy.name, label, validation.action, self._message(validation, variables))
        ]

    def _message(self, validation: Validation, variables: Mapping[str, Any]) -> str:
        if validation.message is not None:
            return validation.message
        assert validation.message_expression is not None  # noqa: S101 - schema guarantees it
        try:
            value = self._eval(validation.message_expression, variables)
        except CelError as exc:
            return f"validation failed (messageExpression: {exc})"
        return value if isinstance(value, str) else f"validation failed ({value!r})"

    def _missing(self, req: ApprovalRequirement, label: str, have: int) -> MissingApproval:
        pr = self.context.pr
        owners = self.context.change.code_owners
        return MissingApproval(
            policy=self.policy.name,
            validation=label,
            needed=req.count - have,
            have=have,
            users=req.from_.users,
            teams=req.from_.teams,
            code_owners=req.from_.code_owners,
            no_code_owners=req.from_.code_owners and not (owners.users or owners.teams),
            uncovered=uncovered_paths(req, self.context),
            not_user=" or ".join(dict.fromkeys([pr.author, *pr.contributors]))
            if req.prevent_self_approval
            else None,
            sha=pr.head_sha,
            contributors_unknown=req.prevent_self_approval and _contributors_hidden(self.context),
        )


def _anyone(req: ApprovalRequirement) -> bool:
    """Whether any reviewer may approve: the requirement names no approvers at all."""
    source = req.from_
    return not (source.users or source.teams or source.code_owners)


def _contributors_hidden(context: GateContext) -> bool:
    """Someone pushed a commit tied to no account, and the forge does not make sure that the
    last push is approved by someone else: any approver may be a contributor."""
    pr = context.pr
    return not pr.contributors_known and not pr.last_push_approval_required


def _eligible(req: ApprovalRequirement, context: GateContext) -> list[Approval]:
    """Approvals of the head SHA by people who may give them (not the author or a contributor
    when self-approval is prevented; nobody when self-approval is prevented and who
    contributed is unknown)."""
    if req.prevent_self_approval and _contributors_hidden(context):
        return []
    out = []
    for approval in context.approvals:
        if approval.state != "APPROVED" or approval.at_sha != context.pr.head_sha:
            continue
        if req.prevent_self_approval and (
            approval.user == context.pr.author or approval.user in context.pr.contributors
        ):
            continue
        out.append(approval)
    return out


def _owns(approval: Approval, users: Sequence[str], teams: Sequence[str]) -> bool:
    return approval.user in users or bool(set(approval.teams) & set(teams))


def uncovered_paths(req: ApprovalRequirement, context: GateContext) -> tuple[str, ...]:
    """With ``from.codeOwners``, the owned paths that no eligible approval of one of their own
    owners covers yet (GitHub's rule: each file needs its owner)."""
    if not req.from_.code_owners:
        return ()
    approvals = _eligible(req, context)
    return tuple(
        entry.path
        for entry in context.change.code_owners.by_path
        if not any(_owns(a, entry.users, entry.teams) for a in approvals)
    )


def count_approvals(req: ApprovalRequirement, context: GateContext) -> int:
    """Distinct reviewers whose latest review approves the head SHA and who may approve.

    With ``from.codeOwners`` the requirement also needs every owned path covered by one of its
    own owners; until then the count stays below ``count``.
    """
    source = req.from_
    owners = context.change.code_owners
    anyone = _anyone(req)
    counted = {
        approval.user
        for approval in _eligible(req, context)
        if anyone
        or _owns(approval, source.users, source.teams)
        or (source.code_owners and _owns(approval, owners.users, owners.teams))
    }
    if uncovered_paths(req, context):
        return min(len(counted), req.count - 1)
    return len(counted)


def _exception_for(
    policy: str,
    exceptions: Sequence[GateException],
    engine: PolicyEngine,
    bound: Any,
) -> tuple[str | None, str | None]:
    """The first live exception that names ``policy`` and whose conditions hold."""
    for waiver in exceptions:
        if policy not in waiver.spec.policies:
            continue
        try:
            if all(_holds(cond, engine, bound) for cond in waiver.spec.match_conditions):
                return waiver.metadata.name, None
        except CelError as exc:
            name = waiver.metadata.name
            return None, f"exception '{name}' not applied: {exc}"
    return None, None


def _holds(cond: NamedExpression, engine: PolicyEngine, bound: Any) -> bool:
    unknown = unknown_identifiers(cond.expression)
    if unknown:
        raise CelError(f"unknown identifier {', '.join(repr(u) for u in unknown)}")
    value = engine.evaluate(engine.compile(cond.expression), bound, {})
    if type(value) is not bool:
        raise CelError(f"matchConditions[{cond.name}] is not a bool")
    return value
