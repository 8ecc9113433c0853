"""The human report: a rich table of findings, then errors and a one-line summary."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from bot.analysis import Analysis
from bot.models import Severity
from bot.report.common import fix_status, remaining, sorted_findings

_STYLE = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


def _fix_cell(analysis: Analysis, finding_id: str) -> Text:
    finding = next(f for f in analysis.result.findings if f.id == finding_id)
    status = fix_status(analysis, finding)
    if status is None:
        return Text("report only", style="dim")
    if status.applied:
        return Text(f"fixed ({status.fix.disposition.value})", style="green")
    if status.unfixable:
        return Text(f"unfixable: {status.unfixable}", style="magenta")
    return Text(f"{status.fix.disposition.value} fix available")


def render(analysis: Analysis, console: Console) -> None:
    """Print the report to ``console``."""
    findings = sorted_findings(analysis)
    if findings:
        table = Table(show_lines=True, expand=True)
        table.add_column("Severity", no_wrap=True)
        table.add_column("Rule and location", no_wrap=True)
        table.add_column("Finding", overflow="fold", ratio=3)
        table.add_column("Fix", overflow="fold", ratio=1)
        for finding in findings:
            loc = finding.location
            table.add_row(
                Text(finding.severity.value, style=_STYLE[finding.severity]),
                Text(f"{finding.rule}\n{loc.path}:{loc.line}:{loc.column}"),
                Text(finding.message),
                _fix_cell(analysis, finding.id),
            )
        console.print(table)
    for error in analysis.result.errors:
        where = error.path + (f":{error.line}:{error.column}" if error.line else "")
        label = "skipped" if error.skipped else "error"
        console.print(Text(f"{label}: {where}: {error.message}", style="yellow"))
    console.print(summary(analysis), markup=False, highlight=False)


def summary(analysis: Analysis) -> str:
    """One line: files, findings, fixes available/applied, and how to apply the rest."""
    result = analysis.result
    left = remaining(analysis)
    fixable = [f for f in left if (s := fix_status(analysis, f)) and not s.unfixable]
    safe = [f for f in fixable if (s := fix_status(analysis, f)) and s.fix.disposition == "safe"]
    parts = [
        f"{result.files_analysed} file(s) analysed",
        f"{len(result.findings)} finding(s)",
    ]
    if result.applied:
        parts.append(f"{len(result.applied)} fixed")
    if fixable:
        parts.append(f"{len(fixable)} fixable ({len(safe)} safe)")
    errors = [e for e in result.errors if not e.skipped]
    if errors:
        parts.append(f"{len(errors)} input error(s)")
    line = ", ".join(parts) + "."
    if fixable:
        held = len(fixable) - len(safe)
        if safe:
            line += " Run with --fix to apply the safe fixes"
            line += f", --fix=all to include {held} unsafe." if held else "."
        else:
            line += f" Run with --fix=all to apply {held} unsafe fix(es) after review."
    return line
