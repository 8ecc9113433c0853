"""Which jobs of a workflow release something, and why: the scope of ``gha-cache-poisoning``.

A job releases when it publishes (a known publishing action or ``run:`` command that is not a
dry run), or, in a workflow that runs on tag pushes, ``release`` events or pushes to release
branches, when it holds something to publish with (a token that may write, a secret, an
environment, a reusable-workflow call). A job that does none of this releases only through
what a releasing job takes from it: the ``outputs:`` it declares (when a releasing job
``needs`` it) or the artifacts it uploads (when a releasing job downloads artifacts the names
could match). A test job whose result only gates the release feeds nothing into it. When a
release-triggered workflow has no recognised publishing step, what it releases is unknown, so
every job that uploads artifacts still counts.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from bot.knowledge import cache_actions as kb
from bot.knowledge.publish_commands import goreleaser_action_publishes, publishing_command
from bot.models import Confidence
from bot.workflow import expression_tree as expr
from bot.workflow.model import Job, Step, Workflow
from bot.workflow.permission_needs import parse_permissions

#: How a tag push and a release event look to an expression.
RELEASE_SCENARIOS: dict[str, tuple[dict[str, expr.Value], dict[str, str]]] = {
    "tag": ({"github.event_name": "push", "github.ref_type": "tag"}, {"github.ref": "refs/tags/"}),
    "release": (
        {"github.event_name": "release", "github.ref_type": "tag"},
        {"github.ref": "refs/tags/"},
    ),
}

#: Token scopes that can publish or sign what a job built (a release, a package, a page, an
#: OIDC token for a registry or a cloud).
PUBLISHING_SCOPES = ("contents", "packages", "id-token", "deployments", "pages", "attestations")

#: A use of the ``secrets`` context: ``secrets.NAME``, ``secrets['NAME']``, ``toJSON(secrets)``.
_SECRET = re.compile(r"\bsecrets\b(?:\s*\.\s*([A-Za-z_][A-Za-z0-9_]*))?")
_FENCE = re.compile(r"\$\{\{.*?\}\}", re.DOTALL)
_WILD = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class Release:
    """Why a job counts as releasing."""

    reason: str
    scenarios: tuple[str, ...]
    """Release scenarios (``tag``, ``release``) when *every* release trigger is one of them;
    empty when some other trigger also releases (a release branch, a publishing step)."""
    confidence: Confidence


def release_triggers(workflow: Workflow) -> tuple[list[str], bool]:
    """Descriptions of the workflow's release triggers, and whether all are tag/release."""
    raw = workflow.data.get("on")
    found: list[str] = []
    exact = True
    events = raw if isinstance(raw, dict) else {}
    if "release" in workflow.triggers:
        found.append("`release`")
    push = events.get("push")
    if isinstance(push, dict):
        if push.get("tags") is not None or push.get("tags-ignore") is not None:
            found.append("pushes of tags")
        branches = push.get("branches")
        if isinstance(branches, str):
            branches = [branches]
        if isinstance(branches, list) and any("release" in str(b).lower() for b in branches):
            found.append("pushes to release branches")
            exact = False
    return found, exact


def publisher(step: Step) -> str | None:
    """How ``step`` publishes (``\\`Upload\\` publishes to PyPI``), or None."""
    uses = step.uses
    if uses is not None:
        if uses.slug == "goreleaser/goreleaser-action" and not goreleaser_action_publishes(
            step.with_
        ):
            return None
        if uses.slug in kb.PUBLISHER_ACTIONS:
            return f"`{step.name}` {kb.PUBLISHER_ACTIONS[uses.slug]}"
        if uses.slug in kb.CONDITIONAL_PUBLISHERS:
            key, what = kb.CONDITIONAL_PUBLISHERS[uses.slug]
            value = step.with_.get(key)
            if value is True or (isinstance(value, str) and value.strip().lower() != "false"):
                return f"`{step.name}` {what}"
        return None
    command = publishing_command(step.run or "")
    return f"`{step.name}` runs `{command}`" if command else None


def needs_of(job: Job) -> list[str]:
    """The job ids ``job`` lists under ``needs:``."""
    raw = job.data.get("needs")
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list):
        return [str(n) for n in raw]
    return []


def _runs_in_release(job: Job, scenarios: tuple[str, ...]) -> bool:
    """False only when the job's ``if:`` is false in every release scenario."""
    condition = job.data.get("if")
    if condition is False:
        return False
    if not scenarios or not isinstance(condition, str):
        return True
    parsed = expr.parse_condition(condition)
    if parsed is None:
        return True
    values = [expr.evaluate(parsed[0], *RELEASE_SCENARIOS[s]) for s in scenarios]
    return any(isinstance(v, expr.Unknown) or expr.truthy(v) for v in values)


def _credentials(job: Job) -> str | None:
    """What ``job`` could publish with, or None when it holds nothing that can publish."""
    if job.uses is not None:
        return f"calls the reusable workflow `{job.uses.raw}`, which may publish"
    environment = job.data.get("environment")
    if environment:
        name = environment.get("name") if isinstance(environment, dict) else environment
        return f"runs in the `{name}` environment"
    # Workflow-level `env:` reaches every job.
    text = json.dumps([job.data, job.workflow.env], default=str)
    uses = {m.group(1) or "" for f in _FENCE.findall(text) for m in _SECRET.finditer(f)}
    secrets = sorted(name or "*" for name in uses if name.upper() != "GITHUB_TOKEN")
    if secrets:
        return f"reads `secrets.{secrets[0]}`" if secrets[0] != "*" else "reads its secrets"
    raw = job.permissions if job.permissions is not None else job.workflow.permissions
    permissions = parse_permissions(raw)
    if permissions is None:
        return "runs with the repository's default token permissions, which may allow writing"
    if permissions == "write-all":
        return "holds a `write-all` token"
    if isinstance(permissions, dict):
        for scope in PUBLISHING_SCOPES:
            if permissions.get(scope) == "write":
                return f"holds `{scope}: write`"
    return None


