"""Generate ``docs/rules.md``, ``docs/zizmor-mapping.md``, the JSON Schemas and the console
examples from the code.

Run ``python -m bot.docsgen`` to rewrite them, ``python -m bot.docsgen --check`` in CI: it fails
when a file has drifted from the rule metadata or a schema, or when a console example marked
``<!-- example: NAME -->`` in the docs or the README is no longer what the command prints
(:mod:`bot.doc_examples`).
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Callable
from pathlib import Path

from bot.config import json_schema
from bot.desired import DESIRED_MODELS, json_schemas
from bot.detectors.aliases import ZIZMOR_AUDITS, audits_for_rule
from bot.detectors.desired_rule import DesiredStateRule
from bot.detectors.interface import Rule
from bot.detectors.online_uses import OnlineUsesRule
from bot.detectors.rule_registry import ALL_RULES
from bot.doc_examples import MARKER, render_file
from bot.policy.gate_context import context_schema
from bot.zizmor_mapping import render_zizmor_mapping

DEFAULT_DOCS = Path(__file__).resolve().parent.parent / "docs"


def _fix_label(rule: type[Rule]) -> str:
    if rule.fix_disposition is None:
        return "report only"
    return rule.fix_disposition.value


def _options_example(rule: type[Rule]) -> list[str]:
    if rule.options_model is None:
        return []
    lines = ["    options:"]
    for name, field in rule.options_model.model_fields.items():
        default = field.get_default(call_default_factory=True)
        lines.append(f"      {field.alias or name}: {json.dumps(default, default=str)}")
    return lines


def _options_table(rule: type[Rule]) -> list[str]:
    """``rules.<id>.options`` fields with their defaults and meaning."""
    if rule.options_model is None:
        return []
    lines = ["| option | default | meaning |", "|---|---|---|"]
    for name, field in rule.options_model.model_fields.items():
        default = field.get_default(call_default_factory=True)
        meaning = (field.description or "").replace("\n", " ").replace("|", "\\|")
        lines.append(
            f"| `{field.alias or name}` | `{json.dumps(default, default=str)}` | {meaning} |"
        )
    return [*lines, ""]


def _offline_label(rule: type[Rule]) -> str:
    if rule.works_offline:
        return "yes"
    if issubclass(rule, OnlineUsesRule) and rule.needs_api:
        return "no: needs the refs and GitHub's API (a token)"
    return "no: needs the refs"


def _section(rule: type[Rule]) -> str:
    lines = [
        f"## {rule.id}",
        "",
        f"**{rule.title}**",
        "",
        "| Severity | Fix | Reversibility | Blast radius | Works offline | Options |",
        "|---|---|---|---|---|---|",
        f"| {rule.default_severity.value} | {_fix_label(rule)} | {rule.reversibility.value} "
        f"| {rule.blast_radius.value} | {_offline_label(rule)} "
        f"| {'yes' if rule.options_model else 'no'} |",
        "",
        rule.description,
        "",
    ]
    for name, text in _example_workflows(rule).items():
        lines += [f"In a repository with `{name}`:", "", "```yaml", text.rstrip("\n"), "```", ""]
    if rule.example_before and rule.example_after == rule.example_before:
        lines += [
            f"Reported, and left unchanged by `mendbot analyze --fix=all{_now_flag(rule)}`:",
            "",
            "```yaml",
            rule.example_before.rstrip("\n"),
            "```",
            "",
        ]
    elif rule.example_before:
        lines += [
            "Before:",
            "",
            "```yaml",
            rule.example_before.rstrip("\n"),
            "```",
            "",
            f"After `mendbot analyze --fix=all{_now_flag(rule)}`:"
            if rule.fix_disposition
            else "Unchanged:",
            "",
            "```yaml",
            rule.example_after.rstrip("\n"),
            "```",
            "",
        ]
    lines += [
        "Configure in `.github/mendbot.yml`:",
        "",
        "```yaml",
        "rules:",
        f"  {rule.id}:",
        (
            "    enabled: true            # false turns the rule off"
            if rule.enabled_by_default
            else "    enabled: true            # off by default: true turns it on"
        ),
        f"    severity: {rule.default_severity.value}         # override the default",
        f'    ignore: ["{rule.ignore_example}"]',
        *_options_example(rule),
        "```",
        "",
        *_options_table(rule),
        _suppression_line(rule),
        "",
    ]
    return "\n".join(lines)


def _example_workflows(rule: type[Rule]) -> dict[str, str]:
    """The other files of a desired-state rule's example repository (the workflows it reads)."""
    return dict(rule.example_workflows) if issubclass(rule, DesiredStateRule) else {}


def _now_flag(rule: type[Rule]) -> str:
    """The ``--now`` a desired-state rule's example was analysed at (its ages depend on it)."""
    return f" --now {rule.example_now}" if issubclass(rule, DesiredStateRule) else ""


def _suppression_line(rule: type[Rule]) -> str:
    if issubclass(rule, DesiredStateRule):
        thresholds = (
            "Thresholds: the `nhi` section of `.github/mendbot.yml` (see "
            "[configuration.md](configuration.md)). "
            if rule.nhi_thresholds
            else ""
        )
        return (
            f"{thresholds}Suppress one finding with `# mendbot: ignore[{rule.id}]` on any line "
            f"of {rule.suppression_entry}."
        )
    return (
        f"Suppress one finding with a comment on its line (or any line of its step): "
        f"`# mendbot: ignore[{rule.id}]`"
        + "".join(f" or `# zizmor: ignore[{audit}]`" for audit in audits_for_rule(rule.id))
        + "."
    )


