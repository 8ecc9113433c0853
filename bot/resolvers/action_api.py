"""Ask GitHub's REST API about action repositories: archived or not, whether a commit belongs
to the repository's history, and the advisories published for it.

The API is ``$GITHUB_API_URL``, else derived from ``$GITHUB_SERVER_URL`` (``https://github.com``
→ ``https://api.github.com``, a GitHub Enterprise server → ``<server>/api/v3``). Answers are
memoised for the run and kept in the same disk cache as the action refs
(:mod:`~bot.resolvers.action_refs`), with the same lifetimes: an answer for
:data:`~bot.resolvers.action_refs.DEFAULT_TTL_SECONDS`, a failure for
:data:`~bot.resolvers.action_refs.NEGATIVE_TTL_SECONDS` (not asked again by any run meanwhile).

The token travels in the ``Authorization`` header only: never in a URL, an error message or
the cache.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote, urlsplit

from bot import outside_reads
from bot.resolvers import disk_cache
from bot.resolvers.action_refs import (
    CONCURRENCY,
    DEFAULT_SERVER,
    DEFAULT_TIMEOUT_SECONDS,
    DEFAULT_TTL_SECONDS,
    NEGATIVE_TTL_SECONDS,
)

if TYPE_CHECKING:
    import requests

DEFAULT_API = "https://api.github.com"
API_URL_VARIABLE = "GITHUB_API_URL"
#: Advisories asked for per page (GitHub's maximum) and pages read at most per repository.
PAGE_SIZE = 100
MAX_PAGES = 10


class ApiLookupError(Exception):
    """GitHub's API could not answer; the message says why (never the token)."""


@dataclass(frozen=True)
class RepositoryFacts:
    """What the rules need to know about an action's repository."""

    archived: bool
    default_branch: str


@dataclass(frozen=True)
class AffectedRange:
    """One vulnerable range of an advisory for one package (``owner/repo``)."""

    package: str
    vulnerable: str
    """GitHub's range syntax: ``>= 1.0.0, < 1.2.3``, ``< 4``, ``= 2.0.0``."""
    first_patched: str | None


@dataclass(frozen=True)
class Advisory:
    """A reviewed advisory of the GitHub advisory database for the ``actions`` ecosystem."""

    ghsa_id: str
    severity: str
    summary: str
    ranges: tuple[AffectedRange, ...]


class RepositoryApi(Protocol):
    """The questions the online rules ask about action repositories; :class:`ActionApi` asks
    GitHub. Each raises :class:`ApiLookupError` when it cannot answer."""

    def repository(self, owner: str, repo: str) -> RepositoryFacts:
        """Whether ``owner/repo`` is archived, and its default branch."""
        ...

    def contains(self, owner: str, repo: str, tip: str, commit: str) -> bool:
        """Whether ``commit`` is ``tip`` or one of its ancestors in ``owner/repo``."""
        ...

    def advisories(self, owner: str, repo: str) -> tuple[Advisory, ...]:
        """Reviewed advisories of the ``actions`` ecosystem affecting ``owner/repo``."""
        ...

    def prefetch(self, repositories: Iterable[tuple[str, str]]) -> None:
        """Ask :meth:`repository` and :meth:`advisories` for every ``(owner, repo)`` ahead of
        the rules, so that they answer from memory; never raises."""
        ...


def api_url_from_environment(env: dict[str, str] | os._Environ[str]) -> str:
    """``$GITHUB_API_URL``, else the API of ``$GITHUB_SERVER_URL`` (see the module docstring)."""
    explicit = env.get(API_URL_VARIABLE)
    if explicit:
        return explicit.rstrip("/")
    server = (env.get("GITHUB_SERVER_URL") or DEFAULT_SERVER).rstrip("/")
    if server == DEFAULT_SERVER:
        return DEFAULT_API
    return f"{server}/api/v3"


