"""The pure decision: fail-closed cases, precedence, exceptions and determinism, on both engines."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from typing import Any

import pytest
import rfc8785

from bot.policy.decide import CONTEXT, MissingApproval, decide
from bot.policy.engine import DEFAULT_ENGINE, CelError, PolicyEngine
from bot.policy.schema import Action, GatePolicy, PolicySet, parse_documents
from bot.policy.testing import BASE_CONTEXT, merged


def policy(name: str, body: str) -> GatePolicy:
    """A policy from its ``spec`` block (indented two spaces)."""
    text = f"apiVersion: mendbot/v1\nkind: GatePolicy\nmetadata: {{name: {name}}}\nspec:\n{body}"
    [doc] = parse_documents(text, f"{name}.yaml")
    assert isinstance(doc, GatePolicy)
    return doc


def one(expression: str, *, action: str = "deny", extra: str = "") -> GatePolicy:
    return policy(
        "p",
        f"  validations:\n    - expression: {json.dumps(expression)}\n"
        f"      message: failed\n      action: {action}\n{extra}",
    )


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("change.environment ==", "compile error"),
        ("change.nope == 'x'", "evaluation error"),
        ("change.environment", "result is str 'staging', not a bool"),
        ("size(change.paths)", "result is int 1, not a bool"),
        ("true || chnage.environment", "unknown identifier 'chnage'"),
        ("sizee(change.paths) > 0", "unknown identifier 'sizee'"),
        ("1 / (size(approvals)) == 0", "evaluation error"),
        ("now.getHours() > 1", "unknown identifier 'getHours'"),
        ("[1].join(',') == '1'", "unknown identifier 'join'"),
    ],
)
def test_fail_closed(engine: PolicyEngine, expression: str, problem: str) -> None:
    decision = decide([one(expression, action="audit")], BASE_CONTEXT, engine=engine)
    assert decision.outcome == "deny"
    [result] = decision.results
    assert result.error and result.action is Action.DENY
    assert result.policy == "p"
    assert problem in result.message
    assert "policy 'p' (p.yaml:" in result.message


@pytest.mark.parametrize("field", ["approvals", "now", "windows"])
def test_missing_context_field_denies(engine: PolicyEngine, field: str) -> None:
    context = merged(BASE_CONTEXT, {field: None})
    decision = decide([one("true")], context, engine=engine)
    assert decision.outcome == "deny"
    assert decision.results[0].policy == CONTEXT
    assert f"invalid context: {field}: Field required" in decision.results[0].message


def test_missing_nested_field_and_unknown_field_deny(engine: PolicyEngine) -> None:
    for patch in ({"environment": {"frozen": None}}, {"pr": {"draft": True}}):
        decision = decide([one("true")], merged(BASE_CONTEXT, patch), engine=engine)
        assert decision.outcome == "deny", patch


def test_match_condition_and_variable_errors_deny(engine: PolicyEngine) -> None:
    bad_match = policy(
        "m",
        '  matchConditions:\n    - {name: x, expression: "change.environment"}\n'
        "  validations:\n    - {expression: 'true', message: ok}\n",
    )
    bad_var = policy(
        "v",
        '  variables:\n    - {name: x, expression: "pr.missing"}\n'
        "  validations:\n    - {expression: 'true', message: ok}\n",
    )
    for item in (bad_match, bad_var):
        decision = decide([item], BASE_CONTEXT, engine=engine)
        assert decision.outcome == "deny"
        assert decision.results[0].error


def test_variables_and_message_expression(engine: PolicyEngine) -> None:
    item = policy(
        "vars",
        "  variables:\n"
        "    - {name: prod, expression: \"'production' in change.environments\"}\n"
        "    - {name: label, expression: \"variables.prod ? 'prod' : 'non-prod'\"}\n"
        "  validations:\n"
        "    - expression: '!variables.prod'\n"
        "      messageExpression: \"'blocked: ' + variables.label\"\n"
        "      action: warn\n",
    )
    context = merged(BASE_CONTEXT, {"change": {"environments": ["production"]}})
    decision = decide([item], context, engine=engine)
    assert decision.outcome == "allow"
    assert [(r.action, r.message) for r in decision.results] == [(Action.WARN, "blocked: prod")]


def test_message_expression_error_keeps_action(engine: PolicyEngine) -> None:
    item = policy(
        "msg",
        "  validations:\n    - expression: 'false'\n"
        "      messageExpression: 'pr.nope'\n      action: require_approval\n",
    )
    decision = decide([item], BASE_CONTEXT, engine=engine)
    assert decision.outcome == "require_approval"
    assert "messageExpression" in decision.results[0].message


def test_precedence(engine: PolicyEngine) -> None:
    policies = [
        policy(f"p-{action.replace('_', '-')}", _fails(action))
        for action in ("audit", "warn", "require_approval", "deny")
    ]
    for count, expected in ((1, "allow"), (2, "allow"), (3, "require_approval"), (4, "deny")):
        decision = decide(policies[:count], BASE_CONTEXT, engine=engine)
        assert decision.outcome == expected
    decision = decide(policies, BASE_CONTEXT, engine=engine)
    assert [r.action for r in decision.results] == [
        Action.DENY,
        Action.REQUIRE_APPROVAL,
        Action.WARN,
        Action.AUDIT,
    ]


def _fails(action: str) -> str:
    return f"  validations:\n    - {{expression: 'false', message: {action}, action: {action}}}\n"


def test_no_policy_matched_needs_a_human(engine: PolicyEngine) -> None:
    item = policy(
        "never",
        "  matchConditions:\n    - {name: never, expression: 'false'}\n" + _fails("deny"),
    )
    decision = decide([item], BASE_CONTEXT, engine=engine)
    assert decision.outcome == "require_approval"
    assert decision.results[0].validation == "no-policy-matched"
    assert decision.policies[0].outcome == "not-matched"


def test_approvals_and_missing(engine: PolicyEngine) -> None:
    item = policy(
        "two",
        "  validations:\n    - message: needs two\n      action: require_approval\n"
        "      approvals: {count: 2, from: {users: [ann], teams: [security]}}\n",
    )
    head = BASE_CONTEXT["pr"]["head_sha"]
    approvals: list[dict[str, Any]] = [
        {"user": "ann", "teams": [], "at_sha": head, "state": "APPROVED"},
        {"user": "bob", "teams": [], "at_sha": head, "state": "APPROVED"},
    ]
    decision = decide([item], merged(BASE_CONTEXT, {"approvals": approvals}), engine=engine)
    assert decision.outcome == "require_approval"
    [missing] = decision.missing_approvals
    assert (missing.needed, missing.have) == (1, 1)
    assert missing.describe() == (
        "1 more approval (have 1) on aaaaaaaaaaaa from user ann or team security, not mendbot[bot]"
    )
    approvals.append({"user": "sam", "teams": ["security"], "at_sha": head, "state": "APPROVED"})
    decision = decide([item], merged(BASE_CONTEXT, {"approvals": approvals}), engine=engine)
    assert decision.outcome == "allow"
    assert decision.missing_approvals == ()


EXCEPTION = """\
apiVersion: mendbot/v1
kind: GateException
metadata: {{name: {name}}}
spec:
  owner: alice
  reason: vendor outage
  expires: "{expires}"
  policies: [p-deny]
  matchConditions:
    - {{name: this-pr, expression: "{condition}"}}
