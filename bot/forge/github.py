"""The GitHub forge: PyGithub for the REST API, git (through GitPython) for branches.

Pull requests are found by their branch (``GET /pulls?head=owner:branch&state=all``) and matched
by the fingerprint in their hidden metadata, so the bot keeps no state of its own. Branches are
pushed with ``--force-with-lease`` (compare and swap) and the token travels in an
``http.extraHeader`` set through the environment, never in a URL or on the command line.
Sticky comments carry a hidden ``<!-- mendbot-comment:<topic> -->`` marker; the REST subset the
bot is allowed (and tested) to use has no comment edit, so a topic is posted once.
"""

from __future__ import annotations

import base64
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import git
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from github import (
    Auth,
    Github,
    GithubException,
    GithubIntegration,
    GithubRetry,
    UnknownObjectException,
)

from bot.forge.body import metadata
from bot.forge.interface import CommitAuthor, Forge, ForgeError, PullRequest, PullState

_COMMENT_MARKER = "<!-- mendbot-comment:{topic} -->"
_PERMISSION_ADVICE = (
    "the token needs `contents: write` (to push the bot branch) and `pull-requests: write` "
    "(to open pull requests); a GitHub App installation token is preferred"
)


def _wrap(action: str, exc: Exception) -> ForgeError:
    if isinstance(exc, GithubException):
        status = exc.status
        message = exc.data.get("message") if isinstance(exc.data, dict) else exc.data
        advice = _PERMISSION_ADVICE if status in (401, 403, 404) else None
        return ForgeError(f"GitHub refused to {action}: HTTP {status} {message}", advice=advice)
    return ForgeError(
        f"GitHub did not answer to {action} ({exc})",
        advice="GitHub kept failing after bounded retries; rerun later, nothing half-done was left",
    )


