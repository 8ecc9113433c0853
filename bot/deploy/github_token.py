"""A GitHub App installation token narrowed, at creation, to one repository and the one
permission an applier needs, and revoked when the change is done.

The deployer App authenticates with a short RS256 JWT signed by its private key, which comes
from the ``MENDBOT_DEPLOY_APP_KEY`` environment variable (PEM text: an environment secret of the
deploy environment, never a command-line argument nor a file in the repository). The token is
asked for with ``repositories: [<name>]`` and ``permissions: {<one>: <level>}``
(``POST /app/installations/{id}/access_tokens``); GitHub never returns a token wider than the
installation, and one wider than asked is refused here. ``DELETE /installation/token`` ends it.

The token never leaves this module's objects: not in their ``repr``, not in an error message,
not in the :class:`~bot.deploy.applier.Authority` the deploy record shows.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from github import Auth

from bot.api_url import checked_root
from bot.deploy.applier import Authority, DeployContext, Grant
from bot.errors import MendbotError

#: The environment variable holding the deployer App's private key (PEM text).
APP_KEY_VARIABLE = "MENDBOT_DEPLOY_APP_KEY"
#: The environment variable naming the REST API (GitHub Actions sets it; GHES too).
API_URL_VARIABLE = "GITHUB_API_URL"
DEFAULT_API_URL = "https://api.github.com"
#: Seconds before one request to GitHub is abandoned.
TIMEOUT_SECONDS = 15

_log = logging.getLogger(__name__)


class GitHubCredentialError(MendbotError):
    """No narrowed installation token could be had: nothing was applied."""

    exit_code = 2


class GitHubApiError(MendbotError):
    """GitHub refused or did not answer a request made with the narrowed token."""

    exit_code = 1
    status: int | None = None
    """The HTTP status GitHub answered (None when it did not answer)."""


def api_url() -> str:
    """``$GITHUB_API_URL`` without a trailing slash, else ``https://api.github.com``; raises
    :class:`~bot.api_url.UnsafeUrlError` when it is plain http to another host (the App's JWT
    and the narrowed token would travel unencrypted)."""
    return checked_root(os.environ.get(API_URL_VARIABLE) or DEFAULT_API_URL, name=API_URL_VARIABLE)


class GitHubApi:
    """The few REST calls an applier makes, with one token and bounded time; every failure is a
    :class:`GitHubApiError` naming the action, the HTTP status and GitHub's message."""

    def __init__(self, base_url: str, token: str) -> None:
        self._base_url = base_url
        self._session = requests.Session()
        self._session.headers.update(
            {
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": "mendbot-deploy",
            }
        )

    def __repr__(self) -> str:
        return f"GitHubApi({self._base_url!r})"

    def request(self, method: str, path: str, action: str, body: Any = None) -> Any:
        """``method path`` (``path`` from the API root) with ``body`` as JSON; the decoded JSON
        answer, or None for an empty one."""
        try:
            response = self._session.request(
                method, self._base_url + path, json=body, timeout=TIMEOUT_SECONDS
            )
        except requests.exceptions.RequestException as exc:
            raise GitHubApiError(
                f"GitHub did not answer to {action} ({type(exc).__name__})",
                advice="nothing was changed by this request; rerun the deploy job later",
            ) from None
        if response.status_code >= 400:
            refused = GitHubApiError(
                f"GitHub refused to {action}: HTTP {response.status_code} {_message(response)}",
                advice=_advice(response.status_code),
            )
            refused.status = response.status_code
            raise refused
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise GitHubApiError(f"GitHub answered {action} with something not JSON") from None

    def close(self) -> None:
        """Release the connections."""
        self._session.close()


