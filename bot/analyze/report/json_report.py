"""The JSON report: a stable, documented shape for scripts (see docs/cli.md)."""

from __future__ import annotations

from typing import Any

from bot import __version__
from bot.analyze.pipeline import Analysis
from bot.analyze.report.common import (
    fix_status,
    pretty_json,
    remaining,
    sorted_findings,
)


def render(analysis: Analysis) -> str:
    """The report as pretty-printed JSON text."""
    findings: list[dict[str, Any]] = []
    patches: list[list[Any]] = []
    """Every fix's operations: the only part of the report where a YAML value, so a float,
    can be."""
    for finding in sorted_findings(analysis):
        status = fix_status(analysis, finding)
        fix: dict[str, Any] | None = None
        reason = None
        if status is None:
            reason = analysis.result.unfixed_reason(finding)
        else:
            fix = {
                "title": status.fix.title,
                "disposition": status.fix.disposition.value,
                "reversibility": status.fix.reversibility.value,
                "blast_radius": status.fix.blast_radius.value,
                "applied": status.applied,
                "unfixable": status.unfixable,
                "patches": [patch.model_dump(mode="json") for patch in status.fix.patches],
            }
            patches.append(fix["patches"])
            if status.fix.ownership is not None:
                fix["ownership"] = status.fix.ownership.value
            if status.fix.second_order:
                fix["second_order"] = True
        findings.append(
            {
                "id": finding.id,
                "rule": finding.rule,
                "title": finding.title,
                "path": finding.location.path,
                "line": finding.location.line,
                "column": finding.location.column,
                "route": list(finding.location.route),
                "severity": finding.severity.value,
                "confidence": finding.confidence.value,
                "message": finding.message,
                "evidence": finding.evidence,
                "fix": fix,
                "no_fix_reason": reason,
            }
        )
    result = analysis.result
    document = {
        "tool": {"name": "mendbot", "version": __version__},
        "summary": {
            "files": result.files_analysed,
            "findings": len(result.findings),
            "remaining": len(remaining(analysis)),
            "fixes_applied": len(result.applied),
            "errors": len([e for e in result.errors if not e.skipped]),
            "skipped": len([e for e in result.errors if e.skipped]),
        },
        "findings": findings,
        "errors": [e.model_dump(mode="json") for e in result.errors],
        "fix_limits": [limit.model_dump(mode="json") for limit in result.fix_limits],
        "reverted": [entry.model_dump(mode="json") for entry in result.reverted],
    }
    others = [document["errors"], document["fix_limits"], document["reverted"]]
    return pretty_json(document, floats_only_in=[*patches, *others])
