"""The CLI through click's runner, and exit codes through a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from bot.cli.app import cli
from testpaths import BASE_RULE_FLAGS

INSECURE = """\
on: push
env:
  ACTIONS_ALLOW_UNSECURE_COMMANDS: true
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: make
"""
SAFE_ONLY = """\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
"""
CLEAN = """\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          persist-credentials: false
      - run: make
"""


def _mendbot(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    if args and args[0] == "analyze" and "--rule" not in args:
        args = (*args, *BASE_RULE_FLAGS)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def test_exit_0_when_nothing_to_report(workflows) -> None:
    root = workflows({"ci.yml": CLEAN})
    result = _mendbot("analyze", ".", cwd=root)
    assert result.returncode == 0, result.stderr
    assert "0 finding(s)" in result.stdout


def test_exit_1_when_findings_remain(workflows) -> None:
    root = workflows({"ci.yml": INSECURE})
    result = _mendbot("analyze", "--format", "json", cwd=root)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["tool"]["name"] == "mendbot"
    assert {f["rule"] for f in report["findings"]} == {
        "gha-insecure-commands",
        "gha-persist-credentials",
    }


def test_exit_2_on_unknown_rule_and_bad_config(workflows) -> None:
    root = workflows({"ci.yml": INSECURE})
    result = _mendbot("analyze", "--rule", "gha-nope", cwd=root)
    assert result.returncode == 2
    assert "unknown rule 'gha-nope'" in result.stderr
    (root / ".github" / "mendbot.yml").write_text("rules:\n  gha-insecure-commands:\n    on: 1\n")
    result = _mendbot("analyze", cwd=root)
    assert result.returncode == 2
    assert ".github/mendbot.yml:3:5: unknown key 'on'" in result.stderr
    assert "Traceback" not in result.stderr


def test_exit_3_when_an_input_is_unreadable_and_others_still_analysed(workflows) -> None:
    root = workflows({"bad.yml": "on: push\njobs: [\n", "ci.yml": INSECURE})
    result = _mendbot("analyze", "--format", "json", cwd=root)
    assert result.returncode == 3
    report = json.loads(result.stdout)
    assert report["errors"][0]["path"] == ".github/workflows/bad.yml"
    assert report["errors"][0]["line"] == 3
    assert report["findings"], "the readable file was still analysed"


def test_fix_safe_writes_only_safe_fixes_then_all(workflows) -> None:
    root = workflows({"ci.yml": INSECURE, "py.yml": SAFE_ONLY})
    result = _mendbot("analyze", "--fix", "--format", "json", cwd=root)
    report = json.loads(result.stdout)
    applied = {f["rule"]: f["fix"]["applied"] for f in report["findings"] if f["fix"]}
    assert applied == {"gha-persist-credentials": True, "gha-insecure-commands": False}
    py = (root / ".github/workflows/py.yml").read_text()
    assert "persist-credentials: false" in py
    assert "ACTIONS_ALLOW_UNSECURE_COMMANDS" in (root / ".github/workflows/ci.yml").read_text()
    assert result.returncode == 1  # unsafe findings remain
    result = _mendbot("analyze", "--fix=all", cwd=root)
    assert result.returncode == 0, result.stdout
    assert "ACTIONS_ALLOW_UNSECURE_COMMANDS" not in (root / ".github/workflows/ci.yml").read_text()
    result = _mendbot("analyze", cwd=root)
    assert result.returncode == 0


def test_dry_run_prints_diff_and_writes_nothing(workflows) -> None:
    root = workflows({"ci.yml": INSECURE})
    before = (root / ".github/workflows/ci.yml").read_bytes()
    result = _mendbot("analyze", "--fix=all", "--dry-run", cwd=root)
    assert "-  ACTIONS_ALLOW_UNSECURE_COMMANDS: true" in result.stderr
    assert "+        with:" in result.stderr
    assert (root / ".github/workflows/ci.yml").read_bytes() == before
    assert result.returncode == 1


def test_rule_filter_runs_only_that_rule(workflows) -> None:
    root = workflows({"ci.yml": INSECURE})
    runner = CliRunner()
    result = runner.invoke(
        cli, ["analyze", str(root), "--rule", "gha-insecure-commands", "--format", "json"]
    )
    report = json.loads(result.output)
    assert [f["rule"] for f in report["findings"]] == ["gha-insecure-commands"]
    assert result.exit_code == 1


def test_dry_run_without_fix_is_a_usage_error(workflows) -> None:
    root = workflows({"ci.yml": CLEAN})
    result = CliRunner().invoke(cli, ["analyze", str(root), "--dry-run"])
    assert result.exit_code == 2
    assert "--dry-run only makes sense with --fix" in result.output


def test_github_format_prints_annotations_and_writes_summary(workflows, tmp_path, monkeypatch):
    root = workflows({"ci.yml": INSECURE})
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = CliRunner().invoke(cli, ["analyze", str(root), "--format", "github", *BASE_RULE_FLAGS])
    lines = result.output.splitlines()
    assert any(
        line.startswith("::error file=.github/workflows/ci.yml,line=3,col=3,")
        and "title=mendbot gha-insecure-commands" in line
        for line in lines
    ), lines
    assert any(line.startswith("::warning file=.github/workflows/ci.yml,line=8") for line in lines)
    table = summary.read_text()
    assert "| high | `gha-insecure-commands` | `.github/workflows/ci.yml:3` |" in table


def test_text_report_names_findings_and_next_step(workflows) -> None:
    root = workflows({"ci.yml": SAFE_ONLY})
    result = CliRunner().invoke(cli, ["analyze", str(root), *BASE_RULE_FLAGS])
    assert "gha-persist-credentials" in result.output
    assert ".github/workflows/ci.yml:6:9" in result.output
    assert "Run with --fix to apply the safe fixes." in result.output


def test_output_file(workflows, tmp_path) -> None:
    root = workflows({"ci.yml": INSECURE})
    out = tmp_path / "report.sarif"
    result = CliRunner().invoke(
        cli, ["analyze", str(root), "--format", "sarif", "-o", str(out), *BASE_RULE_FLAGS]
    )
    assert result.exit_code == 1
    assert json.loads(out.read_text())["version"] == "2.1.0"


def test_rules_and_config_schema_commands() -> None:
    runner = CliRunner()
    listed = json.loads(runner.invoke(cli, ["rules", "--format", "json"]).output)
    assert [r["id"] for r in listed][:2] == ["gha-persist-credentials", "gha-insecure-commands"]
    schema = json.loads(runner.invoke(cli, ["config", "schema"]).output)
    assert schema["additionalProperties"] is False
    assert "rules" in schema["properties"]


def test_config_check(tmp_path: Path) -> None:
    good = tmp_path / "good.yml"
    good.write_text("rules:\n  gha-persist-credentials:\n    severity: high\n")
    result = CliRunner().invoke(cli, ["config", "check", str(good)])
    assert result.exit_code == 0 and "valid" in result.output
    bad = tmp_path / "bad.yml"
    bad.write_text("rules:\n  gha-typo: {}\n")
    result = CliRunner().invoke(cli, ["config", "check", str(bad)])
    assert result.exit_code == 2
    assert "bad.yml:2:3: unknown rule 'gha-typo'" in result.output
