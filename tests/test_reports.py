"""Report formats: SARIF validates against the official schema and its fixes apply."""

from __future__ import annotations

import json

import jsonschema

from bot.analyze.pipeline import analyze
from bot.analyze.report import json_report, sarif
from bot.config import Config
from testpaths import BASE_RULES, DATA

WORKFLOW = """\
on: push
env:
  ACTIONS_ALLOW_UNSECURE_COMMANDS: true
  LANG: "fr_FR.UTF-8 — é"
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: git push
"""


def _schema() -> dict:
    return json.loads((DATA / "sarif" / "sarif-schema-2.1.0.json").read_text())


def _apply_replacement(text: str, region: dict, inserted: str) -> str:
    lines = text.splitlines(keepends=True)

    def offset(line: int, column: int) -> int:
        return sum(len(x) for x in lines[: line - 1]) + column - 1

    start = offset(region["startLine"], region["startColumn"])
    end = offset(region["endLine"], region["endColumn"])
    return text[:start] + inserted + text[end:]


def test_sarif_validates_and_fixes_reproduce_the_engine(workflows) -> None:
    root = workflows({"ci.yml": WORKFLOW, "broken.yml": "jobs: {\n"})
    analysis = analyze([root], root, Config(), only_rules=BASE_RULES)
    log = json.loads(sarif.render(analysis))
    jsonschema.validate(log, _schema())
    run = log["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]][:2] == [
        "gha-persist-credentials",
        "gha-insecure-commands",
    ]
    results = {r["ruleId"]: r for r in run["results"]}
    assert set(results) == {"gha-persist-credentials", "gha-insecure-commands"}
    insecure = results["gha-insecure-commands"]
    assert insecure["level"] == "error"
    assert insecure["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 3,
        "startColumn": 3,
    }
    change = insecure["fixes"][0]["artifactChanges"][0]
    assert change["artifactLocation"]["uri"] == ".github/workflows/ci.yml"
    replacement = change["replacements"][0]
    inserted = replacement["insertedContent"]["text"]
    fixed = _apply_replacement(WORKFLOW, replacement["deletedRegion"], inserted)
    assert fixed == WORKFLOW.replace("  ACTIONS_ALLOW_UNSECURE_COMMANDS: true\n", "")
    # Report-only findings carry no fix; input errors become notifications.
    assert "fixes" not in results["gha-persist-credentials"]
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert notes[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith(
        "broken.yml"
    )
    assert run["invocations"][0]["executionSuccessful"] is False


def test_sarif_schema_rejects_a_broken_log() -> None:
    validator = jsonschema.Draft4Validator(_schema())
    assert not validator.is_valid({"version": "2.1.0", "runs": [{"results": []}]})


def test_json_report_shape(workflows) -> None:
    root = workflows({"ci.yml": WORKFLOW})
    report = json.loads(json_report.render(analyze([root], root, Config(), only_rules=BASE_RULES)))
    assert report["tool"]["version"]
    first = report["findings"][0]
    assert set(first) >= {"rule", "path", "line", "severity", "message", "fix"}
    by_rule = {f["rule"]: f for f in report["findings"]}
    assert by_rule["gha-insecure-commands"]["fix"] == {
        "title": "remove ACTIONS_ALLOW_UNSECURE_COMMANDS",
        "disposition": "unsafe",
        "reversibility": "reversible",
        "blast_radius": "file",
        "applied": False,
        "unfixable": None,
        "patches": [
            {
                "op": "remove",
                "route": ["env", "ACTIONS_ALLOW_UNSECURE_COMMANDS"],
                "document": 0,
            }
        ],
    }
    assert by_rule["gha-persist-credentials"]["fix"] is None
    assert "needs the credentials" in by_rule["gha-persist-credentials"]["no_fix_reason"]
    assert report["errors"] == []
