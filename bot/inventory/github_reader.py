"""A read-only view of one repository on GitHub: the only calls ``mendbot inventory github``
can make.

:class:`GithubReader` sends ``GET`` requests and nothing else (it has no other method), to the
REST API at ``--api-url`` / ``$GITHUB_API_URL`` (default ``https://api.github.com``), with the
token of ``$GITHUB_TOKEN`` or ``$GH_TOKEN`` (never a command-line argument). Lists are read
page by page through GitHub's ``Link: rel="next"`` header, which is followed only while it
stays on the same API root: the token is never sent to another host, nor over plain http
except to this machine. Every failure becomes an
:class:`~bot.inventory.errors.InventoryError` naming the call, the permission it needs and what
to do; the token never appears in one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from bot.api_url import UnsafeUrlError, checked_root
from bot.inventory.errors import InventoryError

#: Where the token is read from, first set wins.
TOKEN_VARIABLES = ("GITHUB_TOKEN", "GH_TOKEN")
API_URL_VARIABLE = "GITHUB_API_URL"
DEFAULT_API_URL = "https://api.github.com"
#: Items asked for per page (GitHub's maximum).
PAGE_SIZE = 100
#: Bound on pages of one list (100 000 items): a server that never stops paging is an error.
MAX_PAGES = 1000
TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class Call:
    """One read: what it is called in messages and the fine-grained permission it needs."""

    action: str
    """GitHub's operation id (``actions/list-repo-secrets``)."""
    permission: str
    """The fine-grained token / App permission, as GitHub's docs name it (``Secrets: read``)."""


ACTIONS_PERMISSIONS = Call(
    "actions/get-github-actions-permissions-repository", "Administration: read"
)
SELECTED_ACTIONS = Call("actions/get-allowed-actions-repository", "Administration: read")
WORKFLOW_PERMISSIONS = Call(
    "actions/get-github-actions-default-workflow-permissions-repository", "Administration: read"
)
REPO_SECRETS = Call("actions/list-repo-secrets", "Secrets: read")
REPO_VARIABLES = Call("actions/list-repo-variables", "Variables: read")
DEPLOY_KEYS = Call("repos/list-deploy-keys", "Administration: read")
ENVIRONMENTS = Call("repos/get-all-environments", "Actions: read")
ENVIRONMENT_SECRETS = Call("actions/list-environment-secrets", "Environments: read")
#: Every call the inventory makes (docs and tests use it).
CALLS = (
    ACTIONS_PERMISSIONS,
    SELECTED_ACTIONS,
    WORKFLOW_PERMISSIONS,
    REPO_SECRETS,
    REPO_VARIABLES,
    DEPLOY_KEYS,
    ENVIRONMENTS,
    ENVIRONMENT_SECRETS,
)


def token_from_environment(environ: dict[str, str] | None = None) -> str:
    """The token of ``$GITHUB_TOKEN`` (else ``$GH_TOKEN``); raises :class:`InventoryError`
    when neither is set."""
    source = os.environ if environ is None else environ
    for name in TOKEN_VARIABLES:
        value = source.get(name, "").strip()
        if value:
            return value
    raise InventoryError(
        "no GitHub token: set GITHUB_TOKEN (or GH_TOKEN) in the environment",
        advice="a read-only token for the repository (docs/inventory.md lists the permissions); "
        "mendbot never takes a token on the command line; nothing was written",
    )


def api_root(option: str | None, environ: dict[str, str] | None = None) -> str:
    """The REST API root: ``option``, else ``$GITHUB_API_URL``, else api.github.com; raises
    :class:`InventoryError` unless it is an http(s) URL."""
    source = os.environ if environ is None else environ
    value = option or source.get(API_URL_VARIABLE) or DEFAULT_API_URL
    try:
        return checked_root(value, name="--api-url (or GITHUB_API_URL)")
    except UnsafeUrlError as exc:
        raise InventoryError(str(exc), advice=exc.advice) from None


class GithubReader:
    """The ``GET`` requests of the inventory for one repository."""

    def __init__(self, root: str, token: str, repository: str) -> None:
        self._root = root
        self._repository = repository
        self._prefix = "/repos/" + "/".join(quote(part, safe="") for part in repository.split("/"))
        self._session = requests.Session()
        self._session.headers.update(
            {
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": "mendbot-inventory",
            }
        )
        # NOTE: never take proxies or credentials from ~/.netrc: the token is the only one.
        self._session.trust_env = False

    def __repr__(self) -> str:
        return f"GithubReader({self._root!r}, {self._repository!r})"

    def close(self) -> None:
        """Release the connections."""
        self._session.close()

    def get(self, call: Call, path: str = "") -> Any:
        """The JSON answer of ``GET /repos/{owner}/{repo}<path>``."""
        return self._get(call, self._root + self._prefix + path).json()

    def pages(self, call: Call, path: str, field: str | None) -> Iterator[Any]:
        """Every item of a paginated list (the answer's ``field``, or the answer itself when
        it is a list), all pages."""
        url: str | None = f"{self._root}{self._prefix}{path}?per_page={PAGE_SIZE}"
        for _ in range(MAX_PAGES):
            if url is None:
                return
            response = self._get(call, url)
            body = response.json()
            items = body.get(field) if field is not None and isinstance(body, dict) else body
            if not isinstance(items, list):
                raise InventoryError(
                    f"GitHub answered {call.action} with no {field or 'list'}; nothing was written"
                )
            yield from items
            url = self._next(call, response)
        raise InventoryError(f"{call.action}: more than {MAX_PAGES} pages; nothing was written")

    def _next(self, call: Call, response: requests.Response) -> str | None:
        link = response.links.get("next", {}).get("url")
        if not link:
            return None
        if not link.startswith(self._root + "/"):
            # A next page elsewhere would receive the token: never follow it.
            raise InventoryError(
                f"GitHub's next page of {call.action} points outside {self._root}; not followed",
                advice="check --api-url / GITHUB_API_URL; nothing was written",
            )
        return str(link)

    def _get(self, call: Call, url: str) -> requests.Response:
        try:
            response = self._session.get(url, timeout=TIMEOUT_SECONDS, allow_redirects=False)
        except requests.exceptions.RequestException as exc:
            raise InventoryError(
                f"cannot reach GitHub at {self._root} for {call.action} ({type(exc).__name__})",
                advice="check the network and --api-url / GITHUB_API_URL; nothing was written",
            ) from None
        status = response.status_code
        if status == 200:
            try:
                response.json()
            except ValueError:
                raise InventoryError(
                    f"GitHub answered {call.action} with something not JSON; nothing was written"
                ) from None
            return response
        message = _message(response)
        if status == 401:
            raise InventoryError(
                f"GitHub rejected the token on {call.action} (401 {message})",
                advice="set GITHUB_TOKEN to a valid token for the repository; nothing was written",
            )
        if status == 403:
            raise InventoryError(
                f"GitHub refused {call.action} for {self._repository} (403 {message}): the token "
                f"needs {call.permission}",
                advice=f'grant the read-only token "{call.permission}" on the repository '
                "(docs/inventory.md lists them all); nothing was written",
            )
        if status == 404:
            raise InventoryError(
                f"GitHub answered 404 to {call.action}: repository {self._repository} does not "
                f"exist or the token cannot see it ({call.permission} is needed)",
                advice="check --repository and the token's repository access; nothing was written",
            )
        raise InventoryError(
            f"GitHub answered {call.action} with HTTP {status} {message}",
            advice="rerun later; nothing was written",
        )


def _message(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.reason or ""
    message = data.get("message") if isinstance(data, dict) else None
    return str(message)[:200] if message else (response.reason or "")
