"""Every ``--format`` of ``mendbot analyze``, one line each.

A format is a function that writes the report of an analysis to a console (a terminal, a pipe
or an ``--output`` file). Adding one is a module in :mod:`bot.analyze.report` and a line in
:data:`REPORT_FORMATS`; the CLI's choices and the docs follow from this map.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console

from bot.analyze.pipeline import Analysis
from bot.analyze.report import github_annotations, json_report, sarif, text

ReportWriter = Callable[[Analysis, Console], None]


def _as_text(render: Callable[[Analysis], str]) -> ReportWriter:
    """A format that renders to a string, written byte for byte (no wrapping, no markup)."""

    def write(analysis: Analysis, console: Console) -> None:
        console.file.write(render(analysis))

    return write


def _github(analysis: Analysis, console: Console) -> None:
    """Workflow-command annotations, plus the job summary when ``$GITHUB_STEP_SUMMARY`` is set."""
    console.file.write(github_annotations.render_annotations(analysis))
    github_annotations.write_step_summary(analysis)


REPORT_FORMATS: dict[str, ReportWriter] = {
    "text": text.render,
    "json": _as_text(json_report.render),
    "sarif": _as_text(sarif.render),
    "github": _github,
}


def render_report(analysis: Analysis, name: str, console: Console) -> None:
    """Write the report of ``analysis`` in format ``name`` (a key of :data:`REPORT_FORMATS`)."""
    REPORT_FORMATS[name](analysis, console)
