"""The demo's AWS account: non-human identities from telemetry to a deployed deactivation.

An account runs in this process (moto's server on loopback) with one abandoned access key and
one live one. The read-only inventory writes what it sees into the demo repository; the
analysis finds the abandoned key and signs a remediation; the remediation is proposed, allowed
by the default policies (a safe, owned, first-order deactivation in the staging account merges
automatically) and merged; the deploy job exchanges an OIDC token for a session of the deploy
role narrowed by a session policy that names that one user, deactivates exactly that key, and
signs a record.

moto accepts any web-identity token and ignores session policies (the tests put a checking
front before it, ``tests/local_sts.py``); the demo therefore prints the session policy the
deploy job asked for and reads back which keys changed. moto and boto3 are optional: without
them (``pip install 'mendbot[demo]'`` installs them) this stage is skipped with one line saying
so.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from rich.console import Console

from bot.errors import MendbotError
from bot.inventory.aws_reader import READ_ACTIONS

#: What to install for this stage (named in the line printed when it is skipped).
INSTALL_HINT = "pip install 'mendbot[demo]'"
REGION = "us-east-1"
#: moto's default account.
ACCOUNT = "123456789012"
INVENTORY = f".mendbot/desired/aws-iam-access-key/{ACCOUNT}.yml"
DEPLOY_ROLE = "mendbot-deploy-staging-iam-keys"
READER = "mendbot-inventory"
ABANDONED_USER = "legacy-backup"
LIVE_USER = "ci-deployer"
#: The account's lines of ``.github/mendbot.yml``: the account file is staging, the deploy
#: role is staging's, and a key counts as unused from its first day (the account is minutes
#: old; the default is 90 days).
ACCOUNT_CONFIG = f"""\
# The demo's AWS account (added by the AWS stage).
environments:
  production:
    - .github/workflows/legacy-deploy.yml
    - .github/workflows/publish.yml
    - .github/workflows/release.yml
  staging:
    - .github/workflows/ci.yml
    - .mendbot/desired/aws-iam-access-key/*
deploy:
  environments:
    staging:
      aws_role_arn: arn:aws:iam::{ACCOUNT}:role/{DEPLOY_ROLE}
      aws_region: {REGION}
nhi:
  unused_after_days: 0
propose:
  max_new_per_hour: 10  # the demo opened five pull requests minutes ago
"""
#: The inventory's read-only policy (docs/inventory.md, docs/examples/aws/): exactly the reads
#: the inventory makes.
_READ_ONLY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "MendbotInventoryReadsAccessKeysOnly",
            "Effect": "Allow",
            "Action": list(READ_ACTIONS),
            "Resource": "*",
        }
    ],
}


class DemoAwsError(MendbotError):
    """The AWS stage of the demo did not behave as designed: a bug."""


def missing_packages() -> tuple[str, ...]:
    """The packages this stage needs that are not installed (empty when it can run)."""
    return tuple(name for name in ("moto", "boto3") if find_spec(name) is None)


@dataclass(frozen=True)
class Credentials:
    """An access key pair of the loopback account (throwaway values of a local server)."""

    key_id: str
    secret: str


@dataclass(frozen=True)
class LoopbackAccount:
    """moto's IAM and STS on ``url``, with an administrator for setting things up."""

    url: str

    def client(self, service: str, credentials: Credentials) -> Any:
        """A boto3 client of ``service`` at the loopback endpoint, signed by ``credentials``."""
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=credentials.key_id,
            aws_secret_access_key=credentials.secret,
        )

    def user_with_key(self, admin: Any, user: str, owner: str) -> Credentials:
        """Create ``user`` tagged with its ``owner`` and give it one access key."""
        admin.create_user(UserName=user, Tags=[{"Key": "owner", "Value": owner}])
        made = admin.create_access_key(UserName=user)["AccessKey"]
        return Credentials(str(made["AccessKeyId"]), str(made["SecretAccessKey"]))

    def statuses(self, admin: Any) -> dict[str, tuple[str, str]]:
        """Every access key of the account: id → (user, status)."""
        found: dict[str, tuple[str, str]] = {}
        for user in admin.list_users()["Users"]:
            name = str(user["UserName"])
            for key in admin.list_access_keys(UserName=name)["AccessKeyMetadata"]:
                found[str(key["AccessKeyId"])] = (name, str(key["Status"]))
        return found


@contextmanager
def loopback_account() -> Iterator[LoopbackAccount]:
    """moto's server on a free loopback port, with empty state, for the duration of the block
    (its state is emptied again afterwards)."""
    import logging

    from moto.server import ThreadedMotoServer

    for name in ("werkzeug", "moto"):
        # NOTE(demo): AWS's side of the wire; it logs every request (and, at DEBUG, headers).
        logging.getLogger(name).setLevel(logging.ERROR)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    try:
        _reset(url)
        yield LoopbackAccount(url)
    finally:
        _reset(url)
        server.stop()


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` with ``values`` set (and every other ``AWS_*`` variable removed) for the
    duration of the block: the AWS chain and endpoint the inventory and the deploy job read."""
    saved = dict(os.environ)
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        del os.environ[name]
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def chain_env(account: LoopbackAccount, credentials: Credentials | None) -> dict[str, str]:
    """The variables of the standard AWS chain: ``credentials`` (none for the deploy job, which
    has only its OIDC token), the loopback endpoint, no shared files."""
    values = {
        "AWS_ENDPOINT_URL": account.url,
        "AWS_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    if credentials is not None:
        values["AWS_ACCESS_KEY_ID"] = credentials.key_id
        values["AWS_SECRET_ACCESS_KEY"] = credentials.secret
    return values


def demo_oidc_token(audience: str) -> str:
    """A GitHub-shaped OIDC token for the demo's deploy job (unsigned: moto does not check
    tokens; a real account's IAM OIDC provider and the role's trust policy do)."""

    def part(value: dict[str, Any]) -> str:
        raw = json.dumps(value, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    now = int(datetime.now(UTC).timestamp())
    claims = {
        "iss": "https://token.actions.githubusercontent.com",
        "aud": audience,
        "sub": "repo:demo/insecure-repo:environment:staging",
        "job_workflow_ref": (
            "demo/insecure-repo/.github/workflows/mendbot-deploy.yml@refs/heads/main"
        ),
        "iat": now,
        "exp": now + 300,
    }
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.demo"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _reset(url: str) -> None:
    # NOTE(demo): ``url`` is the loopback server this module started, never user input.
    request = urllib.request.Request(f"{url}/moto-api/reset", data=b"", method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310
        pass


def read_only_policy() -> str:
    """The inventory identity's policy document (JSON)."""
    return json.dumps(_READ_ONLY_POLICY)


def read_only_actions() -> tuple[str, ...]:
    """The actions the inventory identity's policy allows."""
    return READ_ACTIONS


def show_skipped(console: Console, missing: tuple[str, ...]) -> None:
    """The one line printed instead of the AWS stages when their packages are missing."""
    console.rule("28. an AWS account: skipped")
    console.out(
        f"skipped: the AWS account stage needs {' and '.join(missing)}, which is not "
        f"installed; install the demo extra ({INSTALL_HINT}) and run mendbot demo again",
        highlight=False,
    )


def write_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (parents created), UTF-8, newlines as given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(text)
