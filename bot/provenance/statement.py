"""The remediation attestation: an in-toto Statement v1 with mendbot's own predicate.

Predicate type :data:`PREDICATE_TYPE_V1` (schema: ``docs/provenance.md``). Subjects are the sha256
of every post-image file, named by repository path, plus ``_changeset``: the sha256 of the RFC 8785
canonical change list, which binds deletes, modes and pre-images too. The statement is
serialised once (:func:`statement_bytes`); verifiers parse the *signed bytes*
(:func:`parse_statement`), never a re-serialisation.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

from pydantic import Field, SerializerFunctionWrapHandler, ValidationError, model_serializer

from bot.provenance.changes import (
    CHANGESET_SUBJECT,
    GIT_OBJECT_ID,
    SHA256_HEX,
    Change,
    changeset_digest,
    sort_changes,
)
from bot.provenance.errors import ProvenanceError
from bot.provenance.schema import Schema
from bot.risk import BlastRadius, Disposition, Ownership, Reversibility

STATEMENT_TYPE: Final = "https://in-toto.io/Statement/v1"
#: mendbot's remediation predicate, version 1. Fixed forever; a new schema gets ``v2``.
PREDICATE_TYPE_V1: Final = (
    "https://github.com/mendbot/mendbot/blob/main/docs/attestations/remediation/v1.md"
)
#: The predicate types this mendbot understands (verifiers refuse any other).
KNOWN_PREDICATE_TYPES = (PREDICATE_TYPE_V1,)
#: DSSE payload type of in-toto statements.
PAYLOAD_TYPE = "application/vnd.in-toto+json"
#: How long a bundle stays valid unless told otherwise.
DEFAULT_VALIDITY = timedelta(days=30)
#: The longest validity a statement may claim (verifiers refuse longer ones).
MAX_VALIDITY = timedelta(days=90)

_TIME = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"
REMEDIATION_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*/[a-z0-9]+(?:-[a-z0-9]+)*$")

Source = Literal["detector", "rules-engine", "human-override"]


class StatementError(ProvenanceError):
    """A payload is not a statement mendbot can accept; the message says why."""

    exit_code = 3


class UnknownPredicateType(StatementError):
    """The statement's predicate type is not one this mendbot understands."""


class DigestSet(Schema):
    """Digests of one artifact; only sha256 (64 lowercase hex) is accepted."""

    sha256: str = Field(pattern=SHA256_HEX)


class Subject(Schema):
    """An attested artifact: a repository path (or ``_changeset``) and its digest."""

    name: str
    digest: DigestSet


class Repository(Schema):
    """The repository analysed. ``id``/``owner_id`` are GitHub's immutable numeric ids."""

    uri: str
    """``https://github.com/OWNER/REPO`` in GitHub Actions; the origin remote URL locally."""
    id: str | None
    owner_id: str | None


class Base(Schema):
    """The commit the analysis ran on; the patch applies to exactly this commit."""

    ref: str | None
    """The branch analysed (``refs/heads/main``); null for a detached HEAD."""
    git_commit: str = Field(pattern=GIT_OBJECT_ID)


