"""zizmor's audit names and the mendbot rules that cover the same problem.

Used to honour ``# zizmor: ignore[<audit>]`` comments and ``zizmor.yml`` ignores: a person who
told zizmor a finding is intended told mendbot too. Rendered into docs/rules.md.
"""

from __future__ import annotations

from dataclasses import dataclass

#: zizmor audit → the mendbot rules reporting the same problem.
ZIZMOR_AUDITS: dict[str, tuple[str, ...]] = {
    "adhoc-packages": ("gha-adhoc-packages",),
    "anonymous-definition": ("gha-anonymous-definition",),
    "archived-uses": ("gha-archived-uses",),
    "artipacked": ("gha-persist-credentials",),
    "bot-conditions": ("gha-spoofable-bot-check",),
    "cache-poisoning": ("gha-cache-poisoning",),
    "concurrency-limits": ("gha-concurrency-limits",),
    "dangerous-triggers": ("gha-dangerous-triggers",),
    "dependabot-cooldown": ("gha-dependabot-cooldown",),
    "dependabot-execution": ("gha-dependabot-execution",),
    "excessive-permissions": (
        "gha-excessive-permissions",
        "gha-job-permissions",
        "gha-missing-permissions",
    ),
    "forbidden-uses": ("gha-forbidden-uses",),
    "github-app": ("gha-github-app",),
    "github-env": ("gha-github-env",),
    "hardcoded-container-credentials": ("gha-hardcoded-container-credentials",),
    "impostor-commit": ("gha-impostor-commit",),
    "insecure-commands": ("gha-insecure-commands",),
    "insecure-url-scheme": ("gha-insecure-url-scheme",),
    "known-vulnerable-actions": ("gha-known-vulnerable-actions",),
    "misfeature": ("gha-misfeature",),
    "obfuscation": ("gha-obfuscation",),
    "overprovisioned-secrets": ("gha-overprovisioned-secrets",),
    "ref-confusion": ("gha-ref-confusion",),
    "ref-version-mismatch": ("gha-ref-version-mismatch",),
    "secrets-inherit": ("gha-secrets-inherit",),
    "secrets-outside-env": ("gha-secrets-outside-env",),
    "self-hosted-runner": ("gha-self-hosted-runner",),
    "self-repository": ("gha-self-repository",),
    "stale-action-refs": ("gha-stale-action-refs",),
    "superfluous-actions": ("gha-superfluous-actions",),
    "template-injection": ("gha-template-injection",),
    "typosquat-uses": ("gha-typosquat-uses",),
    "undocumented-permissions": ("gha-undocumented-permissions",),
    "unpinned-images": ("gha-unpinned-images",),
    "unpinned-tools": ("gha-unpinned-tools",),
    "unpinned-uses": ("gha-unpinned-uses",),
    "unredacted-secrets": ("gha-unredacted-secrets",),
    "unsafe-checkout": ("gha-unsafe-checkout",),
    "unsound-condition": ("gha-unsound-condition",),
    "unsound-contains": ("gha-unsound-contains",),
    "unsound-ternary": ("gha-unsound-ternary",),
    "use-trusted-publishing": ("gha-use-trusted-publishing",),
}


@dataclass(frozen=True)
class ZizmorAudit:
    """One audit of zizmor, as ``docs/zizmor-mapping.md`` lists it."""

    name: str
    detects: str
    """What it reports, in a short phrase (mendbot's words)."""
    since: str = "1.32"
    """The first zizmor release mendbot compares with that has it (1.32 or 1.33)."""
    online: bool = False
    """Whether zizmor needs the network for it."""
    zizmor_fixes: bool = False
    """Whether zizmor proposes fixes for its findings."""


