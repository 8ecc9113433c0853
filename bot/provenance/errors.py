"""Errors of the provenance layer: each says what failed and what to do next.

Verification *failures* are not errors:
:func:`bot.provenance.verification.verifier.verify_bundle` returns them as failed checks.
These exceptions are for things that stop mendbot from producing or reading a bundle at all
(git failures, unreadable keys, signing service failures).
"""

from __future__ import annotations

from bot.errors import MendbotError


class ProvenanceError(MendbotError):
    """Base of the provenance layer's errors."""


class ChangeError(ProvenanceError):
    """A change cannot be attested (gitlink, non-UTF-8 or unsafe path, reserved name)."""

    exit_code = 3


class BaseMismatchError(ProvenanceError):
    """The file analysed is not the file committed at the base commit."""

    exit_code = 3
    advice = (
        "bundles are built against commits: commit or stash local changes (and check for "
        "checkout filters such as core.autocrlf) before running with --bundle-out"
    )


class SigningKeyError(ProvenanceError):
    """A signing or verification key is missing, unreadable or of the wrong kind."""

    advice = "create a key pair with `mendbot key generate --out DIR` (ECDSA P-256, PEM)"


class SigningError(ProvenanceError):
    """A statement could not be signed."""

    exit_code = 3


class BundleError(ProvenanceError):
    """A remediation bundle directory cannot be written or read."""

    exit_code = 3
