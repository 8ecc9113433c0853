"""Group fixes into remediations (one pull request each) with stable fingerprints."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from bot.models import Fix, Remediation, digest
from bot.risk import (
    WORST_BLAST_RADIUS,
    WORST_DISPOSITION,
    WORST_REVERSIBILITY,
    Ownership,
    worst,
)

_SLUG = re.compile(r"[^a-z0-9]+")

#: What puts fixes in one remediation: (remediation group, file, reversibility).
RemediationKey = tuple[str, str, str]


def remediation_key(fix: Fix) -> RemediationKey:
    """The key of the remediation :func:`group` puts ``fix`` in."""
    return (fix.group_key, fix.path, fix.reversibility.value)


def fingerprint(fixes: Iterable[Fix]) -> str:
    """sha256 over the canonical fixes (rule, path, patches), independent of their order. A
    fix with a :attr:`~bot.models.Fix.target` counts by its target and its operations without
    their routes: the same change of the same object keeps its fingerprint when the object
    moves in the file (a closed proposal stays closed after an inventory refresh)."""
    canonical = sorted(
        (_canonical(fix) for fix in fixes),
        key=lambda item: (
            item["rule"],
            item["path"],
            str(item.get("target")),
            str(item["patches"]),
        ),
    )
    return digest(canonical)


def _canonical(fix: Fix) -> dict[str, Any]:
    patches = [patch.model_dump(mode="json") for patch in fix.patches]
    if fix.target is None:
        return {"rule": fix.rule, "path": fix.path, "patches": patches}
    for patch in patches:
        patch.pop("route", None)
    return {"rule": fix.rule, "path": fix.path, "target": fix.target, "patches": patches}


def slug(text: str) -> str:
    """A branch-safe slug: lower-case ASCII letters, digits and dashes, at most 40 chars."""
    return _SLUG.sub("-", text.lower()).strip("-")[:40].strip("-") or "repo"


def group(fixes: Iterable[Fix]) -> list[Remediation]:
    """One remediation per (remediation group, file, reversibility), sorted by id.

    Small reviewable PRs; fixes that depend on each other (one group) travel together, so a
    revert never leaves half of them; irreversible changes never share a PR with reversible
    ones.
    """
    buckets: dict[RemediationKey, list[Fix]] = {}
    for fix in fixes:
        buckets.setdefault(remediation_key(fix), []).append(fix)
    remediations = []
    for (name, path, _), members in buckets.items():
        fp = fingerprint(members)
        target = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        titles = sorted({f.title for f in members})
        summary = titles[0] if len(titles) == 1 else f"{titles[0]} and {len(titles) - 1} more"
        remediations.append(
            Remediation(
                id=f"{name}/{slug(target)}-{fp[:8]}",
                fingerprint=fp,
                title=f"{name}: {summary} in {path}",
                rules=tuple(sorted({f.rule for f in members})),
                paths=(path,),
                fixes=tuple(members),
                disposition=worst((f.disposition for f in members), default=WORST_DISPOSITION),
                reversibility=worst(
                    (f.reversibility for f in members), default=WORST_REVERSIBILITY
                ),
                blast_radius=worst((f.blast_radius for f in members), default=WORST_BLAST_RADIUS),
                ownership=_ownership(members),
                second_order=any(fix.second_order for fix in members),
            )
        )
    return sorted(remediations, key=lambda r: r.id)


def _ownership(fixes: list[Fix]) -> Ownership | None:
    """``unknown`` when any fix changes an identity without owner; None when none changes one."""
    known = [fix.ownership for fix in fixes if fix.ownership is not None]
    return worst(known, default=Ownership.UNKNOWN) if known else None
