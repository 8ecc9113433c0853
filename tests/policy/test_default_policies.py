"""The shipped policies: every inline test on both engines, engine agreement, and scenarios."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from policy_engines import ENGINES

from bot.cli.app import cli
from bot.policy.decide import decide
from bot.policy.engine import PolicyEngine
from bot.policy.schema import load_directory
from bot.policy.testing import BASE_CONTEXT, check, merged, run_tests
from testpaths import REPO

POLICIES = load_directory(REPO / "policies")
CASES = [(p.name, c.name) for p in POLICIES.policies for c in p.spec.tests]
EXPECTED = {
    "untrusted-provenance",
    "staging-auto-merge",
    "production-approval",
    "irreversible-security-approval",
    "freeze",
    "protected-paths",
    "nhi-unused-key-auto-merge",
    "nhi-irreversible-security-approval",
    "nhi-human-required",
}


def test_every_default_policy_is_shipped_documented_and_tested() -> None:
    assert {p.name for p in POLICIES.policies} == EXPECTED
    docs = (REPO / "docs" / "policies.md").read_text()
    for item in POLICIES.policies:
        assert item.metadata.description
        assert len(item.spec.tests) >= 4, item.name
        assert f"`{item.name}`" in docs
    assert check(POLICIES) == []


@pytest.mark.parametrize("engine_name", sorted(ENGINES))
def test_inline_tests_pass(engine_name: str) -> None:
    results = run_tests(POLICIES.policies, engine=ENGINES[engine_name])
    assert [(r.policy, r.case) for r in results] == CASES
    failed = [f"{r.policy}/{r.case}: {r.detail}" for r in results if not r.passed]
    assert failed == []


def test_engines_agree_on_every_case() -> None:
    rust, celpy = (run_tests(POLICIES.policies, engine=ENGINES[n]) for n in ("rust", "celpy"))
    for a, b in zip(rust, celpy, strict=True):
        assert (a.actual, a.detail) == (b.actual, b.detail), a.case
        assert "messageExpression" not in a.detail, a.case


HEAD = BASE_CONTEXT["pr"]["head_sha"]


def _ctx(**patch: Any) -> dict[str, Any]:
    return merged(BASE_CONTEXT, patch)


def test_staging_is_allowed_and_auto_merge_eligible(engine: PolicyEngine) -> None:
    decision = decide(POLICIES, BASE_CONTEXT, engine=engine)
    assert (decision.outcome, decision.auto_merge) == ("allow", True)


def test_production_waits_then_approval_allows(engine: PolicyEngine) -> None:
    prod = {"environment": "production", "environments": ["production"]}
    before = decide(POLICIES, _ctx(change=prod), engine=engine)
    assert before.outcome == "require_approval"
    assert [m.policy for m in before.missing_approvals] == ["production-approval"]
    review = {"user": "bob", "teams": [], "at_sha": HEAD, "state": "APPROVED"}
    after = decide(POLICIES, _ctx(change=prod, approvals=[review]), engine=engine)
    assert (after.outcome, after.auto_merge) == ("allow", False)
    assert after.context_digest != before.context_digest
    stale = decide(
        POLICIES, _ctx(change=prod, approvals=[review | {"at_sha": "b" * 40}]), engine=engine
    )
    assert stale.outcome == "require_approval"


def test_freeze_beats_approvals(engine: PolicyEngine) -> None:
    context = _ctx(
        windows={"active": ["weekend"], "deny_active": True},
        approvals=[{"user": "bob", "teams": [], "at_sha": HEAD, "state": "APPROVED"}],
    )
    decision = decide(POLICIES, context, engine=engine)
    assert decision.outcome == "deny"
    assert decision.results[0].policy == "freeze"


def test_unmapped_paths_need_a_human(engine: PolicyEngine) -> None:
    context = _ctx(change={"environment": "unmapped", "environments": ["unmapped"]})
    assert decide(POLICIES, context, engine=engine).outcome == "require_approval"


def test_cli_policy_test_passes_on_defaults() -> None:
    result = CliRunner().invoke(cli, ["policy", "test", "--policies", str(REPO / "policies")])
    assert result.exit_code == 0, result.output
    assert f"{len(CASES)} cases, {len(CASES)} passed, 0 failed" in result.output


def test_cli_policy_test_reports_a_failing_case(tmp_path: Path) -> None:
    text = (REPO / "policies" / "freeze.yaml").read_text()
    (tmp_path / "freeze.yaml").write_text(
        text.replace("      expect: deny\n", "      expect: allow\n", 1)
    )
    result = CliRunner().invoke(cli, ["policy", "test", "--policies", str(tmp_path)])
    assert result.exit_code == 1
    assert "FAIL  freeze / deny-window-denies: deny" in result.output
    assert "expected allow, got deny" in result.output


def test_cli_policy_test_invalid_policy_is_exit_2(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("apiVersion: mendbot/v1\nkind: GatePolicy\nspec: {}\n")
    result = CliRunner().invoke(cli, ["policy", "test", "--policies", str(tmp_path)])
    assert result.exit_code == 2
    assert "bad.yaml:" in result.output


def test_cli_policy_eval_json(tmp_path: Path) -> None:
    import json

    path = tmp_path / "context.json"
    path.write_text(json.dumps(_ctx(change={"reversibility": "irreversible"})))
    args = ["policy", "eval", "--context", str(path), "--policies", str(REPO / "policies")]
    result = CliRunner().invoke(cli, [*args, "--format", "json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["decision"] == "require_approval"
    assert data["missing_approvals"][0]["needed"] == 2
    assert data["policy_digest"] == POLICIES.digest
    text = CliRunner().invoke(cli, args)
    assert "missing: irreversible-security-approval: 2 more approvals (have 0)" in text.output


_KEY_FILE = ".mendbot/desired/aws-iam-access-key/111122223333.yml"
_DEACTIVATION = {
    "paths": [_KEY_FILE],
    "rules": ["nhi-aws-unused-access-key"],
    "blast_radius": "service",
}


def test_an_owned_first_order_key_deactivation_in_staging_auto_merges(
    engine: PolicyEngine,
) -> None:
    decision = decide(POLICIES, _ctx(change=_DEACTIVATION), engine=engine)
    assert (decision.outcome, decision.auto_merge) == ("allow", True)
    matched = {p.name for p in decision.policies if p.matched}
    assert "nhi-unused-key-auto-merge" in matched


@pytest.mark.parametrize(
    "risk", [{"ownership": "unknown"}, {"second_order": True}], ids=["unknown-owner", "agentic"]
)
def test_unknown_owner_or_second_order_waits_for_a_person_then_merges(
    engine: PolicyEngine, risk: dict[str, Any]
) -> None:
    change = {**_DEACTIVATION, **risk}
    before = decide(POLICIES, _ctx(change=change), engine=engine)
    assert before.outcome == "require_approval"
    assert [m.policy for m in before.missing_approvals] == ["nhi-human-required"]
    review = {"user": "bob", "teams": [], "at_sha": HEAD, "state": "APPROVED"}
    after = decide(POLICIES, _ctx(change=change, approvals=[review]), engine=engine)
    assert (after.outcome, after.auto_merge) == ("allow", True)


def test_a_key_deletion_needs_two_security_approvals(engine: PolicyEngine) -> None:
    deletion = {
        "paths": [_KEY_FILE],
        "rules": ["nhi-aws-inactive-access-key"],
        "disposition": "unsafe",
        "reversibility": "irreversible",
    }
    before = decide(POLICIES, _ctx(change=deletion), engine=engine)
    assert {(m.policy, m.needed) for m in before.missing_approvals} == {
        ("irreversible-security-approval", 2),
        ("nhi-irreversible-security-approval", 2),
    }
    reviews = [
        {"user": name, "teams": ["security"], "at_sha": HEAD, "state": "APPROVED"}
        for name in ("sam", "sue")
    ]
    after = decide(POLICIES, _ctx(change=deletion, approvals=reviews), engine=engine)
    assert (after.outcome, after.auto_merge) == ("allow", False)


@pytest.mark.parametrize(
    ("rule", "path"),
    [
        ("nhi-aws-inactive-access-key", ".mendbot/desired/aws-iam-access-key/123456789012.yml"),
        ("nhi-github-unused-secret", ".mendbot/desired/github-nhi/acme--app.yml"),
    ],
)
def test_an_approved_irreversible_deletion_in_staging_is_never_auto_merged(
    tmp_path: Path, rule: str, path: str
) -> None:
    import json

    security = [
        {"user": user, "teams": ["security"], "at_sha": HEAD, "state": "APPROVED"}
        for user in ("sam", "sue")
    ]
    deletion = {
        "rules": [rule],
        "paths": [path],
        "disposition": "unsafe",
        "reversibility": "irreversible",
        "blast_radius": "service",
    }
    context = tmp_path / "context.json"
    context.write_text(json.dumps(_ctx(change=deletion, approvals=security)))
    args = ["policy", "eval", "--context", str(context), "--policies", str(REPO / "policies")]

    result = CliRunner().invoke(cli, [*args, "--format", "json"])

    data = json.loads(result.output)
    assert (result.exit_code, data["decision"]) == (0, "allow"), result.output
    assert data["auto_merge"] is False


def test_no_policy_can_make_an_irreversible_change_auto_merge(
    tmp_path: Path, engine: PolicyEngine
) -> None:
    # A user's own policy that marks every approved change eligible for auto-merge.
    (tmp_path / "lax.yaml").write_text(
        "apiVersion: mendbot/v1\nkind: GatePolicy\nmetadata:\n  name: lax\n"
        "  description: Anything approved merges itself.\n  owners: {teams: [platform]}\n"
        "spec:\n  autoMerge: true\n  matchConditions:\n    - name: any\n"
        "      expression: 'true'\n  validations:\n    - name: approved\n"
        "      expression: 'false'\n      message: one approval\n"
        "      action: require_approval\n      approvals: {count: 1}\n"
    )
    change = {"reversibility": "irreversible", "disposition": "unsafe"}
    review = {"user": "bob", "teams": [], "at_sha": HEAD, "state": "APPROVED"}

    decision = decide(
        load_directory(tmp_path), _ctx(change=change, approvals=[review]), engine=engine
    )

    assert (decision.outcome, decision.auto_merge) == ("allow", False)
    assert "not eligible for auto-merge: the change is irreversible" in decision.notes
