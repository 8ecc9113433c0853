"""The deploy job's OIDC token: from GitHub Actions' token service, or from a file elsewhere.

The token proves which workflow, environment and repository the job runs as; whoever issues
credentials (AWS STS, an octo-sts service) checks it. It is passed on and never logged: errors
name where the token was looked for, never its content.
"""

from __future__ import annotations

import json
import os
import urllib.parse
import urllib.request
from pathlib import Path

from bot.errors import MendbotError

#: Bound on a token file (a JWT is a few kilobytes).
MAX_TOKEN_BYTES = 64 * 1024


class OidcTokenError(MendbotError):
    """No OIDC token could be had: nothing is applied."""

    exit_code = 2


def file_token(path: Path) -> str:
    """The token in ``path`` (surrounding whitespace removed)."""
    try:
        raw = path.read_bytes()[: MAX_TOKEN_BYTES + 1]
    except OSError as exc:
        raise OidcTokenError(f"{path}: cannot read the OIDC token ({exc.strerror})") from None
    if len(raw) > MAX_TOKEN_BYTES:
        raise OidcTokenError(f"{path}: larger than {MAX_TOKEN_BYTES} bytes: not a token")
    token = raw.decode("ascii", "replace").strip()
    if token.count(".") != 2:
        raise OidcTokenError(f"{path}: not a JWT (expected three dot-separated parts)")
    return token


def actions_token(audience: str) -> str:
    """A token for ``audience`` from GitHub Actions (``ACTIONS_ID_TOKEN_REQUEST_URL`` and
    ``…_TOKEN``, present only with ``permissions: id-token: write``)."""
    url = os.environ.get("ACTIONS_ID_TOKEN_REQUEST_URL")
    bearer = os.environ.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
    if not url or not bearer:
        raise OidcTokenError(
            "no OIDC token: not in GitHub Actions with `permissions: id-token: write`",
            advice="give the deploy job id-token: write, or pass --oidc-token-file",
        )
    separator = "&" if "?" in url else "?"
    request = urllib.request.Request(  # noqa: S310 (the URL is GitHub's, from the runner)
        f"{url}{separator}audience={urllib.parse.quote(audience)}",
        headers={"Authorization": f"Bearer {bearer}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as answer:  # noqa: S310
            value = json.loads(answer.read()).get("value")
    except (OSError, ValueError) as exc:
        raise OidcTokenError(f"the Actions token service failed: {type(exc).__name__}") from None
    if not isinstance(value, str) or value.count(".") != 2:
        raise OidcTokenError("the Actions token service returned no token")
    return value
