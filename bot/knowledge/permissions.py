"""Schema and loader of mendbot's own permissions knowledge base (``actions.yml``).

Each entry says how an action receives the job's ``GITHUB_TOKEN`` (if at all), which token
scopes it needs and why, under which conditions on its inputs, and where that was read. The
file is validated when loaded: an invalid or duplicated entry is a :class:`KnowledgeBaseError`,
never a silently wrong answer.
"""

from __future__ import annotations

from enum import StrEnum, unique
from functools import cache
from importlib import resources
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from ruamel.yaml.error import YAMLError

from bot.errors import MendbotError
from bot.knowledge.yaml_loading import safe_load

Scope = Literal[
    "actions",
    "attestations",
    "checks",
    "contents",
    "deployments",
    "discussions",
    "id-token",
    "issues",
    "models",
    "packages",
    "pages",
    "pull-requests",
    "repository-projects",
    "security-events",
    "statuses",
]

#: Every scope a workflow can grant to ``GITHUB_TOKEN`` (``metadata: read`` is implicit).
SCOPES: tuple[str, ...] = get_args(Scope)

#: Facts about the whole job a condition may ask for (see :class:`JobCondition`).
JobFact = Literal["pushes-images"]


class KnowledgeBaseError(MendbotError):
    """The bundled knowledge base is invalid; a packaging or editing mistake."""