"""


def _with_exception(expires: str, condition: str = "pr.number == 7") -> PolicySet:
    items = PolicySet()
    items.add(policy("p-deny", _fails("deny")))
    for doc in parse_documents(
        EXCEPTION.format(name="hotfix", expires=expires, condition=condition), "x.yaml"
    ):
        items.add(doc)
    return items


def test_live_exception_turns_failures_into_audits(engine: PolicyEngine) -> None:
    decision = decide(_with_exception("2026-03-05T00:00:00Z"), BASE_CONTEXT, engine=engine)
    assert decision.outcome == "allow"
    assert decision.exceptions_applied == ("hotfix",)
    assert decision.results[0].action is Action.AUDIT
    assert decision.results[0].excepted_by == "hotfix"


def test_expired_or_unmatched_or_broken_exception_is_ignored(engine: PolicyEngine) -> None:
    expired = decide(_with_exception("2026-03-04T09:59:59Z"), BASE_CONTEXT, engine=engine)
    assert expired.outcome == "deny"
    assert expired.exceptions_expired == ("hotfix",)
    other = decide(_with_exception("2027-01-01T00:00:00Z", "pr.number == 8"), BASE_CONTEXT)
    assert other.outcome == "deny"
    broken = decide(_with_exception("2027-01-01T00:00:00Z", "pr.nope"), BASE_CONTEXT)
    assert broken.outcome == "deny"
    assert "exception 'hotfix' not applied" in broken.notes[0]


def test_errors_are_never_waived(engine: PolicyEngine) -> None:
    items = _with_exception("2027-01-01T00:00:00Z")
    items.policies = [policy("p-deny", "  validations:\n    - {expression: 'pr', message: x}\n")]
    assert decide(items, BASE_CONTEXT, engine=engine).outcome == "deny"


def test_auto_merge_only_when_allowed(engine: PolicyEngine) -> None:
    auto = policy(
        "auto", "  autoMerge: true\n  validations:\n    - {expression: 'true', message: x}\n"
    )
    assert decide([auto], BASE_CONTEXT, engine=engine).auto_merge
    assert not decide([auto, policy("d", _fails("deny"))], BASE_CONTEXT, engine=engine).auto_merge


def test_digest_is_deterministic_and_canonical(engine: PolicyEngine) -> None:
    shuffled = json.loads(json.dumps(BASE_CONTEXT, sort_keys=True))
    shuffled = dict(reversed(list(shuffled.items())))
    first = decide([one("true")], BASE_CONTEXT, engine=engine)
    second = decide([one("true")], shuffled, engine=engine)
    assert first.context_digest == second.context_digest
    expected = "sha256:" + hashlib.sha256(rfc8785.dumps(BASE_CONTEXT)).hexdigest()
    assert first.context_digest == expected
    later = decide([one("true")], merged(BASE_CONTEXT, {"now": "2026-03-04T10:00:01Z"}))
    assert later.context_digest != first.context_digest
    assert first == second


def test_now_is_a_timestamp(engine: PolicyEngine) -> None:
    item = one("now > timestamp('2026-03-04T09:00:00Z') && now < timestamp('2026-03-05T00:00:00Z')")
    assert decide([item], BASE_CONTEXT, engine=engine).outcome == "allow"


def test_decision_json_shape() -> None:
    data = decide([one("false")], BASE_CONTEXT).to_json()
    assert data["decision"] == "deny"
    assert data["results"][0]["action"] == "deny"
    assert data["context_digest"].startswith("sha256:")
    json.dumps(data)


class _Panic(BaseException):
    """Stands in for PyO3's PanicException (a BaseException)."""


