"""Where mendbot may send a GitHub token or trust an answer: https anywhere, plain http only to
this machine (a local test server or a forwarding proxy).

Every command that talks to GitHub's REST API or its git server takes the root from an option
or an environment variable a workflow sets (``GITHUB_API_URL``, ``GITHUB_SERVER_URL``). Over
plain http to another host, anyone on the path could read the token and change the answers —
a ref listing whose SHAs mendbot would pin, or a pull request whose state the gate decides on.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from bot.errors import MendbotError


class UnsafeUrlError(MendbotError):
    """A GitHub root is no http(s) URL, carries credentials, or is plain http to another host;
    nothing was sent to it."""

    exit_code = 2


def checked_root(value: str, *, name: str) -> str:
    """``value`` without a trailing slash, once it is an https URL, or http to loopback, with
    no user name or password in it; raises :class:`UnsafeUrlError` naming ``name`` (the
    option or variable it came from) otherwise. The value is never echoed unless it is a URL
    without credentials: a value in the wrong place may be a token."""
    root = value.strip().rstrip("/")
    parts = urlsplit(root)
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not root.lower().startswith(scheme + "://"):
        raise UnsafeUrlError(
            f"{name} is not an http(s) URL; its value is not shown",
            advice="give the root, e.g. https://api.github.com (REST API), https://github.com "
            "(git server), or https://HOST/api/v3 for GitHub Enterprise Server",
        )
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrlError(
            f"{name} for {parts.hostname} carries credentials; the URL is not shown and "
            "nothing was sent",
            advice="remove the user name and password from the URL: the token goes in "
            "GITHUB_TOKEN (or GH_TOKEN) only",
        )
    host = parts.hostname or ""
    if scheme == "http" and not is_loopback(host):
        raise UnsafeUrlError(
            f"{name} {root!r} is plain http to {host or 'no host'}: a token would travel "
            "unencrypted and the answers could be changed on the way; nothing was sent",
            advice="use the https:// address (plain http only to this machine, e.g. "
            "http://127.0.0.1:PORT for a local test server)",
        )
    return root


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, IPv6 with or without brackets) is this
    machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
