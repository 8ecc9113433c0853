"""Which GitHub Actions expression contexts an attacker can control, and runner built-ins.

Sources: GitHub's "Security hardening for GitHub Actions" (untrusted input), OpenSSF
Scorecard's Dangerous-Workflow script-injection list, and the runner's default environment
variables documentation.
"""

from __future__ import annotations

import re
from enum import Enum

#: Contexts whose value comes from whoever opens an issue, a pull request, a comment, a push.
#: Patterns use ``*`` for one path segment (an array index or any key).
ATTACKER_CONTROLLED: tuple[str, ...] = (
    "github.head_ref",
    "github.event.issue.title",
    "github.event.issue.body",
    "github.event.pull_request.title",
    "github.event.pull_request.body",
    "github.event.pull_request.head.ref",
    "github.event.pull_request.head.label",
    "github.event.pull_request.head.repo.default_branch",
    "github.event.pull_request.head.repo.description",
    "github.event.pull_request.head.repo.homepage",
    "github.event.discussion.title",
    "github.event.discussion.body",
    "github.event.comment.body",
    "github.event.review.body",
    "github.event.review_comment.body",
    "github.event.pages.*.page_name",
    "github.event.commits.*.message",
    "github.event.commits.*.author.email",
    "github.event.commits.*.author.name",
    "github.event.head_commit.message",
    "github.event.head_commit.author.email",
    "github.event.head_commit.author.name",
    "github.event.head_commit.committer.email",
    "github.event.head_commit.committer.name",
    "github.event.merge_group.head_commit.message",
    "github.event.merge_group.head_commit.author.email",
    "github.event.merge_group.head_commit.author.name",
    "github.event.merge_group.head_ref",
    "github.event.workflow_run.head_branch",
    "github.event.workflow_run.head_commit.message",
    "github.event.workflow_run.head_commit.author.email",
    "github.event.workflow_run.head_commit.author.name",
    "github.event.workflow_run.display_title",
    "github.event.workflow_run.pull_requests.*.head.ref",
    "github.event.release.name",
    "github.event.release.body",
    "github.event.release.tag_name",
    "github.event.client_payload.*",
    "github.event.changes.title.from",
    "github.event.changes.body.from",
    "github.event.changes.new_issue.title",
    "github.event.changes.new_issue.body",
    "github.event.changes.new_discussion.title",
    "github.event.changes.new_discussion.body",
)

#: Fields of an outsider's pull request whose value is a commit hash, a number or a boolean:
#: nothing an outsider writes can break out of the script they are expanded into.
TYPED_FIELDS: tuple[str, ...] = (
    "github.event.pull_request.head.sha",
    "github.event.pull_request.head.repo.id",
    "github.event.pull_request.head.repo.fork",
    "github.event.pull_request.head.repo.private",
    "github.event.pull_request.head.user.id",
)

#: Contexts whose provenance mendbot cannot see from the file (other steps, callers, vars).
UNKNOWN_PROVENANCE: tuple[str, ...] = (
    "inputs.*",
    "github.event.inputs.*",
    "steps.*.outputs.*",
    "needs.*.outputs.*",
    "jobs.*.outputs.*",
    "env.*",
    "matrix",
    "matrix.*",
    "github.ref_name",
    "github.ref",
)

#: Contexts the runner already exports as environment variables.
BUILT_IN_VARIABLES: dict[str, str] = {
    "github.head_ref": "GITHUB_HEAD_REF",
    "github.base_ref": "GITHUB_BASE_REF",
    "github.ref": "GITHUB_REF",
    "github.ref_name": "GITHUB_REF_NAME",
    "github.ref_type": "GITHUB_REF_TYPE",
    "github.sha": "GITHUB_SHA",
    "github.actor": "GITHUB_ACTOR",
    "github.actor_id": "GITHUB_ACTOR_ID",
    "github.triggering_actor": "GITHUB_TRIGGERING_ACTOR",
    "github.repository": "GITHUB_REPOSITORY",
    "github.repository_owner": "GITHUB_REPOSITORY_OWNER",
    "github.event_name": "GITHUB_EVENT_NAME",
    "github.workflow": "GITHUB_WORKFLOW",
    "github.run_id": "GITHUB_RUN_ID",
    "github.run_number": "GITHUB_RUN_NUMBER",
    "github.run_attempt": "GITHUB_RUN_ATTEMPT",
    "github.server_url": "GITHUB_SERVER_URL",
    "github.api_url": "GITHUB_API_URL",
    "github.workspace": "GITHUB_WORKSPACE",
    "github.job": "GITHUB_JOB",
}


class Provenance(Enum):
    """Who can influence the value of a context."""

    ATTACKER = "attacker"
    """An outsider (anyone who can open an issue or a pull request) can set it."""
    CALLER = "caller"
    """A caller mendbot cannot see chooses it: a free-text input of a reusable workflow or a
    composite action that no workflow of its repository calls, or a published action."""
    OUTSIDE_TEXT = "outside-text"
    """Read by the repository's code from where outsiders write (issues, pull requests,
    commit messages, the event payload, artifacts, the file names an action lists)."""
    UNKNOWN = "unknown"
    """Computed at run time from something mendbot cannot trace."""
    TRUSTED = "trusted"
    """Only people with write access choose it, or nobody gains anything by choosing it."""


def _normalise(path: str) -> str:
    """``a.b[0]['c']`` → ``a.b.*.c``; lower-cased (contexts are case-insensitive)."""
    path = re.sub(r"\[\s*\d+\s*\]", ".*", path)
    path = re.sub(r"\[\s*'([^']*)'\s*\]", r".\1", path)
    return path.lower()


def _matches(path: str, pattern: str) -> bool:
    parts, wanted = path.split("."), pattern.split(".")
    if pattern.endswith(".*") and len(parts) >= len(wanted):
        parts = parts[: len(wanted)]
    if len(parts) != len(wanted):
        return False
    return all(w == "*" or w == p for p, w in zip(parts, wanted, strict=True))


def provenance(path: str) -> Provenance:
    """How far the context ``path`` (``github.event.issue.title``) can be trusted."""
    normal = _normalise(path)
    if normal in TYPED_FIELDS:
        return Provenance.TRUSTED
    if any(_matches(normal, p) for p in ATTACKER_CONTROLLED):
        return Provenance.ATTACKER
    if normal in ("github.event", "github") or normal.startswith("github.event.pull_request.head"):
        return Provenance.ATTACKER
    if any(_matches(normal, p) for p in UNKNOWN_PROVENANCE):
        return Provenance.UNKNOWN
    return Provenance.TRUSTED


def built_in_variable(path: str) -> str | None:
    """The runner's environment variable holding ``path``, if there is one."""
    return BUILT_IN_VARIABLES.get(_normalise(path))


def context_of_variable(name: str) -> str | None:
    """The context the runner exports as environment variable ``name`` (``GITHUB_HEAD_REF`` →
    ``github.head_ref``), if any."""
    for context, variable in BUILT_IN_VARIABLES.items():
        if variable == name:
            return context
    return None