def test_engine_crash_is_a_deny(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.policy import engine as engine_module

    class Boom:
        def execute(self, activation: dict[str, Any]) -> Any:
            raise _Panic("rust panicked")

    rust = engine_module.RustCel()
    monkeypatch.setattr(rust, "compile", lambda e: engine_module._RustProgram(e, Boom()))
    decision = decide([one("true")], BASE_CONTEXT, engine=rust)
    assert decision.outcome == "deny"
    assert "evaluation error: rust panicked" in decision.results[0].message


def test_code_owners_must_cover_every_owned_path(engine: PolicyEngine) -> None:
    owners = policy(
        "owners",
        "  validations:\n    - message: owners\n      action: require_approval\n"
        "      approvals: {count: 1, from: {codeOwners: true}}\n",
    )
    head = BASE_CONTEXT["pr"]["head_sha"]

    def approve(*users: str) -> list[dict[str, Any]]:
        teams = {"paula": ["platform"]}
        return [
            {"user": u, "teams": teams.get(u, []), "at_sha": head, "state": "APPROVED"}
            for u in users
        ]

    code_owners = {
        "users": ["olivia"],
        "teams": ["platform"],
        "by_path": [
            {"path": "deploy.yml", "users": ["olivia"], "teams": []},
            {"path": "notes.txt", "users": [], "teams": ["platform"]},
        ],
    }
    base = merged(
        BASE_CONTEXT, {"change": {"paths": ["deploy.yml", "notes.txt"], "code_owners": code_owners}}
    )
    decision = decide([owners], merged(base, {"approvals": approve("olivia")}), engine=engine)
    assert decision.outcome == "require_approval"
    [missing] = decision.missing_approvals
    assert missing.uncovered == ("notes.txt",)
    assert missing.needed == 1 and missing.have == 0
    assert "a code owner of each of notes.txt" in missing.describe()
    both = merged(base, {"approvals": approve("olivia", "paula")})
    assert decide([owners], both, engine=engine).outcome == "allow"
    # No CODEOWNERS line at all: nobody qualifies (fail closed), whoever approves.
    none = merged(base, {"change": {"code_owners": {"users": [], "teams": [], "by_path": []}}})
    decision = decide(
        [owners], merged(none, {"approvals": approve("olivia", "bob")}), engine=engine
    )
    assert decision.outcome == "require_approval"
    assert "no CODEOWNERS line covers these paths" in decision.missing_approvals[0].describe()
    # Owners that are users only (no team) are owners all the same.
    users_only = {"users": ["olivia"], "teams": [], "by_path": code_owners["by_path"][:1]}
    decision = decide(
        [owners], merged(base, {"change": {"code_owners": users_only}}), engine=engine
    )
    [missing] = decision.missing_approvals
    assert (missing.no_code_owners, missing.uncovered) == (False, ("deploy.yml",))


def test_who_may_approve_follows_prevent_self_approval(engine: PolicyEngine) -> None:
    def requiring(name: str, prevent: str) -> GatePolicy:
        return policy(
            name,
            "  validations:\n    - message: one approval\n      action: require_approval\n"
            f"      approvals: {{count: 1, preventSelfApproval: {prevent}}}\n",
        )

    guarded, unguarded = requiring("guarded", "true"), requiring("unguarded", "false")
    head = BASE_CONTEXT["pr"]["head_sha"]

    def outcome(item: GatePolicy, user: str, **pr: Any) -> str:
        context = merged(
            BASE_CONTEXT,
            {
                "pr": {"author": "alice", "contributors": ["bob"], **pr},
                "approvals": [{"user": user, "teams": [], "at_sha": head, "state": "APPROVED"}],
            },
        )
        return decide([item], context, engine=engine).outcome

    assert [outcome(guarded, user) for user in ("alice", "bob", "carol")] == [
        "require_approval",
        "require_approval",
        "allow",
    ]
    assert outcome(unguarded, "alice") == "allow"
    # A commit tied to no account: any approver may have pushed it, so a requirement that
    # excludes contributors counts nobody, unless the forge guards the last push; one that
    # does not exclude them is not affected.
    assert outcome(guarded, "carol", contributors_known=False) == "require_approval"
    assert outcome(unguarded, "carol", contributors_known=False) == "allow"
    guarded_push = {"contributors_known": False, "last_push_approval_required": True}
    assert outcome(guarded, "carol", **guarded_push) == "allow"
    assert outcome(guarded, "bob", **guarded_push) == "require_approval"


_NOBODY = MissingApproval(
    policy="p",
    validation="v",
    needed=1,
    have=0,
    users=(),
    teams=(),
    code_owners=False,
    no_code_owners=False,
    uncovered=(),
    not_user=None,
    sha="a" * 40,
)


@pytest.mark.parametrize(
    ("fields", "line"),
    [
        ({}, "1 more approval (have 0) on aaaaaaaaaaaa from any reviewer"),
        ({"code_owners": True}, "1 more approval (have 0) on aaaaaaaaaaaa from a code owner"),
        (
            {"code_owners": True, "no_code_owners": True, "uncovered": ("a",)},
            "1 more approval (have 0) on aaaaaaaaaaaa from a code owner (no CODEOWNERS line "
            "covers these paths yet: add one)",
        ),
        (
            {"code_owners": True, "uncovered": ("a", "b", "c", "d", "e")},
            "1 more approval (have 0) on aaaaaaaaaaaa from a code owner of each of a, b, c, d, e",
        ),
        (
            {
                "needed": 2,
                "have": 1,
                "users": ("ann",),
                "teams": ("security",),
                "code_owners": True,
                "uncovered": ("a", "b", "c", "d", "e", "f"),
                "not_user": "bob",
                "contributors_unknown": True,
            },
            "2 more approvals (have 1) on aaaaaaaaaaaa from user ann or team security or a code "
            "owner of each of a, b, c, d, e, ..., not bob; none counts while the pull request "
            "has commits tied to no account (any reviewer may have pushed them)",
        ),
    ],
    ids=["anyone", "code owners", "no owners line", "five owned paths", "everything"],
)
def test_a_missing_approval_says_who_may_give_it_in_one_line(
    fields: dict[str, Any], line: str
) -> None:
    """The line the gate posts on the pull request (status, comment, text report)."""
    assert replace(_NOBODY, **fields).describe() == line


def test_an_invalid_context_is_denied_under_the_documented_policy_name(
    engine: PolicyEngine,
) -> None:
    """docs/policies.md: an invalid context is a ``deny`` from policy ``<context>``."""
    decision = decide([one("true")], merged(BASE_CONTEXT, {"approvals": 3}), engine=engine)
    assert (decision.outcome, decision.auto_merge) == ("deny", False)
    assert [(r.policy, r.validation, r.error) for r in decision.results] == [
        ("<context>", "approvals", True)
    ]
    assert decision.to_json()["decision"] == "deny"


class _UnbindableEngine:
    """The default engine, except that it cannot hold the context (as when a value has no CEL
    representation): a protocol fake at the edge, the engine being a third-party library."""

    name = "unbindable"

    def compile(self, expression: str) -> Any:
        return DEFAULT_ENGINE.compile(expression)

    def bind(self, activation: Any) -> Any:
        raise CelError("cannot bind the context: value out of range")

    def evaluate(self, program: Any, bound: Any, variables: Any) -> Any:
        return DEFAULT_ENGINE.evaluate(program, bound, variables)


def test_a_context_the_engine_cannot_hold_is_denied() -> None:
    decision = decide([one("true", action="audit")], BASE_CONTEXT, engine=_UnbindableEngine())
    assert (decision.outcome, decision.auto_merge) == ("deny", False)
    assert [(r.policy, r.validation, r.error, r.message) for r in decision.results] == [
        ("<context>", "engine", True, "cannot bind the context: value out of range")
    ]


def test_a_nested_invalid_field_is_named_by_its_path_in_the_json_record(
    engine: PolicyEngine,
) -> None:
    decision = decide([one("true")], merged(BASE_CONTEXT, {"pr": {"author": 3}}), engine=engine)
    [result] = decision.to_json()["results"]
    assert (result["policy"], result["validation"]) == ("<context>", "pr.author")
    assert result["action"] == "deny" and type(result["action"]) is str


def test_an_invalid_context_that_is_not_even_json_gets_a_decision(engine: PolicyEngine) -> None:
    context = merged(BASE_CONTEXT, {"pr": {"author": {1, 2}}})
    decision = decide([one("true")], context, engine=engine)
    assert (decision.outcome, decision.auto_merge) == ("deny", False)
    assert decision.context_digest == "sha256:" + "0" * 64


@pytest.mark.parametrize("action", ["warn", "audit"])
def test_each_policy_reports_its_own_outcome(engine: PolicyEngine, action: str) -> None:
    """A failed ``warn`` or ``audit`` validation lets the change through; the record still
    says which policy warned or audited."""
    decision = decide([one("false", action=action)], BASE_CONTEXT, engine=engine)
    assert decision.outcome == "allow"
    assert [(p.name, p.outcome) for p in decision.policies] == [("p", action)]


_VALID = '  validations:\n    - expression: "true"\n      message: m\n'
_BROKEN = '    - name: broken\n      expression: "change.environment =="\n'


@pytest.mark.parametrize(
    ("body", "label"),
    [
        (
            '  matchConditions:\n    - name: first\n      expression: "true"\n' + _BROKEN + _VALID,
            "matchConditions[broken]",
        ),
        (
            '  variables:\n    - name: ok\n      expression: "1"\n' + _BROKEN + _VALID,
            "variables[broken]",
        ),
        (_VALID + _BROKEN + "      message: m\n", "broken"),
    ],
    ids=["match condition", "variable", "validation"],
)
def test_a_broken_expression_is_denied_pointing_at_its_line(
    engine: PolicyEngine, body: str, label: str
) -> None:
    """The second entry's expression (line 9 of the file) is the broken one: the deny names
    that line, not the policy's first line."""
    decision = decide([policy("p", body)], BASE_CONTEXT, engine=engine)
    assert decision.outcome == "deny"
    [result] = decision.results
    assert result.validation == label
    assert result.message.startswith(f"policy 'p' (p.yaml:9:7) {label}: compile error")


def test_nobody_who_pushed_to_the_pull_request_may_approve_it(engine: PolicyEngine) -> None:
    item = policy(
        "one",
        "  validations:\n    - message: needs one\n      action: require_approval\n"
        "      approvals: {count: 1, from: {teams: [security]}}\n",
    )
    context = merged(BASE_CONTEXT, {"pr": {"contributors": ["carol", "mendbot[bot]", "dave"]}})
    decision = decide([item], context, engine=engine)
    [missing] = decision.missing_approvals
    assert missing.not_user == "mendbot[bot] or carol or dave"
    assert missing.uncovered == ()  # no code owners asked for: an empty list in the record


def test_an_exception_waives_only_the_policies_it_names(engine: PolicyEngine) -> None:
    """The attack: a live, matching exception for ``p-deny`` must not also waive another
    policy that denies the same change."""
    items = _with_exception("2026-03-05T00:00:00Z")
    items.add(policy("other-deny", _fails("deny")))
    decision = decide(items, BASE_CONTEXT, engine=engine)
    assert decision.outcome == "deny"
    assert decision.exceptions_applied == ("hotfix",)
    assert {(r.policy, r.action, r.excepted_by) for r in decision.results} == {
        ("p-deny", Action.AUDIT, "hotfix"),
        ("other-deny", Action.DENY, None),
    }


def test_an_exception_whose_condition_is_not_a_bool_is_not_applied(engine: PolicyEngine) -> None:
    """``pr.author`` is a non-empty string: truthy in Python, yet not a condition that holds."""
    items = _with_exception("2027-01-01T00:00:00Z", "pr.author")
    decision = decide(items, BASE_CONTEXT, engine=engine)
    assert decision.outcome == "deny"
    assert decision.exceptions_applied == ()
    assert decision.notes == (
        "exception 'hotfix' not applied: matchConditions[this-pr] is not a bool",
    )


def test_a_number_past_canonical_json_is_denied_not_raised(engine: PolicyEngine) -> None:
    context = merged(BASE_CONTEXT, {"pr": {"number": 2**60}})
    decision = decide([one("true")], context, engine=engine)
    assert (decision.outcome, decision.auto_merge) == ("deny", False)
    assert [(r.policy, r.validation, r.error) for r in decision.results] == [
        ("<context>", "canonical-json", True)
    ]


def test_an_exception_with_a_misspelt_name_is_not_applied(engine: PolicyEngine) -> None:
    """``prr`` is never evaluated (``||`` stops at the first true operand), so only the
    identifier check can refuse it: a typo must not leave a waiver that always applies."""
    items = _with_exception("2027-01-01T00:00:00Z", "pr.number == 7 || prr.number == 8")
    decision = decide(items, BASE_CONTEXT, engine=engine)
    assert decision.outcome == "deny"
    assert decision.exceptions_applied == ()
    assert decision.notes == ("exception 'hotfix' not applied: unknown identifier 'prr'",)
