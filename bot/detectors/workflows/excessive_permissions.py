"""``gha-excessive-permissions``: ``write-all``, top-level writes, job blocks wider than needed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import ClassVar

from bot.detectors.interface import Detection, WorkflowRule
from bot.detectors.permission_fixes import (
    PERMISSION_READERS,
    block_operations,
    describe,
    unknown_summary,
)
from bot.knowledge.permissions import KbConfidence, Level
from bot.models import Confidence, Severity
from bot.risk import Disposition
from bot.workflow.model import Job, Workflow
from bot.workflow.permission_needs import Needs, job_needs, parse_permissions, undeclared_jobs
from bot.yamledit.document import Mapping, Route
from bot.yamledit.ops import Operation, Remove, Replace, SetComment

_DIRECTIVE = re.compile(r"ignore\[[^\]]*(?:excessive-permissions|permissions)[^\]]*\]")


def _writes(block: dict[str, str] | str) -> list[str]:
    if isinstance(block, str):
        return ["write-all"] if block == "write-all" else []
    return [scope for scope, level in block.items() if level == "write"]


class ExcessivePermissions(WorkflowRule):
    """Narrow ``write-all`` and broad blocks, and move top-level writes down to the jobs."""

    id: ClassVar[str] = "gha-excessive-permissions"
    remediation_group: ClassVar[str | None] = "gha-permissions"
    title: ClassVar[str] = "token permissions are broader than the jobs need"
    description: ClassVar[str] = (
        "Write permissions granted at the top of a workflow reach every job, including jobs "
        "that only build or test; `write-all` grants every scope. OpenSSF Scorecard scores a "
        "top-level `contents`, `packages` or `actions` write 0. mendbot computes what each "
        "job needs (see `gha-job-permissions`) and: turns top-level writes into "
        "`permissions: {}` while giving every job that inherited them its own least-privilege "
        "block; replaces a job's `write-all` with its computed block; and narrows a job's "
        "block by removing (or downgrading to `read`) the writes none of its steps need. "
        "All of these are **unsafe**: they change what the token can do. A job whose needs "
        "are unknown is never changed (the finding says why); an explicit block is narrowed "
        "only when every step is known with high confidence, never removing a write an ignore "
        "comment marks as intended (`# zizmor: ignore[excessive-permissions]`), nor an "
        "explicit `id-token: write` a command mendbot cannot see inside may use.\n\n"
        "A top-level grant is not reported when it reaches no job more than mendbot can show "
        "it needs: every job declares its own block (the grant reaches none), or a single "
        "job inherits it and needs every scope written, or a single job inherits a list of "
        "scopes and its needs are unknown (mendbot cannot show a scope is unneeded, and the "
        "block is that job's own in all but name). `write-all` and `read-all` are always "
        "reported, and a grant two jobs or more inherit is the excess this rule is for.\n\n"
        "`read-all` is treated like `write-all`, at medium severity: it lets every job read "
        "every scope (Actions artifacts and logs, security alerts, packages, deployments), "
        "which in a private repository is more than most jobs need. A top-level `read-all` "
        "becomes `permissions: {}` with each job's computed block, a job's `read-all` its "
        "computed block.\n\n"
        "Compared with zizmor's `excessive-permissions`: zizmor never looks at an explicit "
        "job-level block (only `write-all`/`read-all`), so mendbot's narrowing of job blocks "
        "wider than their steps need (`deployments: write` on a job that only checks out) "
        "has no zizmor counterpart. zizmor's reports of jobs running with the default "
        "permissions correspond to `gha-job-permissions` and `gha-missing-permissions`."
    )
    default_severity: ClassVar[Severity] = Severity.HIGH
    fix_disposition: ClassVar[Disposition | None] = Disposition.UNSAFE
    fixes_reach: ClassVar[frozenset[str] | None] = PERMISSION_READERS
    example_before: ClassVar[str] = """\
on: push
permissions: write-all
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: make test
"""
    example_after: ClassVar[str] = """\
