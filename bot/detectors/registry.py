"""Every rule mendbot ships, one line each."""

from __future__ import annotations

from pydantic import BaseModel

from bot.detectors.interface import WorkflowRule
from bot.detectors.workflows.insecure_commands import InsecureCommands
from bot.detectors.workflows.persist_credentials import PersistCredentials
from bot.detectors.workflows.pinning import (
    RefConfusion,
    RefVersionMismatch,
    UnpinnedImages,
    UnpinnedUses,
)

RULES: tuple[type[WorkflowRule], ...] = (
    PersistCredentials,
    InsecureCommands,
    UnpinnedUses,
    RefConfusion,
    RefVersionMismatch,
    UnpinnedImages,
)


def rule_options() -> dict[str, type[BaseModel] | None]:
    """Each rule id mapped to the pydantic model of its options (for the config loader)."""
    return {rule.id: rule.options_model for rule in RULES}


def rule_ids() -> list[str]:
    """The ids of every shipped rule, in registry order."""
    return [rule.id for rule in RULES]


def get_rule(rule_id: str) -> type[WorkflowRule] | None:
    """The rule class with ``rule_id``, if one exists."""
    return next((rule for rule in RULES if rule.id == rule_id), None)
