"""The policy file schema (``GatePolicy``, ``GateException``, ``FreezeWindow``) and its loader.

Unknown or invalid fields are errors that name the file, line and column.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum, unique
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from bot.errors import PolicyError
from bot.policy.windows import Cron, ScheduleError, WindowSpec, parse_duration, zone
from bot.yamledit.document import SourceText, YamlDocument, YamlParseError

API_VERSION = "mendbot/v1"
_NAME = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"


@unique
class Action(StrEnum):
    """What a failed validation does; the strongest action over all policies wins."""

    DENY = "deny"
    REQUIRE_APPROVAL = "require_approval"
    WARN = "warn"
    AUDIT = "audit"

    @property
    def rank(self) -> int:
        """Precedence: deny (3) > require_approval (2) > warn (1) > audit (0)."""
        return _RANK[self]


_RANK = {Action.DENY: 3, Action.REQUIRE_APPROVAL: 2, Action.WARN: 1, Action.AUDIT: 0}


class _Schema(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True
    )


class NamedExpression(_Schema):
    """A named CEL expression (a match condition or a variable)."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_-]*$")
    expression: str = Field(min_length=1)


class Variable(_Schema):
    """A named value computed once per policy, visible as ``variables.<name>``."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    expression: str = Field(min_length=1)


class Approvers(_Schema):
    """Who may give a counted approval; any of the lists matches."""

    users: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    """Team slugs; a reviewer in any of them matches."""
    code_owners: bool = False
    """A code owner of a touched path (``change.code_owners``) matches."""


class ApprovalRequirement(_Schema):
    """Approvals that satisfy a ``require_approval`` validation."""

    count: int = Field(default=1, ge=1, le=10)
    from_: Approvers = Field(default_factory=Approvers, alias="from")
    """Empty means any reviewer."""
    prevent_self_approval: bool = True
    """The PR author's own approval never counts."""


class Validation(_Schema):
    """One check: when ``expression`` is false, ``action`` applies.

    Without ``expression`` the validation always fails when its policy matches. A
    ``require_approval`` validation with ``approvals`` is satisfied by enough approvals on the
    head SHA.
    """

    name: str | None = None
    expression: str | None = Field(default=None, min_length=1)
    message: str | None = None
    message_expression: str | None = None
    action: Action = Action.DENY
    approvals: ApprovalRequirement | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Validation:
        if self.message is not None and self.message_expression is not None:
            raise ValueError("give message or messageExpression, not both")
        if self.message is None and self.message_expression is None:
            raise ValueError("give message or messageExpression")
        if self.approvals is not None and self.action is not Action.REQUIRE_APPROVAL:
            raise ValueError("approvals are only allowed with action: require_approval")
        return self


class TestCase(_Schema):
    """An inline test: ``context`` is merged over the documented base context and ``expect`` is
    this policy's own outcome (``not-matched`` when its matchConditions are false)."""

    __test__ = False  # not a pytest class

    name: str
    context: dict[str, Any] = Field(default_factory=dict)
    expect: Literal["allow", "require_approval", "deny", "warn", "audit", "not-matched"]
    missing_approvals: int | None = Field(default=None, ge=0)
    """When set, the total count of approvals still missing."""


class Owners(_Schema):
    """Who owns a policy (and may approve changes to it)."""

    users: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()


class Metadata(_Schema):
    """Name and documentation of a document."""

    name: str = Field(pattern=_NAME)
    description: str = ""
    owners: Owners = Field(default_factory=Owners)


class PolicySpec(_Schema):
    """The body of a ``GatePolicy``."""

    auto_merge: bool = False
    """An allowed PR this policy matched may be auto-merged."""
    match_conditions: tuple[NamedExpression, ...] = Field(default=(), max_length=64)
    variables: tuple[Variable, ...] = ()
    validations: tuple[Validation, ...] = Field(min_length=1)
    tests: tuple[TestCase, ...] = ()


