"""Deleting a GitHub Actions secret, as users meet it: ``mendbot inventory github`` (the fake
GitHub) writes the repository's identities into its checkout, the analysis signs the
``nhi-github-unused-secret`` remediation (the secret's entry removed), the security team approves
it, the shipped policies allow it and it is merged on the local forge; ``mendbot deploy plan`` and
``mendbot deploy apply`` (real processes) delete the secret through the fake GitHub (validated
against GitHub's OpenAPI description) with an installation token narrowed to the repository and
``secrets: write``. The attacks: the secret rotated after approval, a workflow of the merge
commit referencing it, a delete that does not take."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from deploy_github import pem_of, secrets_of
from deploy_scenario import DEPLOY_TIME, write_keys
from fakegithub import FakeGitHub
from gate_scenario import CODEOWNERS, SHIPPED_POLICIES, SIGNED, TEAMS, propose_allow_merge
from github_inventory import REPOSITORY, inventory_env, seed

from bot.analyze.bundles import bundle_remediations
from bot.analyze.pipeline import analyze
from bot.config import load_config
from bot.detectors.rule_registry import rule_options
from bot.forge.local import LocalForge
from bot.provenance.signing.signers import KeySigner
from clirun import run_mendbot

RULE = "nhi-github-unused-secret"
APP_ID = 4242
INSTALLATION = 77
OBSERVED = SIGNED - timedelta(minutes=30)
MENDBOT_YML = f"""\
environments:
  staging: [".mendbot/desired/github-nhi/*"]
deploy:
  allow_irreversible: true
  environments:
    staging:
      github_app_id: {APP_ID}
      github_installation_id: {INSTALLATION}
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
#: A workflow added on main after the analysis that needs the "unused" secret after all.
LEGACY = """\
on: workflow_dispatch
permissions: {}
jobs:
  legacy:
    runs-on: ubuntu-latest
    steps:
      - run: ./legacy-deploy.sh
        env:
          TOKEN: ${{ secrets.old_deploy_token }}
"""


