"""The signed deploy record: one in-toto statement per attempt, whatever its outcome.

Predicate type :data:`PREDICATE_TYPE` (documented in ``docs/attestations/deploy/v1.md``). The
subjects bind the record to the merge commit, the remediation's attestation and the desired
state; the predicate says what was deployed where, why, under which gate decision, by which
authority (never a secret), what validation found and how it ended. :func:`verify_record`
checks the envelope's signature against the deploy identity and every field; one changed byte
fails it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.provenance.signing.signers import Signer
from bot.provenance.statement import PAYLOAD_TYPE
from bot.provenance.verification.result import Check, VerificationResult
from bot.provenance.verification.trust import Trust
from bot.provenance.verification.verifier import authenticate

#: The deploy record's predicate type.
PREDICATE_TYPE = "https://github.com/mendbot/mendbot/blob/main/docs/attestations/deploy/v1.md"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
#: Every outcome a record may carry.
OUTCOMES = (
    "applied",
    "skipped",
    "refused",
    "drift",
    "failed",
    "compensated",
    "compensation-failed",
)
#: The outcomes of a follow-up record (``observes``): still holding, drifted, not readable,
#: or a regression compensated (or not).
OBSERVATION_OUTCOMES = ("applied", "drift", "failed", "compensated", "compensation-failed")
_TIME = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"
_SHA1 = r"^[0-9a-f]{40}$"
_SHA256 = r"^[0-9a-f]{64}$"
#: Shapes of credentials that must never be in a record (checked when signing and verifying).
SECRET_SHAPES = re.compile(
    r"(gh[pousr]_[A-Za-z0-9_]{20,}|github_pat_[A-Za-z0-9_]{20,}|eyJ[A-Za-z0-9_-]{10,}\."
    r"[A-Za-z0-9_-]{10,}|(?<![A-Z0-9])ASIA[A-Z0-9]{16}(?![A-Z0-9])|"
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----)"
)


class RecordError(Exception):
    """A record that cannot be written because it would hold a secret."""


class _Schema(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Credential(_Schema):
    type: str
    principal: str
    session_name: str = Field(alias="sessionName")
    expires_at: str = Field(alias="expiresAt", pattern=_TIME)
    scope_sha256: str = Field(alias="scopeSha256", pattern=r"^sha256:[0-9a-f]{64}$")
    scope: dict[str, Any]


class AuthorityInfo(_Schema):
    workflow_ref: str | None = Field(alias="workflowRef")
    run_url: str | None = Field(alias="runUrl")
    oidc_subject: str | None = Field(alias="oidcSubject")
    credential: Credential | None


class GateInfo(_Schema):
    decision: str
    summary: str
    policies_digest: str | None = Field(alias="policiesDigest")
    decision_record_sha256: str = Field(alias="decisionRecordSha256", pattern=_SHA256)
    evaluated_at: str = Field(alias="evaluatedAt", pattern=_TIME)
    pull: int | None
    approved_head: str | None = Field(alias="approvedHead")


class ValidationInfo(_Schema):
    result: Literal["passed", "failed", "not-observable", "not-run"]
    checks: tuple[str, ...]


class ObservesInfo(_Schema):
    """What a follow-up record of ``mendbot deploy observe`` re-checked: the first record of the
    deployment (by digest) and its observation window."""

    record_sha256: str = Field(alias="recordSha256", pattern=_SHA256)
    applied_at: str = Field(alias="appliedAt", pattern=_TIME)
    window_ends_at: str = Field(alias="windowEndsAt", pattern=_TIME)
    final: bool


class DeletionInfo(_Schema):
    """On the record of a deletion: what it removes, and that nothing can bring it back."""

    objects: tuple[str, ...]
    reversibility: Literal["irreversible"]
    compensation: str
    """Why no compensation is possible (and no revert is asked for)."""


class TargetInfo(_Schema):
    kind: str
    source: str
    location: dict[str, Any]
    objects: tuple[str, ...]


class DeployPredicate(_Schema):
    """The predicate's schema (``docs/attestations/deploy/v1.md``)."""

    change: str
    environment: str
    repository: str
    merge_sha: str = Field(alias="mergeSha", pattern=_SHA1)
    target: TargetInfo
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    desired: dict[str, Any]
    why: dict[str, Any]
    gate: GateInfo
    authority: AuthorityInfo
    validation: ValidationInfo
    outcome: Literal[
        "applied", "skipped", "refused", "drift", "failed", "compensated", "compensation-failed"
    ]
    reasons: tuple[str, ...]
    resolves: tuple[int, ...]
    rollback: dict[str, Any]
    time_started: str = Field(alias="timeStarted", pattern=_TIME)
    time_finished: str = Field(alias="timeFinished", pattern=_TIME)
    observes: ObservesInfo | None = None
    """Absent on the record of an apply; on a follow-up record, the apply record it observes."""
    deletion: DeletionInfo | None = None
    """Present when the change deletes objects (whatever the outcome): irreversible."""


