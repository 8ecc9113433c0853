"""Who and where: the repository, base ref, run and workflow identity a statement records.

Inside GitHub Actions (``GITHUB_ACTIONS=true``) the values come from the runner's environment and,
when signing keyless, from the OIDC token's claims (``job_workflow_ref`` names the workflow that
really ran, even a reusable one). Locally the repository is the ``origin`` remote (credentials
stripped) or a ``file://`` URL, and the run fields are null.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bot import git
from bot.git import GitError
from bot.provenance.statement import Invocation, Repository

_SCP_LIKE = re.compile(r"^(?P<user>[^@/]+@)?(?P<host>[^:/]+):(?P<path>[^/].*)$")


@dataclass(frozen=True)
class WorkflowRef:
    """The analysis workflow: repository URI, file path and ref (SLSA ``externalParameters``)."""

    repository: str
    path: str
    ref: str


@dataclass(frozen=True)
class RunContext:
    """Everything about the run that goes into the statement besides the change itself."""

    repository: Repository
    base_ref: str | None
    invocation: Invocation
    generator_id: str | None
    """The analysis workflow identity (the Sigstore certificate SAN); None locally."""
    workflow: WorkflowRef | None
    expected_commit: str | None
    """``GITHUB_SHA``: the commit the run was started for (the checkout must be at it)."""


def in_github_actions(env: Mapping[str, str]) -> bool:
    """Whether ``env`` is a GitHub Actions runner's environment."""
    return env.get("GITHUB_ACTIONS") == "true"


def detect(repo: Path, env: Mapping[str, str], claims: Mapping[str, object] | None) -> RunContext:
    """The run context of an analysis of ``repo``; ``claims`` are the OIDC token's, if any."""
    if not in_github_actions(env):
        return RunContext(
            repository=Repository(uri=_local_uri(repo), id=None, owner_id=None),
            base_ref=git.current_ref(repo),
            invocation=Invocation(id=None, event_name=None, run_id=None, run_attempt=None),
            generator_id=None,
            workflow=None,
            expected_commit=None,
        )
    server = env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    slug = env.get("GITHUB_REPOSITORY", "")
    run_id, attempt = env.get("GITHUB_RUN_ID"), env.get("GITHUB_RUN_ATTEMPT")
    invocation_id = (
        f"{server}/{slug}/actions/runs/{run_id}/attempts/{attempt}" if run_id and attempt else None
    )
    claimed = claims.get("job_workflow_ref") if claims else None
    workflow_ref = claimed if isinstance(claimed, str) else env.get("GITHUB_WORKFLOW_REF")
    return RunContext(
        repository=Repository(
            uri=f"{server}/{slug}",
            id=env.get("GITHUB_REPOSITORY_ID"),
            owner_id=env.get("GITHUB_REPOSITORY_OWNER_ID"),
        ),
        base_ref=env.get("GITHUB_REF") or git.current_ref(repo),
        invocation=Invocation(
            id=invocation_id,
            event_name=env.get("GITHUB_EVENT_NAME"),
            run_id=run_id,
            run_attempt=attempt,
        ),
        generator_id=f"{server}/{workflow_ref}" if workflow_ref else None,
        workflow=_workflow(server, workflow_ref),
        expected_commit=env.get("GITHUB_SHA"),
    )


def _workflow(server: str, ref: str | None) -> WorkflowRef | None:
    """Split ``O/R/.github/workflows/f.yml@REF`` at the ``@`` after the file name (refs may
    contain ``@`` themselves)."""
    if not ref:
        return None
    match = re.match(r"^([^/]+/[^/]+)/(\.github/workflows/[^@]+\.ya?ml)@(.+)$", ref)
    if match is None:
        return None
    return WorkflowRef(repository=f"{server}/{match[1]}", path=match[2], ref=match[3])


def _local_uri(repo: Path) -> str:
    return local_uri(repo)


def local_uri(repo: Path) -> str:
    """The repository ``repo`` stands for: its ``origin`` remote without credentials, else its
    own ``file://`` URL (what a local analysis records in the statement)."""
    try:
        url = git.run(repo, "remote", "get-url", "origin").decode().strip()
    except GitError:
        url = ""
    return strip_credentials(url) if url else repo.resolve().as_uri()


def strip_credentials(url: str) -> str:
    """``url`` without a user name or password (``https://tok@host/x`` → ``https://host/x``)."""
    scp = _SCP_LIKE.match(url)
    if scp is not None and "://" not in url:
        return f"ssh://{scp['host']}/{scp['path']}"
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
