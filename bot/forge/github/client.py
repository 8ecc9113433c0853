"""The GitHub client both sides of the forge share: authentication, retries, errors, git.

A token from the environment or a GitHub App installation token (:func:`installation_token`);
PyGithub with bounded retries for the REST API; git (through :mod:`bot.git`) with the token in an
``http.extraHeader`` set through the environment, never in a URL or on the command line. Sticky
comments carry a hidden ``<!-- mendbot-comment:<topic> -->`` marker and are edited in place;
only comments written by the bot's own account count.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

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

from bot import git
from bot.api_url import checked_root
from bot.forge.interface import (
    ForgeError,
)

_COMMENT_MARKER = "<!-- mendbot-comment:{topic} -->"

_PERMISSION_ADVICE = (
    "the token needs `contents: write` (to push the bot branch) and `pull-requests: write` "
    "(to open pull requests); a GitHub App installation token is preferred"
)

#: What the gate's token needs, by kind of operation.
READ_ADVICE = (
    "the token needs `pull-requests: read` and `contents: read` on the repository; "
    "a GitHub App installation token is preferred"
)

_COMMENT_ADVICE = "the token needs `issues: write` (or `pull-requests: write`) to comment"

GITHUB_TIME = "%Y-%m-%dT%H:%M:%SZ"


def wrap_error(action: str, exc: Exception, advice: str | None = None) -> ForgeError:
    if isinstance(exc, GithubException):
        status = exc.status
        message = exc.data.get("message") if isinstance(exc.data, dict) else exc.data
        advice = (advice or _PERMISSION_ADVICE) if status in (401, 403, 404) else None
        return ForgeError(f"GitHub refused to {action}: HTTP {status} {message}", advice=advice)
    return ForgeError(
        f"GitHub did not answer to {action} ({exc})",
        advice="GitHub kept failing after bounded retries; rerun later, nothing half-done was left",
    )


#: How errors name the API root: the option and the variable it defaults from.
API_URL_NAME = "--api-url (or GITHUB_API_URL)"


def is_bot_account(login: str) -> bool:
    return login.endswith("[bot]")


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
    names. The token lasts an hour, which is longer than a ``propose`` run. Raises
    :class:`~bot.api_url.UnsafeUrlError` before sending anything when ``base_url`` is plain
    http to another host.
    """
    base_url = checked_root(base_url, name=API_URL_NAME)
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
        raise wrap_error("issue a GitHub App installation token", exc) from None
    except requests.exceptions.RequestException as exc:
        raise wrap_error("issue a GitHub App installation token", exc) from None
    finally:
        integration.close()


def scrub(exc: Exception, token: str) -> str:
    return str(exc).replace(token, "***")


class GitHubClient:
    """One repository on GitHub or GitHub Enterprise Server (``base_url``).

    ``bot_login`` is the account the token acts as (for a GitHub App, ``<app-slug>[bot]``); when
    not given it is read from ``GET /user``, and when GitHub does not say (an installation
    token), any bot account (``type: Bot``) counts as the bot for sticky comments. A
    ``base_url`` that is plain http to another host raises :class:`~bot.api_url.UnsafeUrlError`
    before the token is used.
    """

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
        bot_login: str | None = None,
    ) -> None:
        base_url = checked_root(base_url, name=API_URL_NAME)
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
        self._fetched_bases: dict[str, str] = {}
        """Branch tips fetched by :meth:`fetch`, by branch name."""
        self._bot_login = bot_login
        # An installation token (``ghs_``) cannot read ``GET /user``: do not ask (GitHub would
        # answer 403 and PyGithub would log it); any bot account is then the bot.
        self._bot_resolved = bot_login is not None or token.startswith("ghs_")

    @property
    def workdir(self) -> Path:
        """The local clone where commits are built."""
        return self._workdir

    @property
    def repository_uri(self) -> str:
        """``https://HOST/OWNER/NAME``: the repository's web address (what GitHub Actions
        records in a statement)."""
        return self._git_url.removesuffix(".git")

    def _call(
        self, action: str, fn: Any, *args: Any, advice: str | None = None, **kwargs: Any
    ) -> Any:
        try:
            return fn(*args, **kwargs)
        except (GithubException, requests.exceptions.RequestException) as exc:
            raise wrap_error(action, exc, advice) from None

    def default_branch(self) -> str:
        """The repository's default branch."""
        if self._default is None:
            self._default = str(
                self._call("read the repository", lambda: self._repo.default_branch)
            )
        return self._default

    def branch_head(self, branch: str) -> str | None:
        """The branch's commit, from ``GET /git/ref/heads/<branch>``."""
        try:
            return str(self._repo.get_git_ref(f"heads/{branch}").object.sha)
        except UnknownObjectException:
            return None
        except (GithubException, requests.exceptions.RequestException) as exc:
            raise wrap_error(f"read the branch {branch}", exc) from None

    def _git(self, *args: str) -> str:
        """``git args`` in the work directory, the token in an ``http.extraHeader`` passed
        through the environment (after any configuration already there), never in a URL or on
        the command line; the output stripped. Raises :class:`~bot.git.GitError`."""
        header = (
            "Authorization: basic "
            + base64.b64encode(f"x-access-token:{self._token}".encode()).decode()
        )
        env = git.with_git_config(os.environ, "http.extraHeader", header)
        return git.run(self._workdir, *args, env=env).decode("utf-8", "replace").strip()

    def comment(self, number: int, topic: str, text: str) -> bool:
        """Create the topic's comment, or edit it in place (found again by its hidden marker);
        False when it already said ``text``."""
        marker = _COMMENT_MARKER.format(topic=topic)
        body = f"{text}\n\n{marker}"
        issue = self._repo.get_issue(number)  # lazy: no request
        existing = self._call(
            f"list the comments of #{number}",
            lambda: list(issue.get_comments()),
            advice=READ_ADVICE,
        )
        mine = [c for c in existing if marker in (c.body or "") and self._by_bot(c.user)]
        if not mine:
            self._call(f"comment on #{number}", issue.create_comment, body, advice=_COMMENT_ADVICE)
            return True
        if mine[0].body == body:
            return False
        self._call(f"edit a comment on #{number}", mine[0].edit, body, advice=_COMMENT_ADVICE)
        return True

    def _by_bot(self, user: Any) -> bool:
        """Whether ``user`` (a comment's author) is the account this forge acts as."""
        if user is None:
            return False
        bot = self._bot_account()
        if bot is not None:
            return bool(user.login == bot)
        return bool(user.type == "Bot")

    def _is_bot_login(self, login: str) -> bool:
        """Whether ``login`` is the account this forge acts as; False when GitHub does not say
        which account that is (an installation token without ``bot_login``)."""
        bot = self._bot_account()
        return bot is not None and login == bot

    def _bot_account(self) -> str | None:
        """``bot_login``, else the login ``GET /user`` names (None for an installation token:
        GitHub answers 403)."""
        if not self._bot_resolved:
            self._bot_resolved = True
            try:
                self._bot_login = str(self._github.get_user().login)
            except GithubException:
                self._bot_login = None
            except requests.exceptions.RequestException as exc:
                raise wrap_error("read the token's account", exc) from None
        return self._bot_login