class _Schema(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


@unique
class Level(StrEnum):
    """How much of a scope a step needs; ``write`` implies ``read``."""

    READ = "read"
    WRITE = "write"

    @property
    def rank(self) -> int:
        """``read`` < ``write``."""
        return 1 if self is Level.READ else 2


@unique
class KbConfidence(StrEnum):
    """How sure the entry's author is, from the evidence read."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class InputCondition(_Schema):
    """A test on one ``with:`` input of the step; exactly one test is set.

    Values compare as lower-cased strings (YAML ``true`` is ``"true"``). ``default`` is the
    value of an absent input (the action's own default). A value holding an expression
    (``${{ … }}``) cannot be decided statically: the condition is then *unknown*.
    """

    input: str
    equals: str | None = None
    not_equals: str | None = None
    in_: tuple[str, ...] | None = Field(default=None, alias="in")
    contains: str | None = None
    present: bool | None = None
    default: str | None = None

    @model_validator(mode="after")
    def _one_test(self) -> InputCondition:
        tests = [self.equals, self.not_equals, self.in_, self.contains, self.present]
        if sum(test is not None for test in tests) != 1:
            raise ValueError(
                f"condition on {self.input!r} needs exactly one of "
                "equals, not_equals, in, contains, present"
            )
        return self


class JobCondition(_Schema):
    """True when the job has a fact (e.g. ``pushes-images``: some step pushes an image)."""

    job: JobFact


class TriggerCondition(_Schema):
    """True when the workflow runs on the event ``trigger`` (e.g. ``release``)."""

    trigger: str


class AllOf(_Schema):
    """True when every condition is; unknown if none is false and one is unknown."""

    all: tuple[Condition, ...] = Field(min_length=1)


class AnyOf(_Schema):
    """True when one condition is; unknown if none is true and one is unknown."""

    any: tuple[Condition, ...] = Field(min_length=1)


Condition = InputCondition | JobCondition | TriggerCondition | AllOf | AnyOf
AllOf.model_rebuild()
AnyOf.model_rebuild()


class InputToken(_Schema):
    """The token is passed in the ``with:`` input ``input``."""

    input: str
    default_token: bool = False
    """Whether the input defaults to ``${{ github.token }}`` (so omitting it passes the token)."""


class EnvToken(_Schema):
    """The token is read from the environment variable ``env`` (the workflow must set it)."""

    env: str


class GitCredentialsToken(_Schema):
    """The action pushes with the credentials ``actions/checkout`` persisted in ``.git/config``."""

    git_credentials: Literal[True]


class ImplicitToken(_Schema):
    """The action reads ``${{ github.token }}`` itself; the workflow cannot pass another token."""

    implicit: Literal[True]


TokenSource = InputToken | EnvToken | GitCredentialsToken | ImplicitToken


class Grant(_Schema):
    """One scope the action needs, why, and when."""

    scope: Scope
    level: Level
    reason: Annotated[str, Field(pattern=r"^to [^\n]+[^.\n]$", max_length=90)]
    """Why, phrased ``to …`` (it becomes the comment ``# for <action> to …``)."""
    when: Condition | None = None
    via: Literal["token", "oidc"] = "token"
    """``oidc``: requesting an OIDC token, which does not depend on how the job token flows."""


class FactSpec(_Schema):
    """A job fact the action establishes (e.g. it pushes images), optionally conditional."""

    fact: JobFact
    when: Condition | None = None


class ActionEntry(_Schema):
    """Everything mendbot knows about one action's use of the job token."""

    action: str
    """``owner/repo[/path]``, lower-case."""
    aliases: tuple[str, ...] = ()
    """Other ``owner/repo[/path]`` names with exactly the same behaviour."""
    token: tuple[TokenSource, ...] = ()
    """Where the job token enters; empty when the action never receives it."""
    grants: tuple[Grant, ...]
    facts: tuple[FactSpec, ...] = ()
    """Facts about the job this action establishes, for other steps' conditions."""
    unknowable: str | None = None
    """Set when the needs depend on code the workflow passes in (e.g. a script)."""
    evidence: tuple[Annotated[str, Field(pattern=r"^https://\S+$")], ...] = Field(min_length=1)
    confidence: KbConfidence
    notes: str = ""

    @field_validator("action", "aliases")
    @classmethod
    def _lower_slug(cls, value: Any) -> Any:
        names = [value] if isinstance(value, str) else list(value)
        for name in names:
            if name != name.lower() or name.count("/") < 1 or " " in name:
                raise ValueError(f"{name!r} must be a lower-case owner/repo[/path]")
        return value

    @model_validator(mode="after")
    def _token_grants_need_a_source(self) -> ActionEntry:
        if not self.token and any(grant.via == "token" for grant in self.grants):
            raise ValueError(f"{self.action}: a token grant needs a `token` source")
        return self


class KnowledgeBase(_Schema):
    """All entries, addressable by action name (and alias)."""

    actions: tuple[ActionEntry, ...]

    @model_validator(mode="after")
    def _unique(self) -> KnowledgeBase:
        seen: set[str] = set()
        for entry in self.actions:
            for name in (entry.action, *entry.aliases):
                if name in seen:
                    raise ValueError(f"{name} is listed twice")
                seen.add(name)
        return self

    def get(self, slug: str) -> ActionEntry | None:
        """The entry for ``owner/repo[/path]`` (any case), if the base knows it."""
        return self._index().get(slug.lower())

    def _index(self) -> dict[str, ActionEntry]:
        index = self.__dict__.get("_index_cache")
        if index is None:
            index = {
                name: entry for entry in self.actions for name in (entry.action, *entry.aliases)
            }
            object.__setattr__(self, "_index_cache", index)
        return index


def parse_knowledge_base(text: str, source: str = "actions.yml") -> KnowledgeBase:
    """Validate YAML ``text`` as a knowledge base; raises :class:`KnowledgeBaseError`."""
    try:
        data = safe_load(text)
    except YAMLError as exc:  # includes duplicate mapping keys
        raise KnowledgeBaseError(f"{source}: invalid YAML: {exc}") from None
    try:
        return KnowledgeBase.model_validate(data)
    except ValidationError as exc:
        raise KnowledgeBaseError(f"{source}: {exc}") from None


@cache
def knowledge_base() -> KnowledgeBase:
    """The bundled knowledge base, parsed once per process."""
    text = resources.files("bot.knowledge").joinpath("actions.yml").read_text(encoding="utf-8")
    return parse_knowledge_base(text)
