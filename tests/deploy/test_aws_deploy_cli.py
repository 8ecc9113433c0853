"""``mendbot deploy`` of an IAM access key remediation, as users meet it: a signed remediation
sets one key ``Inactive`` in ``.mendbot/desired/aws-iam-access-key/<account>.yml``, is proposed,
allowed by the shipped policies and merged on the local forge; ``mendbot deploy plan`` and
``mendbot deploy apply`` (real processes) exchange the deploy job's OIDC token through the
LocalSTS front and change moto's live state. The records are read back from disk."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aws_key_scenario import (
    assert_no_secret,
    keys_repo,
    merge_remediation,
    plan_and_apply,
    record_predicate,
)
from aws_world import SOURCE, AwsWorld, aws_world, create_role, template
from deploy_scenario import DEPLOY_NOW

from bot.models import Confidence, Finding, Fix, Location, Remediation, Severity
from bot.risk import BlastRadius, Disposition, Reversibility
from clirun import run_mendbot
from local_sts import ACCOUNT

RULE = "nhi-aws-unused-access-key"
ROLE_NAME = "mendbot-deploy-staging-iam-keys"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}"
MENDBOT_YML = f"""\
environments:
  staging: [".mendbot/desired/aws-iam-access-key/*"]
deploy:
  environments:
    staging:
      aws_role_arn: {ROLE_ARN}
      aws_region: us-east-1
