"""Deleting an IAM access key, as users meet it: a signed ``nhi-aws-inactive-access-key``
remediation removes an Inactive key from ``.mendbot/desired/aws-iam-access-key/<account>.yml``,
is proposed, approved by the security team, allowed by the shipped policies and merged on the
local forge; ``mendbot deploy plan`` and ``mendbot deploy apply`` (real processes) exchange the
deploy job's OIDC token for a session of the deletion role through the LocalSTS front (which
enforces session policies, as moto does not) and change moto's live state. The attacks: no
``allow_irreversible``, no stronger approvals, the key re-activated or used after approval, a
file dropping a key the attestation did not, a session reaching another user's key."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import replace
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

from bot.deploy.aws_access_keys import AwsCallError
from bot.models import Confidence, Finding, Fix, Location, Remediation, Severity
from bot.risk import BlastRadius, Disposition, Ownership, Reversibility
from clirun import run_mendbot
from local_sts import ACCOUNT

RULE = "nhi-aws-inactive-access-key"
ROLE_NAME = "mendbot-deploy-staging-iam-keys"
DELETION_ROLE_NAME = "mendbot-deploy-staging-iam-key-deletion"
SECURITY = ("sam", "sue")
ONE_APPROVAL = """\
apiVersion: mendbot/v1
kind: GatePolicy
metadata:
  name: one-approval
  description: Any remediation merges after one approval.
  owners: {teams: [platform]}
spec:
  matchConditions:
    - name: remediation
      expression: "size(change.rules) > 0"
  validations:
    - name: approved
      expression: "false"
      message: one approval by someone other than the author
      action: require_approval
      approvals: {count: 1, preventSelfApproval: true}
"""


def _mendbot_yml(*, allow_irreversible: bool = True) -> str:
    return f"""\
environments:
  staging: [".mendbot/desired/aws-iam-access-key/*"]
deploy:
  allow_irreversible: {"true" if allow_irreversible else "false"}
  environments:
    staging:
      aws_role_arn: arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}
      aws_deletion_role_arn: arn:aws:iam::{ACCOUNT}:role/{DELETION_ROLE_NAME}
      aws_region: us-east-1
