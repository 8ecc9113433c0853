"""The documented AWS templates (``docs/examples/aws/``), loaded into moto roles: only the
deploy job's token, from the trusted issuer, for this repository, its environment and its
deploy workflow, obtains credentials. The LocalSTS front performs the checks STS performs
(signature against the issuer's JWKS, expiry, audience, trust conditions, duration, policy
size), so each refusal here is the one AWS gives."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_world import EXAMPLES, ROLE_ARN, AwsWorld, aws_world, create_role, template
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from local_sts import ACCOUNT, REGION
from oidc_issuer import REPOSITORY, new_key


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsWorld]:
    with aws_world(monkeypatch) as made:
        yield made


def _assume(world: AwsWorld, token: str, role_arn: str = ROLE_ARN, **extra: Any) -> Any:
    sts = boto3.client(
        "sts",
        endpoint_url=world.sts.url,
        region_name=REGION,
        config=Config(signature_version=UNSIGNED, parameter_validation=False),
    )
    return sts.assume_role_with_web_identity(
        RoleArn=role_arn, RoleSessionName="mendbot-test-production", WebIdentityToken=token, **extra
    )


def _refusal(world: AwsWorld, token: str, **extra: Any) -> str:
    with pytest.raises(ClientError) as refused:
        _assume(world, token, **extra)
    assert world.sts.sessions == {}
    error = refused.value.response["Error"]
    assert token not in str(refused.value)
    return f"{error['Code']}: {error['Message']}"


def test_the_deploy_jobs_token_obtains_credentials(world: AwsWorld) -> None:
    answer = _assume(world, world.issuer.deploy_token(), DurationSeconds=900)
    assert answer["AssumedRoleUser"]["Arn"] == (
        f"arn:aws:sts::{ACCOUNT}:assumed-role/mendbot-deploy-production-iam-keys/"
        "mendbot-test-production"
    )
    assert list(world.sts.sessions) == [answer["Credentials"]["AccessKeyId"]]
    assert "/.well-known/jwks" in world.issuer.hits


REFUSED = {
    "the analysis job (another workflow, no environment)": (
        lambda issuer: issuer.analysis_token(),
        "AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity",
    ),
    "a pull request": (
        lambda issuer: issuer.pull_request_token(),
        "AccessDenied: Not authorized",
    ),
    "another repository's deploy job": (
        lambda issuer: issuer.deploy_token(repository="octo-org/other-repo", repository_id="99"),
        "AccessDenied: Not authorized",
    ),
    "the same repository name with another id (recreated)": (
        lambda issuer: issuer.deploy_token(repository_id="75"),
        "AccessDenied: Not authorized",
    ),
    "another environment": (
        lambda issuer: issuer.deploy_token(environment="staging"),
        "AccessDenied: Not authorized",
    ),
    "another workflow under the production environment": (
        lambda issuer: issuer.deploy_token(
            job_workflow_ref=f"{REPOSITORY}/.github/workflows/release.yml@refs/heads/main",
            workflow_ref=f"{REPOSITORY}/.github/workflows/release.yml@refs/heads/main",
        ),
        "AccessDenied: Not authorized",
    ),
    "the deploy workflow from a branch": (
        lambda issuer: issuer.deploy_token(
            job_workflow_ref=f"{REPOSITORY}/.github/workflows/mendbot-deploy.yml@refs/heads/x"
        ),
        "AccessDenied: Not authorized",
    ),
    "a token for another audience": (
        lambda issuer: issuer.deploy_token(aud="https://github.com/octo-org"),
        "InvalidIdentityToken: Incorrect token audience",
    ),
    "a token signed by another key": (
        lambda issuer: issuer.deploy_token(signing_key=new_key()),
        "InvalidIdentityToken: The token's signature could not be verified",
    ),
    "an expired token": (
        lambda issuer: issuer.deploy_token(
            iat=int(time.time()) - 900, nbf=int(time.time()) - 900, exp=int(time.time()) - 60
        ),
        "ExpiredTokenException: Token expired",
    ),
    "a token from an issuer the account does not trust": (
        lambda issuer: issuer.deploy_token(iss="https://token.actions.example.net"),
        "InvalidIdentityToken: No OpenIDConnect provider found",
    ),
    "a token without a subject": (
        lambda issuer: issuer.deploy_token(sub=None),
        "InvalidIdentityToken",
    ),
    "not a JWT": (
        lambda issuer: "not-a-jwt-at-all",
        "InvalidIdentityToken: The token is not a JWT",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_only_the_deploy_job_is_trusted(world: AwsWorld, case: str) -> None:
    mint, why = REFUSED[case]
    assert _refusal(world, mint(world.issuer)).startswith(why)


def test_the_immutable_subject_form_is_pinned_as_the_repository_uses_it(
    world: AwsWorld,
) -> None:
    trust = template(
        "mendbot-deploy-trust-policy.json",
        world.issuer.host,
        OWNER="octo-org@65",
        REPO="octo-repo@74",
    )
    # job_workflow_ref keeps the plain names; only sub carries the ids.
    conditions = trust["Statement"][0]["Condition"]["StringEquals"]
    key = f"{world.issuer.host}:job_workflow_ref"
    conditions[key] = conditions[key].replace("octo-org@65/octo-repo@74", REPOSITORY)
    role = create_role(world.sts, world.issuer, trust, "mendbot-deploy-immutable")

    assert _assume(world, world.issuer.deploy_token(immutable=True), role)["Credentials"]
    with pytest.raises(ClientError, match="AccessDenied"):
        _assume(world, world.issuer.deploy_token(), role)


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        ({"DurationSeconds": 600}, "ValidationError: 1 validation error detected: Value '600'"),
        ({"DurationSeconds": 7200}, "ValidationError: The requested DurationSeconds exceeds"),
        ({"Policy": json.dumps({"Statement": ["x" * 2100]})}, "ValidationError: .*2048"),
        ({"Policy": "{not json"}, "MalformedPolicyDocument"),
    ],
)
def test_sts_limits_are_enforced(world: AwsWorld, extra: dict[str, Any], why: str) -> None:
    import re

    assert re.match(why, _refusal(world, world.issuer.deploy_token(), **extra))


def test_the_trust_template_pins_everything_in_one_statement() -> None:
    trust = json.loads((EXAMPLES / "mendbot-deploy-trust-policy.json").read_text())
    (statement,) = trust["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert set(statement["Condition"]) == {"StringEquals"}
    assert sorted(key.rsplit(":", 1)[1] for key in statement["Condition"]["StringEquals"]) == [
        "aud",
        "job_workflow_ref",
        "repository_id",
        "sub",
    ]
    assert "ForAllValues" not in json.dumps(trust)
    assert (
        ":environment:"
        in statement["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"]
    )


def test_the_role_template_is_a_ceiling_without_delete() -> None:
    role = json.loads((EXAMPLES / "mendbot-deploy-role-policy.json").read_text())
    actions = [a for s in role["Statement"] for a in s["Action"]]
    assert sorted(actions) == [
        "iam:GetAccessKeyLastUsed",
        "iam:ListAccessKeys",
        "iam:UpdateAccessKey",
    ]
    assert all(s["Effect"] == "Allow" for s in role["Statement"])
    assert [s["Resource"] for s in role["Statement"]] == ["arn:aws:iam::<ACCOUNT_ID>:user/*"]


def _session_iam(world: AwsWorld, policy: dict[str, Any]) -> Any:
    answer = _assume(world, world.issuer.deploy_token(), Policy=json.dumps(policy))
    credentials = answer["Credentials"]
    return boto3.client(
        "iam",
        endpoint_url=world.sts.url,
        region_name=REGION,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        config=Config(retries={"max_attempts": 1}),
    )


def test_the_front_enforces_the_session_policys_time_bound_and_the_expiry(
    world: AwsWorld,
) -> None:
    """What moto ignores: a session policy's aws:CurrentTime bound, then the session's end."""
    world.user_with_key("victim")
    bound = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 120))
    iam = _session_iam(
        world,
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "iam:ListAccessKeys",
                    "Resource": f"arn:aws:iam::{ACCOUNT}:user/victim",
                    "Condition": {"DateLessThan": {"aws:CurrentTime": bound}},
                }
            ],
        },
    )
    assert len(iam.list_access_keys(UserName="victim")["AccessKeyMetadata"]) == 1
    world.sts.advance(180)
    with pytest.raises(ClientError, match="AccessDenied"):
        iam.list_access_keys(UserName="victim")
    world.sts.advance(3600)
    with pytest.raises(ClientError, match="ExpiredToken"):
        iam.list_access_keys(UserName="victim")


def test_the_front_applies_deny_statements_and_needs_an_allow(world: AwsWorld) -> None:
    world.user_with_key("victim")
    victim = f"arn:aws:iam::{ACCOUNT}:user/victim"
    iam = _session_iam(
        world,
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "iam:*", "Resource": "*"},
                {"Effect": "Deny", "Action": "iam:ListAccessKeys", "Resource": victim},
            ],
        },
    )
    with pytest.raises(ClientError, match="AccessDenied"):
        iam.list_access_keys(UserName="victim")
    calls = [c.outcome for c in world.sts.calls if c.caller == "session"]
    assert calls == ["AccessDenied"]