class Risk(Schema):
    """The remediation's risk classification (the worst of its fixes)."""

    disposition: Disposition
    reversibility: Reversibility
    blast_radius: BlastRadius
    ownership: Ownership | None = None
    """``unknown`` when the remediation changes a non-human identity nobody answers for,
    ``known`` when every one it changes has an owner; absent for other changes."""
    second_order: bool = False
    """``secondOrder: true`` when the remediation changes an identity an agentic workflow of
    the repository uses (an AI agent, or a token-minting step, could act with it); absent
    (false) otherwise."""

    @model_serializer(mode="wrap")
    def _omit_unset(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if data.get("ownership", "") is None:
            del data["ownership"]
        for name in ("second_order", "secondOrder"):
            if data.get(name) is False:
                del data[name]
        return data


class RemediationInfo(Schema):
    """Which remediation this is, where it came from, and how risky it is."""

    id: str
    """``<group>/<target-slug>-<fingerprint[:8]>``."""
    fingerprint: str = Field(pattern=SHA256_HEX)
    title: str
    source: Source
    """``detector`` (mendbot's rules), ``rules-engine`` (imported results) or
    ``human-override`` (a person changed the fix)."""
    rules: tuple[str, ...]
    risk: Risk


class FindingRef(Schema):
    """A finding the remediation resolves."""

    id: str
    rule_id: str
    rule_version: str
    """Rules ship with mendbot: the rule version is the mendbot version."""
    severity: str
    title: str
    path: str
    line: int


class ConfigRef(Schema):
    """The configuration file used, by path and digest."""

    path: str
    digest: DigestSet


class Generator(Schema):
    """The tool and identity that produced the statement (SLSA ``builder``)."""

    name: Literal["mendbot"]
    version: str
    id: str | None
    """The analysis workflow identity (the certificate SAN) in GitHub Actions; null locally."""
    config: ConfigRef | None


class InputRef(Schema):
    """An input beyond the repository (a telemetry snapshot), by digest."""

    name: str
    uri: str | None
    digest: DigestSet


class Invocation(Schema):
    """The run that produced the statement (SLSA ``metadata.invocationId``)."""

    id: str | None
    """``https://github.com/O/R/actions/runs/<run_id>/attempts/<attempt>``; null locally."""
    event_name: str | None
    run_id: str | None
    run_attempt: str | None


class RemediationPredicate(Schema):
    """The predicate of :data:`PREDICATE_TYPE_V1`."""

    repository: Repository
    base: Base
    changes: tuple[Change, ...]
    remediation: RemediationInfo
    findings: tuple[FindingRef, ...]
    generator: Generator
    inputs: tuple[InputRef, ...]
    invocation: Invocation
    created_on: str = Field(pattern=_TIME)
    expires_on: str = Field(pattern=_TIME)


class Statement(Schema):
    """An in-toto Statement v1 carrying a :class:`RemediationPredicate`."""

    type_: Literal["https://in-toto.io/Statement/v1"] = Field(alias="_type")
    subject: tuple[Subject, ...]
    predicate_type: Literal[
        "https://github.com/mendbot/mendbot/blob/main/docs/attestations/remediation/v1.md"
    ]
    predicate: RemediationPredicate

    def file_subjects(self) -> dict[str, str]:
        """Subject name → sha256, without ``_changeset``."""
        return {s.name: s.digest.sha256 for s in self.subject if s.name != CHANGESET_SUBJECT}


def format_time(moment: datetime) -> str:
    """RFC 3339 UTC with a ``Z`` and whole seconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """The aware datetime of a :func:`format_time` string."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def subjects_for(changes: Sequence[Change]) -> tuple[Subject, ...]:
    """One subject per post-image (add/modify) plus the ``_changeset`` subject."""
    files = [
        Subject(name=c.path, digest=DigestSet(sha256=c.after.sha256))
        for c in sort_changes(changes)
        if c.after is not None
    ]
    changeset = Subject(name=CHANGESET_SUBJECT, digest=DigestSet(sha256=changeset_digest(changes)))
    return (*files, changeset)


def build_statement(
    *,
    changes: Sequence[Change],
    repository: Repository,
    base: Base,
    remediation: RemediationInfo,
    findings: Sequence[FindingRef],
    generator: Generator,
    invocation: Invocation,
    inputs: Sequence[InputRef] = (),
    created: datetime,
    validity: timedelta = DEFAULT_VALIDITY,
) -> Statement:
    """Assemble the statement; raises :class:`StatementError` for an empty change list or a
    validity outside ``(0, MAX_VALIDITY]``."""
    if not changes:
        raise StatementError(f"{remediation.id}: the remediation changes nothing to attest")
    if not timedelta(0) < validity <= MAX_VALIDITY:
        raise StatementError(f"validity {validity} is outside (0, {MAX_VALIDITY}]")
    ordered = tuple(sort_changes(changes))
    predicate = RemediationPredicate(
        repository=repository,
        base=base,
        changes=ordered,
        remediation=remediation,
        findings=tuple(findings),
        generator=generator,
        inputs=tuple(inputs),
        invocation=invocation,
        created_on=format_time(created),
        expires_on=format_time(created + validity),
    )
    return Statement(
        type_=STATEMENT_TYPE,
        subject=subjects_for(ordered),
        predicate_type=PREDICATE_TYPE_V1,
        predicate=predicate,
    )


def statement_bytes(statement: Statement | dict[str, object]) -> bytes:
    """The one serialisation that is signed and written as ``statement.json``."""
    data = (
        statement.model_dump(mode="json", by_alias=True)
        if isinstance(statement, Statement)
        else statement
    )
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def unverified_payload(raw: bytes) -> bytes | None:
    """The payload of the DSSE envelope in attestation ``raw``, read without checking any
    signature (None when ``raw`` holds none): only for choosing what to check, never to trust."""
    try:
        envelope = json.loads(raw)["dsseEnvelope"]
        return base64.b64decode(envelope["payload"], validate=True)
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, binascii.Error):
        return None


