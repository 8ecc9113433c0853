"""Give one job ``id-token: write`` the way the permission rules write scopes, or say why not.

Used by fixes that switch a step from a long-lived credential to an OIDC exchange: only the
job that runs the step gets the scope, with a ``# for …`` comment saying what needs it (the
convention ``gha-undocumented-permissions`` checks). A level a person wrote for ``id-token``
(``none``, ``read``) is a decision and is never overwritten.
"""

from __future__ import annotations

from typing import Any

from bot.detectors.permission_fixes import block_operations, can_comment, unknown_summary
from bot.knowledge.permissions import KbConfidence, Level
from bot.workflow.model import Job
from bot.workflow.permission_needs import job_needs
from bot.yamledit.document import Mapping
from bot.yamledit.ops import Add, Operation, SetComment

SCOPE = "id-token"


def grant_id_token(job: Job, reason: str) -> list[Operation] | str:
    """The operations that give ``job`` alone ``id-token: write`` with the comment ``reason``
    (``for <what> to <why>``): ``[]`` when the job already holds it, or a sentence saying why
    mendbot cannot grant it (an explicit level, ``read-all``, needs it cannot compute)."""
    workflow = job.workflow
    if workflow.kind != "workflow":
        return "a composite action has no permissions: each workflow running it must grant it"
    if "permissions" in job.data:
        return _into_block(job, job.permissions, (*job.route, "permissions"), reason)
    inherited = workflow.permissions
    if "permissions" in workflow.data:
        if isinstance(inherited, dict):
            explicit = _explicit_level(inherited, "the workflow's `permissions:`")
            if explicit is not None:
                return explicit
            if inherited.get(SCOPE) == "write":
                return []
            return _copied_block(job, inherited, reason)
        if inherited == "write-all":
            return []
        return (
            f"job `{job.id}` runs with the workflow's `permissions: {inherited}`, which cannot "
            f"hold one more scope: give the job its own block with `{SCOPE}: write`"
        )
    return _default_permissions(job, reason)


def _explicit_level(block: dict[Any, Any], where: str) -> str | None:
    level = block.get(SCOPE)
    if level is None or level == "write":
        return None
    return (
        f"{where} sets `{SCOPE}: {level}` explicitly: a person decided that no OIDC token "
        "is issued there, which mendbot does not overrule"
    )


def _into_block(
    job: Job, block: Any, route: tuple[str | int, ...], reason: str
) -> list[Operation] | str:
    """Add the scope to the job's own ``permissions:``."""
    if block == "write-all":
        return []
    if not isinstance(block, dict):
        return (
            f"job `{job.id}` has `permissions: {block}`, which cannot hold one more scope: "
            f"write its scopes out with `{SCOPE}: write`"
        )
    explicit = _explicit_level(block, f"job `{job.id}`")
    if explicit is not None:
        return explicit
    if block.get(SCOPE) == "write":
        return []
    operations: list[Operation] = [Add(route=route, key=SCOPE, value="write")]
    node = job.workflow.doc.lookup(route)
    if isinstance(node, Mapping) and not node.flow and block:
        operations.append(SetComment(route=(*route, SCOPE), comment=reason))
    return operations


def _copied_block(job: Job, inherited: dict[Any, Any], reason: str) -> list[Operation]:
    """Give the job the workflow's scopes plus this one: the other jobs keep what they had."""
    keys = [str(key) for key in job.data]
    before = "runs-on" if "runs-on" in keys else (keys[0] if keys else None)
    value = {**{str(k): v for k, v in inherited.items()}, SCOPE: "write"}
    operations: list[Operation] = [
        Add(route=job.route, key="permissions", value=value, before=before)
    ]
    if can_comment(job):
        operations.append(SetComment(route=(*job.route, "permissions", SCOPE), comment=reason))
    return operations


def _default_permissions(job: Job, reason: str) -> list[Operation] | str:
    """A job on the repository's default token permissions gets its computed block."""
    needs = job_needs(job)
    if not needs.known:
        return (
            f"job `{job.id}` runs with the repository's default token permissions and mendbot "
            f"cannot tell what its other steps need ({unknown_summary(needs)}): give it a "
            f"`permissions:` block with `{SCOPE}: write` by hand"
        )
    if needs.confidence is not KbConfidence.HIGH:
        return (
            f"job `{job.id}` runs with the repository's default token permissions and what "
            "its steps need is known only with low confidence: give it a `permissions:` "
            f"block with `{SCOPE}: write` by hand"
        )
    needs.add(SCOPE, Level.WRITE, reason)
    return block_operations(job, needs)
