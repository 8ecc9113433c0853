"""The ``aws-iam-access-key`` applier end to end: the real applier built by ``connect`` (OIDC
token from the loopback issuer, ``AssumeRoleWithWebIdentity`` through the LocalSTS front, the
documented trust and role policies in moto), run by ``deploy_change``, checked against moto's
live state. Every test also checks that no token, secret access key or session token shows up
in the step, the exception, the logs or the grant."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from aws_world import ENVIRONMENT, ROLE_ARN, SOURCE, AwsWorld, aws_world
from botocore.exceptions import ClientError

from bot.deploy.applier import Target, Verdict
from bot.deploy.appliers import applier_for
from bot.deploy.aws_access_keys import AccessKeyTargetError, AwsAccessKeys
from bot.deploy.aws_credentials import AwsCredentialError, AwsGrant
from bot.deploy.lifecycle import Outcome, Step, deploy_change
from bot.deploy.session_policy import SessionPolicyError
from bot.deploy.targets import targets_of
from bot.errors import MendbotError
from bot.provenance.changes import RawEntry
from bot.risk import Reversibility
from local_sts import ACCOUNT


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> Iterator[AwsWorld]:
    caplog.set_level(logging.DEBUG)
    with aws_world(monkeypatch) as made:
        yield made


def _texts(step: Step | None = None, *more: object) -> str:
    parts = [str(item) for item in more]
    if step is not None:
        parts += [*step.reasons, json.dumps(step.before, default=str)]
        if step.validation is not None:
            parts += list(step.validation.checks)
    return "\n".join(parts)


def _assert_no_secret(world: AwsWorld, caplog: pytest.LogCaptureFixture, *texts: str) -> None:
    secrets = world.secrets()
    assert world.tokens, "the test never obtained a token"
    out = "\n".join([*texts, caplog.text])
    for secret in secrets:
        assert secret and secret not in out


def _deploy(world: AwsWorld, target: Target, **context: object) -> tuple[Step, AwsGrant]:
    applier, grant = applier_for(target.kind).connect(target, world.context(**context))  # type: ignore[arg-type]
    assert isinstance(grant, AwsGrant)
    return deploy_change(applier, target), grant


def _session_writes(world: AwsWorld) -> list[str]:
    return [f"{c.user}:{c.outcome}" for c in world.sts.session_actions("UpdateAccessKey")]


def test_the_registry_names_the_applier() -> None:
    assert applier_for("aws-iam-access-key") is AwsAccessKeys
    assert AwsAccessKeys.reversibility is Reversibility.REVERSIBLE


def test_an_unused_key_is_deactivated_and_nothing_else_changes(
    world: AwsWorld, caplog: pytest.LogCaptureFixture
) -> None:
    victim = world.user_with_key("victim")
    victim_other = world.user_with_key("victim")
    bystander = world.user_with_key("bystander")
    target = world.target({victim: ("victim", "Inactive")})

    step, grant = _deploy(world, target)

    assert step.outcome is Outcome.APPLIED, step.reasons
    assert world.status("victim", victim) == "Inactive"
    assert world.status("victim", victim_other) == "Active"
    assert world.status("bystander", bystander) == "Active"
    assert step.before is not None and step.before[victim]["status"] == "Active"
    assert step.validation is not None and step.validation.verdict is Verdict.PASSED
    assert step.validation.checks[0] == f"{victim} of victim reads back Inactive"
    assert "watched for 72 hours (deploy.observation_hours)" in step.validation.checks[1]
    assert _session_writes(world) == ["victim:forwarded"]

    authority = grant.authority
    assert authority.credential_type == "aws-sts-web-identity"
    assert authority.principal == ROLE_ARN
    assert authority.session_name == "mendbot-7f3a9c21-production"
    assert authority.scope["Statement"][0]["Sid"] == "Chg7f3a9c21"
    expires = datetime.fromisoformat(authority.expires_at.replace("Z", "+00:00"))
    assert timedelta(minutes=14) < expires - datetime.now(UTC) <= timedelta(minutes=15)
    statement = authority.scope["Statement"][0]
    assert statement["Resource"] == [f"arn:aws:iam::{ACCOUNT}:user/victim"]
    assert statement["Action"] == [
        "iam:UpdateAccessKey",
        "iam:ListAccessKeys",
        "iam:GetAccessKeyLastUsed",
    ]
    assert authority.scope_digest.startswith("sha256:")
    session = world.sts.sessions[next(iter(world.sts.sessions))]
    assert session.subject == f"repo:octo-org/octo-repo:environment:{ENVIRONMENT}"
    assert session.policy == authority.scope
    _assert_no_secret(
        world,
        caplog,
        _texts(step, repr(grant), repr(grant.session), json.dumps(authority.scope), authority),
    )


def _inventory(statuses: dict[str, tuple[str, str]]) -> bytes:
    """The desired-state file the analysis writes: every key of the account as IAM lists it."""
    lines = ["kind: aws-iam-access-key", "version: 1", f'account: "{ACCOUNT}"', "keys:"]
    for key_id, (user, status) in statuses.items():
        lines += [f"  - id: {key_id}", f"    user: {user}", f"    status: {status}"]
        lines += ["    last_used: {date: null, service: null, region: null}"]
    return ("\n".join(lines) + "\n").encode()


def test_a_planned_change_of_real_desired_state_files_is_deployed(
    world: AwsWorld, caplog: pytest.LogCaptureFixture
) -> None:
    """The deploy plan's own target for a merge that sets one key Inactive in the file."""
    victim = world.user_with_key("victim")
    bystander = world.user_with_key("bystander")
    before = _inventory({victim: ("victim", "Active"), bystander: ("bystander", "Active")})
    after = _inventory({victim: ("victim", "Inactive"), bystander: ("bystander", "Active")})
    entry = RawEntry(
        src_mode="100644",
        dst_mode="100644",
        src_id="1" * 40,
        dst_id="2" * 40,
        status="M",
        path=SOURCE,
    )
    [target] = targets_of(
        [entry], {SOURCE: (before, after)}, {ENVIRONMENT: [".mendbot/desired/**"]}
    )
    assert isinstance(target, Target) and target.objects == (victim,)

    step, _ = _deploy(world, target)

    assert step.outcome is Outcome.APPLIED, step.reasons
    assert world.status("victim", victim) == "Inactive"
    assert world.status("bystander", bystander) == "Active"
    _assert_no_secret(world, caplog, _texts(step))


