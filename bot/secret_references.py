"""Which Actions secrets a repository's workflow and composite-action files reference, and
whether that can be told at all: the one scan both the ``nhi-github-unused-secret`` rule
(analysis) and the deploy job's secret deletion (before it deletes) run.

References are read from the whole text (a ``secrets.X`` in a comment counts too), from every
expression (``${{ … }}``, ending at the first ``}}`` outside a string literal, and ``if:``
values) and from the parsed values (YAML escapes resolved); names compare case-insensitively,
as GitHub's do. What makes "which secrets are used" unknowable is recorded with the reason
(:attr:`SecretReferences.all_secrets_reasons`): a ``secrets: inherit`` call to a workflow
outside the repository, the whole ``secrets`` context (``toJSON(secrets)``), a computed name
(``secrets[format(…)]``), or a file that could not be read or parsed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from bot.yamledit.document import SourceText, YamlDocument, YamlParseError

#: Where an expression starts; it ends at the first ``}}`` outside a string literal.
EXPRESSION_START = "${{"
#: An ``if:`` value (expressions there need no ``${{ }}``).
_IF_VALUE = re.compile(r"^\s*-?\s*if\s*:(.*)$", re.MULTILINE)
_DOTTED = re.compile(r"\bsecrets\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)")
_INDEXED = re.compile(r"""\bsecrets\s*\[\s*(['"])([A-Za-z_][A-Za-z0-9_]*)\1\s*\]""")
_ANY = re.compile(r"\bsecrets\b")


@dataclass(frozen=True)
class SecretReferences:
    """The secret names a set of files references, and why any secret may be in use."""

    referenced: frozenset[str]
    """Every secret name referenced anywhere (upper-cased)."""
    all_secrets_reasons: tuple[str, ...]
    """Why every secret may be in use; empty when :attr:`referenced` is complete."""
    files: int
    """Files read."""
    parsed: tuple[tuple[str, YamlDocument, dict[str, Any]], ...] = field(default=(), compare=False)
    """``(path, document, data)`` of each file that parsed as a workflow or an action."""

    def is_referenced(self, name: str) -> bool:
        """Whether ``name`` is referenced (case-insensitively)."""
        return name.upper() in self.referenced


def scan_references(files: Iterable[tuple[str, str | None]]) -> SecretReferences:
    """The references of the workflow and composite-action files given as ``(path, text)``; a
    None text is a file that could not be read (its secrets are unknown)."""
    referenced: set[str] = set()
    reasons: list[str] = []
    parsed: list[tuple[str, YamlDocument, dict[str, Any]]] = []
    count = 0
    for path, text in sorted(files, key=lambda item: item[0]):
        count += 1
        if text is None:
            reasons.append(f"{path} could not be read")
            continue
        names, whole = references(text)
        # Any `secrets.X` in the text keeps X, inside an expression or not: a deletion must
        # not hinge on where an expression was thought to end.
        referenced |= names | _loose_names(text)
        reasons += [f"{path}: {reason}" for reason in whole]
        document = workflow_document(text)
        if document is None:
            reasons.append(f"{path} does not parse as a workflow or action")
            continue
        data = document.data()
        # What GitHub evaluates is the parsed value (YAML escapes such as `\u005F` resolved).
        found, parsed_whole = _parsed_references(data)
        referenced |= found
        reasons += [f"{path}: {reason}" for reason in parsed_whole if reason not in whole]
        reasons += _remote_inherits(path, data)
        parsed.append((path, document, data))
    return SecretReferences(frozenset(referenced), tuple(reasons), count, tuple(parsed))


def workflow_document(text: str) -> YamlDocument | None:
    """The parsed document when ``text`` is one workflow (``jobs`` mapping) or action
    (``runs`` mapping), else None."""
    try:
        doc = YamlDocument.parse(SourceText.from_text(text).body)
    except (YamlParseError, ValueError):
        return None
    if len(doc.roots) != 1:
        return None
    data = doc.data()
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("jobs"), dict) or isinstance(data.get("runs"), dict):
        return doc
    return None


def references(text: str) -> tuple[set[str], list[str]]:
    """The secret names ``text``'s expressions name, and why they may name every secret."""
    names: set[str] = set()
    whole: list[str] = []
    for expression in _expressions(text):
        names |= {m.upper() for m in _DOTTED.findall(expression)}
        names |= {m[1].upper() for m in _INDEXED.findall(expression)}
        for match in _ANY.finditer(expression):
            rest = expression[match.end() :].lstrip()
            if rest.startswith(".") and _DOTTED.match(expression, match.start()):
                continue  # secrets.NAME; secrets.* is every secret's value
            if rest.startswith("[") and _INDEXED.match(expression, match.start()):
                continue
            shown = " ".join(expression.split())[:60]
            whole.append(f"`{shown}` reads the whole secrets context or a computed name")
    return names, whole


def strings(value: Any) -> Iterator[str]:
    """Every string in a parsed document, mapping keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def _expressions(text: str) -> Iterator[str]:
    start = text.find(EXPRESSION_START)
    while start != -1:
        body, end = _expression_body(text, start + len(EXPRESSION_START))
        yield body
        start = text.find(EXPRESSION_START, end)
    for match in _IF_VALUE.finditer(text):
        yield match[1]


def _expression_body(text: str, begin: int) -> tuple[str, int]:
    """The expression starting at ``begin`` and the index after its ``}}``. A ``}}`` inside a
    string literal (``format('{{"a":"{0}"}}', …)``, ``''`` escaping a quote) does not end it, as
    it does not for GitHub; an unterminated one runs to the end of the text."""
    index = begin
    in_string = False
    while index < len(text):
        char = text[index]
        if in_string:
            if char == "'":
                if text.startswith("''", index):
                    index += 1
                else:
                    in_string = False
        elif char == "'":
            in_string = True
        elif text.startswith("}}", index):
            return text[begin:index], index + 2
        index += 1
    return text[begin:], len(text)


def _loose_names(text: str) -> set[str]:
    return {m.upper() for m in _DOTTED.findall(text)} | {
        m[1].upper() for m in _INDEXED.findall(text)
    }


def _parsed_references(data: Any) -> tuple[set[str], list[str]]:
    names: set[str] = set()
    whole: list[str] = []
    for text in strings(data):
        if EXPRESSION_START in text:
            found, reasons = references(text)
            names |= found
            whole += reasons
    return names, whole


def _remote_inherits(path: str, data: dict[str, Any]) -> list[str]:
    """Jobs passing every secret (``secrets: inherit``) to a workflow outside the repository."""
    jobs = data.get("jobs")
    if not isinstance(jobs, dict):
        return []
    found = []
    for job_id, job in jobs.items():
        if not isinstance(job, dict):
            continue
        uses, passed = job.get("uses"), job.get("secrets")
        if not isinstance(uses, str) or uses.strip().startswith(("./", "$/")):
            continue
        if isinstance(passed, str) and passed.strip() == "inherit":
            found.append(
                f"{path}: job `{job_id}` passes every secret to `{uses}` (`secrets: inherit`), "
                "a workflow outside this repository"
            )
    return found
