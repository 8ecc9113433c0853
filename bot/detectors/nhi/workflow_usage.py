"""What a repository's workflows and composite actions ask of its Actions secrets and of the
default ``GITHUB_TOKEN``: the view the ``nhi-github-*`` and ``gh-settings-*`` rules judge an
inventory by.

Built once per analysis from the texts of the repository's workflow and action files
(:func:`workflow_usage`). Secret references are read from the whole text (a ``secrets.X`` in a
comment counts too), from every expression (``${{ … }}``, ending at the first ``}}`` outside a
string literal, and ``if:`` values) and from the parsed values (YAML escapes resolved); names
compare case-insensitively, as GitHub's do. What makes "which secrets are used" unknowable is
recorded with the reason (:attr:`WorkflowUsage.all_secrets_reasons`): a ``secrets: inherit``
call to a workflow outside the repository, the whole ``secrets`` context (``toJSON(secrets)``),
a computed name (``secrets[format(…)]``), or a file that could not be read or parsed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from bot.workflow.model import Job, Workflow
from bot.yamledit.document import SourceText, YamlDocument, YamlParseError

#: Where an expression starts; it ends at the first ``}}`` outside a string literal.
_EXPRESSION_START = "${{"
#: An ``if:`` value (expressions there need no ``${{ }}``).
_IF_VALUE = re.compile(r"^\s*-?\s*if\s*:(.*)$", re.MULTILINE)
_DOTTED = re.compile(r"\bsecrets\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)")
_INDEXED = re.compile(r"""\bsecrets\s*\[\s*(['"])([A-Za-z_][A-Za-z0-9_]*)\1\s*\]""")
_ANY = re.compile(r"\bsecrets\b")
#: The token GitHub creates for every run: never a repository secret.
RUN_TOKEN_NAME = "GITHUB_TOKEN"  # noqa: S105 - a name, not a secret


@dataclass(frozen=True)
class SecretUse:
    """One job's (or file's) use of a secret by name."""

    name: str
    """Upper-cased, as GitHub stores secret names."""
    path: str
    job: str | None
    """The job id; None for a composite action or a workflow-level ``env:``."""
    line: int
    """1-based line of the job (or of the file's first reference)."""
    environments: tuple[str, ...] | None
    """The environments the job runs in (``()`` none); None when its ``environment`` is an
    expression (any of them)."""
    from_caller: bool
    """In a reusable workflow (``on: workflow_call``): the caller passes its secrets, so what
    is defined depends on the caller."""


@dataclass(frozen=True)
class DefaultTokenJob:
    """A job that sets no ``permissions:`` (nor does its workflow): it runs with the default."""

    path: str
    job: str
    line: int


@dataclass(frozen=True)
class WorkflowUsage:
    """The secrets the repository's workflows and actions read, and the jobs on the default
    token permissions."""

    referenced: frozenset[str]
    """Every secret name referenced anywhere (upper-cased)."""
    uses: tuple[SecretUse, ...]
    """Each job's references, for "defined where the job can read it"."""
    all_secrets_reasons: tuple[str, ...]
    """Why every secret may be in use (a remote ``secrets: inherit``, ``toJSON(secrets)``…);
    empty when the references above are complete."""
    default_token_jobs: tuple[DefaultTokenJob, ...]
    files: int
    """Workflow and action files read."""
    checkout_repository: str | None = None
    """``owner/name`` (lower-cased) of the analysed checkout, from its ``origin`` remote; None
    when it has none that names one."""
    inventoried: frozenset[str] = frozenset()
    """The repositories (lower-cased) the checkout's GitHub inventory files describe."""

    def is_referenced(self, name: str) -> bool:
        """Whether ``name`` is referenced (case-insensitively)."""
        return name.upper() in self.referenced

    def not_the_checkout(self, repository: str) -> str | None:
        """Why these workflows may not be those of ``repository`` (then they say nothing about
        which of its secrets are used), else None. A checkout whose ``origin`` names another
        repository, or one without such a remote that holds inventories of several
        repositories (at most one of them can be this checkout), is not trusted to be it."""
        wanted = repository.lower()
        if self.checkout_repository is not None:
            if self.checkout_repository == wanted:
                return None
            return (
                f"this checkout is {self.checkout_repository} (its origin remote), not {repository}"
            )
        others = sorted(self.inventoried - {wanted})
        if others:
            return (
                f"this checkout has no origin remote naming it and also holds inventories of "
                f"{', '.join(others)}"
            )
        return None


def workflow_usage(files: Iterable[tuple[str, str | None]]) -> WorkflowUsage:
    """The usage of the workflow and composite-action files given as ``(path, text)``; a None
    text is a file that could not be read (its secrets are unknown)."""
    referenced: set[str] = set()
    uses: list[SecretUse] = []
    reasons: list[str] = []
    default_jobs: list[DefaultTokenJob] = []
    count = 0
    for path, text in sorted(files, key=lambda item: item[0]):
        count += 1
        if text is None:
            reasons.append(f"{path} could not be read")
            continue
        names, whole = _references(text)
        # Any `secrets.X` in the text keeps X, inside an expression or not: a deletion must
        # not hinge on where an expression was thought to end.
        referenced |= names | _loose_names(text)
        reasons += [f"{path}: {reason}" for reason in whole]
        workflow = _parse(path, text)
        if workflow is not None:
            # What GitHub evaluates is the parsed value (YAML escapes such as `\u005F` resolved).
            parsed, parsed_whole = _parsed_references(workflow.data)
            referenced |= parsed
            reasons += [f"{path}: {reason}" for reason in parsed_whole if reason not in whole]
        if workflow is None:
            reasons.append(f"{path} does not parse as a workflow or action")
            continue
        reasons += _remote_inherits(workflow)
        uses += _job_uses(workflow)
        default_jobs += _default_token_jobs(workflow)
    return WorkflowUsage(
        referenced=frozenset(referenced),
        uses=tuple(uses),
        all_secrets_reasons=tuple(reasons),
        default_token_jobs=tuple(default_jobs),
        files=count,
    )


def _expressions(text: str) -> Iterator[str]:
    start = text.find(_EXPRESSION_START)
    while start != -1:
        body, end = _expression_body(text, start + len(_EXPRESSION_START))
        yield body
        start = text.find(_EXPRESSION_START, end)
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


def _references(text: str) -> tuple[set[str], list[str]]:
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


def _loose_names(text: str) -> set[str]:
    return {m.upper() for m in _DOTTED.findall(text)} | {
        m[1].upper() for m in _INDEXED.findall(text)
    }


def _parsed_references(data: Any) -> tuple[set[str], list[str]]:
    names: set[str] = set()
    whole: list[str] = []
    for text in _strings(data):
        if _EXPRESSION_START in text:
            found, reasons = _references(text)
            names |= found
            whole += reasons
    return names, whole


def _parse(path: str, text: str) -> Workflow | None:
    try:
        doc = YamlDocument.parse(SourceText.from_text(text).body)
    except (YamlParseError, ValueError):
        return None
    if len(doc.roots) != 1:
        return None
    data = doc.data()
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("jobs"), dict):
        return Workflow(path, doc, data)
    if isinstance(data.get("runs"), dict):
        return Workflow(path, doc, data, kind="action")
    return None


def _remote_inherits(workflow: Workflow) -> list[str]:
    return [
        f"{workflow.path}: job `{job.id}` passes every secret to `{job.uses.raw}` "
        "(`secrets: inherit`), a workflow outside this repository"
        for job in workflow.jobs
        if job.uses is not None
        and not job.uses.local
        and isinstance(job.data.get("secrets"), str)
        and job.data["secrets"].strip() == "inherit"
    ]


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _names(value: Any) -> set[str]:
    names: set[str] = set()
    for text in _strings(value):
        if "secrets" in text:
            found, _ = _references(text if "${{" in text else "${{ " + text + " }}")
            names |= found
    return names


def _environments(job: Job) -> tuple[str, ...] | None:
    raw = job.data.get("environment")
    if isinstance(raw, dict):
        raw = raw.get("name")
    if raw is None:
        return ()
    if not isinstance(raw, str) or "${{" in raw:
        return None
    return (raw.strip(),)


def _job_uses(workflow: Workflow) -> list[SecretUse]:
    caller = "workflow_call" in workflow.triggers
    shared = _names(workflow.env)
    uses: list[SecretUse] = []
    for job in workflow.jobs:
        line = workflow.location(job.route).line
        environments = _environments(job)
        for name in sorted(_names(job.data) | shared):
            if name == RUN_TOKEN_NAME:
                continue
            uses.append(SecretUse(name, workflow.path, job.id, line, environments, caller))
    return uses


def _default_token_jobs(workflow: Workflow) -> list[DefaultTokenJob]:
    if workflow.kind != "workflow" or workflow.permissions is not None:
        return []
    return [
        DefaultTokenJob(workflow.path, job.id, workflow.location(job.route).line)
        for job in workflow.jobs
        # A reusable-workflow call without permissions hands the default on to the callee.
        if job.permissions is None
    ]