@pytest.fixture
def app_key(github: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> rsa.RSAPrivateKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    github.install_app(APP_ID, key.public_key(), {INSTALLATION: {REPOSITORY}})
    monkeypatch.setenv("MENDBOT_DEPLOY_APP_KEY", pem_of(key))
    monkeypatch.setenv("GITHUB_API_URL", github.base_url)
    return key


def _inventoried(github: FakeGitHub, make_repo: Any) -> Any:
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


def _deploy(
    github: FakeGitHub,
    make_repo: Any,
    signing_key: Any,
    tmp_path: Path,
    *,
    before_merge: str | None = None,
    after_merge: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """The unused secret's deletion bundled, proposed, approved by the security team and
    merged (``before_merge``: a workflow committed on main after the analysis; ``after_merge``:
    what happens on GitHub between the approval and the deploy); then ``mendbot deploy plan``
    and ``apply``."""
    repo = _inventoried(github, make_repo)
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
        if b.statement.predicate.remediation.rules == (RULE,)  # type: ignore[union-attr]
    ]
    forge = LocalForge(repo.path, base="main")
    forge.set_teams(TEAMS)
    repo.git("remote", "add", "origin", forge.repository_uri)
    if before_merge is not None:
        repo.write(".github/workflows/legacy.yml", before_merge)
        repo.commit("a legacy deploy workflow")
    merge_sha = propose_allow_merge(forge, bundle.path, signing_key, ("sam", "sue"))  # type: ignore[union-attr]
    if after_merge is not None:
        after_merge()
    _, analysis_pub = write_keys(tmp_path / "keys", "analysis", signing_key)
    deploy_key, deploy_pub = write_keys(
        tmp_path / "keys", "deploy", ec.generate_private_key(ec.SECP256R1())
    )
    trust = ["--repo", str(repo.path), "--base", "main", "--verify-key", str(analysis_pub)]
    plan = tmp_path / "plan.json"
    planned = run_mendbot(
        "deploy", "plan", "--sha", merge_sha, *trust, "--now", DEPLOY_TIME, "--out", str(plan)
    )
    records = tmp_path / "records"
    applied = run_mendbot(
        "deploy", "apply", "--plan", str(plan), *trust,
        "--sign", "key", "--signing-key", str(deploy_key),
        "--record-out", str(records), "--now", DEPLOY_TIME,
    )  # fmt: skip
    assert "Traceback" not in planned.stderr + applied.stderr
    return {
        "forge": forge,
        "planned": planned,
        "plan": json.loads(plan.read_text()),
        "applied": applied,
        "records": sorted(records.iterdir()) if records.exists() else [],
        "deploy_pub": deploy_pub,
    }


def _predicate(record: Path) -> dict[str, Any]:
    payload = json.loads(record.read_text())["dsseEnvelope"]["payload"]
    predicate: dict[str, Any] = json.loads(base64.b64decode(payload))["predicate"]
    return predicate


def _names(github: FakeGitHub) -> list[str]:
    return [s["name"] for s in github.repos[REPOSITORY].nhi.secrets]


def test_an_approved_unused_secret_is_deleted_with_a_secrets_write_token(
    github: FakeGitHub, app_key: rsa.RSAPrivateKey, make_repo: Any, signing_key: Any, tmp_path: Path
) -> None:
    done = _deploy(github, make_repo, signing_key, tmp_path)

    assert done["planned"].returncode == 0, done["planned"].stdout + done["planned"].stderr
    [change] = done["plan"]["changes"]
    assert (change["kind"], change["action"]) == ("github-nhi", "apply")
    assert change["target"]["objects"] == ["secret:OLD_DEPLOY_TOKEN"]
    assert change["target"]["deletion"] is True
    assert "secondOrder" in change["why"]["risk"]
    applied = done["applied"]
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert github.repos[REPOSITORY].nhi.deleted == ["secret:OLD_DEPLOY_TOKEN"]
    assert _names(github) == ["NPM_TOKEN"]
    assert github.failures == []
    [record] = done["records"]
    predicate = _predicate(record)
    assert predicate["outcome"] == "applied"
    assert predicate["deletion"] == {
        "objects": ["secret:OLD_DEPLOY_TOKEN"],
        "reversibility": "irreversible",
        "compensation": "none possible: a secret's value is write-only, nobody can restore a "
        "deleted one; nothing to revert",
    }
    assert predicate["validation"]["checks"] == [
        f"secret:OLD_DEPLOY_TOKEN of {REPOSITORY} is no longer listed: deleted"
    ]
    assert predicate["authority"]["credential"]["scope"]["permissions"] == {"secrets": "write"}
    asked = github.token_requests[-1]
    assert (asked["permissions"], asked["repositories"]) == ({"secrets": "write"}, ["app"])
    assert len(github.revoked) == len(github.token_requests)
    verified = run_mendbot(
        "deploy", "verify-record", str(record), "--verify-key", str(done["deploy_pub"])
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    for secret in secrets_of(github, app_key):
        assert secret not in applied.stdout + applied.stderr + record.read_text()


def test_a_secret_rotated_after_approval_is_not_deleted(
    github: FakeGitHub, app_key: rsa.RSAPrivateKey, make_repo: Any, signing_key: Any, tmp_path: Path
) -> None:
    def rotate() -> None:
        for secret in github.repos[REPOSITORY].nhi.secrets:
            if secret["name"] == "OLD_DEPLOY_TOKEN":
                secret["updated_at"] = "2026-11-24T10:30:00Z"

    done = _deploy(github, make_repo, signing_key, tmp_path, after_merge=rotate)

    assert done["applied"].returncode == 1
    assert github.repos[REPOSITORY].nhi.deleted == []
    assert "OLD_DEPLOY_TOKEN" in _names(github)
    [record] = done["records"]
    predicate = _predicate(record)
    assert predicate["outcome"] == "drift"
    assert (
        f"secret:OLD_DEPLOY_TOKEN of {REPOSITORY} was set at 2026-11-24T10:30:00Z, the analysis "
        "saw it set at 2021-03-02T09:14:00Z: someone rotated it, so it is in use; nothing deleted"
    ) in predicate["reasons"]


def test_a_secret_a_workflow_of_the_merge_commit_references_is_not_deleted(
    github: FakeGitHub, app_key: rsa.RSAPrivateKey, make_repo: Any, signing_key: Any, tmp_path: Path
) -> None:
    done = _deploy(github, make_repo, signing_key, tmp_path, before_merge=LEGACY)

    assert done["applied"].returncode == 1, done["applied"].stdout
    assert github.repos[REPOSITORY].nhi.deleted == []
    [record] = done["records"]
    predicate = _predicate(record)
    assert predicate["outcome"] == "drift"
    [reason] = [r for r in predicate["reasons"] if "referenced" in r]
    assert reason.startswith(
        "secret:OLD_DEPLOY_TOKEN is referenced by a workflow or action of the merge commit"
    )


def test_a_delete_that_does_not_take_fails_without_asking_for_a_revert(
    github: FakeGitHub, app_key: rsa.RSAPrivateKey, make_repo: Any, signing_key: Any, tmp_path: Path
) -> None:
    def stuck() -> None:
        github.repos[REPOSITORY].nhi.undeletable.add("secret:OLD_DEPLOY_TOKEN")

    done = _deploy(github, make_repo, signing_key, tmp_path, after_merge=stuck)

    assert done["applied"].returncode == 1
    [record] = done["records"]
    predicate = _predicate(record)
    assert (predicate["outcome"], predicate["validation"]["result"]) == ("failed", "failed")
    assert predicate["rollback"] == {}
    assert done["forge"].dispatches() == []
    assert any(r.startswith("compensation: none possible") for r in predicate["reasons"])
