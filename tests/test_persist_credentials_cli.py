"""``gha-persist-credentials`` through the real command: a "safe" fix must never break a push,
and an explicit ``persist-credentials: true`` is a person's decision mendbot never overwrites."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from clirun import run_mendbot

RULE = ("--rule", "gha-persist-credentials")

#: pydantic's docs job shape: mkdocs builds, then `mike deploy --push` pushes gh-pages with
#: the credentials the checkout persisted.
DOCS_JOB = """\
name: Docs
on:
  push:
    branches: [main]
permissions:
  contents: write
jobs:
  docs:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: astral-sh/setup-uv@v6
      - run: uv sync --group docs
      - run: uv run mkdocs build --strict
      - run: uv run mike deploy --push --update-aliases dev
"""

#: pydantic's people job shape: a local script that commits and pushes.
PEOPLE_JOB = """\
name: People
on:
  schedule:
    - cron: "0 12 1 * *"
permissions:
  contents: write
jobs:
  people:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
      - run: pip install requests pyyaml
      - name: Update people
        run: python scripts/people.py
"""

PUSHERS = {
    "mkdocs": "mkdocs gh-deploy --force",
    "npx-semantic-release": "npx semantic-release",
    "ghp-import": "ghp-import -n -p -f site",
    "mike-uv-run": "uv run mike deploy --push dev",
    "git-push-in-if": "if ! git diff --quiet; then git commit -am up && git push; fi",
    "gh-pages": "npx gh-pages -d dist",
    "lerna": "npx lerna publish from-package --yes",
    "changeset": "pnpm changeset publish",
    "cargo-release": "cargo release --execute --no-confirm",
    "python-m-mkdocs": "python -m mkdocs gh-deploy",
}

EXPLICIT_TRUE = """\
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          persist-credentials: true  # the release step below needs the token
      - run: echo done
"""


def _mendbot(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_mendbot(*args, *RULE, cwd=cwd)


def _job_running(script: str) -> str:
    return (
        "on: push\njobs:\n  release:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v4\n      - uses: actions/setup-node@v4\n"
        f"      - run: {script}\n"
    )


@pytest.mark.parametrize("name", sorted(PUSHERS))
def test_fix_never_touches_a_job_whose_later_step_pushes(workflows, name: str) -> None:
    root = workflows({"release.yml": _job_running(PUSHERS[name])})
    path = root / ".github/workflows/release.yml"
    before = path.read_bytes()
    for mode in ("--fix", "--fix=all"):
        result = _mendbot("analyze", ".", mode, "--format", "json", cwd=root)
        assert result.returncode == 1, result.stderr
        assert path.read_bytes() == before, f"{mode} changed a job that pushes"
    [finding] = json.loads(result.stdout)["findings"]
    assert finding["fix"] is None
    assert "a later step needs it" in finding["message"]


def test_safe_fix_leaves_the_docs_deploy_working(workflows) -> None:
    root = workflows({"docs.yml": DOCS_JOB})
    path = root / ".github/workflows/docs.yml"
    result = _mendbot("analyze", ".", "--fix", "--format", "json", cwd=root)
    assert result.returncode == 1
    assert path.read_text() == DOCS_JOB
    [finding] = json.loads(result.stdout)["findings"]
    assert "mike deploy --push" in finding["message"]


def test_unknown_script_makes_the_fix_unsafe_and_names_the_step(workflows) -> None:
    root = workflows({"people.yml": PEOPLE_JOB})
    path = root / ".github/workflows/people.yml"
    result = _mendbot("analyze", ".", "--fix", "--format", "json", cwd=root)
    assert result.returncode == 1
    assert path.read_text() == PEOPLE_JOB, "plain --fix applied an unsafe fix"
    [finding] = json.loads(result.stdout)["findings"]
    assert finding["fix"]["disposition"] == "unsafe"
    assert "`Update people` runs `python scripts/people.py`" in finding["message"]
    result = _mendbot("analyze", ".", "--fix=all", cwd=root)
    assert result.returncode == 0, result.stdout
    assert path.read_text() == PEOPLE_JOB.replace(
        "      - uses: actions/checkout@v4\n",
        "      - uses: actions/checkout@v4\n        with:\n          persist-credentials: false\n",
    )


def test_explicit_true_is_reported_and_never_changed(workflows) -> None:
    root = workflows({"ci.yml": EXPLICIT_TRUE})
    path = root / ".github/workflows/ci.yml"
    result = _mendbot("analyze", ".", "--fix=all", "--format", "json", cwd=root)
    assert result.returncode == 1
    assert path.read_text() == EXPLICIT_TRUE
    [finding] = json.loads(result.stdout)["findings"]
    assert finding["fix"] is None
    assert finding["line"] == 8
    assert "enabled explicitly" in finding["message"]
    assert "a person chose to keep the token" in finding["no_fix_reason"]


#: Later steps that push in ways a plain reading of the command words misses: the safe fix
#: must not be applied before any of them.
HIDDEN_PUSHERS = {
    "quoted-substitution": 'echo "pushed: $(git push origin HEAD 2>&1)"',
    "substitution-in-default": 'echo "${TAG:-$(git fetch --tags && git describe)}"',
    "heredoc-substitution": "cat <<NOTE\nresult: $(git push)\nNOTE",
    "rebase-exec": "git rebase -x 'git push' HEAD~1",
    "rebase-exec-long": "git rebase --exec='git push' HEAD~1",
    "bisect-run": "git bisect run ./scripts/check.sh",
    "npm-version-postversion-push": "npm version patch",
}


def _job_running_block(script: str) -> str:
    body = "".join(f"          {line}\n" for line in script.splitlines())
    return (
        "on: push\njobs:\n  release:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v4\n      - run: |\n" + body
    )


@pytest.mark.parametrize("name", sorted(HIDDEN_PUSHERS))
def test_safe_fix_is_withheld_before_a_hidden_push(workflows, name: str) -> None:
    text = _job_running_block(HIDDEN_PUSHERS[name])
    root = workflows({"release.yml": text})
    path = root / ".github/workflows/release.yml"
    result = _mendbot("analyze", ".", "--fix", "--format", "json", cwd=root)
    assert result.returncode == 1, result.stderr
    assert path.read_text() == text, "plain --fix set persist-credentials: false before a push"
    [finding] = json.loads(result.stdout)["findings"]
    assert finding["fix"] is None or finding["fix"]["disposition"] == "unsafe"