#: Every audit of zizmor 1.32 and 1.33, covered or not (read from their audit registries).
ZIZMOR_AUDIT_CATALOGUE: tuple[ZizmorAudit, ...] = (
    ZizmorAudit("adhoc-packages", "tools installed ad hoc in `run:` (`pip install`, `curl | sh`)"),
    ZizmorAudit("anonymous-definition", "workflows and jobs without a `name:`"),
    ZizmorAudit("archived-uses", "actions from archived repositories"),
    ZizmorAudit("artipacked", "checkout credentials left in `.git/config`", zizmor_fixes=True),
    ZizmorAudit("bot-conditions", "bot checks on the spoofable actor", zizmor_fixes=True),
    ZizmorAudit("cache-poisoning", "caches restored into publishing runs", zizmor_fixes=True),
    ZizmorAudit("concurrency-limits", "workflows without a `concurrency:` limit"),
    ZizmorAudit("dangerous-triggers", "`pull_request_target` and `workflow_run`"),
    ZizmorAudit("dependabot-cooldown", "Dependabot updates without a cooldown", zizmor_fixes=True),
    ZizmorAudit(
        "dependabot-execution", "Dependabot allowed to run external code", zizmor_fixes=True
    ),
    ZizmorAudit("excessive-permissions", "token permissions broader than needed"),
    ZizmorAudit("forbidden-uses", "actions a configured allow/deny list forbids"),
    ZizmorAudit("github-app", "app tokens without narrowed permissions or repositories"),
    ZizmorAudit("github-env", "untrusted data written to `GITHUB_ENV`/`GITHUB_PATH`"),
    ZizmorAudit("hardcoded-container-credentials", "container registry passwords in the file"),
    ZizmorAudit("impostor-commit", "pinned commits that only exist in a fork", online=True),
    ZizmorAudit("insecure-commands", "`ACTIONS_ALLOW_UNSECURE_COMMANDS`", zizmor_fixes=True),
    ZizmorAudit("insecure-url-scheme", "`http://` and other plain-text URLs"),
    ZizmorAudit(
        "known-vulnerable-actions",
        "action versions with a published advisory",
        online=True,
        zizmor_fixes=True,
    ),
    ZizmorAudit("misfeature", "features best avoided (`shell: cmd`, pip's extra index)"),
    ZizmorAudit("obfuscation", "needlessly obscured `uses:` and expressions", zizmor_fixes=True),
    ZizmorAudit("overprovisioned-secrets", "`toJSON(secrets)` and computed `secrets[…]`"),
    ZizmorAudit("ref-confusion", "refs that name both a branch and a tag", online=True),
    ZizmorAudit(
        "ref-version-mismatch",
        "pinned commits whose version comment is wrong",
        online=True,
        zizmor_fixes=True,
    ),
    ZizmorAudit("secrets-inherit", "`secrets: inherit` to a called workflow"),
    ZizmorAudit("secrets-outside-env", "secrets used in a job without an `environment:`"),
    ZizmorAudit("self-hosted-runner", "jobs on self-hosted runners"),
    ZizmorAudit(
        "self-repository", "`uses: ./…` where the repository's own ref is meant", zizmor_fixes=True
    ),
    ZizmorAudit("stale-action-refs", "pinned commits that no tag points to", online=True),
    ZizmorAudit("superfluous-actions", "actions that redo what the runner image provides"),
    ZizmorAudit("template-injection", "expressions expanded into scripts", zizmor_fixes=True),
    ZizmorAudit("typosquat-uses", "action names one typo away from popular ones"),
    ZizmorAudit("undocumented-permissions", "write permissions without an explaining comment"),
    ZizmorAudit("unpinned-images", "container images without a digest"),
    ZizmorAudit("unpinned-tools", "setup actions installing a tool without a version"),
    ZizmorAudit("unpinned-uses", "actions not pinned to a commit", zizmor_fixes=True),
    ZizmorAudit("unredacted-secrets", "values decoded from secrets (`fromJSON(secrets.X)`)"),
    ZizmorAudit("unsafe-checkout", "unsafe Git checkouts (zizmor's own title)", "1.33"),
    ZizmorAudit("unsound-condition", "`if:` values that are always true", zizmor_fixes=True),
    ZizmorAudit("unsound-contains", "`contains()` on a string used as list membership"),
    ZizmorAudit("unsound-ternary", "`a && b || c` where `b` can be falsy"),
    ZizmorAudit("use-trusted-publishing", "long-lived registry tokens where OIDC is accepted"),
)


def rules_for_audit(audit: str) -> tuple[str, ...]:
    """The mendbot rules covering zizmor's ``audit`` (empty for audits mendbot lacks)."""
    return ZIZMOR_AUDITS.get(audit.strip(), ())


def audits_for_rule(rule: str) -> tuple[str, ...]:
    """zizmor audits whose suppressions also suppress ``rule``."""
    return tuple(audit for audit, rules in ZIZMOR_AUDITS.items() if rule in rules)
