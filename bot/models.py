"""The data mendbot passes between stages: findings, fixes, remediations, analysis results.

Every model is frozen and rejects unknown fields, so a value read back from JSON is exactly a
value mendbot could have produced.
"""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum, unique
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from bot.risk import BlastRadius, Disposition, Ownership, Reversibility
from bot.yamledit.document import Route
from bot.yamledit.ops import Operation


class Model(BaseModel):
    """Base of mendbot's own models: immutable, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


@unique
class Severity(StrEnum):
    """How bad a finding is if exploited."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """Ordering from ``info`` (0) to ``critical`` (4)."""
        return list(Severity).index(self)


@unique
class Confidence(StrEnum):
    """How sure the rule is that the finding is real."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@unique
class FixMode(StrEnum):
    """Which fixes ``--fix`` applies: ``safe`` ones only, or ``all``."""

    SAFE = "safe"
    ALL = "all"

    def allows(self, disposition: Disposition) -> bool:
        """Whether a fix of ``disposition`` is applied in this mode."""
        return self is FixMode.ALL or disposition is Disposition.SAFE


class Location(Model):
    """Where a finding is: a repository-relative path, 1-based line/column, and YAML route."""

    path: str
    line: int = Field(ge=1)
    column: int = Field(ge=1)
    route: Route = ()