class _Document(_Schema):
    api_version: Literal["mendbot/v1"]
    metadata: Metadata
    _origin: str = PrivateAttr(default="<memory>")
    _positions: dict[tuple[str | int, ...], str] = PrivateAttr(default_factory=dict)

    @property
    def origin(self) -> str:
        """``file`` the document was loaded from."""
        return self._origin

    def where(self, *route: str | int) -> str:
        """``file:line:col`` of ``route`` inside the document (or of the file)."""
        for depth in range(len(route), -1, -1):
            found = self._positions.get(route[:depth])
            if found is not None:
                return f"{self._origin}:{found}"
        return self._origin


class GatePolicy(_Document):
    """A policy: when all ``matchConditions`` hold, every validation is checked."""

    kind: Literal["GatePolicy"]
    spec: PolicySpec

    @property
    def name(self) -> str:
        """The policy's name."""
        return self.metadata.name


class ExceptionSpec(_Schema):
    """The body of a ``GateException``."""

    owner: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    expires: AwareDatetime
    """Mandatory; after it the exception is ignored and reported as expired."""
    policies: tuple[str, ...] = Field(min_length=1)
    """Names of the policies whose failed validations the exception turns into audits."""
    match_conditions: tuple[NamedExpression, ...] = ()
    """All must hold for the exception to apply (e.g. one PR number or one path)."""


class GateException(_Document):
    """A time-limited, owned waiver of named policies."""

    kind: Literal["GateException"]
    spec: ExceptionSpec


class WindowBody(_Schema):
    """The body of a ``FreezeWindow``."""

    kind: Literal["allow", "deny"]
    schedule: str
    """Five-field cron: when the window opens (wall-clock time in ``timeZone``)."""
    duration: str
    """How long it stays open: ``62h``, ``1d12h``, ``90m`` (at most 14d)."""
    time_zone: str = "UTC"
    environments: tuple[str, ...] = ()
    """Environments it applies to; empty means all."""

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        Cron.parse(value)
        return value

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        zone(value)
        return value


class FreezeWindow(_Document):
    """A named allow or deny window."""

    kind: Literal["FreezeWindow"]
    spec: WindowBody

    def compiled(self) -> WindowSpec:
        """The window ready for :func:`bot.policy.windows.compute_windows`."""
        return WindowSpec(
            name=self.metadata.name,
            kind=self.spec.kind,
            schedule=Cron.parse(self.spec.schedule),
            duration=parse_duration(self.spec.duration),
            time_zone=zone(self.spec.time_zone),
            environments=self.spec.environments,
        )


Document = GatePolicy | GateException | FreezeWindow
_KINDS: dict[str, type[GatePolicy] | type[GateException] | type[FreezeWindow]] = {
    "GatePolicy": GatePolicy,
    "GateException": GateException,
    "FreezeWindow": FreezeWindow,
}


@dataclass
class PolicySet:
    """Every document of a policy directory, plus the digest of the files it came from."""

    policies: list[GatePolicy] = field(default_factory=list)
    exceptions: list[GateException] = field(default_factory=list)
    windows: list[FreezeWindow] = field(default_factory=list)
    digest: str = ""
    """``sha256:`` over the sorted file names and contents."""

    def add(self, document: Document) -> None:
        """File ``document`` under its kind."""
        if isinstance(document, GatePolicy):
            self.policies.append(document)
        elif isinstance(document, GateException):
            self.exceptions.append(document)
        else:
            self.windows.append(document)


