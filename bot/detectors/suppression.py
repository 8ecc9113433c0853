"""Human suppressions: inline ``# mendbot: ignore[rule-id]`` and ``# zizmor: ignore[audit]``
comments, and the ``rules.<audit>.ignore`` entries of a ``zizmor.yml``.

A comment suppresses a finding when it sits on the reported line, on any line of a reported
scalar, or, for a finding inside a step, on any line of the step, including comment lines
indented under it (zizmor reads its comments the same way). A zizmor
audit name suppresses the mendbot rules that cover that audit (:mod:`bot.detectors.aliases`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from bot.config import ZizmorConfig
from bot.detectors.aliases import rules_for_audit
from bot.models import Finding
from bot.yamledit.document import Route, Scalar, YamlDocument
from bot.yamledit.ops import Operation

_DIRECTIVE = re.compile(r"\b(?P<tool>mendbot|zizmor):\s*ignore\[(?P<ids>[^\]]*)\]")


@dataclass(frozen=True)
class Directive:
    """One ``<tool>: ignore[...]`` in a comment."""

    tool: str
    """``mendbot`` or ``zizmor``."""
    ids: tuple[str, ...]
    """The ids as written."""
    line: int
    """0-based line of the comment."""
    column: int
    """0-based column where the directive starts."""


def directives(comment: str | None, line: int = 0, column: int = 0) -> list[Directive]:
    """Every ignore directive in ``comment`` (the comment starts at ``line``/``column``)."""
    if not comment:
        return []
    return [
        Directive(
            match["tool"],
            tuple(part.strip() for part in match["ids"].split(",") if part.strip()),
            line,
            column + match.start(),
        )
        for match in _DIRECTIVE.finditer(comment)
    ]


def suppressed_rules(comment: str | None) -> set[str]:
    """The mendbot rule ids a comment's directives suppress (zizmor audits mapped)."""
    rules: set[str] = set()
    for directive in directives(comment):
        for name in directive.ids:
            rules.update(rules_for_audit(name) if directive.tool == "zizmor" else {name})
    return rules


def all_directives(doc: YamlDocument) -> Iterator[Directive]:
    """Every directive in the document, in order."""
    if "ignore[" not in doc.text:
        return
    for start, text in doc.comments():
        line = doc.line_of(start)
        yield from directives(text, line, start - doc.line_start(start))


def span_lines(doc: YamlDocument, route: Route) -> set[int]:
    """0-based lines a comment may sit on to speak about the node at ``route``: the key's line
    through the value's last line, and comment lines indented under it right after it. A whole
    job or the ``jobs:`` mapping is only its key's line (a comment deep inside a job speaks
    about that line, not about the job)."""
    node = doc.lookup(route)
    key = doc.key_node(route)
    first = key if key is not None else node
    if first is None or node is None:
        return set()
    start = first.line
    if not route or (route[0] == "jobs" and len(route) <= 2):
        return {start}
    end = doc.line_of(max(doc.content_end(node) - 1, node.start))
    lines = set(range(start, end + 1))
    texts = doc.text.split("\n")
    following = end + 1
    while following < len(texts):
        stripped = texts[following].lstrip()
        if not stripped.startswith("#") or len(texts[following]) - len(stripped) < node.column:
            break
        lines.add(following)
        following += 1
    return lines


def finding_lines(doc: YamlDocument, finding: Finding) -> set[int]:
    """0-based lines whose comments may suppress ``finding``: its own line, the lines of its
    value when that is a scalar (a multi-line ``if:``), and, inside a step, the step's span.

    A finding about a whole block outside steps (a ``permissions:`` mapping) is suppressed on
    its key's line only: a comment on one entry of the block speaks about that entry, which
    the rule itself weighs (``gha-excessive-permissions`` keeps a write marked as intended).
    """
    route = finding.location.route
    lines = {finding.location.line - 1}
    if isinstance(doc.lookup(route), Scalar):
        lines |= span_lines(doc, route)
    step = step_route(route)
    if step is not None:
        lines |= span_lines(doc, step)
    return lines


def step_route(route: Route) -> Route | None:
    """The route of the step ``route`` lies in (``jobs.<id>.steps[i]``, ``runs.steps[i]``, a
    ``parallel:`` member), or None outside steps."""
    for index in range(len(route) - 1, 0, -1):
        if route[index - 1] == "steps" and isinstance(route[index], int):
            end = index + 1
            if route[end : end + 1] == ("parallel",) and len(route) > end + 1:
                end += 2
            return route[:end]
    return None


