"""Which remediations of an analysis a person already reverted on the analysed branch.

A remediation merged and then reverted (``mendbot revert``, a ``git revert``) is a person's
decision: the report says so, with how to undo it, and propose never brings it back
(:mod:`bot.provenance.reverted` reads the branch's history).
"""

from __future__ import annotations

from pathlib import Path

from bot.analyze.pipeline import Analysis
from bot.analyze.plan import group
from bot.git import GitError
from bot.models import RevertedRemediation
from bot.provenance.reverted import reverted_remediations


def note_reverted(analysis: Analysis, root: Path) -> None:
    """Record in ``analysis`` the remediations it would make that were reverted on the branch
    checked out at ``root``; nothing when ``root`` is not a git checkout with history."""
    try:
        reverted = reverted_remediations(root, "HEAD")
    except GitError:
        return
    found = [
        RevertedRemediation(
            remediation=remediation.id,
            reverted_in=entry.reverted_in or "",
            reverted_by=entry.reverted_by,
        )
        for remediation in group(analysis.result.fixes)
        if (entry := reverted.get(remediation.id)) is not None
    ]
    if found:
        analysis.result = analysis.result.model_copy(update={"reverted": tuple(found)})
