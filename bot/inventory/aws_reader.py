"""A read-only view of IAM: the only calls the inventory can make.

:class:`IamReader` wraps boto3 clients and exposes exactly ``sts:GetCallerIdentity``,
``iam:ListUsers``, ``iam:ListAccessKeys``, ``iam:GetAccessKeyLastUsed`` and
``iam:ListUserTags`` (paginated). The clients themselves are private: no code path of the
inventory can reach a write call, and the read-only role in ``docs/inventory.md`` allows
nothing else either.

Credentials come from the standard AWS chain (environment, shared files, web identity,
instance roles); boto3's endpoint variables (``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_IAM``,
``AWS_ENDPOINT_URL_STS``) are honoured by boto3 itself. boto3 is imported only when
:func:`connect` runs, so no other command loads it. Failures become
:class:`~bot.inventory.errors.InventoryError` naming the call and what to do; AWS's messages
carry ARNs, never secrets, and botocore's loggers are kept above DEBUG (which would log
signed requests).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from bot.inventory.errors import InventoryError

#: Every AWS action the inventory calls, as an IAM policy names it (docs and tests use it).
READ_ACTIONS = (
    "iam:ListUsers",
    "iam:ListAccessKeys",
    "iam:GetAccessKeyLastUsed",
    "iam:ListUserTags",
)
#: STS calls the standard credential chain makes by itself (web identity, assumed roles).
_CREDENTIAL_OPERATIONS = frozenset({"AssumeRoleWithWebIdentity", "AssumeRole"})
#: Items asked for per page (IAM's default and maximum for these lists is 100 and 1000).
PAGE_SIZE = 100
#: IAM's marker for "no value" in GetAccessKeyLastUsed (a key never used).
_NOT_AVAILABLE = "N/A"
_T = TypeVar("_T")


@dataclass(frozen=True)
class KeyMetadata:
    """One access key as ``ListAccessKeys`` reports it."""

    id: str
    user: str
    status: str
    created: datetime | None


@dataclass(frozen=True)
class LastUse:
    """``GetAccessKeyLastUsed``: when, where and for what; all None for a key never used."""

    date: datetime | None
    service: str | None
    region: str | None


class IamReader:
    """The read calls of the inventory, over clients built by :func:`connect`."""

    def __init__(self, iam: Any, sts: Any) -> None:
        self._iam = iam
        self._sts = sts

    def account_id(self) -> str:
        """The account of the credentials (``sts:GetCallerIdentity``)."""
        answer = _call("sts:GetCallerIdentity", self._sts.get_caller_identity)
        return str(answer["Account"])

    def users(self) -> Iterator[tuple[str, str]]:
        """Every IAM user's name and path (``/`` when IAM gives none), all pages."""
        for page in self._pages("iam:ListUsers", "list_users"):
            for user in page.get("Users", []):
                yield str(user["UserName"]), str(user.get("Path") or "/")

    def access_keys(self, user: str) -> Iterator[KeyMetadata]:
        """The access keys of ``user``, all pages."""
        for page in self._pages("iam:ListAccessKeys", "list_access_keys", UserName=user):
            for key in page.get("AccessKeyMetadata", []):
                yield KeyMetadata(
                    id=str(key["AccessKeyId"]),
                    user=str(key.get("UserName", user)),
                    status=str(key["Status"]),
                    created=key.get("CreateDate"),
                )

    def last_used(self, key_id: str) -> LastUse:
        """IAM's record of the key's last use."""
        answer = _call(
            "iam:GetAccessKeyLastUsed",
            lambda: self._iam.get_access_key_last_used(AccessKeyId=key_id),
        )
        used = answer.get("AccessKeyLastUsed", {})
        return LastUse(
            date=used.get("LastUsedDate"),
            service=_value(used.get("ServiceName")),
            region=_value(used.get("Region")),
        )

    def user_tags(self, user: str) -> dict[str, str]:
        """The tags of ``user``, all pages."""
        tags: dict[str, str] = {}
        for page in self._pages("iam:ListUserTags", "list_user_tags", UserName=user):
            for tag in page.get("Tags", []):
                tags[str(tag["Key"])] = str(tag["Value"])
        return tags

    def _pages(self, action: str, operation: str, **arguments: str) -> Iterator[dict[str, Any]]:
        paginator = self._iam.get_paginator(operation)
        pages = iter(paginator.paginate(**arguments, PaginationConfig={"PageSize": PAGE_SIZE}))
        while True:
            page = _call(action, lambda: next(pages, None))
            if page is None:
                return
            yield page


def _value(text: Any) -> str | None:
    return None if text in (None, "", _NOT_AVAILABLE) else str(text)


def _call(action: str, request: Callable[[], _T]) -> _T:
    """Run one AWS request, turning botocore's failures into :class:`InventoryError`."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
    )

    try:
        return request()
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        message = str(error.get("Message", ""))
        if exc.operation_name in _CREDENTIAL_OPERATIONS:
            # The standard chain's role exchange failed before the read itself was sent.
            raise InventoryError(
                f"AWS refused the credentials' sts:{exc.operation_name} ({code}): {message}",
                advice="the role's trust policy must allow this job (docs/inventory.md: the "
                "analysis workflow on the default branch, no environment); nothing was written",
            ) from None
        if code in {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}:
            raise InventoryError(
                f"AWS refused {action} (AccessDenied): {message}",
                advice=f"allow {action} to the inventory's read-only identity "
                "(docs/inventory.md lists the policy); nothing was written",
            ) from None
        if code in {"InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken"}:
            raise InventoryError(
                f"AWS rejected the credentials on {action} ({code}): {message}",
                advice="check the credentials of the standard AWS chain (AWS_PROFILE, "
                "AWS_ACCESS_KEY_ID, web identity); nothing was written",
            ) from None
        raise InventoryError(f"{action} failed ({code}): {message}") from None
    except NoCredentialsError:
        raise InventoryError(
            f"no AWS credentials for {action}",
            advice="provide read-only credentials through the standard AWS chain "
            "(AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or a web identity); "
            "nothing was written",
        ) from None
    except NoRegionError:
        raise InventoryError(
            f"no AWS region for {action}", advice="set AWS_REGION or AWS_DEFAULT_REGION"
        ) from None
    except EndpointConnectionError as exc:
        raise InventoryError(
            f"cannot reach the AWS endpoint for {action}: {exc.kwargs.get('endpoint_url', '?')}",
            advice="check the network and AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_IAM; "
            "nothing was written",
        ) from None
    except BotoCoreError as exc:
        raise InventoryError(f"{action} failed: {exc}") from None


def connect(region: str | None = None) -> IamReader:
    """A reader with credentials from the standard AWS chain; raises :class:`InventoryError`
    when boto3 is not installed."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise InventoryError(
            "mendbot inventory aws needs boto3", advice="pip install 'mendbot[aws]'"
        ) from None
    for name in ("botocore", "boto3", "urllib3"):
        # NOTE: at DEBUG botocore logs signed requests; never let a caller's logging show them.
        logging.getLogger(name).setLevel(max(logging.getLogger(name).level, logging.INFO))
    config = Config(
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=10,
        read_timeout=30,
    )
    session = boto3.session.Session(region_name=region)
    region_name = session.region_name or "us-east-1"
    iam = session.client("iam", region_name=region_name, config=config)
    sts = session.client("sts", region_name=region_name, config=config)
    return IamReader(iam, sts)


def iso(moment: datetime | None) -> str | None:
    """RFC 3339 UTC with whole seconds and ``Z`` (the desired-state format's times)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