class Digest(_Schema):
    sha256: str | None = Field(default=None, pattern=_SHA256)
    git_commit: str | None = Field(default=None, alias="gitCommit", pattern=_SHA1)


class RecordSubject(_Schema):
    name: str
    digest: Digest


class DeployStatement(_Schema):
    type_: Literal["https://in-toto.io/Statement/v1"] = Field(alias="_type")
    subject: tuple[RecordSubject, ...] = Field(min_length=2)
    predicate_type: Literal[
        "https://github.com/mendbot/mendbot/blob/main/docs/attestations/deploy/v1.md"
    ] = Field(alias="predicateType")
    predicate: DeployPredicate


def statement_for(predicate: dict[str, Any], attestation: dict[str, str]) -> dict[str, Any]:
    """The in-toto statement of ``predicate`` (validated against the schema), with subjects
    the merge commit and, when there is one, the remediation's attestation."""
    subjects: list[dict[str, Any]] = [
        {
            "name": f"git+{predicate['repository']}@{predicate['mergeSha']}",
            "digest": {"gitCommit": predicate["mergeSha"]},
        }
    ]
    subjects.append(
        {
            "name": attestation.get("path") or "_no-attestation",
            "digest": {"sha256": attestation.get("sha256") or "0" * 64},
        }
    )
    statement = {
        "_type": STATEMENT_TYPE,
        "subject": subjects,
        "predicateType": PREDICATE_TYPE,
        "predicate": predicate,
    }
    DeployStatement.model_validate(statement)
    return statement


def sign_record(statement: dict[str, Any], signer: Signer) -> bytes:
    """The signed bundle of ``statement``; raises :class:`RecordError` if the statement holds
    anything shaped like a credential (it must never leave the job), and when unsigned."""
    payload = json.dumps(statement, sort_keys=True, separators=(",", ":")).encode()
    if SECRET_SHAPES.search(payload.decode()):
        raise RecordError("the deploy record holds a credential-shaped value; not written")
    bundle = signer.sign(payload)
    if bundle is None:
        raise RecordError("deploy records are always signed (--sign key or sigstore)")
    return bundle


@dataclass
class RecordVerification:
    """The checks of one deploy record, and the record once they all passed."""

    result: VerificationResult
    record: DeployStatement | None = None

    @property
    def ok(self) -> bool:
        """True only when the record parsed and no check failed."""
        return self.record is not None and not self.result.failures

    @property
    def checks(self) -> list[Check]:
        """Every check, in the order it ran."""
        return self.result.checks


def verify_record(raw: bytes, trust: Trust) -> RecordVerification:
    """Verify a record's envelope (signature by ``trust``, in-toto payload) and every field."""
    payload, result = authenticate(raw, trust)
    verification = RecordVerification(result)
    if payload is None:
        return verification
    try:
        document = json.loads(raw)
        payload_type = document["dsseEnvelope"]["payloadType"]
    except (ValueError, KeyError, TypeError):
        payload_type = None
    if payload_type != PAYLOAD_TYPE:
        result.fail(
            "payload-type", f"not an in-toto payload ({payload_type!r})", "not a mendbot record"
        )
        return verification
    try:
        statement = DeployStatement.model_validate_json(payload)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "<root>"
        result.fail("record", f"{where}: {error['msg']}", "the record was not made by mendbot")
        return verification
    result.passed("record", f"valid deploy record v1 ({statement.predicate.outcome})")
    problems = _consistency(statement, payload)
    for problem in problems:
        result.fail("consistency", problem, "treat the record as forged")
    if not problems:
        result.passed("consistency", "subjects, times and outcome agree")
        verification.record = statement
    return verification


def _consistency(statement: DeployStatement, payload: bytes) -> list[str]:
    predicate = statement.predicate
    problems = []
    commit = statement.subject[0].digest.git_commit
    if commit != predicate.merge_sha:
        problems.append(f"the first subject is {commit}, the predicate says {predicate.merge_sha}")
    if predicate.time_finished < predicate.time_started:
        problems.append("finished before it started")
    if predicate.outcome in ("applied", "compensated", "compensation-failed") and (
        predicate.before is None or predicate.authority.credential is None
    ):
        problems.append(f"outcome {predicate.outcome} without a before state or a credential")
    if predicate.outcome == "applied" and predicate.validation.result == "failed":
        problems.append("applied although validation failed")
    if SECRET_SHAPES.search(payload.decode("utf-8", "replace")):
        problems.append("the record holds a credential-shaped value")
    observes = predicate.observes
    if observes is not None:
        if predicate.outcome not in OBSERVATION_OUTCOMES:
            problems.append(f"an observation cannot end {predicate.outcome}")
        if observes.window_ends_at < observes.applied_at:
            problems.append("the observation window ends before the change was applied")
        if predicate.time_started < observes.applied_at:
            problems.append("observed before the change was applied")
    return problems
