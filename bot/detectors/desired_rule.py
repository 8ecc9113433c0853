"""Rules of desired-state files (``.mendbot/desired/<kind>/…``): the inventory of systems outside
git, read like any other input by ``mendbot analyze``.

A :class:`DesiredStateRule` overrides the hook of the kind it reads
(:meth:`~DesiredStateRule.visit_access_keys`, :meth:`~DesiredStateRule.visit_github_settings`,
:meth:`~DesiredStateRule.visit_github_nhi`); it gets the parsed model, the YAML document (for
locations and for fixes routed into it), the configured thresholds, the analysis' "now" and,
for the GitHub kinds, what the repository's workflows read
(:class:`~bot.detectors.nhi.workflow_usage.WorkflowUsage`).
Fixes are YAML operations on the file, applied and re-checked by the same engine as workflow
fixes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

from bot.config import NhiSettings
from bot.desired import AccessKey, AwsIamAccessKeys, GithubNhi, GithubSettings
from bot.detectors.interface import Detection, Rule
from bot.detectors.nhi.workflow_usage import WorkflowUsage
from bot.models import Location
from bot.yamledit.document import Route, YamlDocument


@dataclass(frozen=True)
class DesiredFile:
    """One parsed desired-state file, and what its rules may judge it by."""

    path: str
    """Repository-relative path, as reports name it."""
    doc: YamlDocument
    nhi: NhiSettings
    """The ``nhi`` thresholds of the configuration."""
    now: datetime
    """The analysis' "now" (``--now`` or the clock): ages are measured to it."""

    def location(self, route: Route) -> Location:
        """Location of the key (or item) at ``route``, else of its nearest ancestor."""
        return locate(self.doc, self.path, route)


@dataclass(frozen=True)
class AccessKeysFile(DesiredFile):
    """An ``aws-iam-access-key`` file."""

    model: AwsIamAccessKeys

    def subject(self, key: AccessKey) -> str:
        """The key as findings and fixes name it, wherever it is listed in the file."""
        return f"aws-iam-access-key:{self.model.account}:{key.id}"


@dataclass(frozen=True)
class GithubSettingsFile(DesiredFile):
    """A ``github-settings`` file, with the repository's workflows."""

    model: GithubSettings
    usage: WorkflowUsage | None
    """What the analysed repository's workflows read; None when no repository is analysed
    (a loose inventory file): rules that need it then report nothing that depends on it."""


@dataclass(frozen=True)
class GithubNhiFile(DesiredFile):
    """A ``github-nhi`` file, with the repository's workflows."""

    model: GithubNhi
    usage: WorkflowUsage | None
    """As :attr:`GithubSettingsFile.usage`."""


class DesiredStateRule(Rule):
    """Base class of the rules of desired-state files; the default hooks find nothing."""

    ignore_example = ".mendbot/desired/aws-iam-access-key/sandbox-*.yml"
    example_now: ClassVar[str] = "2026-12-07T12:00:00Z"
    """The ``--now`` the documented example is analysed at (its ages are measured to it)."""
    example_path: ClassVar[str] = ".mendbot/desired/aws-iam-access-key/123456789012.yml"
    """Where the documented example lives in its repository (its kind's folder)."""
    example_workflows: ClassVar[dict[str, str]] = {}
    """Other files of the example's repository (workflows the rule judges the file by)."""
    nhi_thresholds: ClassVar[bool] = True
    """Whether the ``nhi`` thresholds of the configuration apply (the docs say so)."""
    suppression_entry: ClassVar[str] = "the key's entry"
    """Where an ``ignore`` comment suppresses one finding, as the docs name it."""

    def visit_access_keys(self, keys: AccessKeysFile) -> Iterator[Detection]:
        """Check the access keys of one AWS account."""
        return iter(())

    def visit_github_settings(self, settings: GithubSettingsFile) -> Iterator[Detection]:
        """Check the Actions settings of one GitHub repository."""
        return iter(())

    def visit_github_nhi(self, nhi: GithubNhiFile) -> Iterator[Detection]:
        """Check the secrets, deploy keys and environments of one GitHub repository."""
        return iter(())


def locate(doc: YamlDocument, path: str, route: Route) -> Location:
    """Location in ``doc`` (the file ``path``) of the key (or item) at ``route``, else of its
    nearest ancestor that exists."""
    for depth in range(len(route), -1, -1):
        node = doc.key_node(route[:depth]) or doc.lookup(route[:depth])
        if node is not None:
            return Location(path=path, line=node.line + 1, column=node.column + 1, route=route)
    return Location(path=path, line=1, column=1, route=route)


def parse_time(text: str | None) -> datetime | None:
    """The aware UTC time of an ISO-8601 value of a desired-state file (None stays None)."""
    if not text:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def day(moment: datetime) -> str:
    """``YYYY-MM-DD`` of a time, for messages."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d")
