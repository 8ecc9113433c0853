"""Fixtures of the chain tests (provenance, propose, gate, deploy): real git repositories, keys,
a fake GitHub, a loopback Sigstore; and, for every test, no ambient identity or git config."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fakegithub import FakeGitHub, running

from minisigstore import MiniSigstore

#: Variables by which `id` and sigstore detect an ambient CI identity; cleared in every test.
AMBIENT = (
    "GITHUB_ACTIONS",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "GITLAB_CI",
    "BUILDKITE",
    "CIRCLECI",
    "GOOGLE_SERVICE_ACCOUNT_NAME",
    "GITHUB_REPOSITORY",
    "GITHUB_REPOSITORY_ID",
    "GITHUB_SHA",
    "GITHUB_REF",
    "GITHUB_RUN_ID",
    "GITHUB_RUN_ATTEMPT",
    "GITHUB_EVENT_NAME",
    "GITHUB_WORKFLOW_REF",
    "MENDBOT_SIGSTORE_TRUST_CONFIG",
)

WORKFLOW = """\
name: ci
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: make test
"""

DEPLOY = """\
name: deploy
on: workflow_dispatch
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4   # deploys the site
      - run: ./deploy.sh
"""


@pytest.fixture(autouse=True)
def _isolated(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No ambient identity, a private TUF cache, fixed git identity, loopback without proxy."""
    for name in AMBIENT:
        monkeypatch.delenv(name, raising=False)
    cache = tmp_path_factory.mktemp("xdg")
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(cache / "data"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    for variable in ("GIT_AUTHOR", "GIT_COMMITTER"):
        monkeypatch.setenv(f"{variable}_NAME", "Test Author")
        monkeypatch.setenv(f"{variable}_EMAIL", "author@example.test")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


class GitRepo:
    """A real git work tree for tests, driven through the git command line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        """Run git in the repository; returns stripped standard output."""
        done = subprocess.run(
            ["git", *args], cwd=self.path, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    def write(self, name: str, content: str | bytes) -> Path:
        """Write a file (bytes verbatim, text as UTF-8 without newline translation)."""
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content if isinstance(content, bytes) else content.encode())
        return target

    def commit(self, message: str = "change") -> str:
        """Stage everything and commit; returns the commit id."""
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")

    def head(self) -> str:
        """The commit id of HEAD."""
        return self.git("rev-parse", "HEAD")


@pytest.fixture
def make_repo(tmp_path: Path):
    """``make_repo(name)`` → a new :class:`GitRepo` under the test's temporary folder."""

    def make(name: str = "repo") -> GitRepo:
        return GitRepo(tmp_path / name)

    return make


@pytest.fixture
def workflow_repo(make_repo) -> GitRepo:
    """A repository with two workflows that each get a persist-credentials remediation."""
    repo = make_repo()
    repo.write(".github/workflows/ci.yml", WORKFLOW)
    repo.write(".github/workflows/deploy.yml", DEPLOY)
    repo.write("README.md", "# project\n")
    repo.write("script.sh", "#!/bin/sh\necho hi\n")
    repo.commit("initial")
    repo.write("README.md", "# project\n\nMore words.\n")
    repo.commit("docs")
    return repo


@pytest.fixture
def signing_key() -> ec.EllipticCurvePrivateKey:
    """A fresh ECDSA P-256 key."""
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def github(tmp_path: Path) -> Iterator[FakeGitHub]:
    """The test GitHub on loopback; the test fails if any request hit a route it does not serve
    or any response broke GitHub's OpenAPI description."""
    with running(tmp_path / "github") as app:
        yield app
        assert app.unhandled == []
        assert app.failures == []


@pytest.fixture
def mini_sigstore() -> Iterator[MiniSigstore]:
    """A running loopback Sigstore (Fulcio, Rekor, token endpoint)."""
    instance = MiniSigstore()
    with instance.running():
        yield instance


class Bench:
    """Bundle the persist-credentials remediations of a repository and apply them."""

    RULES = ("gha-persist-credentials",)

    def __init__(self, repo: GitRepo, out: Path) -> None:
        self.repo = repo
        self.out = out

    def analyse_as(self, repository: str) -> None:
        """Make ``repository`` the checkout's ``origin``: the repository local analyses attest
        (the verifier accepts an attestation only in the repository it names)."""
        if "origin" in self.repo.git("remote").split():
            self.repo.git("remote", "remove", "origin")
        self.repo.git("remote", "add", "origin", repository)

    def bundle(self, signer, env: dict[str, str] | None = None, now=None) -> dict[str, Path]:
        """Write the bundles; returns remediation id → bundle folder."""
        from bot.analyze.bundles import bundle_remediations
        from bot.analyze.pipeline import analyze
        from bot.config import Config

        analysis = analyze([self.repo.path], self.repo.path, Config(), only_rules=self.RULES)
        outcomes = bundle_remediations(
            analysis, self.repo.path, Config(), self.out, signer, env=env or {}, now=now
        )
        written = {}
        for outcome in outcomes:
            assert hasattr(outcome, "path"), outcome
            written[outcome.statement.predicate.remediation.id] = outcome.path
        return written

    def apply(self, bundle: Path, *, on: str = "main", attestation: bool = True) -> str:
        """Apply ``patch.diff`` on a new branch from ``on``, commit it (with the attestation
        under .mendbot/attestations/); returns the head commit."""
        from bot.provenance.layout import committed_attestation_path, remediation_id

        self.repo.git("checkout", "-q", "-B", f"fix-{bundle.name}", on)
        self.repo.git("apply", "--index", str(bundle / "patch.diff"))
        if attestation and (bundle / "attestation.sigstore.json").exists():
            rid = remediation_id(bundle.name)
            assert rid is not None
            target = self.repo.path / committed_attestation_path(rid)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes((bundle / "attestation.sigstore.json").read_bytes())
        return self.repo.commit(f"apply {bundle.name}")


@pytest.fixture
def bench(workflow_repo: GitRepo, tmp_path: Path) -> Bench:
    """A :class:`Bench` over :func:`workflow_repo` writing bundles to ``tmp_path/out``."""
    return Bench(workflow_repo, tmp_path / "out")
