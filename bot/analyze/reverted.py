"""Which fixes of an analysis a person already reverted on the analysed branch.

A remediation merged and then reverted (``mendbot revert``, a ``git revert``) is a person's
decision. The memory is kept per fix, not per remediation: each fix of the reverted
remediation is known by its rule, file and anchor (:mod:`bot.provenance.fix_anchor`), so it
stays out when the file changes around it — a step inserted before it, a new job with a fix
of the same rule. Reverted fixes are left out *before* fixes are grouped into remediations:
the new job's fix is proposed alone, the reverted one is not proposed again. The report lists
each one as ``reverted``, with how to undo it; ``--fix`` and ``--bundle-out`` leave it out;
propose checks again (:mod:`bot.provenance.reverted` reads the branch's history).
``propose.allow_reverted`` names the reverted remediations a person wants again.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bot import git
from bot.analyze.pipeline import Analysis
from bot.git import GitError
from bot.models import Fix, RevertedRemediation
from bot.provenance.fix_anchor import FixIdentity, anchor_at
from bot.provenance.reverted import reverted_fixes, reverted_remediations

#: One line on standard error when the checkout's history is cut (``{root}``: the analysed root).
SHALLOW_WARNING = (
    "warning: {root} is a shallow clone: analyze cannot see which remediations were reverted "
    "and may propose them again; check out the whole history (actions/checkout with "
    "fetch-depth: 0)"
)


def not_applied(entry: RevertedRemediation) -> str:
    """Why a reverted remediation's fixes are not applied, and how to apply them again."""
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
    """Finding id → the reverted remediation its fix belonged to."""
    shallow: bool = False
    """The checkout has no full history: what was reverted cannot be known."""

    @classmethod
    def of(cls, analysis: Analysis, root: Path, allowed: Collection[str]) -> RevertedHold:
        """The hold for ``analysis`` of ``root``: every fix of a reverted remediation not in
        ``allowed`` (``propose.allow_reverted``), matched by its :class:`FixIdentity`.
        Empty when ``root`` is not in a git checkout."""
        try:
            repo = git.toplevel(root)
            shallow = git.run(repo, "rev-parse", "--is-shallow-repository").strip() == b"true"
            reverted = {
                rid: entry
                for rid, entry in reverted_remediations(repo, "HEAD").items()
                if rid not in allowed
            }
            memory = reverted_fixes(repo, reverted) if reverted else {}
        except GitError:
            return cls()
        if not memory:
            return cls(shallow=shallow)
        findings = {finding.id: finding for finding in analysis.result.findings}
        held = {}
        for fix in analysis.result.fixes:
            finding = findings.get(fix.finding)
            outcome = analysis.files.get(fix.path)
            if finding is None or outcome is None:
                continue
            anchor = anchor_at(outcome.original, finding.location.line)
            if anchor is None:
                continue
            entry = memory.get(FixIdentity(fix.rule, fix.path, anchor))
            if entry is None:
                continue
            held[fix.finding] = RevertedRemediation(
                remediation=entry.remediation_id,
                reverted_in=entry.reverted_in or "",
                reverted_by=entry.reverted_by,
                finding=fix.finding,
                rule=fix.rule,
                path=fix.path,
                anchor=anchor,
            )
        return cls(held, shallow)

    def __bool__(self) -> bool:
        return bool(self.held)

    def __call__(self, fix: Fix) -> str | None:
        entry = self.held.get(fix.finding)
        return None if entry is None else not_applied(entry)

    def kept(self, fixes: Iterable[Fix]) -> list[Fix]:
        """``fixes`` without the held ones: what may be grouped into remediations."""
        return [fix for fix in fixes if fix.finding not in self.held]

    def reasons(self, fixes: Iterable[Fix] | None = None) -> dict[str, str]:
        """Reverted remediation id → why its fixes are not applied; with ``fixes``, only the
        remediations one of those fixes belonged to."""
        wanted = None if fixes is None else {fix.finding for fix in fixes}
        by_remediation = {
            entry.remediation: entry
            for finding, entry in sorted(self.held.items())
            if wanted is None or finding in wanted
        }
        return {rid: not_applied(entry) for rid, entry in sorted(by_remediation.items())}


def note_reverted(analysis: Analysis, hold: RevertedHold) -> None:
    """Record in ``analysis`` each of its fixes ``hold`` leaves out, and why."""
    present = {finding.id for finding in analysis.result.findings}
    found = tuple(
        entry
        for _, entry in sorted(hold.held.items(), key=lambda item: (item[1].path, item[0]))
        if entry.finding in present
    )
    if found:
        analysis.result = analysis.result.model_copy(update={"reverted": found})
