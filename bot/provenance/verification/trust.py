"""What a verifier trusts: a public key, a Sigstore workflow identity, or (unsafely) nothing.

:class:`SigstoreTrust` derives the source repository and ref from a GitHub workflow SAN
(``https://github.com/O/R/.github/workflows/f.yml@refs/heads/main``, split at the ``@`` after
the file name because refs may contain ``@``); pass them explicitly for a reusable workflow
that lives in another repository.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from bot.errors import UsageError
from bot.provenance import keys

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
#: Events an analysis workflow is expected to run on (pull requests never sign remediations).
DEFAULT_TRIGGERS = ("schedule", "workflow_dispatch", "push")
#: The oldest a keyless signature may be (trusted certificate time), whatever the statement says.
DEFAULT_MAX_AGE = timedelta(days=30)

_WORKFLOW_SAN = re.compile(
    r"^(?P<repo>https://[^/]+/[^/]+/[^/]+)/\.github/workflows/[^@/]+\.ya?ml@(?P<ref>.+)$"
)


@dataclass(frozen=True)
class KeyTrust:
    """Trust bundles signed by this ECDSA P-256 public key."""

    public_key: ec.EllipticCurvePublicKey

    @classmethod
    def from_file(cls, path: Path) -> KeyTrust:
        """Load a PEM public key; raises :class:`~bot.provenance.errors.SigningKeyError`."""
        return cls(keys.load_public(path))

    @property
    def hint(self) -> str:
        """The key's public-key hint."""
        return keys.key_hint(self.public_key)


@dataclass(frozen=True)
class SigstoreTrust:
    """Trust keyless bundles from one GitHub Actions workflow identity.

    ``trusted_root`` is a :class:`sigstore.models.TrustedRoot` (None: Sigstore production,
    refreshed over TUF unless ``offline``). ``repository_uri``/``source_ref`` default to the
    values in ``identity``; ``repository_id`` is checked when given.
    """

    identity: str
    issuer: str = GITHUB_ISSUER
    repository_uri: str | None = None
    repository_id: str | None = None
    source_ref: str | None = None
    runner_environment: str | None = "github-hosted"
    triggers: tuple[str, ...] = DEFAULT_TRIGGERS
    max_age: timedelta = DEFAULT_MAX_AGE
    trusted_root: object | None = field(default=None, compare=False)
    offline: bool = False

    def __post_init__(self) -> None:
        match = _WORKFLOW_SAN.match(self.identity)
        if self.repository_uri is None:
            if match is None:
                raise UsageError(
                    f"cannot tell the source repository from identity {self.identity!r}",
                    advice="pass a workflow identity like https://github.com/O/R/.github/"
                    "workflows/analyze.yml@refs/heads/main, or the repository explicitly",
                )
            object.__setattr__(self, "repository_uri", match["repo"])
        if self.source_ref is None and match is not None and match["repo"] == self.repository_uri:
            object.__setattr__(self, "source_ref", match["ref"])


@dataclass(frozen=True)
class UnsafeAcceptUnsigned:
    """Check the change set without any signature: the result's source is ``human-override``.

    For dry runs and reviews of ``--sign none`` bundles; never use it where a signature is
    required.
    """


Trust = KeyTrust | SigstoreTrust | UnsafeAcceptUnsigned
