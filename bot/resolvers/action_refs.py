"""Resolve an action repository's branches and tags the way ``git ls-remote`` does.

One ``git ls-remote`` per repository returns every branch and tag (annotated tags peeled to
their commits); results are memoised for the run and cached on disk, failures too but briefly
(:data:`NEGATIVE_TTL_SECONDS`: a repository that cannot be listed is not asked again by any run
in that time). :meth:`RefResolver.prefetch` lists many repositories at once, a bounded number
(:data:`CONCURRENCY`) at a time; the results do not depend on the order answers arrive in.
Repositories are looked up
under ``$GITHUB_SERVER_URL`` (default ``https://github.com``), which makes GitHub Enterprise work
and lets tests use ``file://`` bare repositories.

A token reaches git only through the environment (``GIT_CONFIG_COUNT``/``GIT_CONFIG_KEY_<n>``/
``GIT_CONFIG_VALUE_<n>``), never on the command line where ``ps`` shows it, and no error message
ever contains the command line.
"""

from __future__ import annotations

import base64
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bot import outside_reads
from bot.git import with_git_config
from bot.resolvers import disk_cache

if TYPE_CHECKING:
    from bot.resolvers.action_api import RepositoryApi

DEFAULT_SERVER = "https://github.com"
DEFAULT_TTL_SECONDS = 3600
#: Seconds a failed listing is remembered on disk (not retried by any run meanwhile).
NEGATIVE_TTL_SECONDS = 600
#: ``git ls-remote`` processes :meth:`RefResolver.prefetch` runs at once.
CONCURRENCY = 8
DEFAULT_TIMEOUT_SECONDS = 30.0
#: Seconds one ``git ls-remote`` may take (``$MENDBOT_GIT_TIMEOUT`` overrides the default).
TIMEOUT_ENV = "MENDBOT_GIT_TIMEOUT"
_SHA = re.compile(r"^[0-9a-f]{40}$")
_VERSION = re.compile(r"^v?\d+(?:\.\d+)*$")
#: ``uses: owner/repo[/path]@ref`` on a line of its own (a cheap over-approximation of the
#: workflow model's ``uses:`` sites, only used to list repositories ahead of the rules).
_USES = re.compile(
    r"""^[ \t-]*uses:[ \t]*["']?([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)[^@\s"']*@""", re.MULTILINE
)


class RefResolutionError(Exception):
    """The refs of a repository could not be listed; the message says why."""


@dataclass(frozen=True)
class RemoteRefs:
    """Branches and tags of one repository: name → commit SHA (tags peeled)."""

    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    def tags_at(self, sha: str) -> list[str]:
        """Tags pointing at commit ``sha``, most specific first (``v4.2.2`` before ``v4``)."""
        names = [name for name, target in self.tags.items() if target == sha]
        return sorted(names, key=lambda n: (-len(n), n))

    def version_tag_at(self, sha: str) -> str | None:
        """The most specific version-looking tag at ``sha`` (None when there is none)."""
        return next((name for name in self.tags_at(sha) if _VERSION.match(name)), None)


def is_sha(ref: str) -> bool:
    """Whether ``ref`` is a full 40-hex commit SHA."""
    return bool(_SHA.match(ref.lower()))


def parse_ls_remote(output: str) -> RemoteRefs:
    """Parse ``git ls-remote --heads --tags`` output; peeled ``^{}`` lines win for tags."""
    branches: dict[str, str] = {}
    tags: dict[str, str] = {}
    peeled: dict[str, str] = {}
    for line in output.splitlines():
        parts = line.split("\t")
        if len(parts) != 2 or not is_sha(parts[0]):
            continue
        sha, ref = parts[0].lower(), parts[1]
        if ref.startswith("refs/heads/"):
            branches[ref.removeprefix("refs/heads/")] = sha
        elif ref.startswith("refs/tags/"):
            name = ref.removeprefix("refs/tags/")
            if name.endswith("^{}"):
                peeled[name[:-3]] = sha
            else:
                tags[name] = sha
    tags.update(peeled)
    return RemoteRefs(branches=branches, tags=tags)


