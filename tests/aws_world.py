"""An AWS account for deploy tests: the loopback OIDC issuer, LocalSTS (moto behind its
checking front), an IAM OIDC provider for the issuer, and a deploy role made from the
documented templates in ``docs/examples/aws/``.

:func:`aws_world` yields an :class:`AwsWorld` whose helpers create users and keys, build the
``aws-iam-access-key`` :class:`~bot.deploy.applier.Target` the deploy plan would build, and the
:class:`~bot.deploy.applier.DeployContext` of the deploy job (its OIDC token from the issuer).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from bot.config import DeployEnvironment, DeploySettings
from bot.deploy.applier import DeployContext, Target
from local_sts import ACCOUNT, REGION, LocalSts
from local_sts import running as sts_running
from oidc_issuer import REPOSITORY, REPOSITORY_ID, STS_AUDIENCE, OidcIssuer
from oidc_issuer import running as issuer_running

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples" / "aws"
ENVIRONMENT = "production"
ROLE_NAME = "mendbot-deploy-production-iam-keys"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}"
SOURCE = f".mendbot/desired/aws-iam-access-key/{ACCOUNT}.yml"


def template(name: str, issuer_host: str, **values: str) -> dict[str, Any]:
    """A documented policy template with its placeholders filled in and GitHub's issuer
    replaced by the loopback issuer's host (what an account trusting it would hold)."""
    text = (EXAMPLES / name).read_text(encoding="utf-8")
    text = text.replace("token.actions.githubusercontent.com", issuer_host)
    owner, repo = REPOSITORY.split("/")
    defaults = {
        "ACCOUNT_ID": ACCOUNT,
        "OWNER": owner,
        "REPO": repo,
        "REPOSITORY_ID": REPOSITORY_ID,
        "ENVIRONMENT": ENVIRONMENT,
    }
    defaults.update(values)
    for placeholder, value in defaults.items():
        text = text.replace(f"<{placeholder}>", value)
    assert "<" not in text, f"{name}: a placeholder is left"
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def moto_role_policy(issuer_host: str) -> dict[str, Any]:
    """The documented role policy with ``Resource: "*"``: moto authorizes IAM user actions
    against ``*`` and so wrongly denies ``user/*`` (deploy-and-nhi.md §7b, probe b4); the user
    scope is enforced by the session policy, which the LocalSTS front checks."""
    policy = template("mendbot-deploy-role-policy.json", issuer_host)
    for statement in policy["Statement"]:
        statement["Resource"] = "*"
    return policy


