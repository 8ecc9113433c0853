"""Second-order effects and ownership, from the workflows on disk to the gate's decision.

An inventory with one abandoned (owned) access key sits next to workflows in a real repository.
``mendbot analyze`` (a real process) flags the key's deactivation ``second_order`` exactly when
an agentic job holds static AWS credentials; the signed attestation carries the flag; the gate
reads it from the verified attestation only, so the shipped ``nhi-human-required`` policy asks
a person. The attacks: a PR author edits the bundle's ``plan.json``, or the committed
attestation, to claim no second-order effects; the gate still sees the attested value, or fails
closed (unknown owner, second-order).
"""

from __future__ import annotations

import base64
import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from gate_scenario import CODEOWNERS, NOW, SHIPPED_POLICIES, SIGNED, TEAMS

from bot.analyze.bundles import bundle_remediations
from bot.analyze.pipeline import analyze
from bot.config import ProposeSettings, load_config
from bot.detectors.rule_registry import rule_options
from bot.forge.local import LocalForge
from bot.gate.run import GateOptions, GateRun, evaluate
from bot.propose.job import propose
from bot.provenance.layout import committed_attestation_path
from bot.provenance.signing.signers import KeySigner
from bot.provenance.verification.trust import KeyTrust
from clirun import run_mendbot

ACCOUNT = "111122223333"
KEY = "AKIAABANDONED0000001"
RELATIVE = f".mendbot/desired/aws-iam-access-key/{ACCOUNT}.yml"
OBSERVED = SIGNED - timedelta(minutes=30)
INVENTORY = f"""\
kind: aws-iam-access-key
version: 1
account: "{ACCOUNT}"
keys:
  - id: {KEY}
    user: legacy-backup
    status: Active
    created: "2026-01-02T03:04:05Z"
    owner: platform-team
"""
MENDBOT_YML = """\
environments:
  staging: [".mendbot/desired/aws-iam-access-key/*"]
"""

#: An agent job that configures static AWS credentials from secrets.
AGENT_WITH_STATIC_AWS = """\
name: triage
on: issue_comment
permissions: {contents: read}
jobs:
  triage:
    runs-on: ubuntu-latest
    steps:
      - uses: aws-actions/configure-aws-credentials@v4
        with:
          aws-access-key-id: ${{ secrets.AWS_ACCESS_KEY_ID }}
          aws-secret-access-key: ${{ secrets.AWS_SECRET_ACCESS_KEY }}
          aws-region: us-east-1
      - uses: anthropics/claude-code-action@v1
        with:
          anthropic_api_key: ${{ secrets.ANTHROPIC_API_KEY }}
"""
#: A token-minting job whose environment holds a static AWS key.
MINTER_WITH_STATIC_AWS = """\
on: push
permissions: {contents: read}
jobs:
  release:
    runs-on: ubuntu-latest
    env:
      AWS_ACCESS_KEY_ID: ${{ secrets.RELEASE_KEY_ID }}
      AWS_SECRET_ACCESS_KEY: ${{ secrets.RELEASE_KEY }}
    steps:
      - uses: actions/create-github-app-token@v1
        with:
          app-id: ${{ vars.APP_ID }}
          private-key: ${{ secrets.APP_KEY }}
      - run: aws s3 ls
"""
#: Static AWS credentials, but no agent and no token minting.
PLAIN_STATIC_AWS = AGENT_WITH_STATIC_AWS.replace(
    "      - uses: anthropics/claude-code-action@v1\n"
    "        with:\n"
    "          anthropic_api_key: ${{ secrets.ANTHROPIC_API_KEY }}\n",
    "      - run: aws s3 ls\n",
)
#: An agent that reaches AWS through OIDC (a role), holding no access key.
AGENT_WITH_OIDC_ROLE = """\
on: issue_comment
permissions: {contents: read, id-token: write}
jobs:
  triage:
    runs-on: ubuntu-latest
    steps:
      - uses: aws-actions/configure-aws-credentials@v4
        with:
          role-to-assume: arn:aws:iam::111122223333:role/triage
          aws-region: us-east-1
      - uses: openai/codex-action@v1
"""


