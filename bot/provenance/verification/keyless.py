"""Sigstore keyless verification through sigstore-python, one named check per expectation.

:func:`verify_dsse` runs ``sigstore.verify.Verifier.verify_dsse`` unmodified with a policy that
evaluates *every* identity expectation (workflow, issuer, repository, ref, runner, trigger)
before failing, so the report names each mismatch rather than the first. The certificate ↔
statement binding (:func:`bind`) then holds the workflow-controlled statement to the values the
certificate authority vouched for.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.x509 import Certificate
from sigstore.errors import Error as SigstoreError
from sigstore.errors import VerificationError
from sigstore.models import Bundle, InvalidBundle, TrustedRoot
from sigstore.verify import Verifier
from sigstore.verify import policy as sp

from bot.provenance.statement import PAYLOAD_TYPE, Statement
from bot.provenance.verification.result import VerificationResult
from bot.provenance.verification.trust import SigstoreTrust

_GOT = re.compile(r"\(got '?(.*?)'?, expected")

_IDENTITY_ADVICE = (
    "the bundle was signed by another workflow, repository or issuer than the one trusted: "
    "check --identity/--issuer, or regenerate the bundle in the trusted analysis workflow"
)


class _OneOf:
    """Passes when the certificate's extension equals any of ``values``."""

    def __init__(self, policy: type[sp._SingleX509ExtPolicy], values: Sequence[str]) -> None:
        self.policy = policy
        self.values = tuple(values)

    def verify(self, cert: Certificate) -> None:
        """Raise :class:`VerificationError` unless one value matches."""
        errors = []
        for value in self.values:
            try:
                self.policy(value).verify(cert)
            except VerificationError as exc:
                errors.append(str(exc))
            else:
                return
        got = _GOT.search(errors[0]) if errors else None
        found = got[1] if got else "missing"
        raise VerificationError(
            f"Certificate's {self.policy.__name__} is {found}; allowed: {', '.join(self.values)}"
        )


class _Recording:
    """A sigstore policy that runs every named child and fails if any failed."""

    def __init__(self, children: Sequence[tuple[str, sp.VerificationPolicy]]) -> None:
        self.children = children
        self.ran = False
        self.outcomes: list[tuple[str, str | None]] = []

    def verify(self, cert: Certificate) -> None:
        """Evaluate all children; raise one :class:`VerificationError` if any failed."""
        self.ran = True
        self.outcomes = []
        for name, child in self.children:
            try:
                child.verify(cert)
            except VerificationError as exc:
                self.outcomes.append((name, str(exc)))
            else:
                self.outcomes.append((name, None))
        if any(error is not None for _, error in self.outcomes):
            raise VerificationError("the certificate does not match the trusted identity")


def identity_policies(trust: SigstoreTrust) -> list[tuple[str, sp.VerificationPolicy]]:
    """The named expectations on the signing certificate for ``trust``."""
    children: list[tuple[str, sp.VerificationPolicy]] = [
        ("signer.identity", sp.Identity(identity=trust.identity, issuer=trust.issuer)),
        ("signer.issuer", sp.OIDCIssuerV2(trust.issuer)),
        ("signer.workflow", sp.OIDCBuildSignerURI(trust.identity)),
    ]
    if trust.repository_uri is not None:
        children.append(("signer.repository", sp.OIDCSourceRepositoryURI(trust.repository_uri)))
    if trust.repository_id is not None:
        children.append(
            ("signer.repository-id", sp.OIDCSourceRepositoryIdentifier(trust.repository_id))
        )
    if trust.source_ref is not None:
        children.append(("signer.ref", sp.OIDCSourceRepositoryRef(trust.source_ref)))
    if trust.runner_environment is not None:
        children.append(("signer.runner", sp.OIDCRunnerEnvironment(trust.runner_environment)))
    if trust.triggers:
        children.append(("signer.trigger", _OneOf(sp.OIDCBuildTrigger, trust.triggers)))
    return children


@dataclass(frozen=True)
class Verified:
    """What a successful keyless verification yields."""

    payload: bytes
    certificate: Certificate


def verifier_for(trust: SigstoreTrust) -> Verifier:
    """A sigstore verifier for ``trust``'s trusted root (production unless one is given)."""
    if trust.trusted_root is None:
        return Verifier.production(offline=trust.offline)
    if not isinstance(trust.trusted_root, TrustedRoot):
        raise TypeError("SigstoreTrust.trusted_root must be a sigstore.models.TrustedRoot")
    return Verifier(trusted_root=trust.trusted_root)


