"""Operations shared by the permissions rules: write a job's computed block, with reasons."""

from __future__ import annotations

from bot.workflow.model import Job
from bot.workflow.permission_needs import Needs
from bot.yamledit.document import Mapping
from bot.yamledit.ops import Add, Operation, SetComment

#: The rules that read a ``permissions:`` block (or whether a job or the workflow has one) or
#: compute the permissions a job needs, and gha-unknown-suppression, which reads the comments a
#: reason comment may replace: what the permissions rules' fixes can change
#: (:attr:`~bot.detectors.interface.Rule.fixes_reach`), which write only permissions blocks and
#: reason comments on their lines.
PERMISSION_READERS = frozenset(
    {
        "gha-excessive-permissions",
        "gha-missing-permissions",
        "gha-job-permissions",
        "gha-undocumented-permissions",
        "gha-static-cloud-credentials",
        "gha-use-trusted-publishing",
        "gha-cache-poisoning",
        "gha-unknown-suppression",
    }
)


def can_comment(job: Job) -> bool:
    """Whether reason comments fit: the job is a block mapping (a flow job has no lines)."""
    node = job.workflow.doc.lookup(job.route)
    return isinstance(node, Mapping) and not node.flow


def describe(needs: Needs) -> str:
    """``contents: read, pull-requests: write`` (or ``nothing``)."""
    permissions = needs.permissions()
    return ", ".join(f"{scope}: {level}" for scope, level in permissions.items()) or "nothing"


def block_operations(job: Job, needs: Needs) -> list[Operation]:
    """Add ``permissions:`` with exactly ``needs`` to the job, one reason per scope.

    The block goes above ``runs-on:`` (or the job's first key), where readers look for it.
    """
    permissions = needs.permissions()
    keys = [str(key) for key in job.data]
    before = "runs-on" if "runs-on" in keys else (keys[0] if keys else None)
    operations: list[Operation] = [
        Add(route=job.route, key="permissions", value=permissions, before=before)
    ]
    if permissions and can_comment(job):
        operations.extend(
            SetComment(route=(*job.route, "permissions", scope), comment=needs.reason(scope))
            for scope in permissions
        )
    return operations


def unknown_summary(needs: Needs) -> str:
    """The first reason the needs are unknown, and how many more there are."""
    first = needs.unknown[0]
    more = len(needs.unknown) - 1
    return first + (f" (and {more} more)" if more else "")
