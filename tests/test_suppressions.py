"""Human suppressions through the real command: ``# zizmor: ignore[…]`` comments and
``zizmor.yml`` ignores are honoured, suppressed lines are never edited, and a misspelt
``# mendbot: ignore[…]`` is reported instead of silently suppressing nothing."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bot.detectors.aliases import ZIZMOR_AUDITS
from bot.detectors.rule_registry import rule_ids
from clirun import run_mendbot as _mendbot
from testpaths import CORPUS

#: A release job whose maintainers reviewed three caches and told zizmor so.
CACHES = """\
name: Release
on:
  push:
    tags: ["v*"]
jobs:
  publish:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          persist-credentials: false
      - uses: actions/setup-node@v4
        with:
          node-version: 22
          cache: npm  # zizmor: ignore[cache-poisoning] lockfile-keyed
      - uses: astral-sh/setup-uv@v6
        with:
          # zizmor: ignore[cache-poisoning]
          enable-cache: true
      - uses: actions/setup-python@v5  # zizmor: ignore[cache-poisoning]
        with:
          cache: pip
      - uses: actions/setup-go@v5
      - run: npm ci && npm publish --provenance
"""

CHECKOUT = """\
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: pytest
"""

TOP_LEVEL_WRITE = """\
on:
  push:
    tags: ["v*"]
permissions:
  contents: write
jobs:
  release:  # zizmor: ignore[excessive-permissions] the release job owns this write
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          persist-credentials: false
      - run: gh release create "$GITHUB_REF_NAME"
        env:
          GH_TOKEN: ${{ github.token }}
  notes:
    runs-on: ubuntu-latest
    steps:
      - run: echo notes