def _repository(make_repo: Any, workflows: dict[str, str]) -> Any:
    repo = make_repo("account")
    shutil.copytree(SHIPPED_POLICIES, repo.path / "policies")
    repo.write(".github/mendbot.yml", MENDBOT_YML)
    repo.write(".github/CODEOWNERS", CODEOWNERS)
    repo.write(RELATIVE, INVENTORY)
    for name, text in workflows.items():
        repo.write(f".github/workflows/{name}", text)
    repo.commit("inventory and workflows")
    return repo


def _deactivation(repo: Any) -> dict[str, Any]:
    done = run_mendbot(
        "analyze", str(repo.path / RELATIVE), "--format", "json", "--now", "2026-11-24T09:00:00Z"
    )
    assert "Traceback" not in done.stderr, done.stderr
    report = json.loads(done.stdout)
    [finding] = [f for f in report["findings"] if f["rule"] == "nhi-aws-unused-access-key"]
    fix: dict[str, Any] = finding["fix"]
    return fix


@pytest.mark.parametrize(
    ("workflows", "second_order"),
    [
        ({"triage.yml": AGENT_WITH_STATIC_AWS}, True),
        ({"release.yml": MINTER_WITH_STATIC_AWS}, True),
        ({"ops.yml": PLAIN_STATIC_AWS}, False),
        ({"triage.yml": AGENT_WITH_OIDC_ROLE}, False),
        ({}, False),
    ],
    ids=["agent-static-keys", "token-minter-static-keys", "no-agent", "agent-oidc-role", "none"],
)
def test_analyze_flags_a_key_deactivation_an_agentic_job_may_hold(
    make_repo: Any, workflows: dict[str, str], second_order: bool
) -> None:
    repo = _repository(make_repo, workflows)
    fix = _deactivation(repo)
    assert fix["ownership"] == "known"
    assert fix.get("second_order", False) is second_order


def _bundle(repo: Any, signing_key: Any, out: Path) -> Path:
    config = load_config(repo.path / ".github/mendbot.yml", rule_options())
    analysis = analyze([repo.path / RELATIVE], repo.path, config, now=OBSERVED)
    with KeySigner(signing_key) as signer:
        written = bundle_remediations(
            analysis, repo.path, config, out, signer, env={}, now=SIGNED, rules_now=OBSERVED
        )
    [bundle] = [w for w in written if "nhi-aws-unused-access-key" in str(getattr(w, "path", ""))]
    path: Path = bundle.path  # type: ignore[union-attr]
    return path


def _proposed(repo: Any, signing_key: Any, bundle: Path) -> tuple[LocalForge, KeyTrust, int]:
    forge = LocalForge(repo.path, base="main")
    forge.set_teams(TEAMS)
    repo.git("remote", "add", "origin", forge.repository_uri)
    trust = KeyTrust(signing_key.public_key())
    [outcome] = propose(
        [bundle], forge, trust, ProposeSettings(), now=SIGNED + timedelta(minutes=5)
    )
    assert outcome.number is not None, outcome.message
    return forge, trust, outcome.number


def _gate(forge: LocalForge, trust: KeyTrust, number: int) -> GateRun:
    return evaluate(forge, number, GateOptions(trust=trust, now=NOW))


def test_a_second_order_deactivation_is_attested_and_waits_for_a_person(
    make_repo: Any, signing_key: Any, tmp_path: Path
) -> None:
    repo = _repository(make_repo, {"triage.yml": AGENT_WITH_STATIC_AWS})
    bundle = _bundle(repo, signing_key, tmp_path / "bundles")
    plan = json.loads((bundle / "plan.json").read_text())
    assert plan["remediation"]["risk"]["secondOrder"] is True
    forge, trust, number = _proposed(repo, signing_key, bundle)
    body = forge.get(number).body
    assert "second-order" in body

    run = _gate(forge, trust, number)
    change = run.record["context"]["change"]
    assert (change["ownership"], change["second_order"]) == ("known", True)
    assert run.decision.outcome == "require_approval"
    assert [m.policy for m in run.decision.missing_approvals] == ["nhi-human-required"]
    assert (
        "an agentic workflow uses the identity this changes" in forge.get(number).comments["gate"]
    )
    forge.review(number, "bob", "APPROVED")
    after = _gate(forge, trust, number)
    assert (after.decision.outcome, after.decision.auto_merge) == ("allow", True)


