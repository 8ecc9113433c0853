"""An organisation's repositories and their workflow counts, read through the REST API.

Two kinds of request, both readable with ``metadata: read`` and ``contents: read``: the
organisation's repository list (``GET /orgs/{org}/repos``, paginated) and, per repository, the
listing of ``.github/workflows`` on its default branch (``GET /repos/{o}/{r}/contents/...``,
one request, no clone). The per-repository requests run a few at a time (:data:`CONCURRENCY`);
PyGithub's bounded retries wait out rate limits. The result never depends on the order in
which answers arrive.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests
from github import Auth, Github, GithubException, GithubRetry, UnknownObjectException

from bot.api_url import checked_root
from bot.fleet.shards import Repository
from bot.forge.github.client import wrap_error

#: Workflow listings requested at once: enough to hide latency, few enough for GitHub's
#: secondary rate limits on concurrent requests.
CONCURRENCY = 8

WORKFLOWS_FOLDER = ".github/workflows"

#: What GitHub allows in a repository name; anything else is refused before it becomes a folder
#: name or a word in the analysis job's shell.
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")

_READ_ADVICE = (
    "the token needs `metadata: read` and `contents: read` on the organisation's repositories "
    "(a GitHub App installation token of an App installed on all of them is preferred)"
)


@dataclass(frozen=True)
class Listing:
    """The repositories to analyse, and the ones left out with the reason, both by name."""

    repositories: tuple[Repository, ...]
    skipped: tuple[tuple[str, str], ...] = field(default=())


def list_organisation(
    org: str,
    token: str,
    *,
    api_url: str = "https://api.github.com",
    include_archived: bool = False,
    include_forks: bool = False,
    retry: GithubRetry | int | None = None,
) -> Listing:
    """Every repository of ``org`` worth analysing, with its number of workflow files.

    Archived repositories and forks are skipped unless included; a repository without a
    workflow file on its default branch is skipped too (there is nothing for the fleet to
    analyse). Raises :class:`~bot.forge.interface.ForgeError` when GitHub refuses or fails, and
    :class:`~bot.api_url.UnsafeUrlError` before sending the token when ``api_url`` is plain
    http to another host.
    """
    github = Github(
        auth=Auth.Token(token),
        base_url=checked_root(api_url, name="--api-url (or GITHUB_API_URL)"),
        retry=GithubRetry(total=5, max_rate_limit_wait=120) if retry is None else retry,
        per_page=100,
        timeout=15,
        lazy=True,
    )
    try:
        try:
            listed = list(github.get_organization(org).get_repos(type="all"))
        except (GithubException, requests.exceptions.RequestException) as exc:
            raise wrap_error(f"list the repositories of {org}", exc, _READ_ADVICE) from None
        skipped: list[tuple[str, str]] = []
        candidates = []
        for repo in listed:
            if not _NAME.match(repo.name) or repo.name in (".", ".."):
                skipped.append((repo.name, "not a repository name GitHub allows"))
            elif repo.archived and not include_archived:
                skipped.append((repo.name, "archived"))
            elif repo.fork and not include_forks:
                skipped.append((repo.name, "fork"))
            else:
                candidates.append(repo)
        with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
            counts = list(pool.map(_workflow_count, candidates))
        repositories = []
        for repo, count in zip(candidates, counts, strict=True):
            if count == 0:
                skipped.append((repo.name, f"no workflow in {WORKFLOWS_FOLDER}"))
            else:
                repositories.append(Repository(repo.name, count))
        return Listing(
            repositories=tuple(sorted(repositories, key=lambda r: r.name)),
            skipped=tuple(sorted(skipped)),
        )
    finally:
        github.close()


def _workflow_count(repo: Any) -> int:
    """The number of ``*.yml``/``*.yaml`` files in the repository's workflows folder."""
    try:
        entries = repo.get_contents(WORKFLOWS_FOLDER, ref=repo.default_branch)
    except UnknownObjectException:
        return 0
    except (GithubException, requests.exceptions.RequestException) as exc:
        raise wrap_error(
            f"list {WORKFLOWS_FOLDER} of {repo.full_name}", exc, _READ_ADVICE
        ) from None
    return len(list(_workflow_files(entries if isinstance(entries, list) else [entries])))


def _workflow_files(entries: Iterable[Any]) -> Iterable[str]:
    for entry in entries:
        if entry.type == "file" and entry.name.endswith((".yml", ".yaml")):
            yield entry.name
