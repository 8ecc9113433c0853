"""The verifier: one function, a structured answer naming every check.

:func:`verify_attestation` is what the policy gate and the deploy job call (with the attestation
committed at the head commit); :func:`verify_bundle` adds the checks of a bundle directory
(``mendbot verify``). Order: bundle format → signature and signer (key, or Sigstore identity and
GitHub certificate extensions) → predicate type → statement schema and self-consistency →
certificate ↔ statement binding → the statement's repository is the one the caller acts on →
expiry → change set against git. Nothing read from an
unverified payload is ever evaluated: after a signature failure the later checks are skipped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.x509 import Certificate

from bot.provenance import dsse, layout
from bot.provenance.statement import (
    PAYLOAD_TYPE,
    Statement,
    StatementError,
    UnknownPredicateType,
    consistency_problems,
    format_time,
    parse_statement,
    parse_time,
    unverified_payload,
)
from bot.provenance.verification import keyless
from bot.provenance.verification.compare import check_change_set
from bot.provenance.verification.repository import check_repository
from bot.provenance.verification.result import Signer, SignerKind, VerificationResult
from bot.provenance.verification.trust import KeyTrust, SigstoreTrust, Trust, UnsafeAcceptUnsigned

#: Tolerated clock difference between the signer and the verifier.
CLOCK_SKEW = timedelta(minutes=5)

_LATER = ("statement", "repository", "expiry", "change-set", "merge-result")


@dataclass(frozen=True)
class _Authenticated:
    payload: bytes
    certificate: Certificate | None
    signer: Signer


def verify_attestation(
    attestation: bytes | None,
    *,
    repo: Path,
    head: str,
    trust: Trust,
    base: str | None = None,
    statement_copy: bytes | None = None,
    now: datetime | None = None,
    repository: str | None = None,
) -> VerificationResult:
    """Verify a remediation attestation against what merging ``head`` into ``base`` changes.

    ``base`` is the branch or commit the change merges into (None: the branch the attestation
    names; see :func:`~bot.provenance.verification.compare.check_change_set`); ``attestation``
    is the bundle
    JSON (None when the bundle is unsigned); ``statement_copy`` is the ``statement.json`` read
    with it (used only when unsigned bundles are accepted); ``now`` is the clock (injectable
    for tests); ``repository`` is the URL of the repository the caller acts on (the
    ``repository`` check fails when the statement names another one; it is skipped when None).
    Never raises for a failed check: every outcome is in the result (``result.ok``).
    """
    result = VerificationResult()
    commits = (head, base)
    _verify_into(result, attestation, repo, commits, trust, statement_copy, now, None, repository)
    return result


def verify_bundle(
    path: Path,
    *,
    repo: Path,
    head: str,
    trust: Trust,
    base: str | None = None,
    now: datetime | None = None,
    repository: str | None = None,
) -> VerificationResult:
    """Verify the bundle directory ``path`` (as written by ``--bundle-out``) against what
    merging ``head`` into ``base`` changes in ``repo`` (``base`` and ``repository`` as for
    :func:`verify_attestation`).

    Adds the ``bundle.*`` checks: the folder name is the remediation's, ``statement.json`` is
    the signed payload byte for byte, ``plan.json`` names the same remediation. Raises
    :class:`~bot.provenance.errors.BundleError` only when ``path`` is not a bundle folder.
    """
    name, files = layout.read(path)
    result = VerificationResult()
    _verify_into(
        result,
        files.attestation,
        repo,
        (head, base),
        trust,
        files.statement,
        now,
        (name, files),
        repository,
    )
    return result


def authenticate(raw: bytes, trust: Trust) -> tuple[bytes | None, VerificationResult]:
    """Check only the envelope of ``raw`` (a bundle over any in-toto statement, e.g. a deploy
    record): its format, its signature and that the signer is ``trust``. Returns the signed
    payload (None when any check failed) and the checks. Unsigned envelopes never pass, even
    under ``--allow-unsigned``: that option is for reviewing remediations by hand."""
    result = VerificationResult()
    if isinstance(trust, UnsafeAcceptUnsigned):
        result.fail("signature", "a signature is required", "verify with --verify-key or identity")
        return None, result
    authenticated = _authenticate(raw, None, trust, result)
    return (authenticated.payload if authenticated else None), result


def _verify_into(
    result: VerificationResult,
    attestation: bytes | None,
    repo: Path,
    commits: tuple[str, str | None],
    trust: Trust,
    statement_copy: bytes | None,
    now: datetime | None,
    bundle: tuple[str, layout.BundleFiles] | None,
    repository: str | None,
) -> None:
    clock = now or datetime.now(UTC)
    authenticated = _authenticate(attestation, statement_copy, trust, result)
    if authenticated is None:
        for check_id in _LATER:
            result.skip(check_id, "not evaluated: no verified statement")
        return
    result.signer = authenticated.signer
    try:
        statement = parse_statement(authenticated.payload)
    except UnknownPredicateType as exc:
        result.fail("predicate-type", str(exc), exc.advice)
        return
    except StatementError as exc:
        result.fail("statement", str(exc), "the bundle was not made by this mendbot; regenerate it")
        return
    result.passed("predicate-type", statement.predicate_type)
    problems = consistency_problems(statement)
    for problem in problems:
        result.fail("statement", problem, "the statement is inconsistent; treat it as forged")
    if problems:
        return
    result.passed("statement", "valid v1 statement; subjects and _changeset match the changes")
    result.statement = statement
    if authenticated.certificate is not None and isinstance(trust, SigstoreTrust):
        keyless.bind(authenticated.certificate, statement, trust, result)
    else:
        result.skip("binding", "no certificate: key-signed and unsigned bundles bind nothing")
    check_repository(statement, repository, result)
    _check_expiry(statement, authenticated, trust, clock, result)
    if bundle is not None:
        _check_bundle_folder(bundle[0], bundle[1], authenticated.payload, statement, result)
    head, base = commits
    check_change_set(repo, statement, head, attestation, result, base=base)


def _authenticate(
    attestation: bytes | None,
    statement_copy: bytes | None,
    trust: Trust,
    result: VerificationResult,
) -> _Authenticated | None:
    if isinstance(trust, UnsafeAcceptUnsigned):
        payload = unverified_payload(attestation) if attestation is not None else statement_copy
        if payload is None:
            result.fail("bundle", "no statement to check", "pass a bundle folder")
            return None
        result.skip("signature", "not checked (--allow-unsigned): the source is human-override")
        return _Authenticated(payload, None, Signer(SignerKind.UNSIGNED))
    if attestation is None:
        result.fail(
            "signature",
            "the bundle is unsigned (no attestation.sigstore.json) but a signature is required",
            "regenerate it with --sign sigstore or --sign key, or review it as a human-override "
            "with --allow-unsigned",
        )
        return None
    kind = _bundle_kind(attestation)
    if kind is None:
        result.fail(
            "bundle",
            "the attestation is not a Sigstore bundle (invalid or truncated JSON)",
            "the file is truncated or was edited; regenerate the bundle",
        )
        return None
    if isinstance(trust, KeyTrust):
        if kind != "key":
            result.fail(
                "signature",
                "the bundle is signed keyless with Sigstore, but a public key was given",
                "verify with --identity SAN --issuer URL",
            )
            return None
        return _authenticate_key(attestation, trust, result)
    if kind != "sigstore":
        result.fail(
            "signature",
            "the bundle is signed with a key, but a Sigstore identity is required",
            "verify with --verify-key PUB, or regenerate the bundle with --sign sigstore",
        )
        return None
    verified = keyless.verify_dsse(attestation, trust, result)
    if verified is None:
        return None
    signer = Signer(
        SignerKind.SIGSTORE,
        identity=trust.identity,
        issuer=trust.issuer,
        signed_at=format_time(verified.certificate.not_valid_before_utc),
    )
    return _Authenticated(verified.payload, verified.certificate, signer)


def _authenticate_key(
    attestation: bytes, trust: KeyTrust, result: VerificationResult
) -> _Authenticated | None:
    try:
        bundle = dsse.parse(attestation)
    except dsse.BundleFormatError as exc:
        result.fail("bundle", str(exc), "the file is truncated or was edited; regenerate it")
        return None
    result.passed("bundle", "the attestation is a well-formed key-signed bundle")
    try:
        payload = dsse.verify(bundle, trust.public_key)
    except dsse.KeySignatureError as exc:
        result.fail(
            "signature",
            str(exc),
            "verify with the public key that belongs to the signing key, or regenerate the bundle",
        )
        return None
    if bundle.payload_type != PAYLOAD_TYPE:
        result.fail(
            "signature",
            f"the DSSE payload type is {bundle.payload_type!r}, not {PAYLOAD_TYPE!r}",
            "this is not an in-toto attestation; regenerate the bundle with mendbot",
        )
        return None
    result.passed("signature", f"DSSE signature by key {trust.hint[:16]}… verifies")
    return _Authenticated(payload, None, Signer(SignerKind.KEY, key_hint=trust.hint))


def _bundle_kind(raw: bytes) -> str | None:
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    material = document.get("verificationMaterial") if isinstance(document, dict) else None
    if not isinstance(material, dict):
        return None
    if "publicKey" in material:
        return "key"
    if "certificate" in material or "x509CertificateChain" in material:
        return "sigstore"
    return None


def _check_expiry(
    statement: Statement,
    authenticated: _Authenticated,
    trust: Trust,
    now: datetime,
    result: VerificationResult,
) -> None:
    predicate = statement.predicate
    advice = "re-run the analysis to produce a fresh bundle"
    ok = True
    if now >= parse_time(predicate.expires_on):
        result.fail("expiry", f"the bundle expired on {predicate.expires_on}", advice)
        ok = False
    if parse_time(predicate.created_on) > now + CLOCK_SKEW:
        result.fail(
            "expiry",
            f"the bundle claims to be created in the future ({predicate.created_on})",
            "check the signer's and this machine's clocks; treat the bundle as suspect",
        )
        ok = False
    certificate = authenticated.certificate
    if certificate is not None and isinstance(trust, SigstoreTrust):
        signed = certificate.not_valid_before_utc
        if now - signed > trust.max_age:
            result.fail(
                "expiry",
                f"signed on {format_time(signed)}, more than {trust.max_age.days} days ago",
                advice,
            )
            ok = False
    if ok:
        result.passed("expiry", f"valid until {predicate.expires_on}")


def _check_bundle_folder(
    name: str,
    files: layout.BundleFiles,
    payload: bytes,
    statement: Statement,
    result: VerificationResult,
) -> None:
    remediation = statement.predicate.remediation
    if layout.remediation_id(name) == remediation.id:
        result.passed("bundle.folder", f"{name} is remediation {remediation.id}")
    else:
        result.fail(
            "bundle.folder",
            f"the folder {name} does not belong to remediation {remediation.id} (attestation "
            "swapped from another remediation?)",
            "use the attestation written with this bundle; never copy attestations between bundles",
        )
    if files.attestation is not None:
        if files.statement == payload:
            result.passed("bundle.statement", "statement.json is the signed payload")
        else:
            result.fail(
                "bundle.statement",
                "statement.json differs from the signed payload",
                "statement.json is only a readable copy; the signed payload is what counts. "
                "Regenerate the bundle",
            )
    try:
        plan = json.loads(files.plan)["remediation"]
        matches = plan["id"] == remediation.id and plan["fingerprint"] == remediation.fingerprint
    except (ValueError, KeyError, TypeError):
        matches = False
    if matches:
        result.passed("bundle.plan", "plan.json names the same remediation and fingerprint")
    else:
        result.fail(
            "bundle.plan",
            "plan.json is missing, unreadable or names another remediation or fingerprint",
            "regenerate the bundle; plan.json must describe the attested remediation",
        )
