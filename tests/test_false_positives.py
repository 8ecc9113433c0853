"""False positives reported by users, through the real command: each shape is reported at the
severity it deserves, or not at all, and nothing is rewritten that should not be."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

SINGLE_JOB_RELEASE = """\
name: Release
on:
  push:
    tags: ["v*"]
permissions:
  contents: write
jobs:
  release:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          persist-credentials: false
      - run: gh release create "$GITHUB_REF_NAME" --generate-notes
        env:
          GH_TOKEN: ${{ github.token }}
"""

EVERY_JOB_DECLARES = """\
on: pull_request
permissions:
  contents: write
  pull-requests: write
jobs:
  test:
    permissions:
      contents: read
    runs-on: ubuntu-latest
    steps:
      - run: echo test
  label:
    permissions:
      pull-requests: write
    runs-on: ubuntu-latest
    steps:
      - run: gh pr edit "$PR" --add-label tested
        env:
          GH_TOKEN: ${{ github.token }}
          PR: ${{ github.event.number }}
"""

#: Two jobs inherit the write; only one needs it: the real excess, still high.
INHERITED_BY_A_TEST_JOB = (
    SINGLE_JOB_RELEASE
    + """\
  test:
    runs-on: ubuntu-latest
    steps:
      - run: echo test
"""
)

STATUS_BOT_CHECK = """\
on: status
jobs:
  deploy:
    runs-on: ubuntu-latest
    if: github.event.state == 'success' && github.actor == 'vercel[bot]'
    steps:
      - run: echo deploy
"""

SLSA = """\
on:
  release:
    types: [published]
jobs:
  tagged:
    uses: slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@v2.1.0
  branch:
    uses: slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@main
"""

DEPENDABOT = """\
version: 2
updates:
  - package-ecosystem: pip
    directory: /
    schedule:
      interval: weekly
    cooldown:
      semver-major-days: 30
      semver-minor-days: 14
      semver-patch-days: 7
"""


def _analyze(root: Path, *args: str) -> tuple[int, list[dict[str, Any]]]:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "analyze", *args, "--format", "json"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Traceback" not in result.stderr, result.stderr
    findings: list[dict[str, Any]] = json.loads(result.stdout)["findings"]
    return result.returncode, findings


def test_top_level_write_the_only_job_needs_is_low(workflows) -> None:
    root = workflows({"release.yml": SINGLE_JOB_RELEASE})
    code, findings = _analyze(root, ".", "--rule", "gha-excessive-permissions")
    assert code == 1
    [finding] = findings
    assert finding["severity"] == "low"
    assert "the only job, `release`, needs them" in finding["message"]


def test_top_level_write_no_job_inherits_is_low(workflows) -> None:
    root = workflows({"label.yml": EVERY_JOB_DECLARES})
    code, findings = _analyze(root, ".", "--rule", "gha-excessive-permissions")
    assert code == 1
    assert [f["severity"] for f in findings] == ["low"]
    assert "no job inherits them" in findings[0]["message"]


def test_top_level_write_inherited_by_a_job_that_does_not_need_it_stays_high(workflows) -> None:
    root = workflows({"release.yml": INHERITED_BY_A_TEST_JOB})
    _, findings = _analyze(root, ".", "--rule", "gha-excessive-permissions")
    assert [f["severity"] for f in findings] == ["high"]


def test_bot_check_under_status_is_not_reported(workflows) -> None:
    root = workflows({"deploy.yml": STATUS_BOT_CHECK})
    code, findings = _analyze(root, ".", "--rule", "gha-spoofable-bot-check")
    assert (code, findings) == (0, [])


def test_slsa_generator_exemption_covers_release_tags_not_branches(workflows) -> None:
    root = workflows({"slsa.yml": SLSA})
    code, findings = _analyze(root, ".", "--offline", "--rule", "gha-unpinned-uses")
    assert code == 1
    assert [(f["line"], f["message"].split(" ")[0]) for f in findings] == [
        (
            8,
            "slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@main",
        )
    ]


def test_dependabot_semver_cooldowns_count(tmp_path: Path) -> None:
    config = tmp_path / ".github" / "dependabot.yml"
    config.parent.mkdir()
    config.write_text(DEPENDABOT)
    code, findings = _analyze(
        tmp_path, ".github/dependabot.yml", "--fix", "--rule", "gha-dependabot-cooldown"
    )
    assert (code, findings) == (0, [])
    assert config.read_text() == DEPENDABOT


def test_missing_top_level_block_when_every_job_declares_is_low(workflows) -> None:
    text = EVERY_JOB_DECLARES.replace(
        "permissions:\n  contents: write\n  pull-requests: write\njobs:", "jobs:"
    )
    root = workflows({"label.yml": text})
    code, findings = _analyze(root, ".", "--fix", "--rule", "gha-missing-permissions")
    assert code == 0
    [finding] = findings
    assert (finding["severity"], finding["fix"]["applied"]) == ("low", True)
    written = (root / ".github/workflows/label.yml").read_text()
    assert written == text.replace("jobs:", "permissions: {}\njobs:", 1)
