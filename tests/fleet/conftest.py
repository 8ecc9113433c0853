"""An organisation of 200 repositories on the test GitHub, for ``mendbot fleet``.

Most repositories have no workflow (as in real organisations); some are archived or forks; the
active ones have one to five workflows with findings, names whose order traps a naive sort
(``svc`` and ``svc-a``: ``svc-a/…`` sorts before ``svc/…``), a workflow that does not parse (an
input error) and one whose file name tries to break out of Markdown.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from chain_fixtures import GitRepo
from fakegithub import FakeGitHub

ORG = "acme"
SIZE = 200

UNPINNED = """\
name: build-{n}
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: make build-{n}
"""
TARGET = """\
name: triage-{n}
on: pull_request_target
permissions: {{}}
jobs:
  label:
    runs-on: ubuntu-latest
    permissions:
      pull-requests: write
    steps:
      - run: echo "${{{{ github.event.pull_request.title }}}}"
"""
CLEAN = """\
name: lint
on: push
permissions: {}
jobs:
  lint:
    runs-on: ubuntu-latest
    steps:
      - run: echo fine
"""
BROKEN = "name: broken\non: [push\njobs: {\n"
#: A workflow file name that tries to close a code span, mention, inject HTML and a link.
HOSTILE_NAME = "ci` @octocat <img src=x> [x](javascript:alert(1)) | `x.yml"

#: Active repositories (name → workflow files); every other name is an empty or skipped one.
ACTIVE: dict[str, dict[str, str]] = {
    "svc": {f"b{i}.yml": UNPINNED.format(n=i) for i in range(3)},
    "svc-a": {"b.yml": UNPINNED.format(n=9), "t.yml": TARGET.format(n=1)},
    "svc.web": {"lint.yml": CLEAN},
    "api": {f"w{i}.yml": UNPINNED.format(n=i) for i in range(5)},
    "api_v2": {"t.yml": TARGET.format(n=2), "broken.yml": BROKEN},
    "docs": {HOSTILE_NAME: UNPINNED.format(n=7)},
    "tools": {"t.yml": TARGET.format(n=3), "l.yaml": CLEAN, "b.yml": UNPINNED.format(n=3)},
    "zeta": {"b.yml": UNPINNED.format(n=4)},
    "Alpha": {"b.yml": UNPINNED.format(n=5), "c.yml": CLEAN, "t.yml": TARGET.format(n=5)},
}
ARCHIVED = [f"old-{i:02}" for i in range(8)]
FORKS = [f"fork-{i:02}" for i in range(8)]


@dataclass
class Organisation:
    """The organisation as served: its name, the fake, and where each bare repository is."""

    name: str
    github: FakeGitHub
    bare: dict[str, Path]

    def clone(self, repository: str, into: Path) -> Path:
        """A local clone of ``repository`` at ``into`` (what the analysis job checks out)."""
        subprocess.run(
            ["git", "clone", "-q", str(self.bare[repository]), str(into)],
            check=True,
            capture_output=True,
        )
        return into


def _source(root: Path, files: dict[str, str]) -> Path:
    repo = GitRepo(root)
    repo.write("README.md", "# project\n")
    for name, text in files.items():
        repo.write(f".github/workflows/{name}", text)
    repo.commit("initial")
    return root


@pytest.fixture
def organisation(github: FakeGitHub, tmp_path: Path) -> Organisation:
    """200 repositories of ``acme``, created in an order that is not sorted by name."""
    empty = _source(tmp_path / "sources" / "empty", {})
    with_workflows = _source(tmp_path / "sources" / "archived", {"b.yml": UNPINNED.format(n=0)})
    names = sorted(ACTIVE) + ARCHIVED + FORKS
    names += [f"empty-{i:03}" for i in range(SIZE - len(names))]
    bare: dict[str, Path] = {}
    for position in range(SIZE):
        name = names[(position * 7) % SIZE]  # 7 is coprime with 200: every name once
        if name in ACTIVE:
            source = _source(tmp_path / "sources" / name, ACTIVE[name])
        else:
            source = empty if name.startswith("empty-") else with_workflows
        repo = github.add_repo(f"{ORG}/{name}", source)
        repo.archived = name in ARCHIVED
        repo.fork = name in FORKS
        bare[name] = repo.bare
    return Organisation(ORG, github, bare)
