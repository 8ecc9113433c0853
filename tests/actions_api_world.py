"""GitHub's API for the action repositories a test builds with :mod:`gitserver`.

``api_world(server, spec)`` serves a :class:`fakegithub.FakeGitHub` whose repositories are the
bare repositories under ``server`` (so the compare endpoint answers from their real history,
fork commits included), with the state of ``spec`` (the golden cases' ``api.json``)::

    {"archived": ["octo/old-action"],
     "advisories": [<global-advisory fields: ghsa_id, severity, summary, vulnerabilities>]}

:func:`api_environment` is what a user sets to point mendbot at it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fakegithub import TOKEN, FakeGitHub, FakeRepo, running


@contextmanager
def api_world(server: Path, spec: dict[str, Any]) -> Iterator[FakeGitHub]:
    """The fake GitHub over ``server``'s repositories and ``spec``; fails the test if mendbot
    asked a route the fake does not serve or a response broke GitHub's description."""
    with running(server.parent / f"{server.name}-api") as github:
        for owner in sorted(p for p in server.iterdir() if p.is_dir() and p.name != ".work"):
            for bare in sorted(owner.iterdir()):
                slug = f"{owner.name}/{bare.name}"
                github.repos[slug] = FakeRepo(
                    owner.name, bare.name, bare, archived=slug in spec.get("archived", [])
                )
        github.advisories.extend(spec.get("advisories", []))
        yield github
        assert github.unhandled == []
        assert github.failures == []


def api_environment(server: Path, github: FakeGitHub) -> dict[str, str]:
    """``GITHUB_SERVER_URL`` (git) and ``GITHUB_API_URL`` (REST) of the world, and its token."""
    return {
        "GITHUB_SERVER_URL": f"file://{server}",
        "GITHUB_API_URL": github.base_url,
        "GITHUB_TOKEN": TOKEN,
    }