def test_the_session_policy_denies_a_bystander_with_the_granted_credentials(
    world: AwsWorld, caplog: pytest.LogCaptureFixture
) -> None:
    victim = world.user_with_key("victim")
    bystander = world.user_with_key("bystander")
    target = world.target({victim: ("victim", "Inactive")})
    _, grant = AwsAccessKeys.connect(target, world.context())
    iam = grant.session.client("iam")

    with pytest.raises(ClientError, match="AccessDenied") as denied:
        iam.update_access_key(UserName="bystander", AccessKeyId=bystander, Status="Inactive")
    assert "user/bystander because no session policy allows" in str(denied.value)
    with pytest.raises(ClientError, match="AccessDenied"):
        iam.get_access_key_last_used(AccessKeyId=bystander)
    with pytest.raises(ClientError, match="AccessDenied"):
        iam.delete_access_key(UserName="victim", AccessKeyId=victim)
    assert world.status("bystander", bystander) == "Active"
    assert world.status("victim", victim) == "Active"
    _assert_no_secret(world, caplog, str(denied.value))


def test_the_role_policy_is_the_ceiling_a_session_policy_cannot_raise(world: AwsWorld) -> None:
    """moto enforces the role's policy: a session policy granting DeleteAccessKey (the front
    lets it pass) still cannot delete, because the role never allows it."""
    victim = world.user_with_key("victim")
    target = world.target({victim: ("victim", "Inactive")})
    _, grant = AwsAccessKeys.connect(target, world.context())
    session = world.sts.sessions[next(iter(world.sts.sessions))]
    assert session.policy is not None
    session.policy["Statement"][0]["Action"].append("iam:DeleteAccessKey")
    with pytest.raises(ClientError, match="AccessDenied") as denied:
        grant.session.client("iam").delete_access_key(UserName="victim", AccessKeyId=victim)
    assert "no session policy" not in str(denied.value)
    assert world.status("victim", victim) == "Active"