def comment_suppresses(doc: YamlDocument, lines: Iterable[int], rule: str) -> Directive | None:
    """The first directive on ``lines`` that suppresses ``rule``, if any."""
    if "ignore[" not in doc.text:  # no comment can name a rule to ignore
        return None
    for line in sorted(lines):
        comment = doc.comment_on_line(line)
        for directive in directives(comment, line):
            names = directive.ids
            covered = (
                {r for n in names for r in rules_for_audit(n)}
                if directive.tool == "zizmor"
                else set(names)
            )
            if rule in covered:
                return directive
    return None


def is_suppressed(doc: YamlDocument, finding: Finding, owner_line: int | None = None) -> bool:
    """Whether a comment on the finding's span ignores its rule.

    ``owner_line`` (1-based, like :attr:`Finding.location`) is one more line to look at.
    """
    lines = finding_lines(doc, finding)
    if owner_line is not None:
        lines.add(owner_line - 1)
    return comment_suppresses(doc, lines, finding.rule) is not None


@dataclass(frozen=True)
class IgnoreEntry:
    """One ``rules.<audit>.ignore`` entry of a zizmor configuration."""

    filename: str
    """The workflow's base name."""
    line: int | None = None
    """1-based line, or None for the whole file."""
    column: int | None = None
    """1-based column, or None for the whole line."""

    @classmethod
    def parse(cls, text: str) -> IgnoreEntry | None:
        """``file.yml``, ``file.yml:12`` or ``file.yml:12:7``; None when malformed."""
        parts = text.strip().split(":")
        if not parts[0] or len(parts) > 3 or not all(p.isdigit() for p in parts[1:]):
            return None
        numbers = [int(p) for p in parts[1:]]
        return cls(parts[0], *numbers)

    def covers(self, finding: Finding, lines: set[int]) -> bool:
        """Whether this entry ignores ``finding`` (whose suppression span is ``lines``,
        0-based)."""
        if PurePosixPath(finding.location.path).name != self.filename:
            return False
        if self.line is None:
            return True
        if self.column is None:
            return self.line - 1 in lines
        return (self.line, self.column) == (finding.location.line, finding.location.column)


@dataclass(frozen=True)
class ExternalIgnores:
    """Suppressions another tool's configuration (``zizmor.yml``) asks for, by mendbot rule."""

    source: str = ""
    """The file they come from, for messages."""
    disabled: frozenset[str] = frozenset()
    """Rules whose zizmor audit is ``disable: true``."""
    ignores: dict[str, tuple[IgnoreEntry, ...]] = field(default_factory=dict)
    """Rule id → ignore entries."""

    def ignored(self, doc: YamlDocument, finding: Finding) -> bool:
        """Whether an entry for the finding's rule covers it."""
        entries = self.ignores.get(finding.rule, ())
        if not entries:
            return False
        lines = finding_lines(doc, finding)
        return any(entry.covers(finding, lines) for entry in entries)


def external_ignores(config: ZizmorConfig, source: str = "zizmor.yml") -> ExternalIgnores:
    """The mendbot view of a zizmor configuration: audits mapped to the rules covering them."""
    disabled: set[str] = set()
    ignores: dict[str, list[IgnoreEntry]] = {}
    for audit, settings in config.rules.items():
        for rule in rules_for_audit(audit):
            if settings.disable:
                disabled.add(rule)
            entries = (IgnoreEntry.parse(text) for text in settings.ignore)
            ignores.setdefault(rule, []).extend(e for e in entries if e is not None)
    return ExternalIgnores(
        source=source,
        disabled=frozenset(disabled),
        ignores={rule: tuple(entries) for rule, entries in ignores.items() if entries},
    )


def edited_lines(doc: YamlDocument, operation: Operation) -> set[int]:
    """0-based lines an operation rewrites: the span of the node it replaces or removes, of the
    existing child it merges into, or the parent's key line when it adds a new key."""
    key = getattr(operation, "key", None)
    if isinstance(key, str):
        child = (*operation.route, key)
        if doc.lookup(child) is not None:
            return span_lines(doc, child)
        if not operation.route:
            return set()
        holder = doc.key_node(operation.route) or doc.lookup(operation.route)
        return {holder.line} if holder is not None else set()
    return span_lines(doc, operation.route)


def protected_by(doc: YamlDocument, rule: str, operations: Iterable[Operation]) -> Directive | None:
    """A directive suppressing ``rule`` on a line one of ``operations`` would rewrite: a person
    marked that place as intended, so no fix of that rule may edit it."""
    if "ignore[" not in doc.text:
        return None
    lines: set[int] = set()
    for operation in operations:
        lines |= edited_lines(doc, operation)
    return comment_suppresses(doc, lines, rule)
