"""An IAM access key remediation merged on the local forge, ready for ``mendbot deploy``: what the
deactivation tests (``test_aws_deploy_cli``) and the deletion tests
(``test_aws_key_deletion_cli``) share. Each test module writes its own inventory, configuration
and signed remediation; this module puts them on main, merges the remediation and runs the deploy
job's real commands."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path
from typing import Any

from aws_world import SOURCE, AwsWorld
from cryptography.hazmat.primitives.asymmetric import ec
from deploy_scenario import DEPLOY_TIME, write_keys
from gate_scenario import CODEOWNERS, SHIPPED_POLICIES, TEAMS, propose_allow_merge, sign_bundle

from bot.forge.local import LocalForge
from bot.models import Finding, Remediation
from bot.provenance.signing.bundle_writer import BundleRequest
from clirun import run_mendbot


def keys_repo(
    make_repo: Any, mendbot_yml: str, inventory: bytes, policies: dict[str, str] | None = None
) -> Any:
    """A repository whose main holds the gate's files (the shipped policies, or ``policies``
    by name), ``mendbot_yml`` and the key ``inventory``, committed."""
    repo = make_repo("keys")
    if policies is None:
        shutil.copytree(SHIPPED_POLICIES, repo.path / "policies")
    for name, text in (policies or {}).items():
        repo.write(f"policies/{name}.yaml", text)
    repo.write(".github/mendbot.yml", mendbot_yml)
    repo.write(".github/CODEOWNERS", CODEOWNERS)
    repo.write(SOURCE, inventory)
    repo.commit("inventory of the account's keys")
    return repo


def merge_remediation(
    world: AwsWorld,
    repo: Any,
    signing_key: Any,
    tmp_path: Path,
    signed: tuple[Remediation, Finding],
    fixed: bytes,
    approvers: tuple[str, ...] = (),
) -> dict[str, Any]:
    """``signed`` (the remediation and its finding, changing the inventory to ``fixed``) signed,
    proposed, approved by ``approvers``, allowed and merged on ``repo``'s local forge; the
    deploy identity's keys and its OIDC token for staging on disk. What the tests read, by
    name: ``repo``, ``forge``, ``sha`` (the merge), ``trust`` (the options naming the analysis
    key), ``deploy_key``, ``deploy_pub``, ``token``."""
    forge = LocalForge(repo.path, base="main")
    forge.set_teams(TEAMS)
    repo.git("remote", "add", "origin", forge.repository_uri)
    remediation, finding = signed
    request = BundleRequest(remediation=remediation, findings=[finding], files={SOURCE: fixed})
    bundle = sign_bundle(repo, signing_key, request, tmp_path / "bundles")
    merge_sha = propose_allow_merge(forge, bundle, signing_key, approvers)
    _, analysis_pub = write_keys(tmp_path / "keys", "analysis", signing_key)
    deploy_key, deploy_pub = write_keys(
        tmp_path / "keys", "deploy", ec.generate_private_key(ec.SECP256R1())
    )
    token = tmp_path / "oidc-token"
    token.write_text(world.issuer.deploy_token(environment="staging"))
    world.tokens.append(token.read_text())
    return {
        "repo": repo,
        "forge": forge,
        "sha": merge_sha,
        "trust": ["--repo", str(repo.path), "--base", "main", "--verify-key", str(analysis_pub)],
        "deploy_key": deploy_key,
        "deploy_pub": deploy_pub,
        "token": token,
    }


def plan_and_apply(merged: dict[str, Any], tmp_path: Path) -> tuple[Any, Any, Path]:
    """``mendbot deploy plan`` of the merge, then ``mendbot deploy apply`` of that plan with the
    deploy identity's key and token; both results and the records folder."""
    plan = tmp_path / "plan.json"
    planned = run_mendbot(
        "deploy", "plan", "--sha", merged["sha"], *merged["trust"], "--now", DEPLOY_TIME,
        "--out", str(plan),
    )  # fmt: skip
    records = tmp_path / "records"
    applied = run_mendbot(
        "deploy", "apply", "--plan", str(plan), *merged["trust"],
        "--sign", "key", "--signing-key", str(merged["deploy_key"]),
        "--oidc-token-file", str(merged["token"]),
        "--record-out", str(records), "--now", DEPLOY_TIME,
    )  # fmt: skip
    assert "Traceback" not in planned.stderr + applied.stderr
    return planned, applied, records


def record_predicate(record: Path) -> dict[str, Any]:
    """The predicate of the deploy record at ``record`` (its signature is checked elsewhere)."""
    payload = json.loads(record.read_text())["dsseEnvelope"]["payload"]
    found: dict[str, Any] = json.loads(base64.b64decode(payload))["predicate"]
    return found


def assert_no_secret(world: AwsWorld, *texts: str) -> None:
    """The deploy job exchanged a token for a session, and no token or secret of ``world``
    appears in ``texts``."""
    everything = "\n".join(texts)
    assert world.tokens and world.sts.sessions
    for secret in world.secrets():
        assert secret not in everything
