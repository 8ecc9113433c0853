"""GitHub Actions output: workflow-command annotations and a job-summary Markdown table."""

from __future__ import annotations

import os
from pathlib import Path

from bot.analyze.pipeline import Analysis
from bot.analyze.report.common import fix_status, sorted_findings
from bot.analyze.report.text import summary
from bot.models import Severity

_COMMAND = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "notice",
    Severity.INFO: "notice",
}


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_annotations(analysis: Analysis) -> str:
    """One ``::error``/``::warning``/``::notice`` line per finding and input error."""
    lines = []
    for finding in sorted_findings(analysis):
        loc = finding.location
        props = ",".join(
            [
                f"file={_escape_property(loc.path)}",
                f"line={loc.line}",
                f"col={loc.column}",
                f"title={_escape_property(f'mendbot {finding.rule}')}",
            ]
        )
        lines.append(f"::{_COMMAND[finding.severity]} {props}::{_escape_data(finding.message)}")
    for error in analysis.result.errors:
        props = f"file={_escape_property(error.path)}"
        if error.line:
            props += f",line={error.line},col={error.column or 1}"
        level = "notice" if error.skipped else "error"
        lines.append(f"::{level} {props}::{_escape_data(error.message)}")
    return "\n".join(lines) + ("\n" if lines else "")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(analysis: Analysis) -> str:
    """A Markdown job summary: a table of findings and the summary line."""
    out = ["## mendbot", ""]
    findings = sorted_findings(analysis)
    if findings:
        out += ["| Severity | Rule | Location | Finding | Fix |", "|---|---|---|---|---|"]
        for finding in findings:
            status = fix_status(analysis, finding)
            if status is None:
                fix = "report only"
            elif status.applied:
                fix = f"fixed ({status.fix.disposition.value})"
            else:
                fix = f"{status.fix.disposition.value} fix available"
            loc = finding.location
            out.append(
                f"| {finding.severity.value} | `{finding.rule}` | `{loc.path}:{loc.line}` "
                f"| {_cell(finding.message)} | {fix} |"
            )
        out.append("")
    out.append(summary(analysis))
    return "\n".join(out) + "\n"


def write_step_summary(analysis: Analysis) -> Path | None:
    """Append :func:`markdown` to ``$GITHUB_STEP_SUMMARY`` when it is set."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(markdown(analysis))
    return path
