"""Bad input never crashes the run, is reported precisely, and never leads to a written file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.analyze.inputs import MAX_BYTES
from bot.analyze.pipeline import analyze
from bot.cli.app import cli
from bot.config import Config
from bot.models import FixMode
from testpaths import BASE_RULE_FLAGS, BASE_RULES

GOOD = """\
on: push
env:
  ACTIONS_ALLOW_UNSECURE_COMMANDS: true
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: make
"""

BOMB = (
    "on: push\na: &a [x, x, x, x, x, x, x, x, x]\n"
    + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
    )
    + "jobs:\n  build:\n    runs-on: *i\n    steps: []\n"
)


def _errors(root: Path) -> dict[str, tuple[str, int | None, int | None, bool]]:
    analysis = analyze([root], root, Config(), only_rules=BASE_RULES, fix_mode=FixMode.ALL)
    return {
        e.path.rsplit("/", 1)[-1]: (e.message, e.line, e.column, e.skipped)
        for e in analysis.result.errors
    }


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in root.rglob("*") if p.is_file() and not p.is_symlink()}


@pytest.mark.parametrize(
    ("content", "message", "line", "column"),
    [
        ("on: push\njobs:\n  build: [\n", "found '<stream end>'", 4, 1),
        ("on: push\njobs:\n  a: 1\n  a: 2\n", "duplicate key 'a'", 4, 3),
        (b"on: push\njobs:\n  build:\n    name: caf\xe9\n", "invalid UTF-8 (byte 0xe9)", 4, 14),
        ("", "not a workflow: the file is empty", None, None),
        ("# just a comment\n", "not a workflow: the file is empty", None, None),
        ("- on: push\n- jobs: {}\n", "not a workflow: the document is a list", None, None),
        ("just a scalar\n", "not a workflow: the document is a scalar", None, None),
        (
            "on: push\n",
            "not a workflow: there is no `jobs:` mapping (workflow) nor `runs:`",
            None,
            None,
        ),
        ("on: push\njobs: {}\n---\njobs: {}\n", "several", None, None),
        ("jobs: *nowhere\n", "undefined alias *nowhere", 1, 7),
    ],
)
def test_bad_file_is_reported_precisely(workflows, content, message, line, column) -> None:
    root = workflows({"bad.yml": content, "good.yml": GOOD})
    before = _snapshot(root)
    analysis = analyze([root], root, Config(), only_rules=BASE_RULES, fix_mode=FixMode.ALL)
    (error,) = analysis.result.errors
    assert error.path == ".github/workflows/bad.yml"
    assert message in error.message
    assert (error.line, error.column) == (line, column)
    # The good file is still analysed, and nothing is written by the analysis.
    assert [f.rule for f in analysis.result.findings] == ["gha-insecure-commands"]
    assert analysis.files[".github/workflows/good.yml"].fixed is not None
    assert _snapshot(root) == before


def test_alias_bomb_is_bounded(workflows) -> None:
    root = workflows({"bomb.yml": BOMB})
    message, line, _, skipped = _errors(root)["bomb.yml"]
    assert "aliases expand to more than" in message
    assert line is not None and not skipped


def test_large_file_is_skipped_with_a_warning(workflows) -> None:
    root = workflows({"huge.yml": GOOD + "# " + "x" * MAX_BYTES + "\n"})
    message, _, _, skipped = _errors(root)["huge.yml"]
    assert skipped and "over the 5242880 byte limit" in message


def test_symlink_leaving_the_repository_is_not_followed(tmp_path: Path, workflows) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-outside.yml"
    outside.write_text(GOOD)
    root = workflows({"ci.yml": GOOD})
    os.symlink(outside, root / ".github" / "workflows" / "linked.yml")
    analysis = analyze([root], root, Config(), only_rules=BASE_RULES, fix_mode=FixMode.ALL)
    (error,) = analysis.result.errors
    assert error.skipped and "outside the repository" in error.message
    assert list(analysis.files) == [".github/workflows/ci.yml"]


def test_symlink_inside_the_repository_is_followed(workflows) -> None:
    root = workflows({"ci.yml": GOOD})
    (root / "shared.yml").write_text(GOOD)
    os.symlink(root / "shared.yml", root / ".github" / "workflows" / "linked.yml")
    analysis = analyze([root], root, Config(), only_rules=BASE_RULES)
    assert analysis.result.errors == ()
    assert len(analysis.result.findings) == 2


def test_binary_file_is_ignored_in_a_directory_scan(tmp_path: Path) -> None:
    (tmp_path / "blob.yml").write_bytes(b"\x00\x01\x02binary")
    (tmp_path / "ci.yml").write_text(GOOD)
    analysis = analyze([tmp_path], tmp_path, Config(), only_rules=BASE_RULES)
    assert analysis.result.errors == ()
    assert analysis.result.files_analysed == 1


def test_mixed_line_endings_are_analysed_but_not_edited(workflows) -> None:
    root = workflows({"mixed.yml": GOOD.replace("\n", "\r\n", 3)})
    analysis = analyze([root], root, Config(), only_rules=BASE_RULES, fix_mode=FixMode.ALL)
    assert [f.rule for f in analysis.result.findings] == ["gha-insecure-commands"]
    assert analysis.result.applied == ()
    (unfixed,) = analysis.result.unfixed
    assert "mixed CRLF and LF line endings" in unfixed.reason


def test_cli_never_writes_when_inputs_are_bad(workflows) -> None:
    root = workflows({"bad.yml": "jobs: [\n", "list.yml": "- 1\n", "bomb.yml": BOMB})
    before = _snapshot(root)
    result = CliRunner().invoke(cli, ["analyze", str(root), "--fix=all", *BASE_RULE_FLAGS])
    assert result.exit_code == 3
    assert "Traceback" not in result.output
    assert _snapshot(root) == before


def test_missing_path_is_an_input_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["analyze", str(tmp_path / "nope.yml"), "--format", "json"])
    assert result.exit_code == 3
    assert "no such file or directory" in result.output


def test_report_into_a_missing_folder_is_refused_before_anything_is_fixed(tmp_path: Path) -> None:
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "ci.yml").write_text(GOOD)
    before = (workflows / "ci.yml").read_bytes()
    report = tmp_path / "missing" / "out.json"
    command = [
        sys.executable,
        "-m",
        "bot",
        "analyze",
        str(tmp_path),
        "--fix=all",
        "-o",
        str(report),
    ]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "does not exist; create it or choose another file" in result.stderr
    assert "Traceback" not in result.stderr
    assert (workflows / "ci.yml").read_bytes() == before