def _message(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.reason or ""
    message = data.get("message") if isinstance(data, dict) else None
    return str(message) if message else (response.reason or "")


def _advice(status: int) -> str | None:
    if status in (401, 403):
        return (
            "the deployer App's token is narrowed to one repository and one permission; check "
            "that the App is installed on the repository with that permission"
        )
    if status >= 500:
        return "GitHub failed; rerun the deploy job later"
    return None


class InstallationToken(Grant):
    """A narrowed installation token: :meth:`api` calls GitHub with it, :meth:`revoke` ends it.
    The token itself is never shown (``repr``, errors, :attr:`authority`)."""

    def __init__(self, token: str, authority: Authority, base_url: str) -> None:
        self.authority = authority
        self._api = GitHubApi(base_url, token)
        self._revoked = False

    def __repr__(self) -> str:
        return f"InstallationToken({self.authority.principal!r}, revoked={self._revoked})"

    def api(self) -> GitHubApi:
        """The REST client holding the token."""
        return self._api

    def revoke(self) -> None:
        """``DELETE /installation/token``; a failure is logged (the token then expires within the
        hour) and never raised; a second call does nothing."""
        if self._revoked:
            return
        self._revoked = True
        try:
            self._api.request("DELETE", "/installation/token", "revoke the installation token")
        except Exception as exc:  # NOTE(deploy): revocation is best effort, the token expires.
            _log.warning(
                "the installation token was not revoked (it expires by itself): %s",
                exc if isinstance(exc, MendbotError) else type(exc).__name__,
            )
        finally:
            self._api.close()


def mint_installation_token(
    context: DeployContext, repository: str, permissions: Mapping[str, str]
) -> InstallationToken:
    """An installation token of ``deploy.environments.<env>``'s App for ``repository``
    (``owner/name``) with exactly ``permissions``; raises :class:`GitHubCredentialError` when
    the App, its installation or its key is not configured, or GitHub refuses."""
    environment = context.environment
    settings = context.settings
    where = f"deploy.environments.{environment}"
    if settings.github_app_id is None or settings.github_installation_id is None:
        raise GitHubCredentialError(
            f"{where}: github_app_id and github_installation_id are needed to change GitHub "
            "settings",
            advice=f"set {where}.github_app_id and {where}.github_installation_id in "
            ".github/mendbot.yml to the deployer App and its installation (docs/deploy.md)",
        )
    app_id, installation_id = settings.github_app_id, settings.github_installation_id
    pem = _app_key(where)
    name = repository.partition("/")[2]
    base_url = api_url()
    jwt = Auth.AppAuth(app_id, pem).create_jwt()
    app_api = GitHubApi(base_url, jwt)
    body = {"repositories": [name], "permissions": dict(permissions)}
    try:
        answer = app_api.request(
            "POST",
            f"/app/installations/{installation_id}/access_tokens",
            f"issue an installation token of App {app_id} for {repository}",
            body,
        )
    except GitHubApiError as exc:
        raise GitHubCredentialError(
            str(exc),
            advice=f"check {where}.github_app_id / github_installation_id, that the App is "
            f"installed on {repository} with {_describe(permissions)}, and that "
            f"{APP_KEY_VARIABLE} holds that App's private key",
        ) from None
    finally:
        app_api.close()
    if not isinstance(answer, dict) or not isinstance(answer.get("token"), str):
        raise GitHubCredentialError("GitHub answered the token request without a token")
    granted = dict(answer.get("permissions") or {})
    repositories = [
        str(repo.get("full_name") or repo.get("name"))
        for repo in answer.get("repositories") or []
        if isinstance(repo, dict)
    ]
    authority = Authority(
        credential_type="github-installation-token",
        principal=f"app {app_id} installation {installation_id}",
        session_name=f"mendbot-{context.change_id}",
        expires_at=str(answer.get("expires_at") or ""),
        scope={"repositories": [repository], "permissions": dict(permissions)},
    )
    grant = InstallationToken(answer["token"], authority, base_url)
    if granted != dict(permissions) or repositories not in ([repository], [name]):
        grant.revoke()
        raise GitHubCredentialError(
            f"GitHub issued a token wider than asked ({_describe(granted)} on "
            f"{', '.join(repositories) or 'every repository of the installation'}): it was "
            "revoked unused",
            advice=f"asked for {_describe(permissions)} on {repository} only",
        )
    return grant


def _describe(permissions: Mapping[str, str]) -> str:
    return ", ".join(f"{name}: {level}" for name, level in sorted(permissions.items())) or "none"


def _app_key(where: str) -> str:
    """The PEM text of ``$MENDBOT_DEPLOY_APP_KEY``, checked to be an RSA private key."""
    advice = (
        f"set {APP_KEY_VARIABLE} to the PEM private key of the App {where}.github_app_id names "
        "(an environment secret of the deploy environment, passed as an environment variable)"
    )
    text = os.environ.get(APP_KEY_VARIABLE, "")
    if not text.strip():
        raise GitHubCredentialError(f"{APP_KEY_VARIABLE} is not set", advice=advice)
    try:
        key = serialization.load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError, UnicodeError):
        raise GitHubCredentialError(
            f"{APP_KEY_VARIABLE} is not an unencrypted PEM private key", advice=advice
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise GitHubCredentialError(
            f"{APP_KEY_VARIABLE} is not an RSA key (GitHub Apps sign with RS256)", advice=advice
        )
    return text
