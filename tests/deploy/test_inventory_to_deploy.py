"""From telemetry to a deploy target: ``mendbot inventory aws`` (moto, enforcement on) writes
the inventory into a repository, the analysis finds the abandoned key and signs a remediation
(its attestation records the inventory's digest as an input), the proposal is allowed by the
shipped policies and merged on the local forge, and ``mendbot deploy plan`` (a real process)
plans exactly that key, in exactly that account, as ``aws-iam-access-key``."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aws_account import ACCOUNT, Account, aws_account, days_ago
from deploy_scenario import DEPLOY_TIME, write_keys
from gate_scenario import CODEOWNERS, SHIPPED_POLICIES, SIGNED, TEAMS, propose_allow_merge

from bot.analyze.bundles import bundle_remediations
from bot.analyze.pipeline import analyze
from bot.config import load_config
from bot.desired import parse_desired
from bot.detectors.rule_registry import rule_options
from bot.forge.local import LocalForge
from bot.provenance.signing.signers import KeySigner
from clirun import run_mendbot

RELATIVE = f".mendbot/desired/aws-iam-access-key/{ACCOUNT}.yml"
#: The inventory and the analysis run a little before the bundle is signed.
OBSERVED = SIGNED - timedelta(minutes=30)
MENDBOT_YML = f"""\
environments:
  staging: [".mendbot/desired/aws-iam-access-key/*"]
deploy:
  environments:
    staging:
      aws_role_arn: arn:aws:iam::{ACCOUNT}:role/mendbot-deploy-staging-iam-keys
      aws_region: us-east-1
"""


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    with aws_account(monkeypatch) as made:
        made.at(OBSERVED)
        yield made


def test_an_inventoried_abandoned_key_plans_as_a_deploy_target_for_that_key_only(
    account: Account, make_repo: Any, signing_key: Any, tmp_path: Path
) -> None:
    for user in ("legacy-backup", "ci-deployer"):
        account.user(user, tags={"owner": "platform-team"})
    victim = account.key("legacy-backup", created=OBSERVED - timedelta(days=200))
    bystander = account.key("ci-deployer", created=days_ago(400))
    account.use(bystander, at=OBSERVED - timedelta(days=1))
    account.at(OBSERVED)
    account.reader()

    repo = make_repo("account")
    shutil.copytree(SHIPPED_POLICIES, repo.path / "policies")
    repo.write(".github/mendbot.yml", MENDBOT_YML)
    repo.write(".github/CODEOWNERS", CODEOWNERS)
    inventoried = run_mendbot("inventory", "aws", "--out", str(repo.path), env=account.env())
    assert inventoried.returncode == 0, inventoried.stderr
    repo.commit("inventory of the account's access keys")
    inventory = (repo.path / RELATIVE).read_bytes()

    config = load_config(repo.path / ".github/mendbot.yml", rule_options())
    analysis = analyze([repo.path], repo.path, config, now=OBSERVED)
    with KeySigner(signing_key) as signer:
        [written] = bundle_remediations(
            analysis, repo.path, config, tmp_path / "bundles", signer, env={}, now=SIGNED,
            rules_now=OBSERVED,
        )  # fmt: skip
    statement = written.statement  # type: ignore[union-attr]
    assert statement.predicate.remediation.rules == ("nhi-aws-unused-access-key",)
    assert statement.predicate.remediation.risk.ownership == "known"  # tagged owner=…
    assert [i.model_dump(mode="json") for i in statement.predicate.inputs] == [
        {
            "name": f"inventory:{RELATIVE}",
            "uri": None,
            "digest": {"sha256": hashlib.sha256(inventory).hexdigest()},
        }
    ]

    forge = LocalForge(repo.path, base="main")
    forge.set_teams(TEAMS)
    repo.git("remote", "add", "origin", forge.repository_uri)
    merge_sha = propose_allow_merge(forge, written.path, signing_key)  # type: ignore[union-attr]
    merged = parse_desired(RELATIVE, repo.git("show", f"{merge_sha}:{RELATIVE}").encode())
    statuses = {key.id: key.status for key in merged.keys}  # type: ignore[attr-defined]
    assert statuses[victim] == "Inactive"
    assert [s for k, s in statuses.items() if k != victim] == ["Active"] * (len(statuses) - 1)

    _, analysis_pub = write_keys(tmp_path / "keys", "analysis", signing_key)
    plan = tmp_path / "plan.json"
    planned = run_mendbot(
        "deploy", "plan", "--sha", merge_sha, "--repo", str(repo.path), "--base", "main",
        "--verify-key", str(analysis_pub), "--now", DEPLOY_TIME, "--out", str(plan),
    )  # fmt: skip
    assert planned.returncode == 0, planned.stdout + planned.stderr
    [change] = json.loads(plan.read_text())["changes"]
    assert (change["kind"], change["environment"]) == ("aws-iam-access-key", "staging")
    target = change["target"]
    assert target["objects"] == [victim]
    assert target["location"] == {"account": ACCOUNT}
    assert target["pre_image"][victim]["status"] == "Active"
    assert target["desired"][victim]["status"] == "Inactive"
    assert target["pre_image"][victim]["last_used"]["date"] is None
    for secret in account.secrets:
        assert secret not in plan.read_text() + planned.stdout + planned.stderr
