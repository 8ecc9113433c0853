"""SARIF 2.1.0 output with rule metadata and ``fixes[]`` carrying artifact changes."""

from __future__ import annotations

from typing import Any

from bot import __version__
from bot.analyze.pipeline import Analysis
from bot.analyze.report.common import fix_status, pretty_json, preview, sorted_findings
from bot.models import Severity

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
#: GitHub code scanning reads ``security-severity`` (0-10) to rank alerts.
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}


def _rules() -> list[dict[str, Any]]:
    from bot.detectors.rule_registry import ALL_RULES  # only a SARIF report needs every rule

    return [
        {
            "id": rule.id,
            "name": rule.__name__,
            "shortDescription": {"text": rule.title},
            "fullDescription": {"text": rule.description},
            "helpUri": rule.docs_url(),
            "help": {"text": rule.description, "markdown": rule.description},
            "defaultConfiguration": {"level": _LEVEL[rule.default_severity]},
            "properties": {
                "security-severity": _SECURITY_SEVERITY[rule.default_severity],
                "tags": ["security", f"family:{rule.family()}"],
            },
        }
        for rule in ALL_RULES
    ]


def render(analysis: Analysis) -> str:
    """The report as a SARIF 2.1.0 log (JSON text)."""
    from bot.detectors.rule_registry import ALL_RULES

    index = {rule.id: i for i, rule in enumerate(ALL_RULES)}
    results: list[dict[str, Any]] = []
    for finding in sorted_findings(analysis):
        loc = finding.location
        result: dict[str, Any] = {
            "ruleId": finding.rule,
            "ruleIndex": index[finding.rule],
            "level": _LEVEL[finding.severity],
            "message": {"text": finding.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": loc.path},
                        "region": {"startLine": loc.line, "startColumn": loc.column},
                    }
                }
            ],
            "partialFingerprints": {"mendbot/v1": finding.id},
            "properties": {"confidence": finding.confidence.value},
        }
        status = fix_status(analysis, finding)
        change = preview(analysis, status.fix) if status else None
        if status is not None and change is not None:
            result["fixes"] = [
                {
                    "description": {
                        "text": f"{status.fix.title} ({status.fix.disposition.value} fix)"
                    },
                    "artifactChanges": [
                        {
                            "artifactLocation": {"uri": loc.path},
                            "replacements": [
                                {
                                    "deletedRegion": {
                                        "startLine": change.start_line,
                                        "startColumn": change.start_column,
                                        "endLine": change.end_line,
                                        "endColumn": change.end_column,
                                    },
                                    "insertedContent": {"text": change.inserted},
                                }
                            ],
                        }
                    ],
                }
            ]
        results.append(result)
    notifications = [
        {
            "level": "note" if error.skipped else "error",
            "message": {"text": error.message},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": error.path}}}],
        }
        for error in analysis.result.errors
    ]
    log = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "mendbot",
                        "version": __version__,
                        "informationUri": "https://github.com/mendbot/mendbot",
                        "rules": _rules(),
                    }
                },
                "columnKind": "unicodeCodePoints",
                "invocations": [
                    {
                        "executionSuccessful": not any(
                            not e.skipped for e in analysis.result.errors
                        ),
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "results": results,
            }
        ],
    }
    return pretty_json(log)
