"""``gha-self-repository`` through the real command: the ``$/`` rewrite is proposed only where
it names the same action inside the workflow's commit, and never for what GitHub already reads
from that commit."""

from __future__ import annotations

import json
from pathlib import Path

from clirun import run_mendbot

RULE = ("--rule", "gha-self-repository")

#: github/codeql-action's test shape: a step moves the checkout to ../action, later steps run
#: the action from there; a reusable workflow of the repository is called beside it.
WORKFLOW = """\
on: pull_request
permissions: {}
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: ./.github/actions/prepare-test
      - uses: ./../action/init
  reusable:
    uses: ./.github/workflows/reuse.yml
"""

FIXED = WORKFLOW.replace("./.github/actions/prepare-test", "$/.github/actions/prepare-test")

ACTION = """\
name: setup
description: sets things up
runs:
  using: composite
  steps:
    - uses: ./.github/actions/inner
"""


def test_fix_all_rewrites_only_paths_inside_the_commit(workflows) -> None:
    root = workflows({"test.yml": WORKFLOW})
    path = root / ".github/workflows/test.yml"
    result = run_mendbot("analyze", ".", "--fix=all", *RULE, "--format", "json", cwd=root)
    assert result.returncode == 1, result.stderr  # the path out of the repository remains
    assert path.read_text() == FIXED
    findings = json.loads(result.stdout)["findings"]
    assert [(f["line"], f["fix"] is not None) for f in findings] == [(8, True), (9, False)]
    assert "leaves the repository" in findings[1]["no_fix_reason"]
    assert "$/.." not in path.read_text()


def test_a_composite_action_is_reported_without_a_fix(tmp_path: Path) -> None:
    action = tmp_path / ".github/actions/setup/action.yml"
    action.parent.mkdir(parents=True)
    action.write_text(ACTION)
    result = run_mendbot(
        "analyze",
        ".github/actions/setup/action.yml",
        "--fix=all",
        *RULE,
        "--format",
        "json",
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stderr
    assert action.read_text() == ACTION
    [finding] = json.loads(result.stdout)["findings"]
    assert finding["fix"] is None
    assert "whichever job uses the action" in finding["no_fix_reason"]
