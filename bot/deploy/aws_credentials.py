"""Just-in-time AWS credentials for one change: the job's OIDC token exchanged with STS.

:func:`assume_role` calls ``AssumeRoleWithWebIdentity`` with the deploy job's OIDC token
(audience ``sts.amazonaws.com``), the role configured for the environment
(``deploy.environments.<env>.aws_role_arn``), ``DurationSeconds`` = ``deploy.session_minutes``,
a session name naming the change, and the change's session policy. The role's trust policy
decides whether this job may have it at all (``docs/examples/aws/``); the session policy narrows
what the session may do to the change's exact objects.

The token, the secret access key and the session token never leave this module and the
client it builds: not in the :class:`~bot.deploy.applier.Authority` (which the deploy record
shows), not in error messages (STS's answer is passed on with them scrubbed), not in logs
(botocore logs request and response bodies at DEBUG, so its loggers are kept at INFO).
boto3 is imported here only, when a change needs AWS, and honours the standard endpoint
variables (``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_STS``, ``AWS_ENDPOINT_URL_IAM``).
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

from bot.deploy.applier import Authority, DeployContext, Grant
from bot.errors import MendbotError

CREDENTIAL_TYPE = "aws-sts-web-identity"
#: The audience the deploy job's token is requested for (the IAM OIDC provider's client id).
STS_AUDIENCE = "sts.amazonaws.com"
CONFIG_FILE = ".github/mendbot.yml"
_SESSION_NAME_CHARS = re.compile(r"[^\w+=,.@-]")
_MAX_SESSION_NAME = 64
_FINGERPRINT = re.compile(r"-([0-9a-f]{8,})$")


class AwsCredentialError(MendbotError):
    """No credentials could be had for a change: nothing was applied."""

    exit_code = 2


class AwsSession:
    """Temporary credentials; their secrets stay out of ``repr`` and ``str``."""

    __slots__ = ("_access_key_id", "_secret_access_key", "_session_token", "region")

    def __init__(
        self, access_key_id: str, secret_access_key: str, session_token: str, region: str
    ) -> None:
        self._access_key_id = access_key_id
        self._secret_access_key = secret_access_key
        self._session_token = session_token
        self.region = region

    def __repr__(self) -> str:
        return f"AwsSession(region={self.region!r}, credentials=<hidden>)"

    def client(self, service: str) -> Any:
        """A boto3 client of ``service`` signed with these credentials."""
        boto3, config = _boto()
        return boto3.client(
            service,
            region_name=self.region,
            aws_access_key_id=self._access_key_id,
            aws_secret_access_key=self._secret_access_key,
            aws_session_token=self._session_token,
            config=config(retries={"mode": "standard", "max_attempts": 3}),
        )

    def secrets(self) -> tuple[str, str]:
        """The values that must never be shown (for scrubbing messages)."""
        return (self._secret_access_key, self._session_token)


class AwsGrant(Grant):
    """A web-identity session. AWS cannot end one session early (revoking sessions is per
    role and would end every other deploy's), so :meth:`revoke` forgets the credentials and
    they expire at ``authority.expires_at``."""

    def __init__(self, authority: Authority, session: AwsSession) -> None:
        self.authority = authority
        self._session: AwsSession | None = session

    @property
    def session(self) -> AwsSession:
        """The credentials; raises :class:`AwsCredentialError` once revoked."""
        if self._session is None:
            raise AwsCredentialError("the credentials of this change were already given up")
        return self._session

    def revoke(self) -> None:
        """Forget the credentials (they expire on their own); never raises."""
        self._session = None


def short_change(change_id: str) -> str:
    """The part of a change id that tells changes apart, for names AWS shows (CloudTrail):
    the remediation's fingerprint at the end of its id
    (``nhi-aws-unused-access-key/build-bot-1a2b3c4d`` gives ``1a2b3c4d``), else the id's last
    12 characters; ``revert-`` first for a revert."""
    revert = change_id.startswith("revert:")
    slug = change_id.removeprefix("revert:").rsplit("/", 1)[-1]
    fingerprint = _FINGERPRINT.search(slug)
    short = fingerprint.group(1)[-12:] if fingerprint else slug[-12:]
    short = _SESSION_NAME_CHARS.sub("-", short).strip("-") or "change"
    return f"revert-{short}" if revert else short


def session_name(change_id: str, environment: str) -> str:
    """``mendbot-<change id short>-<env>``, as STS allows it: 2 to 64 of ``[\\w+=,.@-]``."""
    env = _SESSION_NAME_CHARS.sub("-", environment) or "env"
    return f"mendbot-{short_change(change_id)}-{env}"[:_MAX_SESSION_NAME]


def assume_role(
    context: DeployContext,
    policy: str,
    *,
    name: str | None = None,
    role_setting: str = "aws_role_arn",
) -> AwsGrant:
    """Exchange the job's OIDC token for a session of the environment's role (the setting
    ``role_setting`` of ``deploy.environments.<env>``) narrowed by the session policy
    ``policy``; raises :class:`AwsCredentialError` (with STS's error code and message, secrets
    scrubbed) when the role is not configured or STS refuses."""
    role_arn = getattr(context.settings, role_setting)
    if not role_arn:
        raise AwsCredentialError(
            f"{CONFIG_FILE}: deploy.environments.{context.environment}.{role_setting} is not "
            f"set, so no AWS credentials can be had for environment {context.environment!r}",
            advice=(
                "set it to the ARN of the deploy role whose trust policy pins this environment "
                "(docs/deploy.md, section AWS: IAM access keys)"
            ),
        )
    session = name or session_name(context.change_id, context.environment)
    token = context.oidc_token(STS_AUDIENCE)
    region = context.settings.aws_region
    boto3, config = _boto()
    from botocore import UNSIGNED
    from botocore.exceptions import BotoCoreError, ClientError

    # NOTE(deploy): unsigned, so botocore never looks for ambient credentials (or the
    # instance metadata service) to call an operation that needs none.
    sts = boto3.client("sts", region_name=region, config=config(signature_version=UNSIGNED))
    try:
        answer = sts.assume_role_with_web_identity(
            RoleArn=role_arn,
            RoleSessionName=session,
            WebIdentityToken=token,
            DurationSeconds=context.deploy.session_minutes * 60,
            Policy=policy,
        )
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise AwsCredentialError(
            scrub(
                f"STS refused AssumeRoleWithWebIdentity on {role_arn}: "
                f"{error.get('Code', 'Unknown')}: {error.get('Message', '')}",
                token,
            ),
            advice=(
                "check that the role's trust policy allows this job's OIDC subject "
                f"(environment {context.environment!r}) and deploy workflow, and that the "
                "role's MaxSessionDuration covers deploy.session_minutes; nothing was applied"
            ),
        ) from None
    except BotoCoreError as exc:
        raise AwsCredentialError(
            scrub(f"STS could not be asked for credentials: {exc}", token),
            advice="check the network and AWS_ENDPOINT_URL_STS; nothing was applied",
        ) from None
    credentials = answer["Credentials"]
    granted = AwsSession(
        str(credentials["AccessKeyId"]),
        str(credentials["SecretAccessKey"]),
        str(credentials["SessionToken"]),
        region,
    )
    expires = credentials["Expiration"]
    authority = Authority(
        credential_type=CREDENTIAL_TYPE,
        principal=role_arn,
        session_name=session,
        expires_at=_iso(expires),
        scope=json.loads(policy),
    )
    return AwsGrant(authority, granted)


def scrub(text: str, *secrets: str) -> str:
    """``text`` with every secret replaced by ``[redacted]``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return text


def _iso(moment: Any) -> str:
    if isinstance(moment, datetime):
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(moment)


def _boto() -> tuple[Any, Any]:
    """boto3 and botocore's Config, imported on first use, with botocore's DEBUG logging
    (which prints request parameters and responses, credentials included) held back."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise AwsCredentialError(
            "deploying to AWS needs boto3, which is not installed",
            advice="install mendbot with the aws extra: pip install 'mendbot[aws]'",
        ) from None
    for name in ("botocore", "boto3"):
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.INFO:
            logger.setLevel(logging.INFO)
    return boto3, Config
