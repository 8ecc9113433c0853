"""An AWS account for inventory tests: moto's IAM with its authorization enforcement on (the
LocalSTS front, ``local_sts.py``), a paging front before it (``iam_pages.py``), IAM's clock
pinned (so creation and last-use times are chosen by the test and a rerun sees the same
account), and a reader identity holding exactly the documented read-only policy
(``docs/examples/aws/mendbot-inventory-role-policy.json``)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import moto.iam.models
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from iam_pages import PagingFront, paging_front

from local_sts import ACCOUNT, REGION, LocalSts
from local_sts import running as sts_running

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples" / "aws"
#: The analysis' "now" in every inventory test.
NOW = datetime(2026, 12, 7, 12, 0, 0, tzinfo=UTC)
READER = "mendbot-inventory"


def documented_policy(*, without: str | None = None) -> dict[str, Any]:
    """The documented read-only policy (optionally missing one action)."""
    policy: dict[str, Any] = json.loads(
        (EXAMPLES / "mendbot-inventory-role-policy.json").read_text(encoding="utf-8")
    )
    if without is not None:
        for statement in policy["Statement"]:
            statement["Action"] = [a for a in statement["Action"] if a != without]
    return policy


@dataclass
class Account:
    """The account, its clock, and the reader's credentials."""

    sts: LocalSts
    front: PagingFront
    iam: Any
    clock: list[datetime]
    reader_key: str = ""
    reader_secret: str = ""
    secrets: list[str] = field(default_factory=list)

    def at(self, moment: datetime) -> None:
        """Set IAM's clock (creation and last-use times of what happens next)."""
        self.clock[0] = moment

    def user(self, name: str, *, tags: dict[str, str] | None = None, path: str = "/") -> None:
        """Create an IAM user under ``path``, with tags."""
        self.iam.create_user(
            UserName=name,
            Path=path,
            Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()],
        )

    def key(self, user: str, *, created: datetime, status: str = "Active") -> str:
        """A new access key of ``user`` created at ``created``; its id."""
        self.at(created)
        made = self.iam.create_access_key(UserName=user)["AccessKey"]
        self.secrets.append(made["SecretAccessKey"])
        if status != "Active":
            self.iam.update_access_key(
                UserName=user, AccessKeyId=made["AccessKeyId"], Status=status
            )
        self._secret_of[made["AccessKeyId"]] = made["SecretAccessKey"]
        self.at(NOW)
        return str(made["AccessKeyId"])

    def use(self, key_id: str, *, at: datetime) -> None:
        """A call signed by the key at ``at`` (IAM records the use)."""
        self.at(at)
        client = boto3.client(
            "iam",
            endpoint_url=self.front.url,
            region_name=REGION,
            aws_access_key_id=key_id,
            aws_secret_access_key=self._secret_of[key_id],
            config=Config(retries={"max_attempts": 1}),
        )
        try:
            client.list_users()
        except ClientError:
            pass  # allowed or not, the key was used
        self.at(NOW)

    def reader(self, policy: dict[str, Any] | None = None) -> None:
        """The inventory's identity: a user holding only ``policy`` (default: the documented
        read-only policy). Its key is created at NOW and used by every inventory run."""
        self.user(READER)
        self.iam.put_user_policy(
            UserName=READER,
            PolicyName="mendbot-inventory",
            PolicyDocument=json.dumps(policy or documented_policy()),
        )
        made = self.iam.create_access_key(UserName=READER)["AccessKey"]
        self.reader_key, self.reader_secret = made["AccessKeyId"], made["SecretAccessKey"]
        self.secrets.append(self.reader_secret)

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a ``mendbot inventory aws`` process: the reader's credentials
        through the standard chain, the endpoint through ``AWS_ENDPOINT_URL``."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("AWS_") and k not in {"GITHUB_ACTIONS"}
        }
        env.update(
            AWS_ACCESS_KEY_ID=self.reader_key,
            AWS_SECRET_ACCESS_KEY=self.reader_secret,
            AWS_ENDPOINT_URL=self.front.url,
            AWS_REGION=REGION,
            AWS_CONFIG_FILE="/dev/null",
            AWS_SHARED_CREDENTIALS_FILE="/dev/null",
        )
        env.update(extra)
        return env

    def status(self, user: str, key_id: str) -> str:
        """A key's status, read as the administrator."""
        keys = self.iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
        return next(str(k["Status"]) for k in keys if k["AccessKeyId"] == key_id)

    _secret_of: dict[str, str] = field(default_factory=dict)


@contextmanager
def aws_account(monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    """The account, serving for the duration of the block (IAM's clock at :data:`NOW`)."""
    clock = [NOW]
    monkeypatch.setattr(moto.iam.models, "utcnow", lambda: clock[0].replace(tzinfo=None))
    with sts_running() as sts, paging_front(sts.url) as front:
        yield Account(sts, front, sts.admin("iam"), clock)


def days_ago(days: int) -> datetime:
    """``days`` before :data:`NOW`."""
    return NOW - timedelta(days=days)


__all__ = ["ACCOUNT", "NOW", "READER", "Account", "aws_account", "days_ago", "documented_policy"]
