"""Expressions whose value an outsider cannot shape into code (a comparison's `true`/`false`,
a commit hash, a pull request's fork flag) are not template injections; the same contexts
expanded as text still are. Through the real command, on a file on disk."""

from __future__ import annotations

import json
from pathlib import Path

from clirun import run_mendbot

WORKFLOW = """\
on: pull_request_target
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: echo "${{ github.event.pull_request.title == 'release' }}"
      - run: echo "${{ contains(github.event.pull_request.body, 'x') }}"
      - run: echo "${{ contains(github.head_ref, 'x') && !contains(github.head_ref, 'y') }}"
      - run: echo "${{ github.event.pull_request.head.sha }}"
      - run: echo "${{ github.event.pull_request.head.repo.fork }}"
      - run: echo "${{ github.event.pull_request.title || 'none' }}"
      - run: echo "${{ github.event.pull_request.head.ref }}"
"""


def test_boolean_and_typed_values_are_not_reported_but_text_is(tmp_path: Path) -> None:
    path = tmp_path / ".github" / "workflows" / "pr.yml"
    path.parent.mkdir(parents=True)
    path.write_text(WORKFLOW, encoding="utf-8")
    result = run_mendbot(
        "analyze",
        ".",
        "--offline",
        "--format",
        "json",
        "--rule",
        "gha-template-injection",
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stderr
    lines = [f["line"] for f in json.loads(result.stdout)["findings"]]
    assert lines == [12, 13]
