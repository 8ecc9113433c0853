"""The .github/mendbot.yml schema: defaults, overrides, and errors that name file, line and key."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from bot.analyze.pipeline import analyze
from bot.config import json_schema, load_config
from bot.detectors.rule_registry import rule_options
from bot.errors import ConfigError
from testpaths import BASE_RULES

INSECURE = """\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    env:
      ACTIONS_ALLOW_UNSECURE_COMMANDS: true
    steps:
      - uses: actions/checkout@v4
      - run: make
"""


def _load(tmp_path: Path, text: str):
    path = tmp_path / "mendbot.yml"
    path.write_text(text)
    return load_config(path, rule_options())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("verison: 1\n", "mendbot.yml:1:1: unknown key 'verison' at verison"),
        ("version: 2\n", "mendbot.yml:1:1: version: Input should be 1"),
        ("rules:\n  gha-insecure-commands:\n    severty: low\n", "mendbot.yml:3:5: unknown key"),
        ("rules:\n  gha-insecure-commands:\n    severity: urgent\n", "mendbot.yml:3:5: rules."),
        ("rules:\n  gha-unknown: {}\n", "mendbot.yml:2:3: unknown rule 'gha-unknown'"),
        ("rules: [\n", "mendbot.yml:2:1:"),
        ("- a\n", "the configuration must be a mapping"),
    ],
)
def test_errors_name_file_line_and_key(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, text)
    assert expected in str(caught.value)
    assert "mendbot config schema" in caught.value.diagnostics() or "rules" in str(caught.value)


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    assert _load(tmp_path, "# nothing yet\n").rules == {}


def test_settings_change_the_analysis(tmp_path: Path, workflows) -> None:
    root = workflows({"ci.yml": INSECURE, "legacy.yml": INSECURE})
    config = _load(
        tmp_path,
        "rules:\n"
        "  gha-persist-credentials:\n    enabled: false\n"
        "  gha-insecure-commands:\n"
        "    severity: critical\n"
        "    ignore: ['.github/workflows/legacy.yml']\n"
        "exclude: ['*/nothing/*']\n",
    )
    analysis = analyze([root], root, config, only_rules=BASE_RULES)
    assert [(f.rule, f.location.path, f.severity.value) for f in analysis.result.findings] == [
        ("gha-insecure-commands", ".github/workflows/ci.yml", "critical")
    ]


def test_exclude_skips_files(tmp_path: Path, workflows) -> None:
    root = workflows({"ci.yml": INSECURE})
    config = _load(tmp_path, "exclude: ['.github/workflows/*.yml']\n")
    assert analyze([root], root, config).result.files_analysed == 0


def test_json_schema_accepts_valid_and_rejects_unknown_keys() -> None:
    schema = json_schema()
    jsonschema.validate({"rules": {"gha-insecure-commands": {"severity": "low"}}}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"rulez": {}}, schema)


def test_committed_schema_is_current() -> None:
    committed = Path(__file__).parent.parent / "docs" / "mendbot.schema.json"
    assert json.loads(committed.read_text()) == json_schema()


def test_options_for_a_rule_without_options_are_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"mendbot.yml:3:5: rule 'gha-insecure-commands'"):
        _load(tmp_path, "rules:\n  gha-insecure-commands:\n    options: {x: 1}\n")
