"""``propose`` on GitHub through PyGithub (unmodified) against the fake GitHub on 127.0.0.1.

Every response the fake sends is validated against GitHub's OpenAPI description, unknown routes
fail the test, and pushes go through ``git http-backend`` into real bare repositories.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from fakegithub import TOKEN, FakeGitHub
from github import GithubRetry

from bot.config import ProposeSettings
from bot.forge.github.forge import GitHubForge
from bot.forge.interface import ForgeError, PullState
from bot.propose.job import Status, propose
from bot.protocol import decode_metadata as metadata
from bot.provenance.signing.signers import KeySigner
from bot.provenance.verification.trust import KeyTrust

REPO = "octo/project"


@pytest.fixture
def signed(bench, signing_key, github: FakeGitHub) -> dict[str, Path]:
    """Bundles of the repository as the test GitHub serves it (``REPO``)."""
    bench.analyse_as(f"{github.origin}/{REPO}.git")
    return bench.bundle(KeySigner(signing_key))


@pytest.fixture
def trust(signing_key) -> KeyTrust:
    return KeyTrust(signing_key.public_key())


def _forge(github: FakeGitHub, bench, token: str = TOKEN, **kwargs) -> GitHubForge:
    if REPO not in github.repos:
        github.add_repo(REPO, bench.repo.path)
    return GitHubForge(
        REPO,
        bench.repo.path,
        token,
        base_url=github.base_url,
        throttle=False,
        retry=kwargs.pop("retry", 0),
        **kwargs,
    )


def test_first_proposal_and_rerun_on_github(github, bench, signed, trust) -> None:
    forge = _forge(github, bench)
    bundles = list(signed.values())
    outcomes = propose(bundles, forge, trust)
    assert [o.status for o in outcomes] == [Status.OPENED, Status.OPENED]
    repo = github.repos[REPO]
    assert sorted(repo.pulls) == [1, 2]
    pull = repo.pulls[1]
    assert pull.labels == ["mendbot", "risk:medium"]
    assert pull.base == "main"
    head = github.sha(repo, f"refs/heads/{pull.head}")
    message = github.git(repo, "log", "-1", "--format=%B", head or "")
    assert "Mendbot-Attestation: sha256:" in message
    meta = metadata(pull.body)
    assert meta is not None
    assert meta["baseSha"] == bench.repo.head()
    # Rerun: nothing new, no push, no write request.
    before = len(github.requests)
    again = propose(bundles, forge, trust)
    assert [o.status for o in again] == [Status.UNCHANGED, Status.UNCHANGED]
    writes = [r for r in github.requests[before:] if not r.startswith("GET")]
    assert writes == []
    assert sorted(repo.pulls) == [1, 2]


def test_closed_unmerged_on_github_is_ignored_once(github, bench, signed, trust) -> None:
    forge = _forge(github, bench)
    bundle = next(iter(signed.values()))
    first = propose([bundle], forge, trust)[0]
    github.repos[REPO].pulls[first.number or 0].state = "closed"
    for _ in range(2):
        assert propose([bundle], forge, trust)[0].status is Status.IGNORED
    pull = github.repos[REPO].pulls[first.number or 0]
    assert len(pull.comments) == 1
    assert "ignored" in pull.comments[0]["body"]
    assert len(github.repos[REPO].pulls) == 1
    assert [p.state for p in forge.pulls()] == [PullState.CLOSED]


def test_human_commit_on_github_stops_updates(github, bench, signed, trust, tmp_path) -> None:
    forge = _forge(github, bench)
    bundle = next(iter(signed.values()))
    first = propose([bundle], forge, trust)[0]
    clone = tmp_path / "human"
    bare = github.repos[REPO].bare
    subprocess.run(
        ["git", "clone", "-q", "-b", first.branch or "", str(bare), str(clone)], check=True
    )
    (clone / "NOTES.md").write_text("mine\n")
    subprocess.run(["git", "-C", str(clone), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(clone), "commit", "-q", "-m", "human"], check=True)
    subprocess.run(["git", "-C", str(clone), "push", "-q", "origin", "HEAD"], check=True)
    human = github.sha(github.repos[REPO], f"refs/heads/{first.branch}")
    for _ in range(2):
        assert propose([bundle], forge, trust)[0].status is Status.BLOCKED
    assert github.sha(github.repos[REPO], f"refs/heads/{first.branch}") == human
    assert len(github.repos[REPO].pulls[first.number or 0].comments) == 1


def test_limits_on_github(github, bench, signed, trust) -> None:
    forge = _forge(github, bench)
    outcomes = propose(list(signed.values()), forge, trust, ProposeSettings(max_new_per_hour=1))
    assert [o.status for o in outcomes] == [Status.OPENED, Status.HELD]
    assert forge.branch_head(outcomes[1].branch or "") is None


def test_verification_failure_pushes_nothing_to_github(github, bench, signed) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    forge = _forge(github, bench)
    refs = github.git(github.repos[REPO], "for-each-ref")
    other = KeyTrust(ec.generate_private_key(ec.SECP256R1()).public_key())
    outcomes = propose(list(signed.values()), forge, other)
    assert {o.status for o in outcomes} == {Status.REFUSED}
    assert github.git(github.repos[REPO], "for-each-ref") == refs
    assert github.repos[REPO].pulls == {}


def test_bad_token_names_the_missing_permission(github, bench, signed, trust) -> None:
    forge = _forge(github, bench, token="wrong")
    with pytest.raises(ForgeError) as caught:
        propose(list(signed.values()), forge, trust)
    assert "HTTP 401" in str(caught.value)
    assert "pull-requests: write" in caught.value.diagnostics()


def test_server_errors_are_retried_within_bounds(github, bench, signed, trust) -> None:
    retry = GithubRetry(total=2, backoff_factor=0)
    forge = _forge(github, bench, retry=retry)
    github.faults["pulls/list"] = [502]
    assert propose([next(iter(signed.values()))], forge, trust)[0].status is Status.OPENED
    github.faults["pulls/list"] = [502, 502, 502, 502]
    with pytest.raises(ForgeError, match="GitHub did not answer"):
        propose([next(iter(signed.values()))], forge, trust)
    github.faults.clear()


def test_enterprise_base_url(github, bench, signed, trust) -> None:
    # The fake serves GitHub Enterprise Server's layout: REST under /api/v3, git at /o/r.git.
    from bot.forge.github.client import _git_url

    assert github.base_url.endswith("/api/v3")
    assert _git_url(github.base_url, REPO) == f"{github.origin}/{REPO}.git"
    assert _git_url("https://api.github.com", REPO) == f"https://github.com/{REPO}.git"
    forge = _forge(github, bench)
    outcome = propose([next(iter(signed.values()))], forge, trust)[0]
    assert outcome.status is Status.OPENED
    assert github.requests
    assert all(r.split(" ", 1)[1].startswith("/api/v3/") for r in github.requests)


def test_fake_rejects_responses_that_break_the_schema() -> None:
    from fakegithub import ROUTES, ValidationFailure, validate

    operation = next(r.operation for r in ROUTES if r.operation["operationId"] == "git/get-ref")
    with pytest.raises(ValidationFailure, match="git/get-ref 200"):
        validate(operation, 200, {"ref": "refs/heads/x"})
    with pytest.raises(ValidationFailure, match="undocumented status"):
        validate(operation, 201, {})


def test_cli_propose_on_github(github, bench, signed, signing_key, tmp_path) -> None:
    import os
    import sys

    from cryptography.hazmat.primitives import serialization

    github.add_repo(REPO, bench.repo.path)
    pub = tmp_path / "mendbot.pub"
    pub.write_bytes(
        signing_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    env = {
        **os.environ,
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_API_URL": github.base_url,
    }
    bundle = next(iter(signed.values()))
    command = [
        sys.executable,
        "-m",
        "bot",
        "propose",
        str(bundle),
        "--forge",
        "github",
        "--repo",
        str(bench.repo.path),
        "--verify-key",
        str(pub),
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert "opened #1" in done.stdout
    assert TOKEN not in done.stdout + done.stderr
    env.pop("GITHUB_TOKEN")
    env.pop("GH_TOKEN", None)
    missing = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert missing.returncode == 3
    assert "GITHUB_TOKEN" in missing.stderr


# -- GitHub App installation tokens ----------------------------------------------------------
APP_ID = 4242


@pytest.fixture(scope="module")
def app_key():
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem_file(key, path: Path) -> Path:
    from cryptography.hazmat.primitives import serialization

    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return path


@pytest.fixture
def app_pem(app_key, tmp_path: Path) -> Path:
    return _pem_file(app_key, tmp_path / "app.pem")


def _install(github: FakeGitHub, bench, app_key, installations=None):
    github.add_repo(REPO, bench.repo.path)
    github.tokens.clear()  # only an issued installation token opens the API and git
    return github.install_app(
        APP_ID, app_key.public_key(), installations or {77: {REPO}, 78: {"other/repo"}}
    )


@pytest.mark.parametrize("explicit", [77, None], ids=["explicit", "discovered"])
def test_app_installation_token_end_to_end(
    github, bench, signed, trust, app_key, app_pem, explicit
) -> None:
    from bot.forge.github.client import installation_token

    app = _install(github, bench, app_key)
    token = installation_token(REPO, str(APP_ID), app_pem, explicit, base_url=github.base_url)
    assert app.issued == [token]
    assert github.tokens == {token}
    claims = app.jwts[-1]
    assert claims["iss"] == str(APP_ID)
    assert claims["iat"] < claims["exp"] <= claims["iat"] + 600
    discovery = f"GET /api/v3/repos/{REPO}/installation"
    assert (discovery in github.requests) is (explicit is None)
    assert "POST /api/v3/app/installations/77/access_tokens" in github.requests
    forge = _forge(github, bench, token=token)
    outcomes = propose(list(signed.values()), forge, trust)
    assert [o.status for o in outcomes] == [Status.OPENED, Status.OPENED]
    pull = github.repos[REPO].pulls[1]
    assert github.sha(github.repos[REPO], f"refs/heads/{pull.head}") is not None


def test_app_jwt_expired_or_forged_is_refused(github, bench, app_key, app_pem, tmp_path) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    from bot.forge.github.client import installation_token

    app = _install(github, bench, app_key)
    # The server's clock is an hour ahead: PyGithub's 5-minute JWT has expired.
    github.clock_skew = 3600
    with pytest.raises(ForgeError) as caught:
        installation_token(REPO, str(APP_ID), app_pem, base_url=github.base_url)
    assert "HTTP 401" in str(caught.value)
    assert "'Expiration time' claim" in str(caught.value)
    assert "clock" in caught.value.diagnostics()
    # Behind by an hour: issued in the future, and expiring too far ahead.
    github.clock_skew = -3600
    with pytest.raises(ForgeError, match="HTTP 401"):
        installation_token(REPO, str(APP_ID), app_pem, base_url=github.base_url)
    github.clock_skew = 0
    # Signed by another key, or claiming another app.
    other = _pem_file(rsa.generate_private_key(65537, 2048), tmp_path / "other.pem")
    with pytest.raises(ForgeError) as forged:
        installation_token(REPO, str(APP_ID), other, base_url=github.base_url)
    assert "Signature verification failed" in str(forged.value)
    assert "private key belongs to that App" in forged.value.diagnostics()
    with pytest.raises(ForgeError, match="HTTP 401"):
        installation_token(REPO, "999", app_pem, base_url=github.base_url)
    assert app.issued == []
    assert app.jwts == []
    assert github.tokens == set()


def test_app_not_installed_on_the_repository(github, bench, app_key, app_pem) -> None:
    from bot.forge.github.client import installation_token

    app = _install(github, bench, app_key, {78: {"other/repo"}})
    with pytest.raises(ForgeError) as caught:
        installation_token(REPO, str(APP_ID), app_pem, base_url=github.base_url)
    assert f"App {APP_ID} is not installed on {REPO}: HTTP 404" in str(caught.value)
    assert f"install the App on {REPO}" in caught.value.diagnostics()
    with pytest.raises(ForgeError, match="no installation 99: HTTP 404"):
        installation_token(REPO, str(APP_ID), app_pem, 99, base_url=github.base_url)
    assert app.issued == []


def test_bad_app_private_key_file(tmp_path: Path, app_key) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from bot.forge.github.client import installation_token

    def refused(path: Path) -> ForgeError:
        with pytest.raises(ForgeError) as caught:
            installation_token(REPO, str(APP_ID), path, base_url="http://127.0.0.1:9/api/v3")
        assert "Private keys" in caught.value.diagnostics()
        return caught.value

    assert "cannot read" in str(refused(tmp_path / "missing.pem"))
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key\n")
    assert "not an unencrypted PEM private key" in str(refused(garbage))
    ecdsa = tmp_path / "ec.pem"
    ecdsa.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    assert "not an RSA key" in str(refused(ecdsa))


def test_cli_propose_as_github_app(github, bench, signed, signing_key, app_key, app_pem, tmp_path):
    import os
    import sys

    from cryptography.hazmat.primitives import serialization

    app = _install(github, bench, app_key)
    pub = tmp_path / "mendbot.pub"
    pub.write_bytes(
        signing_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "GH_TOKEN")}
    env |= {
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_API_URL": github.base_url,
        "MENDBOT_APP_ID": str(APP_ID),
        "MENDBOT_APP_PRIVATE_KEY_FILE": str(app_pem),
    }
    command = [
        sys.executable,
        "-m",
        "bot",
        "propose",
        str(next(iter(signed.values()))),
        "--forge",
        "github",
        "--repo",
        str(bench.repo.path),
        "--verify-key",
        str(pub),
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert "opened #1" in done.stdout
    assert len(app.issued) == 1
    assert app.issued[0] not in done.stdout + done.stderr
    # The options win over the environment; an installation that does not exist is named.
    wrong = [*command, "--app-id", str(APP_ID), "--installation-id", "99"]
    missing = subprocess.run(wrong, capture_output=True, text=True, env=env, check=False)
    assert missing.returncode == 3
    assert "no installation 99" in missing.stderr
    assert "--installation-id" in missing.stderr
    env.pop("MENDBOT_APP_PRIVATE_KEY_FILE")
    alone = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert alone.returncode == 2
    assert "--app-private-key" in alone.stderr


def test_fake_checks_every_app_jwt_rule(github, bench, app_key) -> None:
    import time

    import jwt
    import requests

    _install(github, bench, app_key)
    url = f"{github.base_url}/repos/{REPO}/installation"
    now = int(time.time())

    def status(claims: dict, key=app_key, algorithm: str = "RS256") -> tuple[int, str]:
        token = jwt.encode(claims, key, algorithm=algorithm)
        answer = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        return answer.status_code, answer.json().get("message", "")

    good = {"iat": now - 60, "exp": now + 540, "iss": str(APP_ID)}
    assert status(good)[0] == 200
    assert "'Issued at'" in status({**good, "iat": now + 120})[1]
    assert "too far in the future" in status({**good, "exp": now + 700})[1]
    assert "'Expiration time'" in status({**good, "iat": now - 900, "exp": now - 300})[1]
    assert "issuer" in status({**good, "iss": "1"})[1].lower()
    assert "iss" in status({"iat": now - 60, "exp": now + 300})[1]
    assert status(good, key="a-shared-secret-of-at-least-32-bytes!", algorithm="HS256")[0] == 401
    token_only = requests.get(url, headers={"Authorization": "token ghs_x"}, timeout=10)
    assert token_only.status_code == 401
