"""Inline policy tests and the static check of policy files (schema, compile, identifiers)."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.policy.decide import decide
from bot.policy.engine import DEFAULT_ENGINE, CelError, PolicyEngine, unknown_identifiers
from bot.policy.gate_context import Change, EnvironmentState, Provenance, PullRequest, Windows
from bot.policy.schema import GateException, GatePolicy, PolicySet

#: The context every inline test's ``context`` is merged over: a verified, safe, reversible
#: staging remediation by the bot, with no approvals, no windows and nothing frozen.
BASE_CONTEXT: dict[str, Any] = {
    "change": {
        "environment": "staging",
        "environments": ["staging"],
        "paths": ["deploy/staging/app.yaml"],
        "disposition": "safe",
        "reversibility": "reversible",
        "blast_radius": "file",
        "rules": ["k8s-automount-token"],
        "ownership": "known",
        "second_order": False,
        "code_owners": {"users": ["olivia"], "teams": ["platform"], "by_path": []},
    },
    "provenance": {"verified": True, "source": "detector", "matches_pr": True},
    "pr": {
        "number": 7,
        "author": "mendbot[bot]",
        "head_sha": "a" * 40,
        "labels": ["mendbot"],
        "is_revert": False,
        "reverts_bot_change": False,
        "contributors": [],
        "contributors_known": True,
        "last_push_approval_required": False,
    },
    "approvals": [],
    "windows": {"active": [], "deny_active": False, "allow_required": False},
    "environment": {"frozen": False},
    "now": "2026-03-04T10:00:00Z",
}


def merged(base: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """``patch`` merged over ``base``: mappings merge key by key, anything else replaces;
    a ``null`` value removes the key (to test a missing field)."""
    out = copy.deepcopy(dict(base))
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


@dataclass(frozen=True)
class CaseResult:
    """The outcome of one inline test case."""

    policy: str
    case: str
    expected: str
    actual: str
    passed: bool
    detail: str
    """Why it failed, or the decisive messages when it passed."""


def run_tests(
    policies: Iterable[GatePolicy], *, engine: PolicyEngine = DEFAULT_ENGINE
) -> list[CaseResult]:
    """Run every inline test of every policy, each policy evaluated on its own."""
    out: list[CaseResult] = []
    for policy in policies:
        for case in policy.spec.tests:
            context = merged(BASE_CONTEXT, case.context)
            decision = decide([policy], context, engine=engine)
            actual = decision.policies[0].outcome if decision.policies else decision.outcome
            problems: list[str] = []
            if actual != case.expect:
                problems.append(f"expected {case.expect}, got {actual}")
            if case.missing_approvals is not None:
                missing = sum(m.needed for m in decision.missing_approvals)
                if missing != case.missing_approvals:
                    problems.append(
                        f"expected {case.missing_approvals} missing approvals, got {missing}"
                    )
            messages = "; ".join(r.message for r in decision.results) or "no failed validation"
            out.append(
                CaseResult(
                    policy=policy.name,
                    case=case.name,
                    expected=case.expect,
                    actual=actual,
                    passed=not problems,
                    detail=("; ".join(problems) + f" ({messages})") if problems else messages,
                )
            )
    return out


def check(policy_set: PolicySet, *, engine: PolicyEngine = DEFAULT_ENGINE) -> list[str]:
    """Compile every expression and reject unknown identifiers; ``file:line:col: problem``."""
    problems: list[str] = []
    items: list[tuple[GatePolicy | GateException, tuple[str | int, ...], str]] = []
    for policy in policy_set.policies:
        spec = policy.spec
        for i, cond in enumerate(spec.match_conditions):
            items.append((policy, ("spec", "matchConditions", i, "expression"), cond.expression))
        for i, var in enumerate(spec.variables):
            items.append((policy, ("spec", "variables", i, "expression"), var.expression))
        for i, val in enumerate(spec.validations):
            if val.expression is not None:
                items.append((policy, ("spec", "validations", i, "expression"), val.expression))
            if val.message_expression is not None:
                where: tuple[str | int, ...] = ("spec", "validations", i, "messageExpression")
                items.append((policy, where, val.message_expression))
    for waiver in policy_set.exceptions:
        for i, cond in enumerate(waiver.spec.match_conditions):
            items.append((waiver, ("spec", "matchConditions", i, "expression"), cond.expression))
    for document, route, expression in items:
        try:
            unknown = unknown_identifiers(expression)
            engine.compile(expression)
        except CelError as exc:
            problems.append(f"{document.where(*route)}: {exc}")
            continue
        if unknown:
            names = ", ".join(repr(u) for u in unknown)
            problems.append(f"{document.where(*route)}: unknown identifier {names}")
        problems.extend(
            f"{document.where(*route)}: unknown context field '{field}' "
            "(docs/policy-context.schema.json lists them)"
            for field in unknown_fields(expression)
        )
    return problems


#: ``root.field`` references to check; a dot or word character before the root means it is not
#: the context's root (``x.change.y``), and string literals are blanked out first.
_FIELD_REFERENCE = re.compile(r"(?<![\w.])(change|provenance|pr|windows|environment)\.(\w+)")
_STRING_LITERAL = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")


def unknown_fields(expression: str) -> list[str]:
    """``root.field`` references in ``expression`` that the context does not have (a typo such as
    ``change.reversibilty`` would otherwise only fail when the gate evaluates it)."""
    code = _STRING_LITERAL.sub("''", expression)
    known = {
        name: set(model.model_fields)
        for name, model in (
            ("change", Change),
            ("provenance", Provenance),
            ("pr", PullRequest),
            ("windows", Windows),
            ("environment", EnvironmentState),
        )
    }
    return sorted(
        {
            f"{root}.{field}"
            for root, field in _FIELD_REFERENCE.findall(code)
            if field not in known[root]
        }
    )