@dataclass
class AwsWorld:
    """One account, its OIDC trust and deploy role, and helpers for deploy tests."""

    issuer: OidcIssuer
    sts: LocalSts
    iam: Any
    key_secrets: dict[str, str] = field(default_factory=dict)
    tokens: list[str] = field(default_factory=list)

    def user_with_key(self, user: str, path: str = "/") -> str:
        """Create ``user`` under ``path`` (if needed) with a new Active access key; its id."""
        try:
            self.iam.create_user(UserName=user, Path=path)
        except ClientError:
            pass
        key = self.iam.create_access_key(UserName=user)["AccessKey"]
        self.key_secrets[key["AccessKeyId"]] = key["SecretAccessKey"]
        return str(key["AccessKeyId"])

    def status(self, user: str, key_id: str) -> str | None:
        """The key's status in moto (read as the administrator)."""
        keys = self.iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
        return next((str(k["Status"]) for k in keys if k["AccessKeyId"] == key_id), None)

    def set_status(self, user: str, key_id: str, status: str) -> None:
        """Change a key as someone else would (drift)."""
        self.iam.update_access_key(UserName=user, AccessKeyId=key_id, Status=status)

    def use_key(self, key_id: str) -> None:
        """Make a call signed by the key, as its owner's software would: IAM records the use."""
        client = boto3.client(
            "iam",
            endpoint_url=self.sts.url,
            region_name=REGION,
            aws_access_key_id=key_id,
            aws_secret_access_key=self.key_secrets[key_id],
            config=Config(retries={"max_attempts": 1}),
        )
        try:
            client.list_users()
        except ClientError:
            pass  # denied or not, the key was used

    def last_used(self, key_id: str) -> str | None:
        """The key's last use as IAM reports it (ISO-8601), or None."""
        used = self.iam.get_access_key_last_used(AccessKeyId=key_id)["AccessKeyLastUsed"]
        moment = used.get("LastUsedDate")
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None

    def pre_image(self, user: str, key_id: str, status: str = "Active") -> dict[str, Any]:
        """What the analysis' inventory recorded for the key (the parent commit's file)."""
        return {
            "user": user,
            "status": status,
            "created": None,
            "last_used": {"date": self.last_used(key_id), "service": None, "region": None},
        }

    def target(self, changes: dict[str, tuple[str, str]], **overrides: Any) -> Target:
        """The deploy plan's target for ``key id -> (user, desired status)``, the pre-image
        taken from IAM now (what the analysis saw just before the merge)."""
        pre = {key: self.pre_image(user, key) for key, (user, _) in changes.items()}
        desired = {key: {**pre[key], "status": status} for key, (_, status) in changes.items()}
        values: dict[str, Any] = {
            "kind": "aws-iam-access-key",
            "environment": ENVIRONMENT,
            "objects": tuple(changes),
            "pre_image": pre,
            "desired": desired,
            "location": {"account": ACCOUNT},
            "source": SOURCE,
        }
        values.update(overrides)
        return Target(**values)

    def context(
        self,
        *,
        token: Callable[[str], str] | None = None,
        role_arn: str | None = ROLE_ARN,
        session_minutes: int = 15,
        change_id: str = "nhi-aws-unused-access-key/victim-7f3a9c21",
    ) -> DeployContext:
        """The deploy job's context: its OIDC token minted by the issuer for the audience asked."""

        def deploy_token(audience: str) -> str:
            minted = self.issuer.deploy_token(environment=ENVIRONMENT, aud=audience)
            self.tokens.append(minted)
            return minted

        def recorded(audience: str) -> str:
            assert token is not None
            minted = token(audience)
            self.tokens.append(minted)
            return minted

        environment = DeployEnvironment(aws_role_arn=role_arn, aws_region=REGION)
        return DeployContext(
            change_id=change_id,
            environment=ENVIRONMENT,
            repository=REPOSITORY,
            merge_sha="b" * 40,
            parent_sha="c" * 40,
            deploy=DeploySettings(
                session_minutes=session_minutes, environments={ENVIRONMENT: environment}
            ),
            settings=environment,
            oidc_token=deploy_token if token is None else recorded,
            forge=None,
            now=lambda: datetime.now(UTC),
        )

    def secrets(self) -> list[str]:
        """Every token and credential secret handed out so far."""
        return [*self.tokens, *self.sts.secrets()]


def create_role(sts: LocalSts, issuer: OidcIssuer, trust: dict[str, Any], name: str) -> str:
    """A role with ``trust`` and the moto-compatible role policy; its ARN."""
    iam = sts.admin("iam")
    iam.create_role(
        RoleName=name, AssumeRolePolicyDocument=json.dumps(trust), MaxSessionDuration=3600
    )
    iam.put_role_policy(
        RoleName=name,
        PolicyName="mendbot-deploy",
        PolicyDocument=json.dumps(moto_role_policy(issuer.host)),
    )
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


@contextmanager
def aws_world(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsWorld]:
    """The issuer, LocalSTS, the account's OIDC provider and the documented deploy role; boto3
    in the code under test reaches the front through ``AWS_ENDPOINT_URL``."""
    with issuer_running() as issuer, sts_running() as sts:
        iam = sts.admin("iam")
        iam.create_open_id_connect_provider(
            Url=issuer.url, ClientIDList=[STS_AUDIENCE], ThumbprintList=["0" * 40]
        )
        trust = template("mendbot-deploy-trust-policy.json", issuer.host)
        create_role(sts, issuer, trust, ROLE_NAME)
        monkeypatch.setenv("AWS_ENDPOINT_URL", sts.url)
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        yield AwsWorld(issuer, sts, iam)
