"""What a repository's workflows and composite actions ask of its Actions secrets and of the
default ``GITHUB_TOKEN``: the view the ``nhi-github-*`` and ``gh-settings-*`` rules judge an
inventory by.

Built once per analysis from the texts of the repository's workflow and action files
(:func:`workflow_usage`). Secret references and what makes them unknowable
(:attr:`WorkflowUsage.all_secrets_reasons`) come from :mod:`bot.secret_references`, the scan
the deploy job runs again on the merge commit before it deletes a secret.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.secret_references import references, scan_references, strings
from bot.workflow.model import Job, Workflow

#: The token GitHub creates for every run: never a repository secret.
RUN_TOKEN_NAME = "GITHUB_TOKEN"  # noqa: S105 - a name, not a secret


@dataclass(frozen=True)
class SecretUse:
    """One job's (or file's) use of a secret by name."""

    name: str
    """Upper-cased, as GitHub stores secret names."""
    path: str
    job: str | None
    """The job id; None for a composite action or a workflow-level ``env:``."""
    line: int
    """1-based line of the job (or of the file's first reference)."""
    environments: tuple[str, ...] | None
    """The environments the job runs in (``()`` none); None when its ``environment`` is an
    expression (any of them)."""
    from_caller: bool
    """In a reusable workflow (``on: workflow_call``): the caller passes its secrets, so what
    is defined depends on the caller."""


@dataclass(frozen=True)
class DefaultTokenJob:
    """A job that sets no ``permissions:`` (nor does its workflow): it runs with the default."""

    path: str
    job: str
    line: int


@dataclass(frozen=True)
class WorkflowUsage:
    """The secrets the repository's workflows and actions read, and the jobs on the default
    token permissions."""

    referenced: frozenset[str]
    """Every secret name referenced anywhere (upper-cased)."""
    uses: tuple[SecretUse, ...]
    """Each job's references, for "defined where the job can read it"."""
    all_secrets_reasons: tuple[str, ...]
    """Why every secret may be in use (a remote ``secrets: inherit``, ``toJSON(secrets)``…);
    empty when the references above are complete."""
    default_token_jobs: tuple[DefaultTokenJob, ...]
    files: int
    """Workflow and action files read."""
    checkout_repository: str | None = None
    """``owner/name`` (lower-cased) of the analysed checkout, from its ``origin`` remote; None
    when it has none that names one."""
    inventoried: frozenset[str] = frozenset()
    """The repositories (lower-cased) the checkout's GitHub inventory files describe."""

    def is_referenced(self, name: str) -> bool:
        """Whether ``name`` is referenced (case-insensitively)."""
        return name.upper() in self.referenced

    def not_the_checkout(self, repository: str) -> str | None:
        """Why these workflows may not be those of ``repository`` (then they say nothing about
        which of its secrets are used), else None. A checkout whose ``origin`` names another
        repository, or one without such a remote that holds inventories of several
        repositories (at most one of them can be this checkout), is not trusted to be it."""
        wanted = repository.lower()
        if self.checkout_repository is not None:
            if self.checkout_repository == wanted:
                return None
            return (
                f"this checkout is {self.checkout_repository} (its origin remote), not {repository}"
            )
        others = sorted(self.inventoried - {wanted})
        if others:
            return (
                f"this checkout has no origin remote naming it and also holds inventories of "
                f"{', '.join(others)}"
            )
        return None


def workflow_usage(files: Iterable[tuple[str, str | None]]) -> WorkflowUsage:
    """The usage of the workflow and composite-action files given as ``(path, text)``; a None
    text is a file that could not be read (its secrets are unknown). Secret references are
    those of :func:`bot.secret_references.scan_references`, the scan the deploy job repeats
    before it deletes a secret."""
    scanned = scan_references(files)
    uses: list[SecretUse] = []
    default_jobs: list[DefaultTokenJob] = []
    for path, document, data in scanned.parsed:
        kind = "workflow" if isinstance(data.get("jobs"), dict) else "action"
        workflow = Workflow(path, document, data, kind=kind)
        uses += _job_uses(workflow)
        default_jobs += _default_token_jobs(workflow)
    return WorkflowUsage(
        referenced=scanned.referenced,
        uses=tuple(uses),
        all_secrets_reasons=scanned.all_secrets_reasons,
        default_token_jobs=tuple(default_jobs),
        files=scanned.files,
    )


def _names(value: Any) -> set[str]:
    names: set[str] = set()
    for text in strings(value):
        if "secrets" in text:
            found, _ = references(text if "${{" in text else "${{ " + text + " }}")
            names |= found
    return names


def _environments(job: Job) -> tuple[str, ...] | None:
    raw = job.data.get("environment")
    if isinstance(raw, dict):
        raw = raw.get("name")
    if raw is None:
        return ()
    if not isinstance(raw, str) or "${{" in raw:
        return None
    return (raw.strip(),)


def _job_uses(workflow: Workflow) -> list[SecretUse]:
    caller = "workflow_call" in workflow.triggers
    shared = _names(workflow.env)
    uses: list[SecretUse] = []
    for job in workflow.jobs:
        line = workflow.location(job.route).line
        environments = _environments(job)
        for name in sorted(_names(job.data) | shared):
            if name == RUN_TOKEN_NAME:
                continue
            uses.append(SecretUse(name, workflow.path, job.id, line, environments, caller))
    return uses


def _default_token_jobs(workflow: Workflow) -> list[DefaultTokenJob]:
    if workflow.kind != "workflow" or workflow.permissions is not None:
        return []
    return [
        DefaultTokenJob(workflow.path, job.id, workflow.location(job.route).line)
        for job in workflow.jobs
        # A reusable-workflow call without permissions hands the default on to the callee.
        if job.permissions is None
    ]
