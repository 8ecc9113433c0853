"""What the ``uses:`` pinning rules share: the sites, version comments, options, ref lookup.

The rules are ``gha-unpinned-uses``, ``gha-ref-confusion`` and ``gha-ref-version-mismatch``
(each in its own module of :mod:`bot.detectors.workflows`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from bot.detectors.interface import Detection, WorkflowRule
from bot.resolvers.action_refs import RefResolutionError, RemoteRefs
from bot.workflow.model import Uses, Workflow
from bot.yamledit.document import Route

#: Reusable workflows that break when pinned by SHA (slsa-github-generator#722).
DEFAULT_EXEMPT = ("slsa-framework/slsa-github-generator/.github/workflows/*",)


#: The refs an exemption covers: release tags (`v2.1.0`), which is what the SLSA generator
#: requires instead of a SHA. A branch (`@main`) is never exempt: it can change at any time.
RELEASE_TAG = re.compile(r"^v?\d+\.\d+\.\d+$")


VERSION_COMMENT = re.compile(r"^#\s*(?P<version>v?\d+(?:\.\d+)*(?:[-+][\w.]+)?)\b\s*(?P<rest>.*)$")


class PinningOptions(BaseModel):
    """``rules.gha-unpinned-uses.options``."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    exempt: tuple[str, ...] = DEFAULT_EXEMPT
    """``owner/repo[/path]`` globs not pinned by SHA when they use a release tag (``vX.Y.Z``);
    any other ref (``@main``, ``@v2``) is still reported (replaces the default list when set)."""


@dataclass(frozen=True)
class UsesSite:
    """One ``uses:`` value and where it is."""

    uses: Uses
    route: Route
    """Route of the ``uses`` scalar itself."""


def uses_sites(workflow: Workflow) -> Iterator[UsesSite]:
    """Every remote ``uses:`` of a workflow: steps, composite steps and reusable-workflow jobs."""
    for job in workflow.jobs:
        if job.uses is not None:
            yield UsesSite(job.uses, (*job.route, "uses"))
        for step in job.steps:
            if step.uses is not None:
                yield UsesSite(step.uses, (*step.route, "uses"))
    for step in workflow.action_steps:
        if step.uses is not None:
            yield UsesSite(step.uses, (*step.route, "uses"))


def is_remote(uses: Uses) -> bool:
    return bool(uses.owner and uses.ref) and "${{" not in uses.raw


def version_comment(workflow: Workflow, route: Route) -> str | None:
    node = workflow.doc.lookup(route)
    if node is None:
        return None
    return workflow.doc.comment_on_line(workflow.doc.line_of(workflow.doc.content_end(node)))


def pinned_comment(version: str, existing: str | None) -> str:
    """The comment for a pinned line: ``v1.2.3`` first, then any other existing comment.

    An existing version comment is replaced; anything else (an ignore directive, a note) is
    kept after the version so Dependabot and Renovate still read ``# vX.Y.Z`` first.
    """
    if not existing:
        return version
    body = existing.lstrip("#").strip()
    match = VERSION_COMMENT.match(existing.strip())
    if match:
        body = match.group("rest").strip()
        if body.startswith("#"):
            body = body.lstrip("#").strip()
    return f"{version} # {body}" if body else version


class RefRule(WorkflowRule):
    """Shared plumbing: iterate ``uses:`` sites and resolve their repositories."""

    def visit_workflow(self, workflow: Workflow) -> Iterator[Detection]:
        """Check every remote ``uses:`` of the workflow."""
        for site in uses_sites(workflow):
            if is_remote(site.uses):
                yield from self.check(workflow, site)

    def check(self, workflow: Workflow, site: UsesSite) -> Iterator[Detection]:
        """Check one ``uses:`` site."""
        return iter(())

    def resolve(self, uses: Uses) -> RemoteRefs | str:
        """The repository's refs, or why they are unavailable."""
        if self.services.refs is None:
            return "refs are not resolved offline; run without --offline to pin"
        try:
            return self.services.refs.refs(uses.owner, uses.repo)
        except RefResolutionError as exc:
            return str(exc)