def test_without_an_agent_the_deactivation_auto_merges(
    make_repo: Any, signing_key: Any, tmp_path: Path
) -> None:
    repo = _repository(make_repo, {"ops.yml": PLAIN_STATIC_AWS})
    forge, trust, number = _proposed(repo, signing_key, _bundle(repo, signing_key, tmp_path))
    run = _gate(forge, trust, number)
    change = run.record["context"]["change"]
    assert (change["ownership"], change["second_order"]) == ("known", False)
    assert (run.decision.outcome, run.decision.auto_merge) == ("allow", True)
    matched = {p.name for p in run.decision.policies if p.matched}
    assert "nhi-unused-key-auto-merge" in matched


def test_a_plan_edited_to_deny_second_order_changes_nothing_the_gate_sees(
    make_repo: Any, signing_key: Any, tmp_path: Path
) -> None:
    repo = _repository(make_repo, {"triage.yml": AGENT_WITH_STATIC_AWS})
    bundle = _bundle(repo, signing_key, tmp_path / "bundles")
    plan_path = bundle / "plan.json"
    plan = json.loads(plan_path.read_text())
    del plan["remediation"]["risk"]["secondOrder"]
    plan["remediation"]["risk"]["ownership"] = "known"
    plan_path.write_text(json.dumps(plan))
    forge, trust, number = _proposed(repo, signing_key, bundle)
    run = _gate(forge, trust, number)
    assert run.record["context"]["provenance"]["verified"] is True
    assert run.record["context"]["change"]["second_order"] is True
    assert run.decision.outcome == "require_approval"


def test_an_attestation_edited_to_deny_second_order_fails_closed(
    make_repo: Any, signing_key: Any, tmp_path: Path
) -> None:
    repo = _repository(make_repo, {"triage.yml": AGENT_WITH_STATIC_AWS})
    bundle = _bundle(repo, signing_key, tmp_path / "bundles")
    forge, trust, number = _proposed(repo, signing_key, bundle)
    pull = forge.pull_info(number)
    attestation = committed_attestation_path(
        json.loads((bundle / "plan.json").read_text())["remediation"]["id"]
    )
    repo.git("checkout", "-q", pull.head_ref)
    document = json.loads((repo.path / attestation).read_text())
    envelope = document["dsseEnvelope"]
    statement = json.loads(base64.b64decode(envelope["payload"]))
    risk = statement["predicate"]["remediation"]["risk"]
    assert risk["secondOrder"] is True
    del risk["secondOrder"]
    envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    repo.write(attestation, json.dumps(document))
    repo.commit("claim no second-order effects")
    repo.git("checkout", "-q", "main")

    run = _gate(forge, trust, number)
    context = run.record["context"]
    assert context["provenance"]["verified"] is False
    assert (context["change"]["ownership"], context["change"]["second_order"]) == (
        "unknown",
        True,
    )
    assert run.decision.outcome == "require_approval"
    assert run.decision.auto_merge is False


def test_context_fields_are_known_to_policy_lint_and_check(tmp_path: Path) -> None:
    policy = (SHIPPED_POLICIES / "nhi-human-required.yaml").read_text()
    (tmp_path / "ok.yaml").write_text(policy)
    assert run_mendbot("policy", "lint", str(tmp_path)).returncode == 0
    (tmp_path / "ok.yaml").write_text(policy.replace("change.second_order", "change.second_ordr"))
    for command in ("lint", "check"):
        target = tmp_path if command == "lint" else tmp_path / "ok.yaml"
        done = run_mendbot("policy", command, str(target))
        assert done.returncode == 1, command
        assert "unknown context field 'change.second_ordr'" in done.stdout + done.stderr
