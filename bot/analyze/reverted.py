"""Which remediations of an analysis a person already reverted on the analysed branch.

A remediation merged and then reverted (``mendbot revert``, a ``git revert``) is a person's
decision: the report says so, with how to undo it, ``--fix`` and ``--bundle-out`` leave it out,
and propose never brings it back (:mod:`bot.provenance.reverted` reads the branch's history).
``propose.allow_reverted`` names the ones a person wants again.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bot.analyze.pipeline import Analysis
from bot.analyze.plan import RemediationKey, group, remediation_key
from bot.git import GitError
from bot.models import Fix, RevertedRemediation
from bot.provenance.reverted import reverted_remediations


def reverted_in(analysis: Analysis, root: Path) -> tuple[RevertedRemediation, ...]:
    """The remediations ``analysis`` would make that were reverted on the branch checked out
    at ``root``; none when ``root`` is not a git checkout with history."""
    try:
        reverted = reverted_remediations(root, "HEAD")
    except GitError:
        return ()
    if not reverted:  # grouping every fix into remediations costs more than git did
        return ()
    return tuple(
        RevertedRemediation(
            remediation=remediation.id,
            reverted_in=entry.reverted_in or "",
            reverted_by=entry.reverted_by,
        )
        for remediation in group(analysis.result.fixes)
        if (entry := reverted.get(remediation.id)) is not None
    )


def note_reverted(analysis: Analysis, root: Path) -> None:
    """Record in ``analysis`` the remediations it would make that were reverted on the branch
    checked out at ``root`` (see :func:`reverted_in`)."""
    found = reverted_in(analysis, root)
    if found:
        analysis.result = analysis.result.model_copy(update={"reverted": found})


def not_applied(entry: RevertedRemediation) -> str:
    """Why a reverted remediation is not applied, and how to apply it again."""
    return (
        f"reverted in {entry.reverted_in[:12]} by {entry.reverted_by}: not applied; "
        f"`mendbot unignore {entry.remediation}` (it lists it under `propose.allow_reverted` "
        "in .github/mendbot.yml) to apply it again"
    )


@dataclass(frozen=True)
class RevertedHold:
    """Holds back the fixes of reverted remediations a person did not allow again: a
    :data:`~bot.analyze.pipeline.FixHold` for :func:`~bot.analyze.pipeline.analyze`."""

    held: dict[str, RevertedRemediation] = field(default_factory=dict)
    """Remediation id → how it was reverted."""
    keys: dict[RemediationKey, str] = field(default_factory=dict)
    """The remediation key of each held remediation → its id."""

    @classmethod
    def of(cls, analysis: Analysis, root: Path, allowed: Collection[str]) -> RevertedHold:
        """The hold for ``analysis`` of ``root``: every reverted remediation not in
        ``allowed`` (``propose.allow_reverted``)."""
        reverted = {entry.remediation: entry for entry in reverted_in(analysis, root)}
        held = {rid: entry for rid, entry in reverted.items() if rid not in allowed}
        if not held:
            return cls()
        keys = {
            remediation_key(remediation.fixes[0]): remediation.id
            for remediation in group(analysis.result.fixes)
            if remediation.id in held
        }
        return cls(held, keys)

    def __bool__(self) -> bool:
        return bool(self.held)

    def __call__(self, fix: Fix) -> str | None:
        rid = self.keys.get(remediation_key(fix))
        return None if rid is None else not_applied(self.held[rid])

    def reasons(self, fixes: Iterable[Fix] | None = None) -> dict[str, str]:
        """Remediation id → why it is not applied; with ``fixes``, only the remediations
        one of those fixes belongs to."""
        wanted = None if fixes is None else {self.keys.get(remediation_key(f)) for f in fixes}
        return {
            rid: not_applied(entry)
            for rid, entry in sorted(self.held.items())
            if wanted is None or rid in wanted
        }
