"""From GitHub telemetry to a deploy target: ``mendbot inventory github`` (the fake GitHub)
writes the repository's settings and identities into its checkout, the analysis signs a
remediation per finding (each attestation records the inventory file's digest), the proposal
is decided by the shipped policies and merged on the local forge, and ``mendbot deploy plan``
(a real process) plans exactly that setting as a ``github-settings`` target, which the existing
applier applies; a merged secret deletion is refused with the reason unless
``deploy.allow_irreversible`` is set, and then planned as that secret alone."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from deploy_scenario import DEPLOY_TIME, write_keys
from fakegithub import FakeGitHub
from gate_scenario import CODEOWNERS, SHIPPED_POLICIES, SIGNED, TEAMS, propose_allow_merge
from github_inventory import NHI, REPOSITORY, SETTINGS, inventory_env, seed

from bot.analyze.bundles import bundle_remediations
from bot.analyze.pipeline import analyze
from bot.config import load_config
from bot.detectors.rule_registry import rule_options
from bot.forge.local import LocalForge
from bot.provenance.signing.signers import KeySigner
from clirun import run_mendbot

OBSERVED = SIGNED - timedelta(minutes=30)
MENDBOT_YML = """\
environments:
  staging: [".mendbot/desired/github-settings/*", ".mendbot/desired/github-nhi/*"]
"""
RELEASE = """\
on: push
permissions: {}
jobs:
  publish:
    runs-on: ubuntu-latest
    steps:
      - run: npm publish
        env:
          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}
  deploy:
    runs-on: ubuntu-latest
    environment: production
    steps:
      - run: ./deploy.sh
        env:
          DB: ${{ secrets.PROD_DB_PASSWORD }}
"""


@pytest.fixture
def inventoried(github: FakeGitHub, make_repo: Any) -> Any:
    source = make_repo("source")
    source.write("README.md", "# app\n")
    source.commit("initial")
    seed(github, source.path)
    repo = make_repo("app")
    shutil.copytree(SHIPPED_POLICIES, repo.path / "policies")
    repo.write(".github/mendbot.yml", MENDBOT_YML)
    repo.write(".github/CODEOWNERS", CODEOWNERS)
    repo.write(".github/workflows/release.yml", RELEASE)
    done = run_mendbot(
        "inventory", "github", "--repository", REPOSITORY, "--out", str(repo.path),
        env=inventory_env(github),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    repo.commit("inventory of the repository's settings and identities")
    return repo


def _merged(
    repo: Any, signing_key: Any, tmp_path: Path, rule: str, approvers: tuple[str, ...] = ()
) -> tuple[str, Any]:
    """Bundle the remediation of ``rule``, propose it, let ``approvers`` approve it, decide and
    merge it; the merge commit and the bundle's statement."""
    config = load_config(repo.path / ".github/mendbot.yml", rule_options())
    analysis = analyze([repo.path], repo.path, config, now=OBSERVED)
    with KeySigner(signing_key) as signer:
        written = bundle_remediations(
            analysis, repo.path, config, tmp_path / "bundles", signer, env={}, now=SIGNED,
            rules_now=OBSERVED,
        )  # fmt: skip
    [bundle] = [
        b
        for b in written
        if b.statement.predicate.remediation.rules == (rule,)  # type: ignore[union-attr]
    ]
    forge = LocalForge(repo.path, base="main")
    forge.set_teams(TEAMS)
    repo.git("remote", "add", "origin", forge.repository_uri)
    merge_sha = propose_allow_merge(forge, bundle.path, signing_key, approvers)  # type: ignore[union-attr]
    return merge_sha, bundle.statement  # type: ignore[union-attr]


def _plan(repo: Any, signing_key: Any, tmp_path: Path, merge_sha: str) -> dict[str, Any]:
    _, analysis_pub = write_keys(tmp_path / "keys", "analysis", signing_key)
    out = tmp_path / "plan.json"
    planned = run_mendbot(
        "deploy", "plan", "--sha", merge_sha, "--repo", str(repo.path), "--base", "main",
        "--verify-key", str(analysis_pub), "--now", DEPLOY_TIME, "--out", str(out),
    )  # fmt: skip
    assert "Traceback" not in planned.stderr
    assert out.exists(), planned.stdout + planned.stderr
    loaded: dict[str, Any] = json.loads(out.read_text())
    return loaded


def test_an_inventoried_approval_setting_plans_as_that_setting_only(
    inventoried: Any, signing_key: Any, tmp_path: Path
) -> None:
    committed = (inventoried.path / SETTINGS).read_bytes()
    merge_sha, statement = _merged(
        inventoried, signing_key, tmp_path, "gh-settings-actions-can-approve-prs"
    )
    assert [i.model_dump(mode="json") for i in statement.predicate.inputs] == [
        {
            "name": f"inventory:{SETTINGS}",
            "uri": None,
            "digest": {"sha256": hashlib.sha256(committed).hexdigest()},
        }
    ]
    plan = _plan(inventoried, signing_key, tmp_path, merge_sha)
    [change] = plan["changes"]
    assert (change["kind"], change["environment"], change["action"]) == (
        "github-settings",
        "staging",
        "apply",
    ), change["reasons"]
    target = change["target"]
    assert target["objects"] == ["actions.can_approve_pull_request_reviews"]
    assert target["location"] == {"repository": REPOSITORY}
    assert target["pre_image"] == {"actions.can_approve_pull_request_reviews": True}
    assert target["desired"] == {"actions.can_approve_pull_request_reviews": False}


def test_a_merged_secret_deletion_is_refused_by_the_plan_naming_the_secret(
    inventoried: Any, signing_key: Any, tmp_path: Path
) -> None:
    merge_sha, statement = _merged(
        inventoried, signing_key, tmp_path, "nhi-github-unused-secret", approvers=("sam", "sue")
    )
    assert statement.predicate.remediation.risk.reversibility == "irreversible"
    assert [i.name for i in statement.predicate.inputs] == [f"inventory:{NHI}"]
    plan = _plan(inventoried, signing_key, tmp_path, merge_sha)
    [change] = plan["changes"]
    assert (change["kind"], change["action"], change["target"]) == ("github-nhi", "refuse", None)
    assert change["reasons"] == [
        "deleting secret:OLD_DEPLOY_TOKEN is irreversible and deploy.allow_irreversible is not set"
    ]


def test_a_merged_secret_deletion_plans_as_that_secret_when_irreversible_is_allowed(
    inventoried: Any, signing_key: Any, tmp_path: Path
) -> None:
    inventoried.write(".github/mendbot.yml", MENDBOT_YML + "deploy:\n  allow_irreversible: true\n")
    inventoried.commit("allow irreversible deployments")
    merge_sha, _ = _merged(
        inventoried, signing_key, tmp_path, "nhi-github-unused-secret", approvers=("sam", "sue")
    )
    plan = _plan(inventoried, signing_key, tmp_path, merge_sha)
    [change] = plan["changes"]
    assert (change["kind"], change["action"]) == ("github-nhi", "apply"), change["reasons"]
    target = change["target"]
    assert (target["objects"], target["deletion"]) == (["secret:OLD_DEPLOY_TOKEN"], True)
    assert target["desired"] == {"secret:OLD_DEPLOY_TOKEN": None}
    assert target["pre_image"]["secret:OLD_DEPLOY_TOKEN"]["updated_at"] == "2021-03-02T09:14:00Z"
    assert target["location"] == {"repository": REPOSITORY}
