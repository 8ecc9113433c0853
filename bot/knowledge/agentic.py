"""Which actions make a workflow *agentic*: AI agents, and steps that mint tokens.

A remediation that changes an identity such a workflow uses has second-order effects: what an
agent (steerable by whoever writes the text it reads) or a token-minting step can do changes
with it. The table (``agentic.yml``) lists each action with why it counts and where that is
documented; jobs that may request an OIDC token (``id-token: write``) count too, since any step
of them can exchange that token for cloud credentials (see :mod:`bot.analyze.second_order`).
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from ruamel.yaml.error import YAMLError

from bot.knowledge.permissions import KnowledgeBaseError
from bot.knowledge.yaml_loading import safe_load


class _Schema(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AgenticAction(_Schema):
    """One action (or, with a trailing ``*``, a family of actions) that makes a job agentic."""

    action: Annotated[str, Field(pattern=r"^[a-z0-9_.-]+/[a-z0-9_.*/-]+$")]
    """``owner/repo[/path]`` lower-case; a trailing ``*`` matches any slug it starts."""
    why: str
    """What the action does with what the job holds."""
    source: Annotated[str, Field(pattern=r"^https://")]
    """Where that is documented."""

    def matches(self, slug: str) -> bool:
        """Whether the action slug ``slug`` (lower-case ``owner/repo[/path]``) is this one."""
        if self.action.endswith("*"):
            return slug.startswith(self.action[:-1])
        return slug == self.action


class AgenticTable(_Schema):
    """The whole ``agentic.yml``."""

    agents: tuple[AgenticAction, ...]
    token_minters: tuple[AgenticAction, ...]

    def agentic(self, slug: str) -> AgenticAction | None:
        """The entry that makes a step using ``slug`` agentic, if any."""
        for entry in (*self.agents, *self.token_minters):
            if entry.matches(slug):
                return entry
        return None


def parse_agentic_table(text: str, source: str = "agentic.yml") -> AgenticTable:
    """Validate YAML ``text`` as the agentic table; raises :class:`KnowledgeBaseError`."""
    try:
        return AgenticTable.model_validate(safe_load(text))
    except (YAMLError, ValidationError) as exc:
        raise KnowledgeBaseError(f"{source}: {exc}") from None


@cache
def agentic_table() -> AgenticTable:
    """The bundled table, parsed once per process."""
    text = resources.files("bot.knowledge").joinpath("agentic.yml").read_text(encoding="utf-8")
    return parse_agentic_table(text)
