"""The verifier's answer: every check by name, passed, failed or skipped, with advice."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum, unique

from bot.provenance.statement import Source, Statement


@unique
class Status(StrEnum):
    """The outcome of one check."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    """Not applicable (e.g. certificate binding of a key-signed bundle) or not evaluated
    because an earlier check failed (nothing unverified is ever evaluated)."""


@unique
class SignerKind(StrEnum):
    """What vouches for the statement."""

    SIGSTORE = "sigstore"
    KEY = "key"
    UNSIGNED = "unsigned"


@dataclass(frozen=True)
class Check:
    """One named check. ``id`` is stable (documented in docs/provenance.md)."""

    id: str
    status: Status
    message: str
    advice: str = ""

    @property
    def failed(self) -> bool:
        """Whether this check failed."""
        return self.status is Status.FAILED


@dataclass(frozen=True)
class Signer:
    """Who signed: the Sigstore identity and issuer, or the key's hint."""

    kind: SignerKind
    identity: str | None = None
    issuer: str | None = None
    key_hint: str | None = None
    signed_at: str | None = None
    """The certificate's issuance time (trusted time) for Sigstore bundles."""


@dataclass
class VerificationResult:
    """All checks of one verification, and what was verified when they passed."""

    checks: list[Check] = field(default_factory=list)
    statement: Statement | None = None
    """The statement parsed from the *verified* payload (None if it never verified)."""
    signer: Signer | None = None

    @property
    def ok(self) -> bool:
        """True only when no check failed and a statement was verified (or accepted)."""
        return self.statement is not None and not any(c.failed for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        """The failed checks, in the order they ran."""
        return [c for c in self.checks if c.failed]

    @property
    def source(self) -> Source | None:
        """The remediation's source for policies: an unsigned bundle is ``human-override``."""
        if self.statement is None:
            return None
        if self.signer is None or self.signer.kind is SignerKind.UNSIGNED:
            return "human-override"
        return self.statement.predicate.remediation.source

    def add(self, check_id: str, status: Status, message: str, advice: str = "") -> Check:
        """Record a check and return it."""
        check = Check(check_id, status, message, advice)
        self.checks.append(check)
        return check

    def passed(self, check_id: str, message: str) -> None:
        """Record a passed check."""
        self.add(check_id, Status.PASSED, message)

    def fail(self, check_id: str, message: str, advice: str) -> None:
        """Record a failed check with what to do about it."""
        self.add(check_id, Status.FAILED, message, advice)

    def skip(self, check_id: str, message: str) -> None:
        """Record a check that did not apply or was not evaluated."""
        self.add(check_id, Status.SKIPPED, message)
