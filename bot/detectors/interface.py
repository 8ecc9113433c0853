"""The rule interface: identity declared once, visitor hooks, findings and fixes as data.

A rule subclasses :class:`WorkflowRule` (or, for desired-state files,
:class:`~bot.detectors.desired_rule.DesiredStateRule`), declares its class attributes, and
overrides only the most specific hook it needs (``visit_workflow`` → ``visit_job`` →
``visit_step``); the defaults traverse. Rules never write files: they yield
:class:`Detection` values whose fix is a list of YAML operations the engine applies later.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel

from bot.models import Confidence, Finding, Fix, Location, Severity
from bot.resolvers.action_refs import RefResolver
from bot.resolvers.image_registries import RegistryResolver
from bot.risk import BlastRadius, Disposition, Ownership, Reversibility
from bot.workflow.model import Job, Step, Workflow
from bot.yamledit.document import Route
from bot.yamledit.ops import Operation

_RULE_ID = re.compile(r"^[a-z]+(?:-[a-z0-9]+)+$")

DOCS_BASE = "https://github.com/mendbot/mendbot/blob/main/docs/rules.md"


@dataclass(frozen=True)
class RuleServices:
    """What the world outside the file offers rules. A None member means "not available"
    (offline, or analysing loose files): rules then report without the fixes that need it."""

    refs: RefResolver | None = None
    """Lists branches and tags of action repositories (None when offline)."""
    registry: RegistryResolver | None = None
    """Resolves container image tags to digests (None when offline)."""
    repository_root: Path | None = None
    """Root of the analysed repository, for rules that read other files (reusable workflows)."""


@dataclass(frozen=True)
class Detection:
    """A finding, the fix a rule proposes for it (if any), and why there is none otherwise."""

    finding: Finding
    fix: Fix | None = None
    no_fix_reason: str | None = None


class Rule:
    """What every rule declares once, whatever it reads: identity, documentation, risk of its
    fixes, options. :class:`WorkflowRule` reads workflows; rules of desired-state files (the
    inventory of non-human identities) subclass
    :class:`~bot.detectors.desired_rule.DesiredStateRule`.

    Subclasses must set :attr:`id`, :attr:`title`, :attr:`description` and
    :attr:`default_severity`; :attr:`fix_disposition` is None for report-only rules. The
    ``example_before``/``example_after`` pair is rendered into the docs and checked by tests.
    """

    id: ClassVar[str]
    """Stable kebab-case id with a family prefix; never renamed (baselines depend on it)."""
    title: ClassVar[str]
    description: ClassVar[str]
    """Why this matters, in a paragraph (Markdown)."""
    default_severity: ClassVar[Severity]
    default_confidence: ClassVar[Confidence] = Confidence.HIGH
    fix_disposition: ClassVar[Disposition | None] = None
    """The least risky disposition the rule's fixes can have; None when it never fixes."""
    reversibility: ClassVar[Reversibility] = Reversibility.REVERSIBLE
    blast_radius: ClassVar[BlastRadius] = BlastRadius.FILE
    example_before: ClassVar[str] = ""
    example_after: ClassVar[str] = ""
    ignore_example: ClassVar[str] = ".github/workflows/legacy-*.yml"
    """A path glob shown in the docs' ``rules.<id>.ignore`` example."""
    remediation_group: ClassVar[str | None] = None
    """Rules whose fixes depend on each other share a group: their fixes to one file become
    one remediation (one PR, one commit), so reverting it can never leave half a change."""
    fixes_reach: ClassVar[frozenset[str] | None] = None
    """The other rules whose detections (finding ids and fixes) a fix of this rule can change;
    None (the default) for any rule. After a round of this rule's fixes, fixing runs only this
    rule and these again and keeps the other rules' detections, so a declared set is a promise
    that the fixes write nothing those other rules read (checked on every corpus by
    ``tests/test_fix_reach.py``)."""
    enabled_by_default: ClassVar[bool] = True
    """False for an auditor's rule that reports a hardening opportunity rather than a flaw:
    it runs only when ``rules.<id>.enabled: true`` or ``--rule <id>`` asks for it."""
    works_offline: ClassVar[bool] = True
    """False when the rule needs the network (action refs) to decide or to fix."""
    options_model: ClassVar[type[BaseModel] | None] = None
    """Pydantic model (``extra="forbid"``) of ``rules.<id>.options``; None for no options."""

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        # Intermediate bases (without their own id) share plumbing and are never registered.
        if "id" in cls.__dict__ and not _RULE_ID.match(cls.id):
            raise TypeError(f"rule id {cls.id!r} is not kebab-case with a family prefix")

    def __init__(
        self,
        severity: Severity | None = None,
        options: dict[str, Any] | None = None,
        services: RuleServices | None = None,
    ) -> None:
        self.severity = severity or self.default_severity
        self.severity_configured = severity is not None
        """Whether ``rules.<id>.severity`` overrides the rule's own choice for every finding."""
        self.services = services or RuleServices()
        model = self.options_model
        self.options: BaseModel | None = (
            model.model_validate(options or {}) if model is not None else None
        )

    @classmethod
    def docs_url(cls) -> str:
        """Link to this rule's section of ``docs/rules.md``."""
        return f"{DOCS_BASE}#{cls.id}"

    @classmethod
    def family(cls) -> str:
        """The id's family prefix, e.g. ``gha``."""
        return cls.id.split("-", 1)[0]

    def located_finding(
        self,
        location: Location,
        message: str,
        *,
        evidence: str = "",
        confidence: Confidence | None = None,
        severity: Severity | None = None,
        subject: str | None = None,
    ) -> Finding:
        """A :class:`Finding` pre-filled with this rule's identity at ``location``
        (``subject``: see :attr:`Finding.subject`).

        ``severity`` is this finding's own severity (a rule may grade its findings); a severity
        configured in ``rules.<id>.severity`` still wins.
        """
        return Finding(
            rule=self.id,
            title=self.title,
            severity=(
                severity if severity is not None and not self.severity_configured else self.severity
            ),
            confidence=confidence or self.default_confidence,
            location=location,
            message=message,
            evidence=evidence,
            subject=subject,
        )

    def fix(
        self,
        finding: Finding,
        title: str,
        patches: Sequence[Operation],
        *,
        disposition: Disposition | None = None,
        ownership: Ownership | None = None,
        target: str | None = None,
    ) -> Fix:
        """A :class:`Fix` for ``finding``; a fix may be riskier than the rule's default, never
        safer. ``ownership`` says whether someone answers for the identity it changes,
        ``target`` names that identity when its place in the file can move."""
        declared = self.fix_disposition
        if declared is None:
            raise TypeError(f"{self.id} is report-only and cannot propose fixes")
        chosen = disposition or declared
        if declared is Disposition.UNSAFE:
            chosen = Disposition.UNSAFE
        return Fix(
            finding=finding.id,
            rule=self.id,
            path=finding.location.path,
            title=title,
            disposition=chosen,
            reversibility=self.reversibility,
            blast_radius=self.blast_radius,
            patches=tuple(patches),
            group=self.remediation_group or self.id,
            ownership=ownership,
            target=target,
        )


