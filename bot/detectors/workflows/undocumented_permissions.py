"""``gha-undocumented-permissions``: permission scopes granted without saying why."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, ClassVar

from bot.detectors.interface import Detection, WorkflowRule
from bot.detectors.permission_fixes import PERMISSION_READERS
from bot.knowledge.permissions import KbConfidence
from bot.models import Severity
from bot.risk import Disposition
from bot.workflow.model import Job, Workflow
from bot.workflow.permission_needs import job_needs
from bot.yamledit.document import Mapping, Route
from bot.yamledit.ops import Operation, SetComment

_DIRECTIVE = re.compile(r"(?:mendbot|zizmor)\s*:\s*ignore\[[^\]]*\]", re.IGNORECASE)
_NO_FIX = (
    "mendbot cannot tell what needs the undocumented scopes (the job's steps are not all in "
    "its knowledge base, or the scope is not among their needs): explain them by hand"
)


def explained(workflow: Workflow, route: Route) -> bool:
    """Whether the scope at ``route`` has a comment that says something: on its line, or on
    the line just above its key (an ignore directive alone explains nothing)."""
    doc = workflow.doc
    node = doc.lookup(route)
    key = doc.key_node(route)
    if node is None or key is None:
        return False
    lines = {doc.line_of(doc.content_end(node)), key.line - 1}
    for line in lines:
        comment = doc.comment_on_line(line)
        if comment is None:
            continue
        if line == key.line - 1 and doc.text.splitlines()[line].lstrip()[:1] != "#":
            continue  # the line above is a trailing comment of another entry
        if _DIRECTIVE.sub("", comment).strip(" #\t-:"):
            return True
    return False


class UndocumentedPermissions(WorkflowRule):
    """Report ``permissions:`` blocks with scopes that carry no explanatory comment; write
    mendbot's own ``# for …`` reasons where it knows them."""

    id: ClassVar[str] = "gha-undocumented-permissions"
    title: ClassVar[str] = "permissions without an explanation"
    description: ClassVar[str] = (
        "A reviewer who sees `issues: write` cannot tell which step needs it, and so cannot "
        "tell when it stops being needed; a scope nobody can explain is never removed. "
        "mendbot's own permission fixes write a `# for …` comment on each scope they grant. "
        "Reported: each workflow-level or job-level `permissions:` mapping with a scope that "
        "has no comment on its line nor on a comment line just above (an `ignore[…]` "
        "directive alone explains nothing); an empty block and `contents: read` need no "
        "explanation. **Off by default** (a documentation practice, zizmor's pedantic "
        "persona); turn it on with `rules.gha-undocumented-permissions.enabled: true` or run "
        "it with `--rule`.\n\n"
        "The fix is **safe** (it adds comments only): on a job's block, each undocumented "
        "scope the job's steps need according to mendbot's knowledge base gets the same "
        "`# for …` reason the permission rules write. Scopes it cannot explain (a workflow-"
        "level block, steps it does not know) are left for a person.\n\n"
        "Compared with zizmor's `undocumented-permissions` (pedantic persona, hence off by "
        "default here too): the same blocks; zizmor accepts any comment, mendbot not a bare "
        "ignore directive, and mendbot writes the explanations it can infer."
    )
    default_severity: ClassVar[Severity] = Severity.LOW
    enabled_by_default: ClassVar[bool] = False
    fix_disposition: ClassVar[Disposition | None] = Disposition.SAFE
    fixes_reach: ClassVar[frozenset[str] | None] = PERMISSION_READERS
    example_before: ClassVar[str] = """\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    permissions:
      contents: write
      issues: write
    steps:
      - uses: actions/checkout@v4
      - run: git push origin HEAD:release
"""
    example_after: ClassVar[str] = """\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    permissions:
      contents: write  # for git push to push commits and tags
      issues: write
    steps:
      - uses: actions/checkout@v4
      - run: git push origin HEAD:release
"""

    def visit_workflow(self, workflow: Workflow) -> Iterator[Detection]:
        """Check the workflow's block and each job's."""
        if workflow.kind != "workflow":
            return
        yield from self._block(workflow, ("permissions",), workflow.permissions, None)
        for job in workflow.jobs:
            yield from self._block(workflow, (*job.route, "permissions"), job.permissions, job)

    def _block(
        self, workflow: Workflow, route: Route, block: Any, job: Job | None
    ) -> Iterator[Detection]:
        if not isinstance(block, dict) or not block:
            return
        if {str(k): v for k, v in block.items()} == {"contents": "read"}:
            return
        bare = [
            str(scope)
            for scope, level in block.items()
            if (str(scope), level) != ("contents", "read")
            and not explained(workflow, (*route, str(scope)))
        ]
        if not bare:
            return
        where = f"job `{job.id}`" if job is not None else "the workflow"
        listed = ", ".join(f"`{scope}: {block[scope]}`" for scope in bare)
        message = f"{where} grants {listed} without a comment saying what needs it"
        finding = self.finding(workflow, (*route, bare[0]), message, evidence=",".join(bare))
        operations = self._reasons(workflow, route, job, bare)
        if not operations:
            yield Detection(finding, None, _NO_FIX)
            return
        title = f"explain {len(operations)} scope(s) of {where}"
        yield Detection(finding, self.fix(finding, title, operations))

    @staticmethod
    def _reasons(
        workflow: Workflow, route: Route, job: Job | None, bare: list[str]
    ) -> list[Operation]:
        """``# for …`` comments for the scopes the job's steps need, per the knowledge base."""
        node = workflow.doc.lookup(route)
        if job is None or not isinstance(node, Mapping) or node.flow:
            return []
        needs = job_needs(job)
        if needs.confidence is not KbConfidence.HIGH:
            return []
        return [
            SetComment(route=(*route, scope), comment=needs.reason(scope))
            for scope in bare
            if scope in needs.scopes
        ]
