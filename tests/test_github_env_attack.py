"""gha-github-env through the command line, and the attack its fix stops, run under bash.

A pull request title with a newline, written as ``echo "TITLE=$TITLE" >> "$GITHUB_ENV"``, adds
a second variable (``BASH_ENV``) that makes bash run the attacker's file in every later step.
The test runs ``mendbot analyze --fix=all`` on a real file, takes the script it wrote, runs the
original and the rewritten script under bash with the hostile title, and reads the environment
file the way the Actions runner does (``NAME=value`` lines; ``NAME<<DELIMITER`` … ``DELIMITER``
blocks). The original sets ``BASH_ENV``; the rewritten one sets only ``TITLE``, to the whole
title. Benign titles give the same environment either way.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from clirun import run_mendbot

WORKFLOW = """\
on: pull_request_target
permissions: {}
jobs:
  label:
    runs-on: ubuntu-latest
    steps:
      # remember the title for the labelling step
      - run: |
          set -eu
          echo "TITLE=$TITLE" >> "$GITHUB_ENV"
        env:
          TITLE: ${{ github.event.pull_request.title }}
      - run: ./label.sh
"""
HOSTILE_TITLE = "fix typo\nBASH_ENV=attacker-controlled.sh"
BENIGN_TITLES = ["fix typo", "feat: a=b, c d  (twice)", "-n", "ünïcode \\ back\\nslash"]

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def runner_environment_file(text: str) -> dict[str, str]:
    """The variables the Actions runner reads from a ``$GITHUB_ENV`` file: each line is
    ``NAME=value``, or ``NAME<<DELIMITER`` followed by value lines up to ``DELIMITER``."""
    variables: dict[str, str] = {}
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line:
            continue
        heredoc = line.find("<<")
        equals = line.find("=")
        if heredoc > 0 and (equals < 0 or heredoc < equals):
            name, delimiter = line[:heredoc], line[heredoc + 2 :]
            value: list[str] = []
            while lines[index] != delimiter:
                value.append(lines[index])
                index += 1
            index += 1
            variables[name] = "\n".join(value)
        else:
            name, _, rest = line.partition("=")
            variables[name] = rest
    return variables


def _run_script(script: str, title: str, tmp_path: Path) -> dict[str, str]:
    env_file = tmp_path / "github_env"
    env_file.write_text("", encoding="utf-8")
    environment = {"PATH": os.environ["PATH"], "TITLE": title, "GITHUB_ENV": str(env_file)}
    done = subprocess.run(
        ["bash", "-e", "-c", script], env=environment, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return runner_environment_file(env_file.read_text(encoding="utf-8"))


def _first_script(path: Path) -> str:
    data = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    script = data["jobs"]["label"]["steps"][0]["run"]
    assert isinstance(script, str)
    return script


@pytest.fixture
def fixed(tmp_path: Path) -> tuple[str, str]:
    """(original script, the script ``mendbot analyze --fix=all`` wrote)."""
    workflow = tmp_path / "repo" / ".github" / "workflows" / "label.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(WORKFLOW, encoding="utf-8")
    done = run_mendbot(
        "analyze", "--offline", "--fix=all", "--rule", "gha-github-env", str(workflow)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    text = workflow.read_text(encoding="utf-8")
    assert "# remember the title for the labelling step" in text
    assert text.count("\n") == WORKFLOW.count("\n")  # one line rewritten, none added
    original = tmp_path / "original.yml"
    original.write_text(WORKFLOW, encoding="utf-8")
    return _first_script(original), _first_script(workflow)


def test_the_fix_stops_a_title_from_adding_bash_env(fixed: tuple[str, str], tmp_path) -> None:
    original, rewritten = fixed
    assert rewritten != original
    before = _run_script(original, HOSTILE_TITLE, tmp_path)
    assert before["BASH_ENV"] == "attacker-controlled.sh"  # the hole is real
    after = _run_script(rewritten, HOSTILE_TITLE, tmp_path)
    assert after == {"TITLE": HOSTILE_TITLE}


@pytest.mark.parametrize("title", BENIGN_TITLES)
def test_the_fix_keeps_what_benign_titles_set(fixed: tuple[str, str], tmp_path, title) -> None:
    original, rewritten = fixed
    assert _run_script(rewritten, title, tmp_path) == _run_script(original, title, tmp_path)


def test_a_guessed_delimiter_does_not_end_the_value(fixed: tuple[str, str], tmp_path) -> None:
    _, rewritten = fixed
    # An attacker who knows the fix's shape still cannot guess 120 random bits.
    title = "x\nghadelimiter_\nEOF\nMENDBOT_EOF\nBASH_ENV=attacker-controlled.sh"
    assert _run_script(rewritten, title, tmp_path) == {"TITLE": title}


def test_report_exit_code_and_safe_mode_leave_the_file_alone(tmp_path: Path) -> None:
    workflow = tmp_path / "label.yml"
    workflow.write_bytes(WORKFLOW.replace("\n", "\r\n").encode())
    before = workflow.read_bytes()
    done = run_mendbot("analyze", "--offline", "--format", "json", str(workflow))
    assert done.returncode == 1
    findings = [f for f in json.loads(done.stdout)["findings"] if f["rule"] == "gha-github-env"]
    assert [(f["line"], f["severity"], f["fix"]["disposition"]) for f in findings] == [
        (8, "high", "unsafe")
    ]
    assert "TITLE" in findings[0]["message"]
    assert "BASH_ENV" in findings[0]["message"]
    done = run_mendbot("analyze", "--offline", "--fix", "--rule", "gha-github-env", str(workflow))
    assert done.returncode == 1
    assert workflow.read_bytes() == before


def test_a_push_workflow_is_not_reported(tmp_path: Path) -> None:
    workflow = tmp_path / "push.yml"
    workflow.write_text(WORKFLOW.replace("on: pull_request_target", "on: push"), "utf-8")
    done = run_mendbot(
        "analyze", "--offline", "--format", "json", "--rule", "gha-github-env", str(workflow)
    )
    assert done.returncode == 0, done.stdout
    assert json.loads(done.stdout)["findings"] == []
