"""Signers: Sigstore keyless (the ambient OIDC identity), a local ECDSA key, or none.

Every signer is a context manager (the Sigstore signer fetches one certificate for the whole
run) with :meth:`sign` turning statement bytes into bundle JSON bytes (None when unsigned) and
:attr:`claims` exposing the identity token's claims for the statement's run context.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from enum import StrEnum, unique
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

from cryptography.hazmat.primitives.asymmetric import ec

from bot.provenance import dsse, keys
from bot.provenance.errors import SigningError


@unique
class SignKind(StrEnum):
    """How bundles are signed (``--sign``)."""

    SIGSTORE = "sigstore"
    KEY = "key"
    NONE = "none"


class Signer(Protocol):
    """What the bundle writer needs from a signer."""

    kind: SignKind

    @property
    def claims(self) -> dict[str, object] | None:
        """The identity token's claims (keyless signing only)."""

    def sign(self, payload: bytes) -> bytes | None:
        """Bundle JSON over the in-toto ``payload``; None for unsigned dry runs."""

    def __enter__(self) -> Self:
        """Acquire credentials (certificate, key) for a run of signatures."""

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Release them."""


class NoSigner:
    """``--sign none``: dry runs; verifiers treat the bundle as ``human-override``."""

    kind = SignKind.NONE
    claims: dict[str, object] | None = None

    def sign(self, payload: bytes) -> bytes | None:
        """Nothing to sign with: always None."""
        return None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class KeySigner:
    """``--sign key``: DSSE with a local ECDSA P-256 key, in the Sigstore bundle shape."""

    kind = SignKind.KEY
    claims: dict[str, object] | None = None

    def __init__(self, key: ec.EllipticCurvePrivateKey) -> None:
        self._key = key

    @classmethod
    def from_file(cls, path: Path) -> KeySigner:
        """Load the PEM key at ``path``; raises :class:`~bot.provenance.errors.SigningKeyError`."""
        return cls(keys.load_private(path))

    def sign(self, payload: bytes) -> bytes | None:
        """A key-signed bundle over ``payload``."""
        return dsse.sign(self._key, payload).encode("utf-8")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class SigstoreSigner:
    """``--sign sigstore``: keyless, with the ambient OIDC identity, via sigstore-python.

    ``trust_config`` defaults to Sigstore's production instance (TUF refresh over the network);
    ``token`` (or, called on entry, ``token_source``) defaults to
    :func:`sigstore.oidc.detect_credential` (GitHub Actions with ``id-token: write``).
    Entering fetches one Fulcio certificate for every signature of the run.
    Raises :class:`SigningError` with advice on any failure.
    """

    kind = SignKind.SIGSTORE

    def __init__(
        self,
        trust_config: object | None = None,
        token: str | None = None,
        token_source: Callable[[], str | None] | None = None,
    ) -> None:
        self._trust_config = trust_config
        self._token = token
        self._token_source = token_source
        self._stack = ExitStack()
        self._signer: object | None = None
        self._claims: dict[str, object] | None = None

    @property
    def claims(self) -> dict[str, object] | None:
        """The (unverified) claims of the identity token in use."""
        return self._claims

    def __enter__(self) -> Self:
        from sigstore.models import ClientTrustConfig
        from sigstore.oidc import IdentityToken, detect_credential
        from sigstore.sign import SigningContext

        with _wrapped("getting a Sigstore signing certificate"):
            raw = self._token or (self._token_source or detect_credential)()
            if raw is None:
                raise SigningError(
                    "no ambient OIDC identity to sign with",
                    advice="run in GitHub Actions with `permissions: id-token: write`, or use "
                    "`--sign key --signing-key FILE` (or `--sign none` for a dry run)",
                )
            token = IdentityToken(raw)
            self._claims = _claims(raw)
            config = self._trust_config
            if config is None:
                config = ClientTrustConfig.production()
            if not isinstance(config, ClientTrustConfig):
                raise TypeError("trust_config must be a sigstore.models.ClientTrustConfig")
            context = SigningContext.from_trust_config(config)
            self._signer = self._stack.enter_context(context.signer(token))
        return self

    def sign(self, payload: bytes) -> bytes | None:
        """A Sigstore bundle (certificate, Rekor entry) over the in-toto ``payload``."""
        from sigstore.dsse import Statement
        from sigstore.sign import Signer as SigstoreSignerImpl

        if not isinstance(self._signer, SigstoreSignerImpl):
            raise SigningError("SigstoreSigner.sign called outside its `with` block")
        with _wrapped("signing with Sigstore"):
            bundle = self._signer.sign_dsse(Statement(payload))
        return (json.dumps(json.loads(bundle.to_json()), indent=2) + "\n").encode("utf-8")

    def __exit__(self, *exc: object) -> None:
        self._stack.close()


@contextmanager
def _wrapped(action: str) -> Iterator[None]:
    """Turn any failure inside the block into a :class:`SigningError` naming ``action``.

    The sigstore client raises its own errors, ``requests`` errors and plain exceptions from
    its private clients; all of them mean "this run cannot sign", so all are wrapped here.
    """
    try:
        yield
    except SigningError:
        raise
    except Exception as exc:
        advice = "check the network access to the Sigstore instance and the OIDC token"
        if type(exc).__name__ == "ExpiredIdentity":
            advice = "the OIDC token expired; request a fresh one right before signing"
        detail = getattr(exc, "diagnostics", None)
        text = detail() if callable(detail) else str(exc)
        raise SigningError(
            f"{action} failed: {type(exc).__name__}: {str(text).strip()}", advice=advice
        ) from exc


def _claims(token: str) -> dict[str, object] | None:
    """The payload of a JWT, unverified (Fulcio verifies it; we only read names from it)."""
    try:
        body = token.split(".")[1]
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (IndexError, ValueError, binascii.Error):
        return None
    return data if isinstance(data, dict) else None
