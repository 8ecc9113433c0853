"""False positives reported by users, through the real command: each shape is reported at the
severity it deserves, or not at all, and nothing is rewritten that should not be."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

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