"""


def _findings(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    findings: list[dict[str, Any]] = json.loads(result.stdout)["findings"]
    return findings


def test_zizmor_comments_keep_mendbot_off_the_reviewed_caches(workflows) -> None:
    root = workflows({"release.yml": CACHES})
    path = root / ".github/workflows/release.yml"
    result = _mendbot(
        "analyze", ".", "--fix=all", "--rule", "gha-cache-poisoning", "--format", "json", cwd=root
    )
    assert result.returncode == 0, result.stdout
    [finding] = _findings(result)
    assert finding["line"] == 23  # setup-go: the one cache nobody reviewed
    assert path.read_text() == CACHES.replace(
        "      - uses: actions/setup-go@v5\n",
        "      - uses: actions/setup-go@v5\n        with:\n          cache: false\n",
    )
    for comment in ("lockfile-keyed", "# zizmor: ignore[cache-poisoning]\n", "enable-cache: true"):
        assert comment in path.read_text()


@pytest.mark.parametrize(
    "zizmor_yml",
    [
        "rules:\n  artipacked:\n    ignore:\n      - ci.yml\n",
        "rules:\n  artipacked:\n    ignore: [ci.yml:6]\n",
        "rules:\n  artipacked:\n    ignore: ['ci.yml:6:9']\n",
        "rules:\n  artipacked:\n    disable: true\n  unpinned-uses:\n    config:\n"
        "      policies:\n        '*': ref-pin\n",
    ],
    ids=["file", "line", "line-column", "disable"],
)
def test_zizmor_yml_ignores_are_honoured(workflows, zizmor_yml: str) -> None:
    root = workflows({"ci.yml": CHECKOUT})
    (root / ".github" / "zizmor.yml").write_text(zizmor_yml)
    path = root / ".github/workflows/ci.yml"
    result = _mendbot(
        "analyze",
        ".",
        "--fix=all",
        "--rule",
        "gha-persist-credentials",
        "--format",
        "json",
        cwd=root,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert _findings(result) == []
    assert path.read_text() == CHECKOUT


def test_zizmor_yml_ignore_of_another_line_or_file_does_not_hide_the_finding(workflows) -> None:
    root = workflows({"ci.yml": CHECKOUT})
    (root / "zizmor.yml").write_text("rules:\n  artipacked:\n    ignore: [ci.yml:7, other.yml]\n")
    result = _mendbot(
        "analyze", ".", "--rule", "gha-persist-credentials", "--format", "json", cwd=root
    )
    assert result.returncode == 1
    assert [f["line"] for f in _findings(result)] == [6]


def test_malformed_zizmor_yml_is_a_clear_error_and_writes_nothing(workflows) -> None:
    root = workflows({"ci.yml": CHECKOUT})
    (root / ".github" / "zizmor.yml").write_text(
        "rules:\n  artipacked:\n    ignore:\n      - ci.yml:six\n"
    )
    result = _mendbot("analyze", ".", "--fix=all", cwd=root)
    assert result.returncode == 2
    assert ".github/zizmor.yml:4:9: rules.artipacked.ignore.0" in result.stderr
    assert "file.yml:line:column" in result.stderr
    assert "Traceback" not in result.stderr
    assert (root / ".github/workflows/ci.yml").read_text() == CHECKOUT


def test_a_fix_never_edits_a_line_marked_as_intended(workflows) -> None:
    root = workflows({"release.yml": TOP_LEVEL_WRITE})
    path = root / ".github/workflows/release.yml"
    result = _mendbot(
        "analyze",
        ".",
        "--fix=all",
        "--rule",
        "gha-excessive-permissions",
        "--format",
        "json",
        cwd=root,
    )
    assert result.returncode == 1
    assert path.read_text() == TOP_LEVEL_WRITE
    [finding] = _findings(result)
    assert finding["fix"]["unfixable"].startswith(
        "line 7 carries `# zizmor: ignore[excessive-permissions]`"
    )


def test_misspelt_mendbot_ignore_is_reported_with_the_closest_id(workflows) -> None:
    typo = "  # mendbot: ignore[gha-persist-credential]"
    text = CHECKOUT.replace("- uses: actions/checkout@v4", "- uses: actions/checkout@v4" + typo)
    root = workflows({"ci.yml": text})
    result = _mendbot("analyze", ".", "--format", "json", cwd=root)
    assert result.returncode == 1
    by_rule = {f["rule"]: f for f in _findings(result)}
    reported = by_rule["gha-unknown-suppression"]
    where = (reported["path"], reported["line"], reported["column"])
    assert where == (".github/workflows/ci.yml", 6, 38)
    assert "ignore[gha-persist-credential]" in reported["message"]
    assert "did you mean `gha-persist-credentials`?" in reported["message"]
    assert "gha-persist-credentials" in by_rule, "the misspelt comment suppresses nothing"
    text_report = _mendbot("analyze", ".", cwd=root).stdout
    assert ".github/workflows/ci.yml:6:38" in text_report


def test_every_mapped_rule_exists() -> None:
    known = set(rule_ids())
    assert {rule for rules in ZIZMOR_AUDITS.values() for rule in rules} <= known


SCENARIOS = CORPUS / "config-scenarios"


@pytest.mark.parametrize(
    "scenario",
    ["config-in-root", "config-in-dotgithub", "dotyaml-config-in-dotgithub", "disablement"],
)
def test_zizmors_own_config_scenarios_suppress_the_mapped_rule(
    scenario: str, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(SCENARIOS / scenario, repo)
    workflow = repo / ".github/workflows/hackme.yml"
    before = workflow.read_bytes()
    result = _mendbot(
        "analyze",
        ".",
        "--fix=all",
        "--rule",
        "gha-template-injection",
        "--format",
        "json",
        cwd=repo,
    )
    assert (result.returncode, _findings(result)) == (0, []), result.stderr
    assert workflow.read_bytes() == before
    # the same workflow without zizmor's configuration is reported
    bare = tmp_path / "bare"
    (bare / ".github/workflows").mkdir(parents=True)
    shutil.copy(workflow, bare / ".github/workflows/hackme.yml")
    result = _mendbot(
        "analyze", ".", "--rule", "gha-template-injection", "--format", "json", cwd=bare
    )
    assert [f["rule"] for f in _findings(result)] == ["gha-template-injection"]


def test_zizmors_invalid_config_is_an_error_not_silence(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(SCENARIOS / "config-in-root", repo)
    shutil.copy(SCENARIOS / "zizmor.invalid-schema-1.yml", repo / "zizmor.yml")
    result = _mendbot("analyze", ".", "--fix=all", cwd=repo)
    assert result.returncode == 2
    assert "zizmor.yml:4:1: unknown key 'rule' at rule" in result.stderr
    assert "Traceback" not in result.stderr


def test_zizmor_comments_of_zizmors_corpus_are_honoured(tmp_path: Path) -> None:
    (tmp_path / ".github/workflows").mkdir(parents=True)
    shutil.copy(CORPUS / "inlined-ignores.yml", tmp_path / ".github/workflows/ignores.yml")
    rules = ("gha-persist-credentials", "gha-insecure-commands", "gha-unpinned-images")
    rules += ("gha-hardcoded-container-credentials", "gha-unpinned-uses")
    flags = [flag for rule in rules for flag in ("--rule", rule)]
    result = _mendbot("analyze", ".", "--offline", *flags, "--format", "json", cwd=tmp_path)
    assert (result.returncode, _findings(result)) == (0, []), result.stdout


def test_a_symlinked_zizmor_yml_is_refused_not_followed(workflows, tmp_path: Path) -> None:
    root = workflows({"ci.yml": CHECKOUT})
    outside = tmp_path.parent / f"{tmp_path.name}-outside.yml"
    outside.write_text("rules:\n  artipacked:\n    disable: true\n")
    (root / "zizmor.yml").symlink_to(outside)
    result = _mendbot("analyze", ".", "--fix=all", cwd=root)
    assert result.returncode == 2
    assert "zizmor.yml: zizmor's configuration is a symlink" in result.stderr
    assert (root / ".github/workflows/ci.yml").read_text() == CHECKOUT
