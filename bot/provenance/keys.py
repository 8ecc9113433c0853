"""ECDSA P-256 signing keys in PEM: generate, load, and name them by a public-key hint.

The hint is the hex sha256 of the public key's PEM SubjectPublicKeyInfo (the convention of
sigstore/model-transparency): it tells a verifier *which* configured key to try, and is never
trusted on its own.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bot.provenance.errors import SigningKeyError

PRIVATE_KEY_NAME = "mendbot.key"
PUBLIC_KEY_NAME = "mendbot.pub"


def public_pem(key: ec.EllipticCurvePublicKey) -> bytes:
    """The PEM SubjectPublicKeyInfo of ``key``."""
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def key_hint(key: ec.EllipticCurvePublicKey) -> str:
    """Hex sha256 of :func:`public_pem`: the ``publicKey.hint`` of key-signed bundles."""
    return hashlib.sha256(public_pem(key)).hexdigest()


@dataclass(frozen=True)
class GeneratedKeys:
    """Where :func:`generate` wrote the key pair, and the public key's hint."""

    private: Path
    public: Path
    hint: str


def generate(out: Path) -> GeneratedKeys:
    """Write a new key pair to ``out/mendbot.key`` (mode 0600) and ``out/mendbot.pub``.

    Refuses to overwrite either file (:class:`SigningKeyError`).
    """
    private_path, public_path = out / PRIVATE_KEY_NAME, out / PUBLIC_KEY_NAME
    for path in (private_path, public_path):
        if path.exists():
            raise SigningKeyError(
                f"{path} already exists; not overwritten",
                advice="choose another --out folder or move the existing key away first",
            )
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(private)
        public_path.write_bytes(public_pem(key.public_key()))
    except OSError as exc:
        raise SigningKeyError(f"cannot write the key pair to {out}: {exc.strerror}") from None
    return GeneratedKeys(private_path, public_path, key_hint(key.public_key()))


def load_private(path: Path) -> ec.EllipticCurvePrivateKey:
    """An unencrypted PEM ECDSA P-256 private key; raises :class:`SigningKeyError`."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise SigningKeyError(f"cannot read the signing key {path}: {exc.strerror}") from None
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"{path} is not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise SigningKeyError(f"{path} is not an ECDSA P-256 key")
    return key


def load_public(path: Path) -> ec.EllipticCurvePublicKey:
    """A PEM ECDSA P-256 public key; raises :class:`SigningKeyError`."""
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except OSError as exc:
        raise SigningKeyError(f"cannot read the public key {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise SigningKeyError(f"{path} is not a PEM public key: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise SigningKeyError(f"{path} is not an ECDSA P-256 public key")
    return key