"""


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsWorld]:
    with aws_world(monkeypatch) as made:
        trust = template(
            "mendbot-deploy-trust-policy.json", made.issuer.host, ENVIRONMENT="staging"
        )
        create_role(made.sts, made.issuer, trust, ROLE_NAME)
        # The deploy job runs an hour after the gate allowed the merge (--now): so does AWS.
        made.sts.offset = DEPLOY_NOW - datetime.now(UTC)
        yield made


def _inventory(keys: dict[str, tuple[str, str]], paths: dict[str, str] | None = None) -> bytes:
    lines = ["kind: aws-iam-access-key", "version: 1", f'account: "{ACCOUNT}"', "keys:"]
    for key_id, (user, status) in keys.items():
        lines += [f"  - id: {key_id}", f"    user: {user}"]
        if paths and user in paths:
            lines.append(f'    user_path: "{paths[user]}"')
        lines.append(f"    status: {status}")
    return ("\n".join(lines) + "\n").encode()


def _remediation(key_id: str) -> tuple[Remediation, Finding]:
    finding = Finding(
        rule=RULE,
        title="Unused IAM access key",
        severity=Severity.MEDIUM,
        confidence=Confidence.HIGH,
        location=Location(path=SOURCE, line=5, column=5),
        message=f"{key_id} of victim was never used",
        evidence=key_id,
    )
    fix = Fix(
        finding=finding.id,
        rule=RULE,
        path=SOURCE,
        title=f"Deactivate {key_id}",
        disposition=Disposition.SAFE,
        reversibility=Reversibility.REVERSIBLE,
        blast_radius=BlastRadius.SERVICE,
        patches=(),
    )
    fingerprint = hashlib.sha256(key_id.encode()).hexdigest()
    remediation = Remediation(
        id=f"{RULE}/victim-{fingerprint[:8]}",
        fingerprint=fingerprint,
        title=f"Deactivate the unused access key {key_id}",
        rules=(RULE,),
        paths=(SOURCE,),
        fixes=(fix,),
        disposition=Disposition.SAFE,
        reversibility=Reversibility.REVERSIBLE,
        blast_radius=BlastRadius.SERVICE,
    )
    return remediation, finding


def _merged(
    world: AwsWorld, make_repo: Any, signing_key: Any, tmp_path: Path, path: str = "/"
) -> dict[str, Any]:
    """The inventory on main, the signed remediation proposed, allowed and merged; the victim
    user lives under IAM path ``path``."""
    paths = {"victim": path}
    victim = world.user_with_key("victim", path)
    bystander = world.user_with_key("bystander")
    inventory = _inventory(
        {victim: ("victim", "Active"), bystander: ("bystander", "Active")}, paths
    )
    repo = keys_repo(make_repo, MENDBOT_YML, inventory)
    fixed = _inventory({victim: ("victim", "Inactive"), bystander: ("bystander", "Active")}, paths)
    merged = merge_remediation(world, repo, signing_key, tmp_path, _remediation(victim), fixed)
    return {**merged, "victim": victim, "bystander": bystander}


@pytest.mark.parametrize("path", ["/", "/ci/etl/"])
def test_a_merged_key_deactivation_is_applied_with_a_change_scoped_session(
    world: AwsWorld, make_repo: Any, signing_key: Any, tmp_path: Path, path: str
) -> None:
    """A user under an IAM path (``/ci/etl/``) has that path in its ARN, which IAM checks
    against the session policy: the policy must name it."""
    merged = _merged(world, make_repo, signing_key, tmp_path, path)

    planned, applied, records = plan_and_apply(merged, tmp_path)

    assert planned.returncode == 0, planned.stdout + planned.stderr
    plan = json.loads((tmp_path / "plan.json").read_text())
    [change] = plan["changes"]
    assert (change["kind"], change["environment"]) == ("aws-iam-access-key", "staging")
    assert change["target"]["objects"] == [merged["victim"]]
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert applied.stdout.startswith("applied")
    assert world.status("victim", merged["victim"]) == "Inactive"
    assert world.status("bystander", merged["bystander"]) == "Active"

    [record] = sorted(records.iterdir())
    predicate = record_predicate(record)
    assert predicate["outcome"] == "applied"
    credential = predicate["authority"]["credential"]
    assert credential["type"] == "aws-sts-web-identity"
    assert credential["principal"] == ROLE_ARN
    assert credential["sessionName"] == f"mendbot-{change['change'][-8:]}-staging"
    verified = run_mendbot(
        "deploy", "verify-record", str(record), "--verify-key", str(merged["deploy_pub"])
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    [session] = world.sts.sessions.values()
    assert session.subject == "repo:octo-org/octo-repo:environment:staging"
    assert session.policy is not None
    assert session.policy["Statement"][0]["Resource"] == [
        f"arn:aws:iam::{ACCOUNT}:user{path}victim"
    ]
    assert_no_secret(
        world, applied.stdout, applied.stderr, planned.stdout, record.read_text(), str(plan)
    )


def test_a_deactivation_that_does_not_hold_is_restored_and_rolled_back(
    world: AwsWorld, make_repo: Any, signing_key: Any, tmp_path: Path
) -> None:
    merged = _merged(world, make_repo, signing_key, tmp_path)
    world.sts.fail("UpdateAccessKey", mode="swallow")

    _, applied, records = plan_and_apply(merged, tmp_path)

    assert applied.returncode == 1, applied.stdout + applied.stderr
    assert world.status("victim", merged["victim"]) == "Active"
    [record] = sorted(records.iterdir())
    predicate = record_predicate(record)
    assert predicate["outcome"] == "compensated"
    assert f"{merged['victim']} of victim reads back Active, Inactive was asked" in json.dumps(
        predicate["validation"]
    )
    assert_no_secret(world, applied.stdout, applied.stderr, record.read_text())


def test_sts_refusing_the_token_fails_before_anything_is_written(
    world: AwsWorld, make_repo: Any, signing_key: Any, tmp_path: Path
) -> None:
    merged = _merged(world, make_repo, signing_key, tmp_path)
    merged["token"].write_text(world.issuer.analysis_token())
    world.tokens.append(merged["token"].read_text())

    _, applied, records = plan_and_apply(merged, tmp_path)

    assert applied.returncode != 0
    assert "AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity" in (
        applied.stdout + applied.stderr
    )
    assert world.sts.sessions == {}
    assert world.sts.session_actions("UpdateAccessKey") == []
    assert world.status("victim", merged["victim"]) == "Active"
    texts = [applied.stdout, applied.stderr, *(p.read_text() for p in records.glob("*"))]
    for token in world.tokens:
        assert token not in "\n".join(texts)
