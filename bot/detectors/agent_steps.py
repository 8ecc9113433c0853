"""Steps that hand a workflow's event to a coding agent holding secrets.

A coding agent (an LLM that runs tools) reads the issue, comment or pull request that started
the workflow; text written there by anyone steers it (prompt injection). It matters when the
agent holds secrets and anyone may start it: the agent's own check of who triggered it is
switched off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.workflow.model import Step

#: Agent actions → the input that, set to ``*``, lets users without write access start them.
#: With it unset both actions only act for users who can write to the repository.
AGENTS: dict[str, str] = {
    "openai/codex-action": "allow-users",
    "anthropics/claude-code-action": "allowed_non_write_users",
}
_SECRET = re.compile(r"\$\{\{[^}]*\bsecrets\.(\w+)", re.IGNORECASE)


@dataclass(frozen=True)
class OpenAgent:
    """An agent step that anyone may start, and the secrets it holds."""

    step: Step
    action: str
    secrets: tuple[str, ...]


def open_agent(step: Step) -> OpenAgent | None:
    """``step`` as an :class:`OpenAgent` when it runs a known agent, opened to every user,
    with at least one secret among its inputs or environment; otherwise None."""
    uses = step.uses
    if uses is None or uses.slug not in AGENTS:
        return None
    gate = step.with_.get(AGENTS[uses.slug])
    if str(gate).strip() != "*":
        return None
    env = {**step.workflow.env, **step.job.env, **step.env}
    values = [*step.with_.values(), *env.values()]
    names = sorted({m.group(1) for v in values for m in _SECRET.finditer(str(v))})
    if not names:
        return None
    return OpenAgent(step, uses.slug, tuple(names))