class WorkflowRule(Rule):
    """Base class of GitHub Actions workflow rules: override the most specific visitor hook
    (``visit_workflow`` → ``visit_job`` → ``visit_step``); the defaults traverse."""

    # -- hooks -------------------------------------------------------------------------------

    def visit_workflow(self, workflow: Workflow) -> Iterator[Detection]:
        """Check a whole workflow; the default visits each job (and, in a composite
        ``action.yml``, each of its steps)."""
        for job in workflow.jobs:
            yield from self.visit_job(job)
        for step in workflow.action_steps:
            yield from self.visit_step(step)

    def visit_job(self, job: Job) -> Iterator[Detection]:
        """Check one job; the default visits each step."""
        for step in job.steps:
            yield from self.visit_step(step)

    def visit_step(self, step: Step) -> Iterator[Detection]:
        """Check one step; the default finds nothing."""
        return iter(())

    # -- builders ----------------------------------------------------------------------------

    def finding(
        self,
        workflow: Workflow,
        route: Route,
        message: str,
        *,
        evidence: str = "",
        confidence: Confidence | None = None,
        severity: Severity | None = None,
    ) -> Finding:
        """A :class:`Finding` pre-filled with this rule's identity and the route's location
        (see :meth:`Rule.located_finding`)."""
        return self.located_finding(
            workflow.location(route),
            message,
            evidence=evidence,
            confidence=confidence,
            severity=severity,
        )