def test_a_key_used_before_the_analysis_is_still_deactivated(world: AwsWorld) -> None:
    victim = world.user_with_key("victim")
    world.use_key(victim)
    target = world.target({victim: ("victim", "Inactive")})
    assert target.pre_image[victim]["last_used"]["date"] is not None

    step, _ = _deploy(world, target)

    assert step.outcome is Outcome.APPLIED, step.reasons
    assert world.status("victim", victim) == "Inactive"


def _already_inactive(world: AwsWorld, user: str, key: str) -> None:
    world.set_status(user, key, "Inactive")


def _used_since(world: AwsWorld, user: str, key: str) -> None:
    world.use_key(key)


def _gone(world: AwsWorld, user: str, key: str) -> None:
    world.iam.delete_access_key(UserName=user, AccessKeyId=key)


DRIFT = {
    "already inactive": (_already_inactive, "is Inactive, the analysis saw Active"),
    "used since": (_used_since, "was used at .* after the analysis saw no use"),
    "gone": (_gone, "is not an access key of IAM user victim any more"),
}


@pytest.mark.parametrize("case", sorted(DRIFT))
def test_drift_applies_nothing(
    world: AwsWorld, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    victim = world.user_with_key("victim")
    target = world.target({victim: ("victim", "Inactive")})
    change, why = DRIFT[case]
    change(world, "victim", victim)
    expected = world.status("victim", victim)

    step, _ = _deploy(world, target)

    assert step.outcome is Outcome.DRIFT
    assert any(re.search(why, reason) for reason in step.reasons), step.reasons
    assert world.status("victim", victim) == expected
    assert _session_writes(world) == []
    _assert_no_secret(world, caplog, _texts(step))


def test_a_key_of_another_user_is_drift_and_that_user_is_never_read(world: AwsWorld) -> None:
    """The plan says the key belongs to alice; it belongs to mallory. The session can only
    see alice, so the key is not found there and nothing is written to anyone."""
    world.user_with_key("alice")
    mallorys = world.user_with_key("mallory")
    pre = world.pre_image("alice", mallorys)
    target = world.target(
        {mallorys: ("alice", "Inactive")},
        pre_image={mallorys: pre},
        desired={mallorys: {**pre, "status": "Inactive"}},
    )

    step, grant = _deploy(world, target)

    assert step.outcome is Outcome.DRIFT
    assert "is not an access key of IAM user alice" in step.reasons[0]
    assert world.status("mallory", mallorys) == "Active"
    assert _session_writes(world) == []
    assert grant.authority.scope["Statement"][0]["Resource"] == [
        f"arn:aws:iam::{ACCOUNT}:user/alice"
    ]
    assert [c.user for c in world.sts.calls if c.caller == "session"] == ["alice"]


@pytest.mark.parametrize("mode", ["error", "lost-answer"])
def test_a_failed_update_is_compensated(
    world: AwsWorld, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    victim = world.user_with_key("victim")
    target = world.target({victim: ("victim", "Inactive")})
    world.sts.fail("UpdateAccessKey", mode=mode)

    step, _ = _deploy(world, target)

    assert step.outcome is Outcome.COMPENSATED
    assert "iam:UpdateAccessKey failed: ConcurrentModification" in step.reasons[0]
    assert step.reasons[1] == "the snapshot was restored"
    assert world.status("victim", victim) == "Active"
    assert _session_writes(world) == [f"victim:injected:{mode}", "victim:forwarded"]
    _assert_no_secret(world, caplog, _texts(step))


def test_a_status_that_does_not_read_back_is_compensated(
    world: AwsWorld, caplog: pytest.LogCaptureFixture
) -> None:
    victim = world.user_with_key("victim")
    target = world.target({victim: ("victim", "Inactive")})
    world.sts.fail("UpdateAccessKey", mode="swallow")

    step, _ = _deploy(world, target)

    assert step.outcome is Outcome.COMPENSATED
    assert step.validation is not None and step.validation.verdict is Verdict.FAILED
    assert step.validation.checks == (f"{victim} of victim reads back Active, Inactive was asked",)
    assert world.status("victim", victim) == "Active"
    _assert_no_secret(world, caplog, _texts(step))


def test_a_failed_restore_is_reported(world: AwsWorld, caplog: pytest.LogCaptureFixture) -> None:
    victim = world.user_with_key("victim")
    target = world.target({victim: ("victim", "Inactive")})
    world.sts.fail("UpdateAccessKey", mode="lost-answer")
    world.sts.fail("UpdateAccessKey", code="ServiceFailure", message="IAM is down", status=400)

    step, _ = _deploy(world, target)

    assert step.outcome is Outcome.COMPENSATION_FAILED
    assert "restoring the snapshot failed" in step.reasons[1]
    assert "ServiceFailure: IAM is down" in step.reasons[1]
    # The honest state: the key is off and the record says the restore failed.
    assert world.status("victim", victim) == "Inactive"
    _assert_no_secret(world, caplog, _texts(step))


def test_credentials_expiring_before_the_write_change_nothing(
    world: AwsWorld, caplog: pytest.LogCaptureFixture
) -> None:
    victim = world.user_with_key("victim")
    target = world.target({victim: ("victim", "Inactive")})
    world.sts.fail("UpdateAccessKey", mode="expire")

    step, _ = _deploy(world, target)

    assert step.outcome is Outcome.COMPENSATED
    assert "iam:UpdateAccessKey failed: ExpiredToken" in step.reasons[0]
    assert world.status("victim", victim) == "Active"
    # AWS refused the write unread, so there was nothing to restore and nothing is sent.
    assert _session_writes(world) == ["victim:ExpiredToken"]
    _assert_no_secret(world, caplog, _texts(step))


def test_credentials_expiring_mid_apply_are_reported_with_the_key_left_off(
    world: AwsWorld, caplog: pytest.LogCaptureFixture
) -> None:
    first = world.user_with_key("victim")
    second = world.user_with_key("build-bot")
    target = world.target({first: ("victim", "Inactive"), second: ("build-bot", "Inactive")})
    world.sts.fail("UpdateAccessKey", mode="expire", skip=1)

    step, _ = _deploy(world, target)

    assert step.outcome is Outcome.COMPENSATION_FAILED
    assert "ExpiredToken" in step.reasons[0] and "ExpiredToken" in step.reasons[1]
    assert world.status("victim", first) == "Inactive"
    assert world.status("build-bot", second) == "Active"
    assert _session_writes(world) == [
        "victim:forwarded",
        "build-bot:ExpiredToken",
        "victim:ExpiredToken",
    ]
    _assert_no_secret(world, caplog, _texts(step))


def test_keys_of_two_users_are_deactivated_in_one_session(world: AwsWorld) -> None:
    first = world.user_with_key("victim")
    second = world.user_with_key("build-bot")
    target = world.target({first: ("victim", "Inactive"), second: ("build-bot", "Inactive")})

    step, grant = _deploy(world, target)

    assert step.outcome is Outcome.APPLIED, step.reasons
    assert (world.status("victim", first), world.status("build-bot", second)) == (
        "Inactive",
        "Inactive",
    )
    assert grant.authority.scope["Statement"][0]["Resource"] == [
        f"arn:aws:iam::{ACCOUNT}:user/build-bot",
        f"arn:aws:iam::{ACCOUNT}:user/victim",
    ]
    assert len(world.sts.sessions) == 1


def test_reactivating_a_key_restores_it(world: AwsWorld) -> None:
    """A revert of a deactivation is a change like any other: Inactive back to Active."""
    victim = world.user_with_key("victim")
    world.set_status("victim", victim, "Inactive")
    pre = world.pre_image("victim", victim, status="Inactive")
    target = world.target(
        {victim: ("victim", "Active")},
        pre_image={victim: pre},
        desired={victim: {**pre, "status": "Active"}},
    )

    step, _ = _deploy(world, target)

    assert step.outcome is Outcome.APPLIED, step.reasons
    assert step.validation is not None
    assert step.validation.checks == (f"{victim} of victim reads back Active",)
    assert world.status("victim", victim) == "Active"


def test_sts_refusing_fails_before_any_iam_call(
    world: AwsWorld, caplog: pytest.LogCaptureFixture
) -> None:
    victim = world.user_with_key("victim")
    target = world.target({victim: ("victim", "Inactive")})
    token = world.issuer.deploy_token()
    world.sts.refuse_sts(code="AccessDenied", message=f"rejected web identity token {token}")

    with pytest.raises(AwsCredentialError) as refused:
        AwsAccessKeys.connect(target, world.context(token=lambda audience: token))

    text = refused.value.diagnostics()
    assert refused.value.exit_code == 2
    assert f"STS refused AssumeRoleWithWebIdentity on {ROLE_ARN}: AccessDenied" in text
    assert "rejected web identity token [redacted]" in text
    assert refused.value.__cause__ is None
    assert [c for c in world.sts.calls if c.caller == "session"] == []
    assert world.status("victim", victim) == "Active"
    _assert_no_secret(world, caplog, text, repr(refused.value))


def test_the_analysis_jobs_token_gets_no_credentials(
    world: AwsWorld, caplog: pytest.LogCaptureFixture
) -> None:
    victim = world.user_with_key("victim")
    target = world.target({victim: ("victim", "Inactive")})

    with pytest.raises(AwsCredentialError, match="AccessDenied: Not authorized") as refused:
        AwsAccessKeys.connect(
            target, world.context(token=lambda aud: world.issuer.analysis_token(aud=aud))
        )

    assert world.sts.sessions == {}
    assert world.status("victim", victim) == "Active"
    _assert_no_secret(world, caplog, refused.value.diagnostics())


def test_no_role_configured_asks_for_nothing(world: AwsWorld) -> None:
    victim = world.user_with_key("victim")
    target = world.target({victim: ("victim", "Inactive")})

    with pytest.raises(AwsCredentialError) as missing:
        AwsAccessKeys.connect(target, world.context(role_arn=None))

    assert "deploy.environments.production.aws_role_arn is not set" in str(missing.value)
    assert ".github/mendbot.yml" in str(missing.value)
    assert world.tokens == []
    assert [c for c in world.sts.calls if c.action == "AssumeRoleWithWebIdentity"] == []


def test_a_policy_over_2048_characters_is_refused_before_sts(world: AwsWorld) -> None:
    keys = {f"AKIA{n:016d}": (f"service-account-number-{n:03d}", "Inactive") for n in range(40)}
    pre = {k: {"user": u, "status": "Active"} for k, (u, _) in keys.items()}
    desired = {k: {"user": u, "status": s} for k, (u, s) in keys.items()}
    target = world.target({}, objects=tuple(keys), pre_image=pre, desired=desired)

    with pytest.raises(SessionPolicyError, match="AWS allows 2048"):
        AwsAccessKeys.connect(target, world.context())

    assert world.tokens == []
    assert world.sts.calls == [c for c in world.sts.calls if c.caller == "admin"]


@pytest.mark.parametrize(
    ("before", "after", "why"),
    [
        ({"user": "victim", "status": "Active"}, None, "removes access key"),
        (None, {"user": "victim", "status": "Active"}, "adds access key"),
        (
            {"user": "victim", "status": "Active"},
            {"user": "mallory", "status": "Active"},
            "moves from user /victim to /mallory",
        ),
        (
            {"user": "victim", "status": "Active"},
            {"user": "victim", "status": "Deleted"},
            "status 'Deleted' is not Active or Inactive",
        ),
    ],
)
def test_anything_but_a_status_change_is_refused_before_any_call(
    world: AwsWorld, before: dict[str, str] | None, after: dict[str, str] | None, why: str
) -> None:
    key = "AKIA0000000000000001"
    target = world.target(
        {},
        objects=(key,),
        pre_image={key: before} if before else {},
        desired={key: after} if after else {},
    )
    with pytest.raises(AccessKeyTargetError, match=why) as refused:
        AwsAccessKeys.connect(target, world.context())
    assert isinstance(refused.value, MendbotError) and refused.value.exit_code == 2
    assert world.tokens == []


def test_keys_of_another_account_than_the_roles_are_refused_before_any_call(
    world: AwsWorld,
) -> None:
    victim = world.user_with_key("victim")
    target = world.target({victim: ("victim", "Inactive")}, location={"account": "999999999999"})
    with pytest.raises(AccessKeyTargetError, match="in account 999999999999") as refused:
        AwsAccessKeys.connect(target, world.context())
    assert f"is a role of account {ACCOUNT}" in str(refused.value)
    assert world.tokens == []


def test_boto3_is_loaded_only_by_the_aws_modules() -> None:
    code = (
        "import sys, bot.deploy.appliers, bot.deploy.lifecycle, bot.cli.app\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"
    version = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "bot.cli.app", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "boto3" not in version.stderr