class GitHubForge(Forge):
    """Pull requests on GitHub or GitHub Enterprise Server (``base_url``)."""

    name = "github"

    def __init__(
        self,
        repository: str,
        workdir: Path,
        token: str,
        *,
        base_url: str = "https://api.github.com",
        git_url: str | None = None,
        retry: GithubRetry | int | None = None,
        throttle: bool = True,
        base: str | None = None,
    ) -> None:
        self._full_name = repository
        self._owner = repository.split("/")[0]
        self._workdir = workdir
        self._token = token
        if retry is None:
            retry = GithubRetry(total=5, max_rate_limit_wait=120)
        self._github = Github(
            auth=Auth.Token(token),
            base_url=base_url,
            retry=retry,
            per_page=100,
            timeout=15,
            seconds_between_requests=0.25 if throttle else None,
            seconds_between_writes=1.0 if throttle else None,
            lazy=True,
        )
        self._repo = self._github.get_repo(repository)
        self._git_url = git_url or _git_url(base_url, repository)
        self._default: str | None = base

    @property
    def workdir(self) -> Path:
        """The local clone where commits are built."""
        return self._workdir

    def _call(self, action: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (GithubException, requests.exceptions.RequestException) as exc:
            raise _wrap(action, exc) from None

    def default_branch(self) -> str:
        """The repository's default branch."""
        if self._default is None:
            self._default = str(
                self._call("read the repository", lambda: self._repo.default_branch)
            )
        return self._default

    def _to_pull(self, pr: Any) -> PullRequest | None:
        meta = metadata(pr.body or "")
        if meta is None or not meta.get("fingerprints"):
            return None
        if pr.merged_at is not None:
            state = PullState.MERGED
        else:
            state = PullState.OPEN if pr.state == "open" else PullState.CLOSED
        return PullRequest(
            number=pr.number,
            title=pr.title,
            body=pr.body or "",
            branch=pr.head.ref,
            base=pr.base.ref,
            head_sha=pr.head.sha,
            base_sha=str(meta.get("baseSha", "")),
            fingerprint=str(meta["fingerprints"][0]),
            labels=[label.name for label in pr.labels],
            state=state,
            created_at=pr.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )

    def find(self, fingerprint: str, branch: str | None = None) -> PullRequest | None:
        """The newest pull request whose metadata names ``fingerprint``."""
        head = {"head": f"{self._owner}:{branch}"} if branch else {}
        pulls = self._call(
            "list pull requests",
            lambda: list(
                self._repo.get_pulls(state="all", sort="created", direction="desc", **head)
            ),
        )
        for pr in pulls:
            pull = self._to_pull(pr)
            if pull is not None and pull.fingerprint == fingerprint:
                return pull
        return None

    def pulls(self, state: PullState | None = None) -> list[PullRequest]:
        """Every mendbot pull request (by its metadata), by number."""
        wanted = "open" if state is PullState.OPEN else "all"
        found = self._call("list pull requests", lambda: list(self._repo.get_pulls(state=wanted)))
        pulls = [p for p in (self._to_pull(pr) for pr in found) if p is not None]
        pulls = [p for p in pulls if state is None or p.state is state]
        return sorted(pulls, key=lambda p: p.number)

    def branch_head(self, branch: str) -> str | None:
        """The branch's commit, from ``GET /git/ref/heads/<branch>``."""
        try:
            return str(self._repo.get_git_ref(f"heads/{branch}").object.sha)
        except UnknownObjectException:
            return None
        except (GithubException, requests.exceptions.RequestException) as exc:
            raise _wrap(f"read the branch {branch}", exc) from None

    def _git(self) -> git.Git:
        header = (
            "Authorization: basic "
            + base64.b64encode(f"x-access-token:{self._token}".encode()).decode()
        )
        runner = git.Repo(self._workdir).git
        runner.update_environment(
            GIT_TERMINAL_PROMPT="0",
            GIT_CONFIG_COUNT="1",
            GIT_CONFIG_KEY_0="http.extraHeader",
            GIT_CONFIG_VALUE_0=header,
        )
        return runner

    def branch_commits(self, branch: str, base: str) -> list[CommitAuthor]:
        """Fetch the branch into ``refs/mendbot/remote/`` and list ``base..branch``."""
        local = f"refs/mendbot/remote/{branch}"
        try:
            runner = self._git()
            runner.fetch("--no-tags", "-q", self._git_url, f"+refs/heads/{branch}:{local}")
            out = runner.log("--format=%H %ae %ce", f"{base}..{local}")
        except git.GitCommandError as exc:
            raise ForgeError(f"cannot fetch {branch}: {_scrub(exc, self._token)}") from None
        commits = []
        for line in out.splitlines():
            sha, author, committer = line.split(" ", 2)
            commits.append(CommitAuthor(sha, author, committer))
        return commits

    def push(self, branch: str, sha: str, expected: str | None) -> None:
        """``git push --force-with-lease=refs/heads/<branch>:<expected>``."""
        lease = f"--force-with-lease=refs/heads/{branch}:{expected or ''}"
        try:
            self._git().push("--porcelain", lease, self._git_url, f"{sha}:refs/heads/{branch}")
        except git.GitCommandError as exc:
            raise ForgeError(
                f"cannot push {branch}: {_scrub(exc, self._token)}",
                advice="the branch moved or the token cannot push (`contents: write`); "
                "nothing was changed",
            ) from None

    def open(self, pull: PullRequest) -> PullRequest:
        """``POST /pulls`` then ``PUT /issues/{n}/labels``."""
        pr = self._call(
            "open a pull request",
            lambda: self._repo.create_pull(
                base=pull.base, head=pull.branch, title=pull.title, body=pull.body
            ),
        )
        self._call("label the pull request", pr.set_labels, *pull.labels)
        pull.number = pr.number
        return pull

    def update(self, pull: PullRequest) -> None:
        """``PATCH /pulls/{n}`` and ``PUT /issues/{n}/labels``."""
        pr = self._call("read the pull request", self._repo.get_pull, pull.number)
        self._call("update the pull request", pr.edit, title=pull.title, body=pull.body)
        self._call("label the pull request", pr.set_labels, *pull.labels)

    def comment(self, number: int, topic: str, text: str) -> bool:
        """Post the topic's comment once (found again by its hidden marker)."""
        marker = _COMMENT_MARKER.format(topic=topic)
        pr = self._call("read the pull request", self._repo.get_pull, number)
        existing = self._call("list comments", lambda: list(pr.get_issue_comments()))
        if any(marker in (c.body or "") for c in existing):
            return False
        self._call("comment", pr.create_issue_comment, f"{text}\n\n{marker}")
        return True

    def created_since(self, since: datetime) -> int:
        """mendbot pull requests created at or after ``since``."""
        return sum(
            1
            for p in self.pulls()
            if datetime.strptime(p.created_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=since.tzinfo)
            >= since
        )


def _git_url(base_url: str, repository: str) -> str:
    """``https://github.com/o/r.git`` for api.github.com; ``https://HOST/o/r.git`` for GHES."""
    root = base_url.rstrip("/")
    if root == "https://api.github.com":
        return f"https://github.com/{repository}.git"
    return f"{root.removesuffix('/api/v3')}/{repository}.git"


def token_from_environment() -> str:
    """``GITHUB_TOKEN`` (or ``GH_TOKEN``); raises :class:`ForgeError` when neither is set."""
    token = os.environ.get("GITHUB_TOKEN") or os.environ.get("GH_TOKEN")
    if not token:
        raise ForgeError(
            "no GitHub token: set GITHUB_TOKEN (a GitHub App installation token is preferred)",
            advice=_PERMISSION_ADVICE,
        )
    return token


_APP_KEY_ADVICE = (
    "pass --app-private-key (or $MENDBOT_APP_PRIVATE_KEY_FILE) the PEM file generated under the "
    "GitHub App's settings, 'Private keys' (an RSA key, `-----BEGIN RSA PRIVATE KEY-----`)"
)


def _read_app_key(path: Path) -> str:
    """The PEM text of the App's RSA private key, checked before anything is signed."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ForgeError(
            f"cannot read the GitHub App private key {path}: {exc}", advice=_APP_KEY_ADVICE
        ) from None
    try:
        key = serialization.load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ForgeError(
            f"the GitHub App private key {path} is not an unencrypted PEM private key ({exc})",
            advice=_APP_KEY_ADVICE,
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ForgeError(
            f"the GitHub App private key {path} is not an RSA key (GitHub Apps sign with RS256)",
            advice=_APP_KEY_ADVICE,
        )
    return text


def installation_token(
    repository: str,
    app_id: str,
    private_key_file: Path,
    installation_id: int | None = None,
    *,
    base_url: str = "https://api.github.com",
    retry: GithubRetry | int | None = None,
) -> str:
    """A GitHub App installation token for ``repository``.

    The App authenticates with a short-lived RS256 JWT signed by its private key; the installation
    is ``installation_id`` or, when not given, the one ``GET /repos/{owner}/{repo}/installation``
    names. The token lasts an hour, which is longer than a ``propose`` run.
    """
    pem = _read_app_key(private_key_file)
    if retry is None:
        retry = GithubRetry(total=5, max_rate_limit_wait=120)
    integration = GithubIntegration(
        auth=Auth.AppAuth(app_id, pem), base_url=base_url, retry=retry, timeout=15
    )
    owner, _, name = repository.partition("/")
    try:
        if installation_id is None:
            installation_id = int(integration.get_repo_installation(owner, name).id)
        return str(integration.get_access_token(installation_id).token)
    except GithubException as exc:
        message = exc.data.get("message") if isinstance(exc.data, dict) else exc.data
        if exc.status == 401:
            raise ForgeError(
                f"GitHub refused the GitHub App {app_id}'s JWT: HTTP 401 {message}",
                advice="check that --app-id is the App's id (or client id) and that the private "
                "key belongs to that App (a revoked key is refused too), and that this machine's "
                "clock is right: the JWT is valid for at most 10 minutes",
            ) from None
        if exc.status == 404:
            what = (
                f"has no installation {installation_id}"
                if installation_id is not None
                else f"is not installed on {repository}"
            )
            raise ForgeError(
                f"the GitHub App {app_id} {what}: HTTP 404 {message}",
                advice=f"install the App on {repository} (the App's settings, 'Install App', or "
                "the organisation's Settings, 'GitHub Apps', 'Configure', 'Repository access'), "
                "or pass the right --installation-id",
            ) from None
        raise _wrap("issue a GitHub App installation token", exc) from None
    except requests.exceptions.RequestException as exc:
        raise _wrap("issue a GitHub App installation token", exc) from None
    finally:
        integration.close()


def _scrub(exc: Exception, token: str) -> str:
    return str(exc).replace(token, "***")