def _suppressions() -> list[str]:
    """How people suppress findings, and the zizmor audits each rule honours."""
    lines = [
        "## Suppressing findings",
        "",
        "A suppression is a person's decision: mendbot drops the finding and never edits a line "
        "that carries a suppression of the rule whose fix would touch it (the fix is reported "
        "as refused, with the line).",
        "",
        "- `# mendbot: ignore[<rule-id>, …]` in a YAML comment on the reported line, on any "
        "line of a multi-line reported value, or on any line of the reported step (comment "
        "lines indented under the step included). An id that names no rule is reported by "
        "`gha-unknown-suppression` with the closest id.",
        "- `# zizmor: ignore[<audit>, …]` in the same places suppresses the mendbot rules that "
        "cover that zizmor audit (table below).",
        "- `rules.<rule-id>.ignore` (path globs) in `.github/mendbot.yml`, see "
        "[configuration.md](configuration.md).",
        "- zizmor's configuration (`.github/zizmor.yml`, `.github/zizmor.yaml`, `zizmor.yml`, "
        "`zizmor.yaml` at the repository root, first found): `rules.<audit>.ignore` entries "
        "(`file.yml`, `file.yml:line`, `file.yml:line:column`; the workflow's base name, a "
        "line anywhere in the finding's span) and `rules.<audit>.disable: true` apply to the "
        "mendbot rules covering that audit. Other keys (`config`, `remap`) are left to zizmor.",
        "",
        "| zizmor audit | mendbot rules |",
        "|---|---|",
    ]
    lines += [
        f"| `{audit}` | {', '.join(f'[`{rule}`](#{rule})' for rule in rules)} |"
        for audit, rules in sorted(ZIZMOR_AUDITS.items())
    ]
    return [*lines, ""]


def render() -> str:
    """The full text of ``docs/rules.md``."""
    out = [
        "# Rules",
        "",
        "<!-- Generated by `python -m bot.docsgen` from the rules' metadata; do not edit. -->",
        "",
        "Every rule has a stable id (never renamed: baselines and code-scanning alerts depend on",
        "it). A fix is **safe** when it keeps the workflow's behaviour and **unsafe** when it",
        "may change it; `mendbot analyze --fix` applies safe fixes, `--fix=all` both. A rule's",
        "fix can be riskier than its declared disposition for a given finding (the finding says",
        "why), never safer.",
        "",
        "| Rule | Title | Severity | Fix |",
        "|---|---|---|---|",
    ]
    out.extend(
        f"| [`{rule.id}`](#{rule.id}) | {rule.title} | {rule.default_severity.value} "
        f"| {_fix_label(rule)} |"
        for rule in ALL_RULES
    )
    out.append("")
    out.extend(_suppressions())
    out.extend(_section(rule) for rule in ALL_RULES)
    return "\n".join(out).rstrip("\n") + "\n"


def render_schema() -> str:
    """The configuration's JSON Schema, as committed in ``docs/mendbot.schema.json``."""
    return json.dumps(json_schema(), indent=2) + "\n"


def render_context_schema() -> str:
    """The policy context's JSON Schema, as committed in ``docs/policy-context.schema.json``."""
    return json.dumps(context_schema(), indent=2) + "\n"


def _render_desired(kind: str) -> Callable[[], str]:
    """The JSON Schema of one desired-state kind, as committed in ``docs/schemas/``."""
    return lambda: json.dumps(json_schemas()[kind], indent=2) + "\n"


GENERATED: dict[str, Callable[[], str]] = {
    "rules.md": render,
    "zizmor-mapping.md": render_zizmor_mapping,
    "mendbot.schema.json": render_schema,
    "policy-context.schema.json": render_context_schema,
    **{f"schemas/desired-{kind}.json": _render_desired(kind) for kind in sorted(DESIRED_MODELS)},
}


def _documents_with_examples(docs: Path) -> list[Path]:
    """Every Markdown file of ``docs`` (recursively) and the README next to it."""
    found = sorted(docs.rglob("*.md"))
    readme = docs.parent / "README.md"
    return [*found, readme] if docs.resolve() == DEFAULT_DOCS and readme.is_file() else found


def _sync(target: Path, wanted: str, *, check: bool) -> bool:
    """Write ``wanted`` to ``target``, or with ``check`` report a drift; True when stale."""
    current = target.read_text(encoding="utf-8") if target.exists() else ""
    if not check:
        if current != wanted:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(wanted, encoding="utf-8")
        return False
    if current == wanted:
        return False
    diff = difflib.unified_diff(
        current.splitlines(keepends=True),
        wanted.splitlines(keepends=True),
        fromfile=str(target),
        tofile="generated",
    )
    sys.stderr.write("".join(diff))
    sys.stderr.write(f"{target} is out of date: run `python -m bot.docsgen`\n")
    return True


def main(argv: list[str] | None = None) -> int:
    """Write or check the generated documents; returns the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if a file is out of date")
    parser.add_argument("--docs", type=Path, default=DEFAULT_DOCS, help="the docs folder")
    args = parser.parse_args(argv)
    stale = 0
    for name, produce in GENERATED.items():
        stale += _sync(args.docs / name, produce(), check=args.check)
    for document in _documents_with_examples(args.docs):
        text = document.read_text(encoding="utf-8")
        if MARKER.search(text) is None:
            continue
        try:
            wanted = render_file(text)
        except KeyError as exc:
            sys.stderr.write(f"{document}: {exc.args[0]}\n")
            stale += 1
            continue
        stale += _sync(document, wanted, check=args.check)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