def parse_documents(text: str, origin: str) -> list[Document]:
    """Parse every YAML document in ``text``; raises :class:`PolicyError` with file:line:col."""
    try:
        doc = YamlDocument.parse(SourceText.from_text(text).body)
    except YamlParseError as exc:
        raise PolicyError(f"{origin}:{exc}" if exc.line else f"{origin}: {exc}") from None
    out: list[Document] = []
    for index in range(len(doc.roots)):
        data = doc.data(index)
        if data is None:
            continue
        where = _Positions(doc, index)
        if not isinstance(data, dict):
            raise PolicyError(f"{origin}:{where.at(())}: a policy document must be a mapping")
        kind = data.get("kind")
        model = _KINDS.get(kind) if isinstance(kind, str) else None
        if model is None:
            raise PolicyError(
                f"{origin}:{where.at(('kind',))}: kind must be one of {', '.join(_KINDS)}, "
                f"not {kind!r}"
            )
        try:
            parsed = model.model_validate(data)
        except ValidationError as exc:
            # An unknown field (usually a typo) explains the "field required" that comes with it.
            error = min(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
            route = tuple(error["loc"])
            key = ".".join(str(part) for part in route) or "<root>"
            if error["type"] == "extra_forbidden":
                message = f"unknown field '{route[-1]}' at {key}"
            else:
                message = f"{key}: {error['msg'].removeprefix('Value error, ')}"
            raise PolicyError(f"{origin}:{where.at(route)}: {message}") from None
        except ScheduleError as exc:  # pragma: no cover - validators wrap it as ValueError
            raise PolicyError(f"{origin}: {exc}") from None
        parsed._origin = origin
        parsed._positions = where.table(data)
        out.append(parsed)
    return out


class _Positions:
    def __init__(self, doc: YamlDocument, index: int) -> None:
        self.doc = doc
        self.index = index

    def at(self, route: tuple[str | int, ...]) -> str:
        for depth in range(len(route), -1, -1):
            prefix = route[:depth]
            node = (self.doc.key_node(prefix, self.index) if prefix else None) or self.doc.lookup(
                prefix, self.index
            )
            if node is not None:
                return f"{node.line + 1}:{node.column + 1}"
        return "1:1"

    def table(self, data: Any) -> dict[tuple[str | int, ...], str]:
        """``line:col`` of every route in ``data`` (for messages about valid documents)."""
        table: dict[tuple[str | int, ...], str] = {}
        stack: list[tuple[tuple[str | int, ...], Any]] = [((), data)]
        while stack:
            route, value = stack.pop()
            table[route] = self.at(route)
            if isinstance(value, dict):
                stack.extend(((*route, k), v) for k, v in value.items() if isinstance(k, str))
            elif isinstance(value, list):
                stack.extend(((*route, i), v) for i, v in enumerate(value))
        return table


def load_file(path: Path) -> list[Document]:
    """Load one policy file; raises :class:`PolicyError` naming the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path}: cannot read the policy file ({exc})") from None
    return parse_documents(text, str(path))


def policy_files(directory: Path) -> list[Path]:
    """The ``*.yaml`` / ``*.yml`` files directly in ``directory``, sorted by name."""
    if not directory.is_dir():
        raise PolicyError(f"{directory}: no such policy directory")
    return sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def load_directory(directory: Path) -> PolicySet:
    """Load every policy file of ``directory``; raises :class:`PolicyError` on the first problem
    (an unreadable or invalid file, or two documents of one kind with the same name)."""
    return load_sources((path.name, str(path), _read(path)) for path in policy_files(directory))


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read the policy file ({exc})") from None


def load_sources(sources: Iterable[tuple[str, str, bytes]]) -> PolicySet:
    """Load policy files given as ``(file name, origin for messages, raw bytes)``, in the given
    order (the gate reads them from the default branch's tree, never from a checkout).

    The set's digest covers every file name and content, so any edit changes it. Raises
    :class:`PolicyError` like :func:`load_directory`.
    """
    result = PolicySet()
    digest = hashlib.sha256()
    seen: dict[tuple[str, str], str] = {}
    for name, origin, raw in sources:
        digest.update(name.encode() + b"\0" + hashlib.sha256(raw).digest())
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PolicyError(f"{origin}: cannot read the policy file ({exc})") from None
        for document in parse_documents(text, origin):
            key = (document.kind, document.metadata.name)
            if key in seen:
                raise PolicyError(
                    f"{document.where('metadata', 'name')}: {document.kind} "
                    f"'{document.metadata.name}' is also defined in {seen[key]}"
                )
            seen[key] = document.where("metadata", "name")
            result.add(document)
    result.digest = "sha256:" + digest.hexdigest()
    return result
