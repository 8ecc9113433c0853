"""A computed expression (``format(…)``, ``a || 'default'``) pasted into ``run:`` is moved into
``env:`` whole by the real command, and the rewritten script no longer runs an issue title."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from clirun import run_mendbot

WORKFLOW = """\
on: issues
jobs:
  triage:
    runs-on: ubuntu-latest
    steps:
      - run: echo "${{ format('New - {0}', github.event.issue.title) }}" > note.txt
"""

FIXED = """\
on: issues
jobs:
  triage:
    runs-on: ubuntu-latest
    steps:
      - run: echo "${ISSUE_TITLE}" > note.txt
        env:
          ISSUE_TITLE: ${{ format('New - {0}', github.event.issue.title) }}
"""

TITLE = '"; touch pwned; echo "'


def _bash(script: str, cwd: Path, env: dict[str, str] | None = None) -> None:
    subprocess.run(["bash", "-c", script], cwd=cwd, env=env, check=True)


def test_fix_all_moves_the_computed_value_and_closes_the_hole(workflows, tmp_path: Path) -> None:
    root = workflows({"triage.yml": WORKFLOW})
    path = root / ".github/workflows/triage.yml"
    result = run_mendbot(
        "analyze", ".", "--fix", "--rule", "gha-template-injection", "--format", "json", cwd=root
    )
    assert result.returncode == 1, result.stderr
    assert path.read_text() == WORKFLOW, "plain --fix applied an unsafe fix"
    [finding] = json.loads(result.stdout)["findings"]
    assert finding["fix"]["disposition"] == "unsafe"
    result = run_mendbot("analyze", ".", "--fix=all", "--rule", "gha-template-injection", cwd=root)
    assert result.returncode == 0, result.stdout
    assert path.read_text() == FIXED
    # What GitHub runs before: the title pasted into the script. After: the title in $ISSUE_TITLE.
    before, after = tmp_path / "before", tmp_path / "after"
    before.mkdir()
    after.mkdir()
    _bash(f'echo "New - {TITLE}" > note.txt', before)
    assert (before / "pwned").exists(), "the original script is not injectable: no hole shown"
    _bash('echo "${ISSUE_TITLE}" > note.txt', after, {"ISSUE_TITLE": f"New - {TITLE}"})
    assert not (after / "pwned").exists()
    assert (after / "note.txt").read_text() == f"New - {TITLE}\n"


@pytest.mark.parametrize(
    "reads",
    ["env.FOO", "env['foo']", "toJSON(env)", "env[github.event.issue.title]"],
)
def test_an_expression_reading_the_steps_own_env_is_left_alone(workflows, reads: str) -> None:
    """In the step's ``env:`` the expression could not see that same ``env:``: moving it there
    would change the value the script receives, so ``--fix=all`` writes nothing."""
    text = (
        "on: issues\njobs:\n  triage:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - env:\n          FOO: own\n"
        f"        run: echo \"${{{{ format('{{0}}{{1}}', {reads}, github.event.issue.body) }}}}\"\n"
    )
    root = workflows({"triage.yml": text})
    path = root / ".github/workflows/triage.yml"
    result = run_mendbot(
        "analyze", ".", "--fix=all", "--rule", "gha-template-injection", "--format", "json",
        cwd=root,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert path.read_text() == text
    [finding] = json.loads(result.stdout)["findings"]
    assert finding["fix"] is None
    assert "own `env:`" in finding["no_fix_reason"]
