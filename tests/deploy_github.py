"""Helpers of the GitHub deploy tests: a deployer App installed on the fake GitHub, the deploy
context an applier connects with, and the check that no credential leaked into any text."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fakegithub import FakeGitHub

from bot.config import DeployEnvironment, DeploySettings
from bot.deploy.applier import DeployContext
from bot.forge.interface import DeployForge

REPO = "acme/app"
OTHER = "acme/other"
APP_ID = 4242
INSTALLATION = 77
ENVIRONMENT = "production"


class Clock:
    """A clock tests move by hand (what :class:`DeployContext` and appliers read)."""

    def __init__(self) -> None:
        self.moment = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self.moment

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.moment += timedelta(seconds=seconds)


def install_deployer_app(
    github: FakeGitHub, monkeypatch: pytest.MonkeyPatch, source: Path
) -> rsa.RSAPrivateKey:
    """Serve ``source`` as :data:`REPO` and :data:`OTHER`, install the deployer App on both,
    and give the deploy job its key and API URL through the environment, as a workflow would."""
    github.add_repo(REPO, source)
    github.add_repo(OTHER, source)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    github.install_app(APP_ID, key.public_key(), {INSTALLATION: {REPO, OTHER}})
    monkeypatch.setenv("MENDBOT_DEPLOY_APP_KEY", pem_of(key))
    monkeypatch.setenv("GITHUB_API_URL", github.base_url)
    return key


def pem_of(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


def context(
    *,
    forge: DeployForge | None = None,
    merge_sha: str = "1" * 40,
    parent_sha: str = "0" * 40,
    clock: Clock | None = None,
    run_timeout_minutes: int = 30,
    app: bool = True,
) -> DeployContext:
    """The deploy context of change ``r-0001`` in :data:`ENVIRONMENT`."""
    settings = (
        DeployEnvironment(github_app_id=APP_ID, github_installation_id=INSTALLATION)
        if app
        else DeployEnvironment()
    )

    def no_oidc(audience: str) -> str:
        raise AssertionError("GitHub appliers never ask for the job's OIDC token")

    return DeployContext(
        change_id="r-0001",
        environment=ENVIRONMENT,
        repository=REPO,
        merge_sha=merge_sha,
        parent_sha=parent_sha,
        deploy=DeploySettings(
            run_timeout_minutes=run_timeout_minutes, environments={ENVIRONMENT: settings}
        ),
        settings=settings,
        oidc_token=no_oidc,
        forge=forge,
        now=(clock or Clock()).now,
    )


def secrets_of(github: FakeGitHub, key: rsa.RSAPrivateKey | None = None) -> list[str]:
    """Every credential the fake issued, and the private key's PEM body lines."""
    found = list(github.app.issued) if github.app is not None else []
    if key is not None:
        found += [line for line in pem_of(key).splitlines() if "-----" not in line]
    return found


def assert_no_secret(secrets: Iterable[str], *texts: object) -> None:
    """No credential appears in any of ``texts`` (their ``str``)."""
    secrets = list(secrets)
    assert secrets, "nothing to look for: the test did not obtain a credential"
    for text in texts:
        for secret in secrets:
            assert secret not in str(text), f"a credential leaked into: {text!s:.200}"


def calls(github: FakeGitHub, needle: str) -> list[str]:
    """The requests the fake received whose line contains ``needle``."""
    return [line for line in github.requests if needle in line]
