"""Policy file schema: every error names the file, line and column."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli.app import cli
from bot.errors import PolicyError
from bot.policy.schema import GatePolicy, load_directory, load_file, parse_documents

GOOD = """\
apiVersion: mendbot/v1
kind: GatePolicy
metadata:
  name: demo
spec:
  validations:
    - expression: "change.environment == 'staging'"
      message: staging only
"""


def _error(text: str) -> str:
    with pytest.raises(PolicyError) as info:
        parse_documents(text, "p.yaml")
    return str(info.value)


def test_good_policy_loads_with_positions() -> None:
    [policy] = parse_documents(GOOD, "p.yaml")
    assert isinstance(policy, GatePolicy)
    assert policy.name == "demo"
    assert policy.where("spec", "validations", 0, "expression") == "p.yaml:7:7"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            GOOD.replace("  validations:", "  validatoins:"),
            "p.yaml:6:3: unknown field 'validatoins'",
        ),
        (
            GOOD + "      extra: 1\n",
            "p.yaml:9:7: unknown field 'extra' at spec.validations.0.extra",
        ),
        (GOOD.replace("kind: GatePolicy", "kind: Policy"), "p.yaml:2:1: kind must be one of"),
        (GOOD.replace("mendbot/v1", "mendbot/v2"), "p.yaml:1:1: apiVersion"),
        (GOOD.replace("name: demo", "name: Demo_1"), "p.yaml:4:3: metadata.name"),
        (
            GOOD + "      action: block\n",
            "p.yaml:9:7: spec.validations.0.action: Input should be 'deny'",
        ),
        (
            GOOD + "      messageExpression: \"'x'\"\n",
            "p.yaml:7:7: spec.validations.0: give message or messageExpression, not both",
        ),
        (
            GOOD + "      approvals: {count: 1}\n",
            "approvals are only allowed with action: require_approval",
        ),
        ("kind: GatePolicy\n  bad: [\n", "p.yaml:2:"),
        ("- 1\n", "p.yaml:1:1: a policy document must be a mapping"),
    ],
)
def test_schema_errors_name_file_and_line(text: str, expected: str) -> None:
    assert expected in _error(text)


WINDOW = """\
apiVersion: mendbot/v1
kind: FreezeWindow
metadata: {name: weekend}
spec:
  kind: deny
  schedule: "0 18 * * 5"
  duration: 62h
  timeZone: Europe/Berlin
"""


def test_freeze_window_loads() -> None:
    [window] = parse_documents(WINDOW, "w.yaml")
    spec = window.compiled()  # type: ignore[union-attr]
    assert spec.duration.total_seconds() == 62 * 3600


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('"0 18 * * 5"', '"0 25 * * 5"', "p.yaml:6:3: spec.schedule: cron hour field '25'"),
        ('"0 18 * * 5"', '"0 18 * *"', "needs 5 fields"),
        ("62h", "15d", "p.yaml:7:3: spec.duration: duration '15d' must be"),
        ("Europe/Berlin", "Mars/Olympus", "p.yaml:8:3: spec.timeZone: unknown time zone"),
    ],
)
def test_window_errors(old: str, new: str, expected: str) -> None:
    assert expected in _error(WINDOW.replace(old, new))


def test_exception_requires_expiry_with_zone() -> None:
    text = """\
apiVersion: mendbot/v1
kind: GateException
metadata: {name: hotfix}
spec:
  owner: alice
  reason: vendor outage
  expires: 2026-04-01T00:00:00
  policies: [freeze]
"""
    assert "p.yaml:7:3: spec.expires" in _error(text)


def test_duplicate_names_across_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yaml").write_text(GOOD)
    with pytest.raises(PolicyError, match=r"b\.yaml:4:3: GatePolicy 'demo' is also defined in"):
        load_directory(tmp_path)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read"):
        load_file(tmp_path / "missing.yaml")


def test_policy_digest_changes_with_content(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD)
    first = load_directory(tmp_path).digest
    (tmp_path / "a.yaml").write_text(GOOD.replace("staging only", "staging, only"))
    assert load_directory(tmp_path).digest != first


def test_cli_check_reports_unknown_identifier_with_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("change.environment", "true || chnage.environment"))
    good = tmp_path / "good.yaml"
    good.write_text(GOOD)
    result = CliRunner().invoke(cli, ["policy", "check", str(good), str(bad)])
    assert result.exit_code == 1
    assert f"{good}: valid" in result.output
    assert f"{bad}:7:7: unknown identifier 'chnage'" in result.output


def test_cli_check_reports_syntax_and_schema_errors(tmp_path: Path) -> None:
    syntax = tmp_path / "syntax.yaml"
    syntax.write_text(GOOD.replace("== 'staging'", "== "))
    schema = tmp_path / "schema.yaml"
    schema.write_text(GOOD.replace("message:", "mesage:"))
    result = CliRunner().invoke(cli, ["policy", "check", str(syntax), str(schema)])
    assert result.exit_code == 1
    assert f"{syntax}:7:7: compile error" in result.output
    assert f"{schema}:8:7: unknown field 'mesage'" in result.output


def test_cli_lint_checks_a_folder_like_the_gate_loads_it(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(GOOD)
    result = CliRunner().invoke(cli, ["policy", "lint", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert f"{tmp_path}: valid (1 policies, 0 exceptions, 0 windows; sha256:" in result.output
    # A misspelt context field compiles in CEL; lint still names it, with its line.
    (tmp_path / "typo.yaml").write_text(
        GOOD.replace("name: demo", "name: typo").replace("change.environment", "change.enviroment")
    )
    result = CliRunner().invoke(cli, ["policy", "lint", str(tmp_path)])
    assert result.exit_code == 1
    assert f"{tmp_path / 'typo.yaml'}:7:7: unknown context field 'change.enviroment'" in (
        result.output
    )
    # Field names inside string literals are text, not references.
    (tmp_path / "typo.yaml").write_text(
        GOOD.replace("name: demo", "name: typo").replace(
            "change.environment == 'staging'", "change.environment != 'change.nothing'"
        )
    )
    assert CliRunner().invoke(cli, ["policy", "lint", str(tmp_path)]).exit_code == 0


def test_cli_lint_reports_a_duplicate_name_across_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yaml").write_text(GOOD)
    result = CliRunner().invoke(cli, ["policy", "lint", str(tmp_path)])
    assert result.exit_code == 1
    assert "is also defined in" in result.output