class ActionApi:
    """Lookups about action repositories under one API root, memoised and cached on disk."""

    def __init__(
        self,
        api_url: str,
        token: str,
        *,
        cache_dir: Path | None = None,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        negative_ttl_seconds: float = NEGATIVE_TTL_SECONDS,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self._token = token
        self.cache_dir = cache_dir
        self.ttl_seconds = ttl_seconds
        self.negative_ttl_seconds = negative_ttl_seconds
        self.timeout_seconds = timeout_seconds
        self._memo: dict[str, dict[str, Any] | ApiLookupError] = {}
        self.requests_made = 0
        """How many HTTP requests this process made (for tests and benchmarks)."""

    def __repr__(self) -> str:
        return f"ActionApi({self.api_url!r})"  # never the token

    # -- lookups ------------------------------------------------------------------------------

    def repository(self, owner: str, repo: str) -> RepositoryFacts:
        """Whether ``owner/repo`` is archived, and its default branch; raises
        :class:`ApiLookupError`."""
        path = f"/repos/{_segment(owner)}/{_segment(repo)}"
        entry = self._cached(f"repos/{owner}/{repo}", lambda: self._repository(path))
        return RepositoryFacts(
            archived=bool(entry["archived"]), default_branch=str(entry["default_branch"])
        )

    def contains(self, owner: str, repo: str, tip: str, commit: str) -> bool:
        """Whether ``commit`` is ``tip`` or one of its ancestors in ``owner/repo`` (both full
        SHAs), by GitHub's compare endpoint; raises :class:`ApiLookupError`."""
        path = f"/repos/{_segment(owner)}/{_segment(repo)}/compare/{tip}...{commit}"
        entry = self._cached(
            f"compare/{owner}/{repo}/{tip}...{commit}", lambda: self._compare(path)
        )
        return entry["status"] in ("identical", "behind")

    def advisories(self, owner: str, repo: str) -> tuple[Advisory, ...]:
        """Reviewed advisories of the ``actions`` ecosystem affecting ``owner/repo``; raises
        :class:`ApiLookupError`."""
        slug = f"{owner}/{repo}"
        entry = self._cached(f"advisories/{owner}/{repo}", lambda: self._advisories(slug))
        return tuple(
            Advisory(
                ghsa_id=item["ghsa_id"],
                severity=item["severity"],
                summary=item["summary"],
                ranges=tuple(AffectedRange(**part) for part in item["ranges"]),
            )
            for item in entry["advisories"]
        )

    def prefetch(self, repositories: Iterable[tuple[str, str]]) -> None:
        """Look up every repository's facts and advisories not known yet, :data:`CONCURRENCY`
        at a time (like the refs); each outcome, failures included, is what the lookup
        itself would have had."""
        pending: dict[str, tuple[str, Callable[[], dict[str, Any]]]] = {}
        for owner, repo in repositories:
            path = f"/repos/{_segment(owner)}/{_segment(repo)}"
            for key, fetch in (
                (f"repos/{owner}/{repo}", lambda path=path: self._repository(path)),
                (
                    f"advisories/{owner}/{repo}",
                    lambda slug=f"{owner}/{repo}": self._advisories(slug),
                ),
            ):
                if key.lower() not in self._memo:
                    pending.setdefault(key.lower(), (key, fetch))
        if not pending:
            return
        with ThreadPoolExecutor(max_workers=min(CONCURRENCY, len(pending))) as pool:
            outcomes = list(pool.map(lambda item: self._load(*item), pending.values()))
        for memo_key, outcome in zip(pending, outcomes, strict=True):
            self._memo[memo_key] = outcome

    # -- caching ------------------------------------------------------------------------------

    def _cache_file(self, key: str) -> Path | None:
        if self.cache_dir is None:
            return None
        host = disk_cache.host_folder(self.api_url)
        return self.cache_dir / "api" / host / f"{key.lower()}.json"

    def _cached(self, key: str, fetch: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        outside_reads.note(outside_reads.NETWORK, f"api {key.lower()}")
        memo_key = key.lower()
        if memo_key not in self._memo:
            self._memo[memo_key] = self._load(key, fetch)
        result = self._memo[memo_key]
        if isinstance(result, ApiLookupError):
            raise result
        return result

    def _load(
        self, key: str, fetch: Callable[[], dict[str, Any]]
    ) -> dict[str, Any] | ApiLookupError:
        cache = self._cache_file(key)
        cached = disk_cache.read_fresh(cache, self.ttl_seconds)
        if cached is not None:
            failure = cached.get("error")
            if not isinstance(failure, str):
                return cached
            if time.time() - float(cached["fetched_at"]) < self.negative_ttl_seconds:
                return ApiLookupError(failure)
        try:
            answer = fetch()
        except ApiLookupError as exc:
            disk_cache.write(cache, {"error": str(exc)})
            return exc
        disk_cache.write(cache, answer)
        return answer

    # -- requests -----------------------------------------------------------------------------

    def _repository(self, path: str) -> dict[str, Any]:
        body = self._get(path)
        if not isinstance(body, dict) or not isinstance(body.get("archived"), bool):
            raise ApiLookupError(f"{self._where(path)}: the answer has no `archived` field")
        return {"archived": body["archived"], "default_branch": body.get("default_branch", "")}

    def _compare(self, path: str) -> dict[str, Any]:
        try:
            body = self._get(path)
        except _NotFound:
            # GitHub answers 404 when the commit is in no repository of the network.
            return {"status": "unknown-commit"}
        if not isinstance(body, dict) or not isinstance(body.get("status"), str):
            raise ApiLookupError(f"{self._where(path)}: the answer has no `status` field")
        return {"status": body["status"]}

    def _advisories(self, slug: str) -> dict[str, Any]:
        found: list[dict[str, Any]] = []
        query = f"ecosystem=actions&affects={quote(slug, safe='')}&per_page={PAGE_SIZE}"
        url: str | None = f"{self.api_url}/advisories?{query}"
        for _ in range(MAX_PAGES):
            if url is None:
                return {"advisories": found}
            response = self._request(url, "/advisories")
            body = response.json()
            if not isinstance(body, list):
                raise ApiLookupError(f"{self._where('/advisories')}: the answer is not a list")
            found.extend(_advisory(item, slug) for item in body if isinstance(item, dict))
            url = _next_page(response, self.api_url)
        raise ApiLookupError(f"{self._where('/advisories')}: more than {MAX_PAGES} pages")

    def _get(self, path: str) -> Any:
        response = self._request(self.api_url + path, path)
        try:
            return response.json()
        except ValueError:
            raise ApiLookupError(f"{self._where(path)}: the answer is not JSON") from None

    def _request(self, url: str, path: str) -> requests.Response:
        import requests  # only a run that asks the API pays for importing it

        self.requests_made += 1
        headers = {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {self._token}",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        try:
            response = requests.get(
                url, headers=headers, timeout=self.timeout_seconds, allow_redirects=False
            )
        except requests.exceptions.RequestException as exc:
            # NOTE: the exception's text may hold the URL's query; name its kind only.
            raise ApiLookupError(f"{self._where(path)}: no answer ({type(exc).__name__})") from None
        if response.status_code == 404:
            raise _NotFound(f"{self._where(path)}: not found (404)")
        if response.status_code != 200:
            raise ApiLookupError(
                f"{self._where(path)}: HTTP {response.status_code} {_message(response)}".rstrip()
            )
        return response

    def _where(self, path: str) -> str:
        return f"GitHub API {urlsplit(self.api_url).netloc}{path.split('?')[0]}"


class _NotFound(ApiLookupError):
    """The API answered 404."""


def _segment(name: str) -> str:
    return quote(name, safe="")


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    message = body.get("message") if isinstance(body, dict) else None
    return f"({message})" if isinstance(message, str) and message else ""


def _next_page(response: requests.Response, api_url: str) -> str | None:
    """The ``rel="next"`` link (None on the last page); raises :class:`ApiLookupError` when it
    leaves the API root, where the token must not go."""
    following: Any = response.links.get("next", {}).get("url")
    if following is None:
        return None
    if not isinstance(following, str) or not following.startswith(api_url + "/"):
        where = urlsplit(api_url).netloc
        raise ApiLookupError(
            f"GitHub API {where}/advisories: the next page is on another server; not followed"
        )
    return following


def _advisory(item: dict[str, Any], slug: str) -> dict[str, Any]:
    """The parts of one ``global-advisory`` the rules use: its ranges for ``slug``."""
    ranges = []
    for vulnerability in item.get("vulnerabilities") or []:
        package = vulnerability.get("package") or {}
        name = package.get("name")
        if package.get("ecosystem") != "actions" or not isinstance(name, str):
            continue
        if name.lower() != slug.lower():
            continue
        ranges.append(
            {
                "package": name,
                "vulnerable": vulnerability.get("vulnerable_version_range") or "",
                "first_patched": vulnerability.get("first_patched_version"),
            }
        )
    return {
        "ghsa_id": str(item.get("ghsa_id", "")),
        "severity": str(item.get("severity", "unknown")),
        "summary": str(item.get("summary", "")),
        "ranges": ranges,
    }
