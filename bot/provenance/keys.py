"""ECDSA P-256 signing keys in PEM: generate, load, and name them by a public-key hint.

The hint is the hex sha256 of the public key's PEM SubjectPublicKeyInfo (the convention of
sigstore/model-transparency): it tells a verifier *which* configured key to try, and is never
trusted on its own.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
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


#: Modes written whatever the umask: only the owner may enter the key folder or read the
#: private key; anyone may read the public key, nobody else may change it.
FOLDER_MODE = 0o700
PRIVATE_MODE = 0o600
PUBLIC_MODE = 0o644
#: Bits of a private key's mode that ssh and mendbot refuse: any access by group or others.
_TOO_OPEN = 0o077


def generate(out: Path) -> GeneratedKeys:
    """Write a new key pair to ``out/mendbot.key`` (mode 0600) and ``out/mendbot.pub`` (0644),
    creating missing folders with mode 0700, whatever the umask.

    Refuses to overwrite either file or to write through a symbolic link, even a dangling one
    (:class:`SigningKeyError`); on failure no half of a key pair is left behind.
    """
    private_path, public_path = out / PRIVATE_KEY_NAME, out / PUBLIC_KEY_NAME
    for path in (private_path, public_path):
        if path.is_symlink():
            raise SigningKeyError(
                f"{path} is a symbolic link; mendbot never writes a key through one",
                advice="remove the link or choose another --out folder",
            )
        if os.path.lexists(path):
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
        _make_folders(out)
        _write_new(private_path, private, PRIVATE_MODE)
    except OSError as exc:
        raise _write_error(out, exc) from None
    try:
        _write_new(public_path, public_pem(key.public_key()), PUBLIC_MODE)
    except OSError as exc:
        private_path.unlink(missing_ok=True)
        raise _write_error(out, exc) from None
    return GeneratedKeys(private_path, public_path, key_hint(key.public_key()))


def _make_folders(out: Path) -> None:
    """Create ``out`` and its missing parents with :data:`FOLDER_MODE` (existing folders keep
    their mode: they are the user's)."""
    missing = [folder for folder in (out, *out.parents) if not os.path.lexists(folder)]
    for folder in reversed(missing):
        os.mkdir(folder, FOLDER_MODE)
        os.chmod(folder, FOLDER_MODE, follow_symlinks=False)


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Create ``path`` (never an existing file, never through a symbolic link) with ``mode``."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, mode)
    try:
        os.fchmod(fd, mode)  # the umask may have taken bits away, or (umask 000) none
        with os.fdopen(fd, "wb") as handle:
            fd = -1
            handle.write(data)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        path.unlink(missing_ok=True)
        raise


def _write_error(out: Path, exc: OSError) -> SigningKeyError:
    if exc.errno == errno.EEXIST or exc.errno == errno.ELOOP:
        return SigningKeyError(
            f"cannot write the key pair to {out}: {exc.filename} appeared meanwhile or is a "
            "symbolic link; nothing was written",
            advice="remove it or choose another --out folder",
        )
    return SigningKeyError(f"cannot write the key pair to {out}: {exc.strerror}")


def load_private(path: Path) -> ec.EllipticCurvePrivateKey:
    """An unencrypted PEM ECDSA P-256 private key; raises :class:`SigningKeyError`, also (like
    ssh) when the file may be read or written by anyone but its owner."""
    try:
        with path.open("rb") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            raw = handle.read()
    except OSError as exc:
        raise SigningKeyError(f"cannot read the signing key {path}: {exc.strerror}") from None
    if os.name == "posix" and mode & _TOO_OPEN:
        raise SigningKeyError(
            f"the signing key {path} has permissions {stat.S_IMODE(mode):04o}: it is readable "
            "or writable by others, so it is not used",
            advice=f"`chmod 600 {path}` (only its owner may read it), and replace the key "
            "if anyone else may have read it",
        )
    try:
        key = serialization.load_pem_private_key(raw, password=None)
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