"""


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsWorld]:
    with aws_world(monkeypatch) as made:
        trust = template(
            "mendbot-deploy-trust-policy.json", made.issuer.host, ENVIRONMENT="staging"
        )
        create_role(made.sts, made.issuer, trust, ROLE_NAME)
        # The documented deletion role (Resource "*": moto's IAM user matching is wrong; the
        # LocalSTS front enforces the session policy's user scope instead).
        iam = made.sts.admin("iam")
        iam.create_role(
            RoleName=DELETION_ROLE_NAME,
            AssumeRolePolicyDocument=json.dumps(trust),
            MaxSessionDuration=3600,
        )
        deletion = template("mendbot-deploy-deletion-role-policy.json", made.issuer.host)
        for statement in deletion["Statement"]:
            statement["Resource"] = "*"
        iam.put_role_policy(
            RoleName=DELETION_ROLE_NAME,
            PolicyName="mendbot-deploy-deletion",
            PolicyDocument=json.dumps(deletion),
        )
        made.sts.offset = DEPLOY_NOW - datetime.now(UTC)
        yield made


def _inventory(keys: dict[str, tuple[str, str]]) -> bytes:
    lines = ["kind: aws-iam-access-key", "version: 1", f'account: "{ACCOUNT}"', "keys:"]
    for key_id, (user, status) in keys.items():
        lines += [f"  - id: {key_id}", f"    user: {user}", f"    status: {status}"]
        lines += ['    owner: "@acme/platform"']
    return ("\n".join(lines) + "\n").encode()


def _remediation(key_id: str) -> tuple[Remediation, Finding]:
    finding = Finding(
        rule=RULE,
        title="Inactive IAM access key",
        severity=Severity.LOW,
        confidence=Confidence.HIGH,
        location=Location(path=SOURCE, line=5, column=5),
        message=f"{key_id} of victim has been Inactive for 40 days, never used",
        evidence=key_id,
    )
    fix = Fix(
        finding=finding.id,
        rule=RULE,
        path=SOURCE,
        title=f"Delete inactive access key {key_id} (irreversible)",
        disposition=Disposition.UNSAFE,
        reversibility=Reversibility.IRREVERSIBLE,
        blast_radius=BlastRadius.SERVICE,
        patches=(),
    )
    fingerprint = hashlib.sha256(key_id.encode()).hexdigest()
    remediation = Remediation(
        id=f"{RULE}/victim-{fingerprint[:8]}",
        fingerprint=fingerprint,
        title=f"Delete the inactive access key {key_id}",
        rules=(RULE,),
        paths=(SOURCE,),
        fixes=(fix,),
        disposition=Disposition.UNSAFE,
        reversibility=Reversibility.IRREVERSIBLE,
        blast_radius=BlastRadius.SERVICE,
        ownership=Ownership.KNOWN,
    )
    return remediation, finding


def _merged(
    world: AwsWorld,
    make_repo: Any,
    signing_key: Any,
    tmp_path: Path,
    *,
    allow_irreversible: bool = True,
    approvers: tuple[str, ...] = SECURITY,
    policies: dict[str, str] | None = None,
    also_drop: bool = False,
) -> dict[str, Any]:
    """Two Inactive keys inventoried on main; the signed deletion of the victim's proposed,
    approved by ``approvers``, allowed and merged."""
    victim = world.user_with_key("victim")
    other = world.user_with_key("victim")
    bystander = world.user_with_key("bystander")
    for user, key in (("victim", victim), ("victim", other), ("bystander", bystander)):
        world.set_status(user, key, "Inactive")
    keys = {victim: ("victim", "Inactive"), other: ("victim", "Inactive")}
    keys[bystander] = ("bystander", "Inactive")
    mendbot_yml = _mendbot_yml(allow_irreversible=allow_irreversible)
    repo = keys_repo(make_repo, mendbot_yml, _inventory(keys), policies)
    kept = {k: v for k, v in keys.items() if k != victim and not (also_drop and k == other)}
    merged = merge_remediation(
        world, repo, signing_key, tmp_path, _remediation(victim), _inventory(kept), approvers
    )
    return {**merged, "victim": victim, "other": other, "bystander": bystander}


def _one_record(records: Path) -> dict[str, Any]:
    [record] = sorted(records.iterdir())
    return record_predicate(record)


def test_an_approved_inactive_key_deletion_deletes_that_key_only(
    world: AwsWorld, make_repo: Any, signing_key: Any, tmp_path: Path
) -> None:
    merged = _merged(world, make_repo, signing_key, tmp_path)

    planned, applied, records = plan_and_apply(merged, tmp_path)

    assert planned.returncode == 0, planned.stdout + planned.stderr
    [change] = json.loads((tmp_path / "plan.json").read_text())["changes"]
    assert (change["action"], change["target"]["deletion"]) == ("apply", True)
    assert change["target"]["objects"] == [merged["victim"]]
    assert change["why"]["risk"]["ownership"] == "known"
    assert change["why"]["risk"]["secondOrder"] is False
    assert (
        "risk: unsafe, irreversible, blast radius service; owner known; second-order no"
    ) in planned.stdout
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert world.status("victim", merged["victim"]) is None
    assert world.status("victim", merged["other"]) == "Inactive"
    assert world.status("bystander", merged["bystander"]) == "Inactive"
    predicate = _one_record(records)
    assert predicate["outcome"] == "applied"
    assert predicate["deletion"]["reversibility"] == "irreversible"
    assert predicate["deletion"]["compensation"].startswith("none possible")
    assert predicate["why"]["risk"]["ownership"] == "known"
    assert predicate["authority"]["credential"]["principal"].endswith(DELETION_ROLE_NAME)
    assert (
        f"{merged['victim']} of victim is no longer listed: deleted"
        in (predicate["validation"]["checks"])
    )
    [session] = world.sts.sessions.values()
    assert session.policy is not None
    [statement] = session.policy["Statement"]
    assert statement["Action"] == [
        "iam:DeleteAccessKey",
        "iam:ListAccessKeys",
        "iam:GetAccessKeyLastUsed",
    ]
    assert statement["Resource"] == [f"arn:aws:iam::{ACCOUNT}:user/victim"]
    assert merged["forge"].dispatches() == []
    [record] = sorted(records.iterdir())
    verified = run_mendbot(
        "deploy", "verify-record", str(record), "--verify-key", str(merged["deploy_pub"])
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert_no_secret(world, applied.stdout, applied.stderr, record.read_text())


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (
            {"allow_irreversible": False},
            "is irreversible and deploy.allow_irreversible is not set",
        ),
        (
            # The repository's own policy asks one approval of anyone for any remediation: the
            # gate allows, but no policy demanded the stronger approvals.
            {"approvers": ("paula",), "policies": {"one-approval": ONE_APPROVAL}},
            "came from no policy demanding the stronger approvals",
        ),
    ],
    ids=["without-allow-irreversible", "without-strong-approvals"],
)
def test_a_deletion_without_both_safeguards_deletes_nothing(
    world: AwsWorld,
    make_repo: Any,
    signing_key: Any,
    tmp_path: Path,
    setup: dict[str, Any],
    reason: str,
) -> None:
    merged = _merged(world, make_repo, signing_key, tmp_path, **setup)

    planned, applied, records = plan_and_apply(merged, tmp_path)

    assert planned.returncode == 1
    [change] = json.loads((tmp_path / "plan.json").read_text())["changes"]
    assert change["action"] == "refuse"
    assert change["target"] is None
    assert reason in change["reasons"][0]
    # apply attempts only what the plan file asks to apply: nothing, so nothing is recorded.
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert not records.exists() or list(records.iterdir()) == []
    assert world.status("victim", merged["victim"]) == "Inactive"
    assert world.sts.sessions == {}


@pytest.mark.parametrize("after_approval", ["re-activated", "used"])
def test_a_key_touched_after_approval_is_not_deleted(
    world: AwsWorld, make_repo: Any, signing_key: Any, tmp_path: Path, after_approval: str
) -> None:
    merged = _merged(world, make_repo, signing_key, tmp_path)
    victim = merged["victim"]
    world.set_status("victim", victim, "Active")
    if after_approval == "used":
        world.use_key(victim)
        world.set_status("victim", victim, "Inactive")
    # The plan holds no credentials and cannot see this; the apply step re-reads IAM with
    # the deploy credentials before it deletes.

    _, applied, records = plan_and_apply(merged, tmp_path)

    assert applied.returncode == 1, applied.stdout + applied.stderr
    assert world.status("victim", victim) == ("Active" if after_approval != "used" else "Inactive")
    assert world.sts.session_actions("DeleteAccessKey") == []
    predicate = _one_record(records)
    assert predicate["outcome"] == "drift"
    assert predicate["deletion"]["reversibility"] == "irreversible"
    reasons = " ".join(predicate["reasons"])
    if after_approval == "used":
        used = world.last_used(victim)
        assert used is not None
        assert f"was last used at {used}" in reasons
        assert "is not abandoned; nothing was deleted" in reasons
    else:
        assert "is Active again" in reasons


def test_a_delete_that_does_not_take_fails_without_asking_for_a_revert(
    world: AwsWorld, make_repo: Any, signing_key: Any, tmp_path: Path
) -> None:
    merged = _merged(world, make_repo, signing_key, tmp_path)
    world.sts.fail("DeleteAccessKey", mode="swallow")

    _, applied, records = plan_and_apply(merged, tmp_path)

    assert applied.returncode == 1
    assert world.status("victim", merged["victim"]) == "Inactive"
    predicate = _one_record(records)
    assert predicate["outcome"] == "failed"
    assert predicate["validation"]["result"] == "failed"
    assert predicate["rollback"] == {}
    assert any(r.startswith("compensation: none possible") for r in predicate["reasons"])
    assert merged["forge"].dispatches() == []
    assert "validation failed" in applied.stdout + applied.stderr


def test_a_file_dropping_a_key_the_attestation_does_not_deletes_nothing(
    world: AwsWorld, make_repo: Any, signing_key: Any, tmp_path: Path
) -> None:
    merged = _merged(world, make_repo, signing_key, tmp_path)
    # After the approvals, someone drops the victim's second key on main too, as if part of
    # the reviewed change: the merge's change is then more than what was attested.
    repo = merged["repo"]
    repo.git("checkout", "-q", "main")
    text = (repo.path / SOURCE).read_text()
    lines = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if merged["other"] in line)
    repo.write(SOURCE, "".join(lines[:start] + lines[start + 4 :]))
    repo.git("commit", "-q", "--amend", "--no-edit", "-a")
    merged["sha"] = repo.head()

    planned, applied, _ = plan_and_apply(merged, tmp_path)

    assert planned.returncode != 0
    assert world.status("victim", merged["other"]) == "Inactive"
    assert world.status("victim", merged["victim"]) == "Inactive"
    assert world.sts.session_actions("DeleteAccessKey") == []
    assert applied.returncode != 0


def test_the_deletion_session_cannot_delete_another_users_key(world: AwsWorld) -> None:
    from bot.deploy.aws_key_deletion import AwsAccessKeyDeletion

    victim = world.user_with_key("victim")
    bystander = world.user_with_key("bystander")
    world.set_status("victim", victim, "Inactive")
    base = world.target({victim: ("victim", "Inactive")})
    target = type(base)(
        kind=base.kind,
        environment=base.environment,
        objects=base.objects,
        pre_image={victim: {**base.pre_image[victim], "status": "Inactive"}},
        desired={victim: None},
        location=base.location,
        source=base.source,
        deletion=True,
    )
    context = world.context()
    arn = f"arn:aws:iam::{ACCOUNT}:role/{DELETION_ROLE_NAME}"
    settings = context.settings.model_copy(update={"aws_deletion_role_arn": arn})
    # The role itself may do anything to any user: only the session policy narrows it.
    iam = world.sts.admin("iam")
    wide = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}],
    }
    iam.put_role_policy(
        RoleName=DELETION_ROLE_NAME, PolicyName="wide", PolicyDocument=json.dumps(wide)
    )

    def staging_token(audience: str) -> str:
        minted = world.issuer.deploy_token(environment="staging", aud=audience)
        world.tokens.append(minted)
        return minted

    staging = replace(context, environment="staging", settings=settings, oidc_token=staging_token)
    applier, grant = AwsAccessKeyDeletion.connect(target, staging)
    try:
        with pytest.raises(AwsCallError, match="AccessDenied"):
            applier.call("DeleteAccessKey", UserName="bystander", AccessKeyId=bystander)
    finally:
        grant.revoke()
    assert world.status("bystander", bystander) == "Active"
    [denied] = world.sts.session_actions("DeleteAccessKey")
    assert (denied.user, denied.outcome) == ("bystander", "AccessDenied")
