"""Provenance: remediation statements, signers, bundle folders and the verifier.

Public surface (everything else is internal): :func:`verify_bundle` and
:func:`verify_attestation` (used by ``mendbot verify``, the policy gate and the deploy job),
the trust kinds :class:`KeyTrust`, :class:`SigstoreTrust` and :class:`UnsafeAcceptUnsigned`,
the signers, and :func:`write_bundle`.

Trust boundary: this package never imports the forge, policy or deploy code, nor the detectors
or analysis that infer fixes (import-linter contracts in ``pyproject.toml``): the verifier the
deploy job runs cannot be influenced by the code that proposed the change.
"""

from bot.provenance.result import Check, SignerKind, Status, VerificationResult
from bot.provenance.signers import KeySigner, NoSigner, Signer, SignKind, SigstoreSigner
from bot.provenance.statement import KNOWN_PREDICATE_TYPES, PREDICATE_TYPE_V1, Statement
from bot.provenance.trust import KeyTrust, SigstoreTrust, Trust, UnsafeAcceptUnsigned
from bot.provenance.verify import verify_attestation, verify_bundle
from bot.provenance.writer import BundleRequest, WrittenBundle, write_bundle

__all__ = [
    "KNOWN_PREDICATE_TYPES",
    "PREDICATE_TYPE_V1",
    "BundleRequest",
    "Check",
    "KeySigner",
    "KeyTrust",
    "NoSigner",
    "SignKind",
    "Signer",
    "SignerKind",
    "SigstoreSigner",
    "SigstoreTrust",
    "Statement",
    "Status",
    "Trust",
    "UnsafeAcceptUnsigned",
    "VerificationResult",
    "WrittenBundle",
    "verify_attestation",
    "verify_bundle",
    "write_bundle",
]
