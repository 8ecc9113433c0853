"""Real bare git repositories standing in for action repositories on a git server.

Commits are made with fixed names and dates, so their SHAs are the same on every machine and
golden files can contain them. ``serve(root, specs)`` builds ``root/<owner>/<repo>`` bare
repositories; point ``RefResolver(server_url=f"file://{root}")`` (or ``$GITHUB_SERVER_URL``) at
``root``.

A spec maps commit labels, in order, to what points at them::

    {"actions/checkout": {"c1": {"tags": ["v4.1.0"]},
                          "c2": {"tags": ["v4", "v4.2.2"], "annotated": ["v4.2.2"],
                                 "branches": ["main"]}}}

A label with ``"fork": true`` is a commit on top of the previous one that no branch or tag of
the repository reaches, yet whose objects the bare repository holds: a fork's commit, which
GitHub serves through the parent repository (an impostor commit).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

_FIXED = {
    "GIT_AUTHOR_NAME": "Upstream",
    "GIT_AUTHOR_EMAIL": "upstream@example.test",
    "GIT_COMMITTER_NAME": "Upstream",
    "GIT_COMMITTER_EMAIL": "upstream@example.test",
    "GIT_AUTHOR_DATE": "2025-01-01T00:00:00+00:00",
    "GIT_COMMITTER_DATE": "2025-01-01T00:00:00+00:00",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_SYSTEM": os.devnull,
}


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, **_FIXED}
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def make_repository(root: Path, slug: str, spec: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Create the bare repository ``root/<slug>``; returns commit label → SHA."""
    work = root / ".work" / slug
    work.mkdir(parents=True)
    _git(work, "init", "-q", "-b", "trunk")
    shas: dict[str, str] = {}
    forks: list[str] = []
    for label, refs in spec.items():
        if refs.get("fork"):
            _git(work, "checkout", "-q", "--detach")
        (work / "action.yml").write_text(f"name: {slug}\n# {label}\nruns: {{using: node20}}\n")
        _git(work, "add", "action.yml")
        _git(work, "commit", "-q", "-m", label)
        shas[label] = _git(work, "rev-parse", "HEAD")
        if refs.get("fork"):
            _git(work, "update-ref", f"refs/fork/{label}", shas[label])
            _git(work, "checkout", "-q", "trunk")
            forks.append(label)
            continue
        for tag in refs.get("tags", []):
            if tag in refs.get("annotated", []):
                _git(work, "tag", "-a", "-m", f"release {tag}", tag)
            else:
                _git(work, "tag", tag)
        for branch in refs.get("branches", []):
            _git(work, "branch", "-f", branch)
    bare = root / slug
    bare.parent.mkdir(parents=True, exist_ok=True)
    _git(root, "clone", "-q", "--bare", str(work), str(bare))
    for label in forks:
        # The objects come over with a temporary ref, which is then deleted.
        _git(bare, "fetch", "-q", str(work), f"refs/fork/{label}:refs/fork/{label}")
        _git(bare, "update-ref", "-d", f"refs/fork/{label}")
    return shas


def serve(root: Path, specs: dict[str, dict[str, dict[str, Any]]]) -> dict[str, dict[str, str]]:
    """Create every repository of ``specs`` under ``root``; returns slug → label → SHA."""
    return {slug: make_repository(root, slug, spec) for slug, spec in specs.items()}