def default_cache_dir() -> Path:
    """``$MENDBOT_CACHE_DIR``, else ``$XDG_CACHE_HOME/mendbot``, else ``~/.cache/mendbot``."""
    explicit = os.environ.get("MENDBOT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mendbot"


class RefResolver:
    """Lists refs of ``owner/repo`` under a server, with a per-run memo and a disk cache."""

    def __init__(
        self,
        server_url: str | None = None,
        *,
        cache_dir: Path | None = None,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        negative_ttl_seconds: float = NEGATIVE_TTL_SECONDS,
        token: str | None = None,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        api: RepositoryApi | None = None,
    ) -> None:
        self.api = api
        """GitHub's API about the same repositories (archived, commit history, advisories);
        None when mendbot may not ask it (no token)."""
        self.server_url = (
            server_url or os.environ.get("GITHUB_SERVER_URL") or DEFAULT_SERVER
        ).rstrip("/")
        self.cache_dir = cache_dir
        self.ttl_seconds = ttl_seconds
        self.negative_ttl_seconds = negative_ttl_seconds
        self._count_lock = threading.Lock()
        self.token = token
        self.timeout_seconds = timeout_seconds
        self._memo: dict[str, RemoteRefs | RefResolutionError] = {}
        self.remote_calls = 0
        """How many ``git ls-remote`` processes ran (for tests and benchmarks)."""

    def __getstate__(self) -> dict[str, object]:
        """What a worker process receives: everything but the lock, which it makes anew."""
        state = dict(self.__dict__)
        del state["_count_lock"]
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._count_lock = threading.Lock()

    def url(self, owner: str, repo: str) -> str:
        """Where ``owner/repo`` lives on the server."""
        return f"{self.server_url}/{owner}/{repo}"

    def refs(self, owner: str, repo: str) -> RemoteRefs:
        """Every branch and tag of ``owner/repo``; raises :class:`RefResolutionError`."""
        key = f"{owner}/{repo}".lower()
        outside_reads.note(outside_reads.NETWORK, f"refs {key}")
        if key not in self._memo:
            self._memo[key] = self._load_or_error(owner, repo)
        result = self._memo[key]
        if isinstance(result, RefResolutionError):
            raise result
        return result

    def prefetch(self, repositories: Iterable[tuple[str, str]]) -> None:
        """List every ``(owner, repo)`` not known yet, :data:`CONCURRENCY` at a time, so that
        :meth:`refs` answers from memory; each outcome is what :meth:`refs` would have had."""
        pending: dict[str, tuple[str, str]] = {}
        for owner, repo in repositories:
            key = f"{owner}/{repo}".lower()
            if key not in self._memo:
                pending.setdefault(key, (owner, repo))
        if not pending:
            return
        with ThreadPoolExecutor(max_workers=min(CONCURRENCY, len(pending))) as pool:
            outcomes = list(pool.map(lambda slug: self._load_or_error(*slug), pending.values()))
        for key, outcome in zip(pending, outcomes, strict=True):
            self._memo[key] = outcome

    def _load_or_error(self, owner: str, repo: str) -> RemoteRefs | RefResolutionError:
        try:
            return self._load(owner, repo)
        except RefResolutionError as exc:
            return exc

    def _cache_file(self, owner: str, repo: str) -> Path | None:
        if self.cache_dir is None:
            return None
        host = disk_cache.host_folder(self.server_url)
        return self.cache_dir / "refs" / host / owner.lower() / f"{repo.lower()}.json"

    def _load(self, owner: str, repo: str) -> RemoteRefs:
        cache = self._cache_file(owner, repo)
        cached = disk_cache.read_fresh(cache, self.ttl_seconds)
        if cached is not None:
            branches, tags = cached.get("branches"), cached.get("tags")
            if isinstance(branches, dict) and isinstance(tags, dict):
                return RemoteRefs(branches=branches, tags=tags)
            failure = cached.get("error")
            age = time.time() - float(cached["fetched_at"])
            if isinstance(failure, str) and age < self.negative_ttl_seconds:
                raise RefResolutionError(failure)
        try:
            refs = self._ls_remote(owner, repo)
        except RefResolutionError as exc:
            disk_cache.write(cache, {"error": str(exc)})
            raise
        disk_cache.write(cache, {"branches": refs.branches, "tags": refs.tags})
        return refs

    def _ls_remote(self, owner: str, repo: str) -> RemoteRefs:
        url = self.url(owner, repo)
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true"}
        if self.token and url.startswith("https://"):
            credentials = base64.b64encode(f"x-access-token:{self.token}".encode()).decode()
            env = with_git_config(env, "http.extraHeader", f"Authorization: Basic {credentials}")
        with self._count_lock:
            self.remote_calls += 1
        try:
            # A session of its own, so that a timeout kills git's remote helper as well.
            child = subprocess.Popen(
                ["git", "ls-remote", "--heads", "--tags", url],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
                start_new_session=True,
            )
        except OSError as exc:
            raise RefResolutionError(f"cannot list refs of {url}: {exc.strerror}") from None
        try:
            stdout, stderr = child.communicate(timeout=self.timeout_seconds)
        except subprocess.TimeoutExpired:
            # NOTE: never format the exception: its text is the command line.
            os.killpg(child.pid, signal.SIGKILL)
            child.communicate()
            raise RefResolutionError(
                f"cannot list refs of {url}: no answer within {self.timeout_seconds:g} seconds "
                f"(${TIMEOUT_ENV} sets the limit)"
            ) from None
        if child.returncode != 0:
            lines = [line.strip() for line in stderr.splitlines() if line.strip()]
            reason = next((line for line in lines if line.startswith("fatal:")), None)
            reason = (reason or (lines[0] if lines else "git ls-remote failed")).removeprefix(
                "fatal: "
            )
            raise RefResolutionError(f"cannot list refs of {url}: {reason}")
        return parse_ls_remote(stdout)


def action_repositories(texts: Iterable[str]) -> list[tuple[str, str]]:
    """The ``(owner, repo)`` of every remote ``uses:`` line in ``texts``, once each (by their
    case-insensitive name), sorted: what :meth:`RefResolver.prefetch` is given."""
    found: dict[str, tuple[str, str]] = {}
    for text in texts:
        for match in _USES.finditer(text):
            owner, repo = match[1], match[2]
            if owner not in (".", "..") and repo not in (".", ".."):
                found.setdefault(f"{owner}/{repo}".lower(), (owner, repo))
    return [found[key] for key in sorted(found)]


def timeout_from_environment(env: Mapping[str, str]) -> float:
    """``$MENDBOT_GIT_TIMEOUT`` seconds when it is a positive number, else the default."""
    try:
        seconds = float(env.get(TIMEOUT_ENV, ""))
    except ValueError:
        return DEFAULT_TIMEOUT_SECONDS
    return seconds if seconds > 0 else DEFAULT_TIMEOUT_SECONDS
