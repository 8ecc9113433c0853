"""Tracing a reusable workflow's callers reads the repository's workflow folder once per run,
not once per workflow asked about: a repository of many workflows is analysed in time linear in
their number (the same findings either way)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from bot.cli.app import cli
from bot.yamledit.document import YamlDocument

WORKFLOWS = 40

REUSABLE = """\
on:
  workflow_call:
    inputs:
      title:
        type: string
permissions: {}
jobs:
  echo:
    runs-on: ubuntu-latest
    steps:
      - run: echo "${{ inputs.title }}"
"""

CALLER = """\
on: issues
permissions: {{}}
jobs:
  call:
    uses: ./.github/workflows/reusable-{index}.yml
    with:
      title: ${{{{ github.event.issue.title }}}}
"""


def test_each_workflow_of_a_folder_is_parsed_a_bounded_number_of_times(
    tmp_path: Path, monkeypatch
) -> None:
    folder = tmp_path / "repo" / ".github" / "workflows"
    folder.mkdir(parents=True)
    for index in range(WORKFLOWS // 2):
        (folder / f"reusable-{index}.yml").write_text(REUSABLE, encoding="utf-8")
        (folder / f"caller-{index}.yml").write_text(CALLER.format(index=index), encoding="utf-8")
    parsed: list[str] = []
    original = YamlDocument._parse.__func__  # type: ignore[attr-defined]

    def counting(cls: type[YamlDocument], text: str) -> YamlDocument:
        parsed.append(text)
        return original(cls, text)

    monkeypatch.setattr(YamlDocument, "_parse", classmethod(counting))
    options = ("--offline", "--no-cache", "-j", "1", "--format", "json")
    result = CliRunner().invoke(cli, ["analyze", str(tmp_path / "repo"), *options])
    report = json.loads(result.stdout)
    injections = [f for f in report["findings"] if f["rule"] == "gha-template-injection"]
    # Every reusable workflow's input is traced to its caller's issue title.
    assert len(injections) == WORKFLOWS // 2, result.stdout
    workflow_texts = [t for t in parsed if "jobs:" in t]
    # Each file parsed as itself and as a possible caller of the others (before: once for
    # every other workflow of the folder, 40 x 39 parses).
    assert len(workflow_texts) <= 3 * WORKFLOWS
