"""zizmor's audit names and the mendbot rules that cover the same problem.

Used to honour ``# zizmor: ignore[<audit>]`` comments and ``zizmor.yml`` ignores: a person who
told zizmor a finding is intended told mendbot too. Rendered into docs/rules.md.
"""

from __future__ import annotations

#: zizmor audit → the mendbot rules reporting the same problem.
ZIZMOR_AUDITS: dict[str, tuple[str, ...]] = {
    "artipacked": ("gha-persist-credentials",),
    "bot-conditions": ("gha-spoofable-bot-check",),
    "cache-poisoning": ("gha-cache-poisoning",),
    "dangerous-triggers": ("gha-dangerous-triggers",),
    "dependabot-cooldown": ("gha-dependabot-cooldown",),
    "excessive-permissions": (
        "gha-excessive-permissions",
        "gha-job-permissions",
        "gha-missing-permissions",
    ),
    "github-env": ("gha-github-env",),
    "hardcoded-container-credentials": ("gha-hardcoded-container-credentials",),
    "insecure-commands": ("gha-insecure-commands",),
    "overprovisioned-secrets": ("gha-overprovisioned-secrets",),
    "ref-confusion": ("gha-ref-confusion",),
    "ref-version-mismatch": ("gha-ref-version-mismatch",),
    "secrets-inherit": ("gha-secrets-inherit",),
    "self-hosted-runner": ("gha-self-hosted-runner",),
    "template-injection": ("gha-template-injection",),
    "unpinned-images": ("gha-unpinned-images",),
    "unpinned-uses": ("gha-unpinned-uses",),
    "unredacted-secrets": ("gha-unredacted-secrets",),
    "unsound-condition": ("gha-unsound-condition",),
    "unsound-contains": ("gha-unsound-contains",),
    "use-trusted-publishing": ("gha-use-trusted-publishing",),
}


def rules_for_audit(audit: str) -> tuple[str, ...]:
    """The mendbot rules covering zizmor's ``audit`` (empty for audits mendbot lacks)."""
    return ZIZMOR_AUDITS.get(audit.strip(), ())


def audits_for_rule(rule: str) -> tuple[str, ...]:
    """zizmor audits whose suppressions also suppress ``rule``."""
    return tuple(audit for audit, rules in ZIZMOR_AUDITS.items() if rule in rules)