def parse_statement(payload: bytes) -> Statement:
    """Parse signed payload bytes strictly.

    Raises :class:`UnknownPredicateType` for a predicate type not in
    :data:`KNOWN_PREDICATE_TYPES`, and :class:`StatementError` for anything else that is not a
    valid statement (not JSON, wrong ``_type``, schema violations).
    """
    try:
        envelope = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StatementError(f"the payload is not JSON: {exc}") from None
    if not isinstance(envelope, dict):
        raise StatementError("the payload is not a JSON object")
    if envelope.get("_type") != STATEMENT_TYPE:
        raise StatementError(f"_type is {envelope.get('_type')!r}, not {STATEMENT_TYPE!r}")
    predicate_type = envelope.get("predicateType")
    if predicate_type not in KNOWN_PREDICATE_TYPES:
        raise UnknownPredicateType(
            f"unknown predicate type {predicate_type!r}; "
            f"this mendbot understands {', '.join(KNOWN_PREDICATE_TYPES)}",
            advice="upgrade mendbot if the bundle was made by a newer one; otherwise the "
            "attestation is not a mendbot remediation",
        )
    try:
        return Statement.model_validate_json(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise StatementError(
            f"the statement does not match the v1 schema: {where}: {first['msg']}"
            + (f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else "")
        ) from None


def consistency_problems(statement: Statement) -> list[str]:
    """What is wrong inside a parsed statement (empty when it is self-consistent).

    Subject names unique; exactly one ``_changeset`` whose digest is the canonical change
    list's; the file subjects equal the post-images of the add/modify changes; change paths
    unique; validity within :data:`MAX_VALIDITY`.
    """
    problems: list[str] = []
    predicate = statement.predicate
    names = [s.name for s in statement.subject]
    if len(set(names)) != len(names):
        problems.append("subject names are not unique")
    changesets = [s for s in statement.subject if s.name == CHANGESET_SUBJECT]
    if len(changesets) != 1:
        problems.append(f"expected one {CHANGESET_SUBJECT} subject, found {len(changesets)}")
    elif changesets[0].digest.sha256 != changeset_digest(predicate.changes):
        problems.append(
            f"the {CHANGESET_SUBJECT} digest is not the sha256 of the canonical change list"
        )
    paths = [c.path for c in predicate.changes]
    if len(set(paths)) != len(paths):
        problems.append("a path appears twice in the change list")
    if not predicate.changes:
        problems.append("the change list is empty")
    expected = {c.path: c.after.sha256 for c in predicate.changes if c.after is not None}
    if statement.file_subjects() != expected:
        problems.append("the file subjects are not exactly the post-images of the changes")
    created, expires = parse_time(predicate.created_on), parse_time(predicate.expires_on)
    if not timedelta(0) < expires - created <= MAX_VALIDITY:
        problems.append(f"the validity {expires - created} is outside (0, {MAX_VALIDITY}]")
    return problems