class Finding(Model):
    """One problem a rule found."""

    rule: str
    """Stable id of the rule, e.g. ``gha-persist-credentials``."""
    title: str
    severity: Severity
    confidence: Confidence
    location: Location
    message: str
    """What is wrong here, and why it matters, in one or two sentences."""
    evidence: str = ""
    """The offending text, as found; part of :attr:`id`, so it must not hold positions."""
    subject: str | None = None
    """The object outside git the finding is about (an access key), when its place in the file
    can move (a key listed before it appears): :attr:`id` names it instead of the YAML route,
    so a refreshed inventory keeps the finding's id. Serialised only when set."""

    @model_serializer(mode="wrap")
    def _omit_unset(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return omit_none(handler(self), "subject")

    @cached_property
    def id(self) -> str:
        """Stable identifier from rule, path, YAML route (or :attr:`subject`) and evidence:
        independent of line numbers, so it survives unrelated edits."""
        identity = {
            "rule": self.rule,
            "path": self.location.path,
            "route": self.location.route if self.subject is None else self.subject,
            "evidence": self.evidence,
        }
        return digest(identity)[:16]


class Fix(Model):
    """A proposed change for one finding: data, applied later by the YAML engine."""

    finding: str
    """The :attr:`Finding.id` this fix resolves."""
    rule: str
    path: str
    title: str
    disposition: Disposition
    reversibility: Reversibility = Reversibility.REVERSIBLE
    blast_radius: BlastRadius = BlastRadius.FILE
    patches: tuple[Operation, ...]
    group: str = ""
    """Remediation group: fixes of one group and file are proposed together (default: rule)."""
    ownership: Ownership | None = None
    """Whether someone answers for the identity the fix changes (None: not an identity).
    Serialised only when set."""
    target: str | None = None
    """The object outside git the fix changes (an access key id), when its place in the file
    can move (a key listed before it appears): the fingerprint names it instead of the
    patches' routes, so the same change keeps its fingerprint. Serialised only when set."""
    second_order: bool = False
    """The identity the fix changes is one an agentic workflow of the repository uses (see
    :mod:`bot.analyze.second_order`): the change reaches what an AI agent can do. Serialised
    only when true; not part of the fingerprint (it describes the repository, not the fix)."""

    @model_serializer(mode="wrap")
    def _omit_unset(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return omit_false(omit_none(handler(self), "ownership", "target"), "second_order")

    @property
    def group_key(self) -> str:
        """The group this fix is proposed in (its rule id unless the rule names a group)."""
        return self.group or self.rule


class Unfixed(Model):
    """A fix that was wanted but not applied, and why."""

    finding: str
    rule: str
    path: str
    reason: str


class FileError(Model):
    """An input that could not be analysed (or was skipped), with where and why."""

    path: str
    message: str
    line: int | None = None
    column: int | None = None
    skipped: bool = False
    """True for inputs deliberately left out (too large, outside the repository)."""


class FixLimit(Model):
    """A file whose fixing stopped at the round limit, leaving fixable findings unfixed."""

    path: str
    rounds: int
    """The limit that was reached: rounds of fixing (each re-runs the rules once)."""
    unfixed: int
    """Findings whose fix was still to be tried when fixing stopped."""


class RevertedRemediation(Model):
    """A fix of this analysis that belonged to a remediation merged and then reverted on the
    analysed branch: a person's decision, so mendbot leaves it out of every remediation it
    proposes (``mendbot unignore <remediation>`` brings it back)."""

    remediation: str
    """The id of the reverted remediation the fix belonged to."""
    reverted_in: str
    """The commit that reverted it (removed its attestation and undid its change)."""
    reverted_by: str
    """Who reverted it: that commit's author, or for the bot's own revert commit the person
    it names (``Requested-by:``) or who merged it."""
    finding: str
    """The finding of this analysis whose fix is left out."""
    rule: str
    path: str
    anchor: str
    """Where the fix applies, independent of its position (``jobs/build/steps/uses=actions/
    checkout#0``): the fix stays out when steps or jobs are added around it."""


class Remediation(Model):
    """A group of fixes that becomes one pull request."""

    id: str
    """Readable and stable: ``<rule>/<target-slug>-<fingerprint[:8]>``."""
    fingerprint: str
    """sha256 over the canonical fixes: the same fixes always give the same fingerprint."""
    title: str
    rules: tuple[str, ...]
    paths: tuple[str, ...]
    fixes: tuple[Fix, ...]
    disposition: Disposition
    reversibility: Reversibility
    blast_radius: BlastRadius
    ownership: Ownership | None = None
    """``unknown`` when any fix changes an identity nobody answers for."""
    second_order: bool = False
    """True when any fix changes an identity an agentic workflow uses."""

    @model_serializer(mode="wrap")
    def _omit_no_ownership(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return omit_false(omit_none(handler(self), "ownership"), "second_order")


class AnalysisResult(Model):
    """Everything one analysis produced."""

    findings: tuple[Finding, ...] = ()
    fixes: tuple[Fix, ...] = ()
    applied: tuple[str, ...] = ()
    """Finding ids whose fix was applied (with ``--fix``)."""
    unfixed: tuple[Unfixed, ...] = ()
    errors: tuple[FileError, ...] = ()
    files_analysed: int = 0
    fix_limits: tuple[FixLimit, ...] = ()
    """Files where fixing stopped at the round limit (their unfixed findings say so too)."""
    reverted: tuple[RevertedRemediation, ...] = ()
    """Fixes of this analysis left out because their remediation was reverted on the analysed
    branch."""

    def fix_for(self, finding: Finding) -> Fix | None:
        """The fix proposed for ``finding``, if any."""
        return self._fixes_by_finding.get(finding.id)

    @cached_property
    def _fixes_by_finding(self) -> dict[str, Fix]:
        return {fix.finding: fix for fix in self.fixes}

    def unfixed_reason(self, finding: Finding) -> str | None:
        """Why the finding's fix was not applied (or why it has none), if known."""
        return self._unfixed_by_finding.get(finding.id)

    @cached_property
    def _unfixed_by_finding(self) -> dict[str, str]:
        reasons: dict[str, str] = {}
        for item in self.unfixed:
            reasons.setdefault(item.finding, item.reason)
        return reasons

    @cached_property
    def applied_ids(self) -> frozenset[str]:
        """Ids of the findings whose fix was applied."""
        return frozenset(self.applied)


def digest(value: Any) -> str:
    """sha256 hex of the canonical JSON form of ``value`` (sorted keys, no whitespace), in
    UTF-8; a lone surrogate (a file name that is not UTF-8, as Python decodes it) is hashed
    as its code unit rather than refused."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def omit_none(data: dict[str, Any], *names: str) -> dict[str, Any]:
    """``data`` without the ``names`` whose value is None: optional fields added to a
    serialised shape stay out of it when unset, so what was written before is unchanged."""
    for name in names:
        if data.get(name, "") is None:
            del data[name]
    return data


def omit_false(data: dict[str, Any], *names: str) -> dict[str, Any]:
    """``data`` without the ``names`` whose value is False (flags added to a serialised shape
    stay out of it when off, so what was written before is unchanged)."""
    for name in names:
        if data.get(name) is False:
            del data[name]
    return data
