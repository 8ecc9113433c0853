"""Reports are serialised in native code, and the bytes are those ``json.dumps`` writes.

The JSON and SARIF reports used to be written by ``json.dumps(..., indent=2)``, whose indented
form runs in Python; ``pretty_json`` writes the same bytes faster and falls back to
``json.dumps`` for the values the two serialisers write differently (some floats) or one
cannot write (a lone surrogate from a file name that is not UTF-8).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.analyze.pipeline import Analysis
from bot.analyze.report import json_report
from bot.analyze.report.common import pretty_json
from bot.models import AnalysisResult, Confidence, Finding, Fix, Location, Severity
from bot.risk import Disposition
from bot.yamledit.ops import Replace
from clirun import run_mendbot

_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.sampled_from(["\udcff", "\x00\x1f\x7f", "\u2028", "é🎉", 'a"b\\c/d', "1e-07"])
)
_DOCUMENTS = st.recursive(
    _LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(_DOCUMENTS)
def test_pretty_json_writes_the_bytes_json_dumps_writes(document: object) -> None:
    expected = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    # Lone surrogates (file names that are not UTF-8) in JSON's escape: valid UTF-8 output.
    expected = re.sub("[\ud800-\udfff]", lambda m: f"\\u{ord(m[0]):04x}", expected)
    assert pretty_json(document) == expected
    assert json.loads(pretty_json(document)) == document


def test_a_workflow_whose_name_is_not_utf8_is_analysed_fixed_and_reported(
    tmp_path: Path,
) -> None:
    """A file name is bytes: one that is not UTF-8 is analysed and fixed like any other, and
    the JSON and SARIF reports stay valid UTF-8 JSON naming it with an escape."""
    workflows = tmp_path / "repo" / ".github" / "workflows"
    workflows.mkdir(parents=True)
    name = os.fsdecode(b"ci\xff.yml")
    (workflows / name).write_text(
        "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v4\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    out.mkdir()
    done = run_mendbot(
        "analyze", str(tmp_path / "repo"), "--offline", "--fix",
        "-o", str(out / "report.json"), "--format", "json",
        "--extra-report", f"sarif={out / 'report.sarif'}",
    )  # fmt: skip
    assert done.returncode == 1, done.stderr  # the unpinned action is left: report only
    assert "internal error" not in done.stderr
    report = json.loads((out / "report.json").read_bytes().decode("utf-8"))
    assert {f["path"] for f in report["findings"]} == {f".github/workflows/{name}"}
    assert b"\\udcff" in (out / "report.json").read_bytes()
    json.loads((out / "report.sarif").read_bytes().decode("utf-8"))
    assert "permissions:" in (workflows / name).read_text(encoding="utf-8")  # fixed on disk


def test_text_and_github_reports_written_to_files_name_a_non_utf8_file_by_its_bytes(
    tmp_path: Path,
) -> None:
    """``-o`` and ``--extra-report`` write a file name that is not UTF-8 as the bytes it has on
    disk, as standard output does, instead of stopping with a traceback half-way through."""
    workflows = tmp_path / "repo" / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / os.fsdecode(b"n\xffx.yml")).write_text(
        "on: issues\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        '      - run: echo "${{ github.event.issue.title }}"\n',
        encoding="utf-8",
    )
    out = tmp_path / "out"
    out.mkdir()
    done = run_mendbot(
        "analyze", str(tmp_path / "repo"), "--offline", "--no-cache",
        "-o", str(out / "report.txt"), "--extra-report", f"github={out / 'report.github'}",
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    stdout = subprocess.run(
        [sys.executable, "-m", "bot", "analyze", str(tmp_path / "repo"), "--offline",
         "--no-cache", "--format", "github"],
        capture_output=True, check=False,
    ).stdout  # fmt: skip
    github = (out / "report.github").read_bytes()
    assert b".github/workflows/n\xffx.yml" in github
    assert github == stdout
    assert b"n\xffx.yml" in (out / "report.txt").read_bytes()


def test_the_json_report_of_a_fix_carrying_a_small_float_is_json_dumps_bytes(
    tmp_path: Path,
) -> None:
    """A value Python and Rust write differently (``1e-07`` against ``1e-7``) reaches the
    report through a fix's patch: the report keeps Python's spelling."""
    document = {"findings": [{"fix": {"patches": [{"value": 1e-7}, {"value": 2.5e-5}]}}]}
    assert '"value": 1e-07' in pretty_json(document)
    assert '"value": 2.5e-05' in pretty_json(document)
    workflows = tmp_path / "repo" / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "ci.yml").write_text(
        "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v4\n",
        encoding="utf-8",
    )
    done = run_mendbot("analyze", str(tmp_path / "repo"), "--offline", "--format", "json")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["findings"]
    assert done.stdout == json.dumps(report, indent=2, ensure_ascii=False) + "\n"


@settings(max_examples=100, deadline=None)
@given(_DOCUMENTS)
def test_the_json_report_searches_only_the_fixes_for_floats_and_writes_json_dumps_bytes(
    value: object,
) -> None:
    """The JSON report looks for floats only where its shape can hold one (a fix's YAML
    values): whatever value a fix carries, the report is the bytes of searching it all (the
    bytes ``json.dumps`` writes, lone surrogates escaped)."""
    finding = Finding(
        rule="gha-example",
        title="An example",
        severity=Severity.HIGH,
        confidence=Confidence.HIGH,
        location=Location(path=".github/workflows/ci.yml", line=3, column=5, route=("jobs",)),
        message="example",
    )
    fix = Fix(
        finding=finding.id,
        rule=finding.rule,
        path=finding.location.path,
        title="set it",
        disposition=Disposition.SAFE,
        patches=(Replace(route=("jobs", "build", "timeout"), value=value),),
    )
    analysis = Analysis(result=AnalysisResult(findings=(finding,), fixes=(fix,)))
    text = json_report.render(analysis)
    assert text == pretty_json(json.loads(text))
    assert json.loads(text)["findings"][0]["fix"]["patches"][0]["value"] == json.loads(
        json.dumps(value)
    )