on: push
permissions: {}
jobs:
  test:
    permissions:
      contents: read  # for actions/checkout to fetch the repository
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: make test
"""

    def visit_workflow(self, workflow: Workflow) -> Iterator[Detection]:
        """Check the top-level block, then every job's own block."""
        if workflow.kind != "workflow":
            return
        yield from self._top_level(workflow)
        for job in workflow.jobs:
            if "permissions" in job.data:
                yield from self._job(job)

    def _top_level(self, workflow: Workflow) -> Iterator[Detection]:
        block = parse_permissions(workflow.permissions)
        writes = _writes(block) if block is not None else []
        if block == "read-all":
            writes = ["read-all"]
        if not writes:
            return
        severity = Severity.MEDIUM if block == "read-all" else None
        route: Route = ("permissions",)
        message = (
            f"the workflow grants {_named(writes)} at the top level, to every job "
            "without its own block"
        )
        inheriting = [(job, job_needs(job)) for job in undeclared_jobs(workflow)]
        if "id-token" in writes:  # asked for by name: an opaque command may rely on it
            for _, needs in inheriting:
                needs.keep_oidc()
        if _reaches_no_excess(workflow, block, inheriting):
            return
        intended = [w for w in writes if _has_directive(workflow, _scope_route(route, block, w))]
        if intended:
            why = f"{_named(intended)} is marked as intended by an ignore comment"
            finding = self.finding(workflow, route, f"{message}; {why}", severity=severity)
            yield Detection(finding, None, why)
            return
        unknown = [(job, needs) for job, needs in inheriting if not needs.known]
        if unknown:
            job, needs = unknown[0]
            why = f"job `{job.id}`'s needs are unknown: {unknown_summary(needs)}"
            finding = self.finding(workflow, route, f"{message}; {why}", severity=severity)
            yield Detection(finding, None, why)
            return
        operations: list[Operation] = []
        if isinstance(block, dict) and block:
            operations += [Remove(route=(*route, scope)) for scope in block]
        else:
            operations.append(Replace(route=route, value={}))
        for job, needs in inheriting:
            operations += block_operations(job, needs)
        moved = "; ".join(f"`{job.id}` gets {describe(needs)}" for job, needs in inheriting)
        how = "each job gets its own block" if block == "read-all" else "moving them to the jobs"
        finding = self.finding(
            workflow, route, message + (f"; {how}: {moved}" if moved else ""), severity=severity
        )
        title = (
            "replace read-all with each job's needs"
            if block == "read-all"
            else "move write permissions down to the jobs"
        )
        yield Detection(finding, self.fix(finding, title, operations))

    def _job(self, job: Job) -> Iterator[Detection]:
        block = parse_permissions(job.permissions)
        if block is None or not (_writes(block) or block == "read-all"):
            return
        workflow = job.workflow
        route: Route = (*job.route, "permissions")
        needs = job_needs(job)
        if block in ("write-all", "read-all"):
            severity = Severity.MEDIUM if block == "read-all" else None
            message = f"job `{job.id}` grants {block}"
            if _has_directive(workflow, route):
                why = f"{block} is marked as intended by an ignore comment"
                finding = self.finding(workflow, route, f"{message}; {why}", severity=severity)
                yield Detection(finding, None, why)
                return
            if not needs.known:
                why = f"its needs are unknown: {unknown_summary(needs)}"
                finding = self.finding(workflow, route, f"{message}; {why}", severity=severity)
                yield Detection(finding, None, why)
                return
            finding = self.finding(
                workflow, route, f"{message}; its steps need {describe(needs)}", severity=severity
            )
            operations: list[Operation] = [Remove(route=route), *block_operations(job, needs)]
            yield Detection(finding, self.fix(finding, f"narrow job {job.id}", operations))
            return
        if not isinstance(block, dict):
            return
        if not needs.known or needs.confidence is not KbConfidence.HIGH:
            return  # cannot claim a write is unneeded
        if block.get("id-token") == "write":
            needs.keep_oidc()
        excess = [
            scope
            for scope in _writes(block)
            if not _needs_write(needs, scope) and not _has_directive(workflow, (*route, scope))
        ]
        if not excess:
            return
        operations = []
        commentable = _block_style(workflow, route)
        for scope in excess:
            if scope in needs.scopes:
                operations.append(Replace(route=(*route, scope), value="read"))
                comment = _line_comment(workflow, (*route, scope)) or ""
                if commentable and "ignore[" not in comment:
                    # the old comment explained a write; the new one says why read is needed
                    operations.append(
                        SetComment(route=(*route, scope), comment=needs.reason(scope))
                    )
            else:
                operations.append(Remove(route=(*route, scope)))
        finding = self.finding(
            workflow,
            (*route, excess[0]),
            f"job `{job.id}` grants {_named(excess)}, but its steps need "
            + (f"only {describe(needs)}" if needs.permissions() else "no permissions"),
            confidence=Confidence.MEDIUM,
        )
        yield Detection(finding, self.fix(finding, f"narrow job {job.id}", operations))


def _reaches_no_excess(
    workflow: Workflow, block: dict[str, str] | str | None, inheriting: list[tuple[Job, Needs]]
) -> bool:
    """Whether the top-level grant gives no job more than mendbot can show it needs.

    Three shapes, none of them an excess today: every job declares its own block (the grant
    reaches no job); one job inherits it and needs every scope written (moving the grant down
    changes nothing for it); one job inherits a list of scopes and its needs are unknown
    (mendbot cannot show a scope is unneeded, and the block is that job's own in all but
    name). ``write-all`` and ``read-all`` stay excessive: no job needs every scope. When two
    jobs or more inherit the grant, it reaches jobs that do not need it: the excess this rule
    exists for.
    """
    if not inheriting:
        return bool(workflow.jobs)
    if len(inheriting) != 1 or not isinstance(block, dict):
        return False
    needs = inheriting[0][1]
    return not needs.known or all(_needs_write(needs, scope) for scope in _writes(block))


def _block_style(workflow: Workflow, route: Route) -> bool:
    node = workflow.doc.lookup(route)
    return isinstance(node, Mapping) and not node.flow


def _scope_route(route: Route, block: dict[str, str] | str | None, scope: str) -> Route:
    return (*route, scope) if isinstance(block, dict) else route


def _has_directive(workflow: Workflow, route: Route) -> bool:
    """Whether the value's line carries an ignore directive for this concern
    (``# zizmor: ignore[excessive-permissions]``, ``# mendbot: ignore[...]``)."""
    comment = _line_comment(workflow, route)
    return comment is not None and bool(_DIRECTIVE.search(comment))


def _line_comment(workflow: Workflow, route: Route) -> str | None:
    """The comment on the line where the value at ``route`` ends."""
    node = workflow.doc.lookup(route)
    if node is None:
        return None
    return workflow.doc.comment_on_line(workflow.doc.line_of(workflow.doc.content_end(node)))


def _named(writes: list[str]) -> str:
    return ", ".join(w if w in ("write-all", "read-all") else f"{w}: write" for w in writes)


def _needs_write(needs: Needs, scope: str) -> bool:
    entry = needs.scopes.get(scope)
    return entry is not None and entry[0] is Level.WRITE
