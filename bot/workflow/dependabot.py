"""The ``updates:`` entries of a ``.github/dependabot.yml`` the rules read."""

from __future__ import annotations

from typing import Any

from bot.workflow.model import Workflow


def dependabot_updates(workflow: Workflow) -> list[tuple[int, dict[str, Any]]]:
    """``(index, entry)`` of every mapping under ``updates:`` of a Dependabot configuration
    (empty for any other kind of file, or when ``updates`` is not a list)."""
    if workflow.kind != "dependabot":
        return []
    raw = workflow.data.get("updates")
    entries = raw if isinstance(raw, list) else []
    return [(i, entry) for i, entry in enumerate(entries) if isinstance(entry, dict)]
