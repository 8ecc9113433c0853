"""The merge job's summary: every repository of the fleet, its findings, in Markdown.

Repository names, paths, rule ids and messages come from the analysed repositories, so every
one is shown through :mod:`bot.markdown` (one line, inside a code span): a workflow cannot
inject markup, mentions or links into the organisation's job summary.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

from bot.fleet.merge import repository_of
from bot.markdown import code, code_cell, plain
from bot.models import Severity

_ORDER = [s.value for s in sorted(Severity, key=lambda s: -s.rank)]


def render_summary(report: dict[str, Any], planned: Iterable[str] = ()) -> str:
    """Markdown listing every repository (``planned`` ones and those in ``report``) with its
    findings by severity, its input errors, then each finding."""
    findings: dict[str, list[dict[str, Any]]] = {name: [] for name in planned}
    errors: dict[str, int] = {}
    for finding in report["findings"]:
        findings.setdefault(repository_of(finding["path"]), []).append(finding)
    for error in report["errors"]:
        if not error.get("skipped"):
            name = repository_of(error["path"])
            findings.setdefault(name, [])
            errors[name] = errors.get(name, 0) + 1
    summary = report["summary"]
    lines = [
        f"## mendbot fleet: {len(findings)} repositories, {summary.get('findings', 0)} findings, "
        f"{summary.get('errors', 0)} errors",
        "",
        "| repository | findings | " + " | ".join(_ORDER) + " | errors |",
        "|---|---:|" + "---:|" * len(_ORDER) + "---:|",
    ]
    for name in sorted(findings):
        counts = [sum(1 for f in findings[name] if f.get("severity") == s) for s in _ORDER]
        cells = [code_cell(name), str(len(findings[name])), *map(str, counts)]
        lines.append("| " + " | ".join([*cells, str(errors.get(name, 0))]) + " |")
    for name in sorted(findings):
        if not findings[name]:
            continue
        title = f"{html.escape(plain(name))}: {len(findings[name])} findings"
        lines += ["", f"<details><summary>{title}</summary>", ""]
        for finding in findings[name]:
            where = f"{finding['path']}:{finding.get('line', '')}"
            lines.append(
                f"- {code(str(finding.get('severity', '')))} {code(str(finding.get('rule', '')))} "
                f"{code(where)} {code(str(finding.get('message', '')))}"
            )
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"
