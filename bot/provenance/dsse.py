"""Key-based DSSE in the Sigstore bundle JSON shape (no certificate, no transparency log).

A key-signed bundle is a Sigstore bundle v0.3 whose ``verificationMaterial`` holds only
``publicKey.hint`` (:func:`bot.provenance.keys.key_hint`) and an empty ``tlogEntries``, with the
usual ``dsseEnvelope``: one ECDSA P-256/SHA-256 signature over the DSSE pre-authentication
encoding (PAE) of the payload. sigstore-python cannot load such bundles (it requires a
certificate), so mendbot verifies them itself: hint → configured key, one signature, PAE.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import ValidationError
from sigstore_models.bundle.v1 import Bundle as BundleModel

from bot.provenance.errors import ProvenanceError
from bot.provenance.keys import key_hint
from bot.provenance.statement import PAYLOAD_TYPE

BUNDLE_MEDIA_TYPE: Final = "application/vnd.dev.sigstore.bundle.v0.3+json"


class BundleFormatError(ProvenanceError):
    """The attestation file is not a bundle mendbot can read (truncated, edited, unknown)."""

    exit_code = 3


class KeySignatureError(ProvenanceError):
    """A key-signed bundle does not verify with the configured key."""

    exit_code = 3


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: ``DSSEv1 SP len SP type SP len SP body``."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def sign(key: ec.EllipticCurvePrivateKey, payload: bytes, payload_type: str = PAYLOAD_TYPE) -> str:
    """A key-signed bundle (JSON text) over ``payload``."""
    hint = key_hint(key.public_key())
    signature = key.sign(pae(payload_type, payload), ec.ECDSA(hashes.SHA256()))
    document = {
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": {"publicKey": {"hint": hint}, "tlogEntries": []},
        "dsseEnvelope": {
            "payload": base64.b64encode(payload).decode(),
            "payloadType": payload_type,
            "signatures": [{"sig": base64.b64encode(signature).decode(), "keyid": hint}],
        },
    }
    # Round-trip through the Sigstore bundle model: what we write is a valid bundle.
    bundle = BundleModel.from_dict(document)
    return json.dumps(json.loads(bundle.to_json()), indent=2) + "\n"


@dataclass(frozen=True)
class KeyBundle:
    """The parts of a key-signed bundle a verifier needs."""

    hint: str
    payload_type: str
    payload: bytes
    signatures: tuple[tuple[bytes, str | None], ...]
    """``(signature, keyid)`` pairs as found."""


def parse(raw: bytes) -> KeyBundle:
    """Read a key-signed bundle; raises :class:`BundleFormatError` if it is not one."""
    try:
        model = BundleModel.from_json(raw)
    except (ValidationError, ValueError) as exc:
        raise BundleFormatError(f"not a valid key-signed Sigstore bundle: {_first(exc)}") from None
    material = model.verification_material
    if material.public_key is None or material.certificate or material.x509_certificate_chain:
        raise BundleFormatError("the bundle has no public-key hint (not a key-signed bundle)")
    if model.dsse_envelope is None:
        raise BundleFormatError("the bundle holds no DSSE envelope")
    envelope = model.dsse_envelope
    return KeyBundle(
        hint=material.public_key.hint or "",
        payload_type=envelope.payload_type,
        payload=envelope.payload,
        signatures=tuple((s.sig, s.keyid) for s in envelope.signatures),
    )


def verify(bundle: KeyBundle, key: ec.EllipticCurvePublicKey) -> bytes:
    """The payload if exactly one signature verifies with ``key``.

    Raises :class:`KeySignatureError` naming the problem: another key's hint, not exactly one
    signature, or an invalid signature.
    """
    expected = key_hint(key)
    if bundle.hint != expected:
        raise KeySignatureError(
            f"signed by another key (hint {bundle.hint[:16]}…, expected {expected[:16]}…)"
        )
    if len(bundle.signatures) != 1:
        raise KeySignatureError(f"expected one signature, found {len(bundle.signatures)}")
    signature, keyid = bundle.signatures[0]
    if keyid not in (None, "", expected):
        raise KeySignatureError(f"the signature's keyid {keyid[:16]}… is not the key's hint")
    try:
        key.verify(signature, pae(bundle.payload_type, bundle.payload), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise KeySignatureError(
            "DSSE: invalid signature (the payload or signature was changed after signing)"
        ) from None
    return bundle.payload


def _first(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        error = exc.errors()[0]
        return f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
    return str(exc)
