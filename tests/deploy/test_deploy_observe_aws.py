"""``mendbot deploy observe`` of a deactivated IAM access key, as the scheduled job runs it: a
merged remediation sets a key ``Inactive`` (real ``mendbot deploy plan``/``apply``, moto behind
the LocalSTS front, the loopback OIDC issuer); later observe processes read the signed records,
get fresh credentials of the same scope, and watch the key for use. Everything is read back from
disk, moto, and the local forge."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aws_world import SOURCE, AwsWorld, aws_world, create_role, template
from botocore.exceptions import ClientError
from deploy_scenario import DEPLOY_NOW, frozen
from observe_scenario import SUFFIX, Deployed, at, merge_desired_change, predicate

from bot.deploy.record import sign_record
from bot.protocol import ROLLBACK_EVENT
from bot.provenance.signing.signers import KeySigner
from local_sts import ACCOUNT

ROLE_NAME = "mendbot-deploy-staging-iam-keys"
MENDBOT_YML = f"""\
environments:
  staging: [".mendbot/desired/aws-iam-access-key/*"]
deploy:
  observation_hours: 72
  environments:
    staging:
      aws_role_arn: arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}
      aws_region: us-east-1
"""


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsWorld]:
    with aws_world(monkeypatch) as made:
        trust = template(
            "mendbot-deploy-trust-policy.json", made.issuer.host, ENVIRONMENT="staging"
        )
        create_role(made.sts, made.issuer, trust, ROLE_NAME)
        made.sts.offset = DEPLOY_NOW - datetime.now(UTC)
        yield made


def _inventory(keys: dict[str, tuple[str, str]]) -> bytes:
    lines = ["kind: aws-iam-access-key", "version: 1", f'account: "{ACCOUNT}"', "keys:"]
    for key_id, (user, status) in keys.items():
        lines += [f"  - id: {key_id}", f"    user: {user}", f"    status: {status}"]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def deactivated(
    world: AwsWorld, make_repo: Any, signing_key: Any, tmp_path: Path
) -> tuple[Deployed, str, str]:
    """The victim's key deactivated by a real deploy (the bystander's left alone)."""
    victim = world.user_with_key("victim")
    bystander = world.user_with_key("bystander")
    deployed = merge_desired_change(
        make_repo,
        signing_key,
        tmp_path,
        source=SOURCE,
        before=_inventory({victim: ("victim", "Active"), bystander: ("bystander", "Active")}),
        after=_inventory({victim: ("victim", "Inactive"), bystander: ("bystander", "Active")}),
        mendbot_yml=MENDBOT_YML,
        rule="nhi-aws-unused-access-key",
        title=f"Deactivate the unused access key {victim}",
    )
    deployed.token = tmp_path / "oidc-token"
    deployed.token.write_text(world.issuer.deploy_token(environment="staging"))
    world.tokens.append(deployed.token.read_text())
    applied = deployed.deploy()
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert world.status("victim", victim) == "Inactive"
    [record] = deployed.record_files()
    assert predicate(record)["validation"]["result"] == "passed"
    return deployed, victim, bystander


def _assert_no_secret(world: AwsWorld, deployed: Deployed) -> None:
    everything = "\n".join(deployed.texts())
    assert world.tokens and world.sts.sessions
    for secret in [*world.secrets(), *world.key_secrets.values()]:
        assert secret not in everything


def test_a_key_used_after_its_deactivation_is_reactivated_and_rolled_back(
    world: AwsWorld, deactivated: tuple[Deployed, str, str]
) -> None:
    deployed, victim, bystander = deactivated
    before = set(world.sts.sessions)

    watching = deployed.observe(at(1))

    assert watching.returncode == 0, watching.stdout + watching.stderr
    assert watching.stdout.startswith("watching")
    _assert_scoped_to_victim(world, before, bystander)
    [first] = deployed.follow_ups()
    seen = predicate(first)
    assert (seen["outcome"], seen["validation"]["result"]) == ("applied", "not-observable")
    assert seen["observes"]["final"] is False
    assert at(72) <= seen["observes"]["windowEndsAt"] < at(72.1)  # observation_hours: 72
    assert f"{victim} of victim: no use since its deactivation" in seen["validation"]["checks"][0]
    assert deployed.verify(first).returncode == 0

    again = deployed.observe(at(2))

    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.startswith("unchanged")
    assert deployed.follow_ups() == [first]

    # The key's owner still needed it: switched back on by hand, used, switched off again.
    world.set_status("victim", victim, "Active")
    world.use_key(victim)
    world.set_status("victim", victim, "Inactive")
    assert world.last_used(victim) is not None

    caught = deployed.observe(at(3))

    assert caught.returncode == 1, caught.stdout + caught.stderr
    assert caught.stdout.startswith("compensated")
    assert "rollback request dispatched; staging is frozen" in caught.stdout
    assert world.status("victim", victim) == "Active"
    [request] = deployed.forge.dispatches()
    assert request["event_type"] == ROLLBACK_EVENT
    assert request["client_payload"]["sha"] == deployed.sha
    assert request["client_payload"]["environment"] == "staging"
    [deployment] = deployed.forge.deployments("staging")
    assert (deployment.state, deployment.payload["outcome"]) == ("failure", "compensated")
    assert frozen(deployed.repo.path, deployed.forge.deployments()) == {"staging"}
    [_, regression] = deployed.follow_ups()
    found = predicate(regression)
    assert (found["outcome"], found["validation"]["result"]) == ("compensated", "failed")
    assert found["observes"]["final"] is True
    assert found["before"][victim]["status"] == "Active"
    assert found["after"][victim]["status"] == "Active"
    assert "after its deactivation" in found["validation"]["checks"][0]
    assert found["rollback"]["dispatched"] is True
    credential = found["authority"]["credential"]
    assert credential["scope"]["Statement"][0]["Resource"] == [
        f"arn:aws:iam::{ACCOUNT}:user/victim"
    ]
    verified = deployed.verify(regression)
    assert verified.returncode == 0, verified.stdout

    done = deployed.observe(at(4))

    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("done")
    assert len(deployed.follow_ups()) == 2
    assert len(deployed.forge.dispatches()) == 1
    _assert_no_secret(world, deployed)


def test_no_use_until_the_window_closes_passes_once(
    world: AwsWorld, deactivated: tuple[Deployed, str, str]
) -> None:
    deployed, victim, _ = deactivated

    closed = deployed.observe(at(73))

    assert closed.returncode == 0, closed.stdout + closed.stderr
    assert closed.stdout.startswith("passed")
    [record] = deployed.follow_ups()
    found = predicate(record)
    assert (found["outcome"], found["validation"]["result"]) == ("applied", "passed")
    assert found["observes"]["final"] is True
    assert "to the end of the observation window" in found["validation"]["checks"][0]
    assert deployed.verify(record).returncode == 0
    inconsistent = _resigned(deployed, record, windowEndsAt="2026-11-01T00:00:00Z")
    refused = deployed.verify(inconsistent)
    assert refused.returncode == 1
    assert "the observation window ends before the change was applied" in refused.stdout
    inconsistent.unlink()
    assert world.status("victim", victim) == "Inactive"

    sessions = len(world.sts.sessions)
    rerun = deployed.observe(at(74))

    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert rerun.stdout.startswith("done")
    assert deployed.follow_ups() == [record]
    assert len(world.sts.sessions) == sessions  # nothing left to decide: no credentials asked
    assert deployed.forge.dispatches() == []
    _assert_no_secret(world, deployed)


def test_a_key_changed_by_hand_since_is_reported_as_drift_and_left_alone(
    world: AwsWorld, deactivated: tuple[Deployed, str, str]
) -> None:
    deployed, victim, _ = deactivated
    world.set_status("victim", victim, "Active")  # a person switched it back on, unused

    drifted = deployed.observe(at(1))

    assert drifted.returncode == 1, drifted.stdout + drifted.stderr
    assert drifted.stdout.startswith("drift")
    assert "changed outside mendbot since, not set again" in drifted.stdout
    assert world.status("victim", victim) == "Active"
    assert world.sts.session_actions("UpdateAccessKey")[-1].outcome == "forwarded"
    assert len(world.sts.session_actions("UpdateAccessKey")) == 1  # the apply's, none since
    assert deployed.forge.dispatches() == []
    [record] = deployed.follow_ups()
    assert predicate(record)["outcome"] == "drift"
    assert deployed.verify(record).returncode == 0


def _assert_scoped_to_victim(world: AwsWorld, before: set[str], bystander: str) -> None:
    """The session observe obtained is the deploy role's, for the staging environment, and
    reaches the victim's user only: a call on the bystander's key with it is denied."""
    [fresh] = [world.sts.sessions[key] for key in set(world.sts.sessions) - before]
    assert fresh.subject == "repo:octo-org/octo-repo:environment:staging"
    assert fresh.policy is not None
    assert fresh.policy["Statement"][0]["Resource"] == [f"arn:aws:iam::{ACCOUNT}:user/victim"]
    client = world.sts.session_client(fresh)
    client.list_access_keys(UserName="victim")  # its own key's user: allowed
    with pytest.raises(ClientError, match="AccessDenied"):
        client.update_access_key(UserName="bystander", AccessKeyId=bystander, Status="Inactive")
    with pytest.raises(ClientError, match="AccessDenied"):
        client.get_access_key_last_used(AccessKeyId=bystander)
    assert world.status("bystander", bystander) == "Active"


def _resigned(deployed: Deployed, record: Path, **observes: Any) -> Path:
    """A copy of ``record`` with ``observes`` fields changed, signed again by the deploy key:
    what only a faulty deploy job could write."""
    statement = json.loads(
        base64.b64decode(json.loads(record.read_text())["dsseEnvelope"]["payload"])
    )
    statement["predicate"]["observes"].update(observes)
    with KeySigner.from_file(deployed.deploy_key) as signer:
        bundle = sign_record(statement, signer)
    copy = record.with_name("resigned" + SUFFIX)
    copy.write_bytes(bundle)
    return copy


def _tamper(record: Path) -> None:
    """Edit the signed statement (its validation result), keeping the signature."""
    bundle = json.loads(record.read_text())
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    statement["predicate"]["validation"]["result"] = "not-observable"
    payload = json.dumps(statement, sort_keys=True, separators=(",", ":")).encode()
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(payload).decode()
    record.write_text(json.dumps(bundle))


def test_records_that_do_not_verify_are_refused_and_never_acted_on(
    world: AwsWorld, deactivated: tuple[Deployed, str, str]
) -> None:
    deployed, victim, _ = deactivated
    [record] = deployed.record_files()
    unsigned = record.with_name("unsigned" + SUFFIX)
    bundle = json.loads(record.read_text())
    bundle["dsseEnvelope"]["signatures"] = []
    unsigned.write_text(json.dumps(bundle))
    _tamper(record)
    world.set_status("victim", victim, "Active")
    world.use_key(victim)
    world.set_status("victim", victim, "Inactive")
    calls = len(world.sts.calls)

    refused = deployed.observe(at(3))

    assert refused.returncode == 2, refused.stdout + refused.stderr
    for forged in (record, unsigned):
        assert f"refused    {forged}: not a verified deploy record" in refused.stdout
    assert "not acted on" in refused.stdout
    assert world.sts.calls[calls:] == []  # no credentials asked, no IAM call at all
    assert world.status("victim", victim) == "Inactive"
    assert deployed.follow_ups() == []
    assert deployed.forge.dispatches() == []