def verify_dsse(raw: bytes, trust: SigstoreTrust, result: VerificationResult) -> Verified | None:
    """Verify a keyless bundle; records ``bundle``, ``signer.*`` and ``signature`` checks."""
    try:
        bundle = Bundle.from_json(raw)
    except (InvalidBundle, ValueError) as exc:
        result.fail(
            "bundle",
            f"the attestation is not a valid Sigstore bundle: {exc}",
            "the file is truncated or was edited; regenerate the bundle",
        )
        return None
    result.passed("bundle", "the attestation is a well-formed Sigstore bundle")
    try:
        verifier = verifier_for(trust)
    except SigstoreError as exc:
        result.fail(
            "signature",
            f"cannot load Sigstore's trusted root: {exc}",
            "check network access to Sigstore's TUF repository, or verify with --offline",
        )
        return None
    recording = _Recording(identity_policies(trust))
    try:
        payload_type, payload = verifier.verify_dsse(bundle, recording)
    except VerificationError as exc:
        if recording.ran and any(error for _, error in recording.outcomes):
            for name, error in recording.outcomes:
                if error is None:
                    result.passed(name, "matches")
                else:
                    result.fail(name, error, _IDENTITY_ADVICE)
            result.skip("signature", "not evaluated: the signer is not the trusted identity")
        else:
            for name, _ in recording.outcomes:
                result.passed(name, "matches")
            result.fail(
                "signature",
                f"the Sigstore bundle does not verify: {exc}",
                "the attestation or its payload was changed after signing, or it was made "
                "by another Sigstore instance; regenerate the bundle",
            )
        return None
    for name, _ in recording.outcomes:
        result.passed(name, "matches")
    if payload_type != PAYLOAD_TYPE:
        result.fail(
            "signature",
            f"the DSSE payload type is {payload_type!r}, not {PAYLOAD_TYPE!r}",
            "this is not an in-toto attestation; regenerate the bundle with mendbot",
        )
        return None
    result.passed("signature", "DSSE signature, certificate chain, SCT and Rekor entry verify")
    return Verified(payload=payload, certificate=bundle.signing_certificate)


def bind(
    certificate: Certificate,
    statement: Statement,
    trust: SigstoreTrust,
    result: VerificationResult,
) -> None:
    """Certificate ↔ statement binding: the statement's run, base and repository are the
    ones the certificate vouches for. Records ``binding.*`` checks."""
    predicate = statement.predicate
    advice = (
        "the statement claims a run, commit or repository other than the one that signed it; "
        "treat the bundle as forged and regenerate it"
    )
    expected: list[tuple[str, str | None, type[sp._SingleX509ExtPolicy], str]] = [
        (
            "binding.base-commit",
            predicate.base.git_commit,
            sp.OIDCSourceRepositoryDigest,
            "base.gitCommit",
        ),
        ("binding.invocation", predicate.invocation.id, sp.OIDCRunInvocationURI, "invocation.id"),
        (
            "binding.repository",
            predicate.repository.uri,
            sp.OIDCSourceRepositoryURI,
            "repository.uri",
        ),
        (
            "binding.repository-id",
            predicate.repository.id,
            sp.OIDCSourceRepositoryIdentifier,
            "repository.id",
        ),
        ("binding.ref", predicate.base.ref, sp.OIDCSourceRepositoryRef, "base.ref"),
        (
            "binding.trigger",
            predicate.invocation.event_name,
            sp.OIDCBuildTrigger,
            "invocation.eventName",
        ),
    ]
    for check_id, value, policy, field in expected:
        if value is None:
            result.fail(check_id, f"the statement has no {field}; a keyless bundle must", advice)
            continue
        try:
            policy(value).verify(certificate)
        except VerificationError as exc:
            result.fail(check_id, f"{field} does not match the certificate: {exc}", advice)
        else:
            result.passed(check_id, f"{field} = {value}")
    if predicate.generator.id == trust.identity:
        result.passed("binding.generator", f"generator.id = {trust.identity}")
    else:
        result.fail(
            "binding.generator",
            f"generator.id is {predicate.generator.id!r}, the signer is {trust.identity!r}",
            advice,
        )
