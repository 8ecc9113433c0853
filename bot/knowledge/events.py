"""Who can start a workflow run, by event, and action outputs whose values are constrained.

Sources: GitHub's "Events that trigger workflows" (who can cause each event, which copy of the
workflow a run uses, and the token a run from a fork gets) and each listed action's own
``action.yml``.
"""

from __future__ import annotations

import re

#: Events only people with write access to the repository (or GitHub itself, on their
#: behalf) can cause: a push, a dispatch, a schedule, a release, a merge queue.
WRITER_EVENTS: frozenset[str] = frozenset(
    {
        "push",
        "schedule",
        "workflow_dispatch",
        "release",
        "create",
        "delete",
        "merge_group",
        "deployment",
        "deployment_status",
        "page_build",
        "registry_package",
    }
)

#: Events whose run uses the pull request's own copy of the workflow, with a read-only token
#: and no secrets when the pull request comes from a fork: its author already decides what
#: the run executes, so pasting one of their values into a script gains them nothing.
#: Not ``pull_request_review`` or ``pull_request_review_comment``: on a pull request from a
#: branch of the repository itself those runs have secrets and a write token, and anyone may
#: write the review.
AUTHOR_OWNED_EVENTS: frozenset[str] = frozenset({"pull_request"})

#: ``workflow_dispatch`` and ``workflow_call`` input types whose value GitHub checks before the
#: run starts: a boolean, a number, one of the listed options, an environment's name.
CONSTRAINED_INPUT_TYPES: frozenset[str] = frozenset({"boolean", "number", "choice", "environment"})

#: Outputs of well-known actions, by lower-cased ``owner/repo[/path]``: output name → None
#: when the action always writes a constrained value (a commit SHA, ``true``/``false``, a
#: token), or the name of the input whose value the output repeats (its default is trusted).
TRUSTED_ACTION_OUTPUTS: dict[str, dict[str, str | None]] = {
    "actions/checkout": {"commit": None, "ref": "ref"},
    "actions/cache": {"cache-hit": None},
    "actions/cache/restore": {"cache-hit": None},
    "actions/create-github-app-token": {"token": None, "installation-id": None},
    # `changes` lists the names of the matching filters, which the workflow's filters define
    # (the `<filter>_files` outputs list file names a pull request chooses: not trusted).
    "dorny/paths-filter": {"changes": None},
}

#: Outputs of well-known actions that carry text an outsider may have written (file names a
#: pull request chose, a comment's body, a branch name), by lower-cased ``owner/repo[/path]``:
#: ``fnmatch`` patterns of the output names. Each was checked against the action's README.
OUTSIDER_ACTION_OUTPUTS: dict[str, tuple[str, ...]] = {
    "tj-actions/changed-files": ("*",),
    "tj-actions/changed-files/diff": ("*",),
    "dorny/paths-filter": ("*_files",),
    "jitterbit/get-changed-files": ("*",),
    "ana06/get-changed-files": ("*",),
    "trilom/file-changes-action": ("*",),
    "peter-evans/find-comment": ("comment-body", "comment-author"),
    "xt0rted/pull-request-comment-branch": ("head_ref", "base_ref"),
    "octokit/request-action": ("data",),
    "octokit/graphql-action": ("data",),
    "8bitjonny/gh-get-current-pr": ("pr", "pr_title", "pr_body"),
    "jwalton/gh-find-current-pr": ("title", "body"),
}

#: What an ``actions/github-script`` script reads that outsiders write: GitHub's API (a
#: ``get``/``list``/``search`` call, a query, a raw request) or the event payload.
GITHUB_SCRIPT_READS_OUTSIDER_TEXT = re.compile(
    r"\bgithub\.(?:graphql|request|paginate)\b"
    r"|\bgithub\.rest\.(?:search\.\w+|\w+\.(?:get|list)\w*)"
    r"|\bcontext\.payload\b",
)
