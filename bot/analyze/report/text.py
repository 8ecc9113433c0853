"""The human report: a rich table of findings, then errors and a one-line summary."""

from __future__ import annotations

from rich.console import Console
from rich.padding import Padding
from rich.segment import Segment, Segments
from rich.table import Table
from rich.text import Text

from bot.analyze.pipeline import Analysis
from bot.analyze.report.common import fix_status, no_fix_reason, remaining, sorted_findings
from bot.analyze.report.plain_table import plain_chunks
from bot.models import Finding, Severity

_STYLE = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


#: Below this many columns the findings are listed as blocks instead of a table, whose narrow
#: columns would fold every word (a Fix column of `uns`/`afe`).
COMPACT_BELOW = 100


def _finding_cell(analysis: Analysis, finding: Finding) -> Text:
    """The message, and on its own line why there is no fix when the rule said."""
    cell = Text(finding.message)
    reason = no_fix_reason(analysis, finding)
    if reason:
        cell.append(f"\nno fix: {reason}", style="dim")
    return cell


def _fix_cell(analysis: Analysis, finding: Finding) -> Text:
    status = fix_status(analysis, finding)
    if status is None:
        return Text("report only", style="dim")
    if status.applied:
        return Text(f"fixed ({status.fix.disposition.value})", style="green")
    if status.unfixable:
        return Text(f"unfixable: {status.unfixable}", style="magenta")
    return Text(f"{status.fix.disposition.value} fix available")


def render(analysis: Analysis, console: Console) -> None:
    """Print the report to ``console``: a table, or blocks when the console is narrower than
    :data:`COMPACT_BELOW` columns."""
    findings = sorted_findings(analysis)
    if findings and console.width < COMPACT_BELOW:
        _render_blocks(analysis, findings, console)
    elif findings:
        _render_table(analysis, findings, console)
    for error in analysis.result.errors:
        where = error.path + (f":{error.line}:{error.column}" if error.line else "")
        label = "skipped" if error.skipped else "error"
        console.print(Text(f"{label}: {where}: {error.message}", style="yellow"))
    for entry in analysis.result.reverted:
        console.print(
            f"reverted: {entry.remediation} was reverted in {entry.reverted_in[:12]} by "
            f"{entry.reverted_by}; mendbot does not propose its {entry.rule} fix in "
            f"{entry.path} at {entry.anchor} again "
            f"(`mendbot unignore {entry.remediation}` to propose it)",
            markup=False,
            highlight=False,
            soft_wrap=True,  # one line per reverted fix, for grep
        )
    console.print(summary(analysis), markup=False, highlight=False)


def _render_table(analysis: Analysis, findings: list[Finding], console: Console) -> None:
    rows = [
        (
            Text(finding.severity.value, style=_STYLE[finding.severity]),
            Text(
                f"{finding.rule}\n{finding.location.path}:{finding.location.line}:"
                f"{finding.location.column}"
            ),
            _finding_cell(analysis, finding),
            _fix_cell(analysis, finding),
        )
        for finding in findings
    ]
    plain = plain_chunks(_empty_table(), rows, console)
    if plain is not None:
        # The same bytes Rich prints, in time linear in the rows (see plain_table).
        for chunk in plain:
            console.print(Segments([Segment(chunk)]), crop=False)
        return
    table = _empty_table()
    for row in rows:
        table.add_row(*row)
    console.print(table)


def _empty_table() -> Table:
    table = Table(show_lines=True, expand=True)
    table.add_column("Severity", no_wrap=True)
    table.add_column("Rule and location", no_wrap=True)
    table.add_column("Finding", overflow="fold", ratio=3)
    table.add_column("Fix", overflow="fold", ratio=1)
    return table


def _render_blocks(analysis: Analysis, findings: list[Finding], console: Console) -> None:
    """One block per finding: the location line, then the message and the fix indented."""
    for finding in findings:
        loc = finding.location
        head = Text.assemble(
            (finding.severity.value, _STYLE[finding.severity]),
            f" {loc.path}:{loc.line}:{loc.column} ",
            (finding.rule, "bold"),
        )
        console.print(head)
        fix = Text("fix: ") + _fix_cell(analysis, finding)
        reason = no_fix_reason(analysis, finding)
        if reason:
            fix.append(f" ({reason})", style="dim")
        console.print(Padding(Text(finding.message), (0, 0, 0, 2), expand=False))
        console.print(Padding(fix, (0, 0, 0, 2), expand=False))
        console.print()


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
