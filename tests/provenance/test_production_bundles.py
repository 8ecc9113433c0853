"""Real production Sigstore bundles verify offline through mendbot's keyless verifier.

``Verifier.production(offline=True)`` reads the trusted root from sigstore-python's TUF cache,
which sigstore seeds from the copy embedded in its wheel (``sigstore/_store/…/trusted_root.json``)
when the cache is empty; the autouse fixture points the cache at a temporary folder, so no
network and no state outside the test are involved. The bundles are in ``tests/data/sigstore``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

import pytest
from sigstore.models import Bundle
from sigstore.verify import Verifier
from sigstore.verify import policy as sp

from bot.provenance.verification.keyless import verify_dsse
from bot.provenance.verification.result import VerificationResult
from bot.provenance.verification.trust import SigstoreTrust
from bot.provenance.verification.verifier import verify_attestation
from testpaths import DATA

SIGSTORE = DATA / "sigstore"
GITHUB = "https://token.actions.githubusercontent.com"
REUSABLE_SAN = (
    "https://github.com/github/artifact-attestations-workflows/.github/workflows/attest.yml"
    "@09b495c3f12c7881b3cc17209a327792065c1a1d"
)
CUSTOM_SAN = "https://github.com/too-legit/attest/.github/workflows/integration.yml@refs/heads/main"
CUSTOM_ISSUER = "https://token.actions.githubusercontent.com/hammer-time"


def reusable_trust(**changes) -> SigstoreTrust:
    """The expectations the reusable-workflow bundle meets (values from the data's NOTICE)."""
    values = {
        "identity": REUSABLE_SAN,
        "issuer": GITHUB,
        "repository_uri": "https://github.com/malancas/attest-demo",
        "repository_id": "804070735",
        "source_ref": "refs/heads/main",
        "triggers": ("workflow_dispatch",),
        "offline": True,
    }
    values.update(changes)
    return SigstoreTrust(**values)


def _raw(name: str) -> bytes:
    return (SIGSTORE / name).read_bytes()


def _checks(result: VerificationResult) -> dict[str, str]:
    return {c.id: c.status.value for c in result.checks}


def test_reusable_workflow_bundle_verifies_offline_with_every_extension() -> None:
    result = VerificationResult()
    verified = verify_dsse(
        _raw("reusable-workflow-attestation.sigstore.json"), reusable_trust(), result
    )
    assert verified is not None, [f"{c.id}: {c.message}" for c in result.failures]
    assert _checks(result) == {
        "bundle": "passed",
        "signer.identity": "passed",
        "signer.issuer": "passed",
        "signer.workflow": "passed",
        "signer.repository": "passed",
        "signer.repository-id": "passed",
        "signer.ref": "passed",
        "signer.runner": "passed",
        "signer.trigger": "passed",
        "signature": "passed",
    }
    statement = json.loads(verified.payload)
    artifact = hashlib.sha256(_raw("reusable-workflow-artifact")).hexdigest()
    assert statement["subject"][0]["digest"]["sha256"] == artifact


def test_the_embedded_trusted_root_is_seeded_into_the_temporary_cache() -> None:
    Verifier.production(offline=True)
    cache = Path(os.environ["XDG_CACHE_HOME"]) / "sigstore-python" / "tuf"
    roots = list(cache.glob("*/trusted_root.json"))
    assert [p.parent.name for p in roots] == ["https%3A%2F%2Ftuf-repo-cdn.sigstore.dev"]


def test_a_production_bundle_is_not_a_mendbot_remediation(tmp_path: Path) -> None:
    """Signature and identity hold, then the SLSA predicate type is refused: ours only."""
    result = verify_attestation(
        _raw("reusable-workflow-attestation.sigstore.json"),
        repo=tmp_path,
        head="HEAD",
        trust=reusable_trust(),
    )
    assert not result.ok
    assert [c.id for c in result.failures] == ["predicate-type"]
    assert "unknown predicate type 'https://slsa.dev/provenance/v1'" in result.failures[0].message


def test_custom_issuer_bundle_needs_its_issuer() -> None:
    raw = _raw("custom-issuer.sigstore.json")
    good = VerificationResult()
    trust = SigstoreTrust(
        identity=CUSTOM_SAN,
        issuer=CUSTOM_ISSUER,
        runner_environment=None,
        triggers=(),
        offline=True,
    )
    assert verify_dsse(raw, trust, good) is not None, good.failures
    wrong = VerificationResult()
    default_issuer = SigstoreTrust(
        identity=CUSTOM_SAN, runner_environment=None, triggers=(), offline=True
    )
    assert verify_dsse(raw, default_issuer, wrong) is None
    failed = {c.id: c.message for c in wrong.failures}
    assert "OIDCIssuerV2 does not match" in failed["signer.issuer"]
    assert "signer.workflow" not in failed  # the workflow is right; only the issuer is not


def test_wrong_identity_is_rejected_naming_each_mismatch() -> None:
    other = "https://github.com/malancas/attest-demo/.github/workflows/shared.yml@refs/heads/main"
    result = VerificationResult()
    assert (
        verify_dsse(
            _raw("reusable-workflow-attestation.sigstore.json"),
            reusable_trust(identity=other),
            result,
        )
        is None
    )
    failed = {c.id: c.message for c in result.failures}
    assert "Certificate's SANs do not match" in failed["signer.identity"]
    assert "OIDCBuildSignerURI does not match" in failed["signer.workflow"]
    assert [c.status.value for c in result.checks if c.id == "signature"] == ["skipped"]


@pytest.mark.parametrize(
    ("trust_change", "check", "text"),
    [
        (
            {"repository_uri": "https://github.com/malancas/attest-demo-fork"},
            "signer.repository",
            "OIDCSourceRepositoryURI does not match",
        ),
        ({"repository_id": "1"}, "signer.repository-id", "OIDCSourceRepositoryIdentifier"),
        ({"source_ref": "refs/heads/dev"}, "signer.ref", "OIDCSourceRepositoryRef"),
        ({"runner_environment": "self-hosted"}, "signer.runner", "OIDCRunnerEnvironment"),
        (
            {"triggers": ("schedule", "push")},
            "signer.trigger",
            "OIDCBuildTrigger is workflow_dispatch; allowed: schedule, push",
        ),
    ],
)
def test_each_github_extension_is_checked(trust_change, check, text) -> None:
    result = VerificationResult()
    raw = _raw("reusable-workflow-attestation.sigstore.json")
    assert verify_dsse(raw, reusable_trust(**trust_change), result) is None
    failed = {c.id: c.message for c in result.failures}
    assert list(failed) == [check]
    assert text in failed[check]


def test_tampered_payload_is_rejected() -> None:
    bundle = json.loads(_raw("reusable-workflow-attestation.sigstore.json"))
    payload = bytearray(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    payload[payload.index(b"malancas")] ^= 0x01
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(bytes(payload)).decode()
    result = VerificationResult()
    assert verify_dsse(json.dumps(bundle).encode(), reusable_trust(), result) is None
    failed = {c.id: c.message for c in result.failures}
    assert "DSSE: invalid signature" in failed["signature"]


def test_invalid_bundle_is_rejected_before_its_signature() -> None:
    result = VerificationResult()
    trust = SigstoreTrust(identity=REUSABLE_SAN, offline=True)
    assert verify_dsse(_raw("sigstoreBundle-invalid-signature.json"), trust, result) is None
    failed = {c.id: c.message for c in result.failures}
    assert "Integrated time only supported for dsse/hashedrekord 0.0.1 types" in failed["signature"]


def test_truncated_production_bundle_is_refused_as_a_bundle() -> None:
    raw = _raw("custom-issuer.sigstore.json")
    result = VerificationResult()
    assert (
        verify_dsse(raw[: len(raw) // 2], SigstoreTrust(identity=CUSTOM_SAN, offline=True), result)
        is None
    )
    assert "not a valid Sigstore bundle" in {c.id: c.message for c in result.failures}["bundle"]


def test_message_signature_bundle_is_not_an_attestation() -> None:
    """The wheel bundle verifies as what it is (a signature over bytes), never as DSSE."""
    raw = _raw("bundle_v3_github.whl.sigstore")
    san = "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2"
    Verifier.production(offline=True).verify_artifact(
        _raw("bundle_v3_github.whl"),
        Bundle.from_json(raw),
        sp.Identity(identity=san, issuer=GITHUB),
    )
    result = VerificationResult()
    trust = SigstoreTrust(identity=san, triggers=("release",), offline=True)
    assert verify_dsse(raw, trust, result) is None
    failed = {c.id: c.message for c in result.failures}
    assert "without a DSSE envelope" in failed["signature"]