def _glob(value: Any) -> str:
    """An artifact name as a lower-case glob: ``${{ … }}`` may be anything."""
    return _FENCE.sub("*", str(value)).strip().lower() or "*"


#: Actions that upload an artifact → (input naming it, its default).
_UPLOADERS = {
    "actions/upload-artifact": ("name", "artifact"),
    "actions/upload-pages-artifact": ("name", "github-pages"),
}
#: Actions that take an artifact of the run → (input naming it, default; None: all of them).
_DOWNLOADERS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "actions/download-artifact": (("name", "pattern"), None),
    "actions/deploy-pages": (("artifact_name",), "github-pages"),
}


def _uploads(job: Job) -> list[str]:
    """Name globs of the artifacts ``job`` uploads."""
    found: list[str] = []
    for step in job.steps:
        known = _UPLOADERS.get(step.uses.slug) if step.uses is not None else None
        if known is not None:
            found.append(_glob(step.with_.get(known[0], known[1])))
    return found


#: A script that downloads a run's artifacts itself (taken as all of them: names in it may be
#: computed).
_SCRIPT_DOWNLOAD = re.compile(r"\bgh\b[^\n]*\brun\s+download\b|/actions/artifacts\b|/artifacts/")


def _downloads(job: Job) -> list[str]:
    """Name globs of the artifacts ``job`` takes (``*``: all of them)."""
    found: list[str] = []
    for step in job.steps:
        if step.run is not None and _SCRIPT_DOWNLOAD.search(step.run):
            found.append("*")
            continue
        known = _DOWNLOADERS.get(step.uses.slug) if step.uses is not None else None
        if known is None:
            continue
        inputs, default = known
        name = next((step.with_[i] for i in inputs if step.with_.get(i)), default)
        found.append(_glob(name) if name else "*")
    return found


def _literal_ends(glob: str) -> tuple[str, str]:
    """The literal text before the first and after the last wildcard of ``glob``."""
    parts = _WILD.split(glob)
    return parts[0], parts[-1]


def _may_match(upload: str, download: str) -> bool:
    """Whether an artifact named by ``upload`` could be one ``download`` fetches (two globs:
    an over-approximation, so an unclear pair counts as a match)."""
    if not _WILD.search(upload):
        return fnmatchcase(upload, download)
    if not _WILD.search(download):
        return fnmatchcase(download, upload)
    (up_start, up_end), (down_start, down_end) = _literal_ends(upload), _literal_ends(download)
    starts = up_start.startswith(down_start) or down_start.startswith(up_start)
    ends = up_end.endswith(down_end) or down_end.endswith(up_end)
    return starts and ends


def _feed(job: Job, consumer: Job) -> str | None:
    """How ``consumer`` takes something ``job`` made, or None."""
    calls = consumer.uses is not None
    if job.data.get("outputs") and job.id in needs_of(consumer):
        return "reads this job's outputs"
    downloads = ["*"] if calls and job.id in needs_of(consumer) else _downloads(consumer)
    if any(_may_match(u, d) for u in _uploads(job) for d in downloads):
        return "downloads artifacts this job uploads"
    return None


def _add_feeders(found: dict[str, Release], jobs: dict[str, Job], confidence: Confidence) -> None:
    """Add every job whose outputs or artifacts reach a releasing job, until none is left."""
    changed = True
    while changed:
        changed = False
        for job in jobs.values():
            if job.id in found:
                continue
            for consumer_id, release in list(found.items()):
                how = _feed(job, jobs[consumer_id])
                if how is None:
                    continue
                found[job.id] = Release(
                    f"job `{consumer_id}` releases and {how}",
                    release.scenarios,
                    confidence,
                )
                changed = True
                break


def releasing_jobs(workflow: Workflow) -> dict[str, Release]:
    """The jobs whose work ends up in what the workflow releases, each with the reason."""
    jobs = {job.id: job for job in workflow.jobs}
    publishers = {
        job.id: why
        for job in workflow.jobs
        if (why := next((p for p in map(publisher, job.steps) if p), None))
    }
    triggers, exact = release_triggers(workflow)
    found: dict[str, Release] = {}
    if not triggers:
        for job_id, why in publishers.items():
            found[job_id] = Release(f"this job publishes: {why}", (), Confidence.MEDIUM)
        _add_feeders(found, jobs, Confidence.LOW)
        return found
    scenarios: list[str] = []
    if exact and "`release`" in triggers:
        scenarios.append("release")
    if exact and "pushes of tags" in triggers:
        scenarios.append("tag")
    on = f"this workflow runs on {' and '.join(triggers)}"
    running = {i: j for i, j in jobs.items() if _runs_in_release(j, tuple(scenarios))}
    for job_id, job in running.items():
        if job_id in publishers:
            why = f"{on} and this job publishes: {publishers[job_id]}"
        elif (holds := _credentials(job)) is not None:
            why = f"{on} and this job {holds}"
        else:
            continue
        found[job_id] = Release(why, tuple(scenarios), Confidence.MEDIUM)
    if not any(job_id in publishers for job_id in running):
        for job_id, job in running.items():
            if job_id not in found and _uploads(job):
                found[job_id] = Release(
                    f"{on}, no job in it is recognised as publishing, and this job uploads "
                    "artifacts that may be what is released",
                    tuple(scenarios),
                    Confidence.MEDIUM,
                )
    _add_feeders(found, running, Confidence.MEDIUM)
    return found
