"""The text of the GitHub inventory files: one fixed layout, so equal models give equal bytes.

Fields appear in the model's order, every free-form string is double-quoted (JSON escapes are
YAML escapes), enum values and booleans are bare, lines end with LF, and the header says what
wrote the file without a date: a rerun on an unchanged repository rewrites nothing.
"""

from __future__ import annotations

from bot.desired import (
    ActionsSecret,
    ActionsVariable,
    DeployKey,
    GithubEnvironment,
    GithubNhi,
    GithubSettings,
    ProtectionRule,
)
from bot.inventory.render import quoted

SETTINGS_HEADER = (
    "# Actions settings of GitHub repository {repository}, as `mendbot inventory github`\n"
    "# observed them. Remediations change these values; `mendbot deploy` applies merged\n"
    "# changes. Rerun the inventory to refresh.\n"
)
NHI_HEADER = (
    "# Non-human identities of GitHub repository {repository} (Actions secrets and variables,\n"
    "# deploy keys, environments), as `mendbot inventory github` observed them. Secret values\n"
    "# are never readable; removing a secret here asks for its deletion (irreversible).\n"
)


def _flag(value: bool | None) -> str:
    return "null" if value is None else ("true" if value else "false")


def render_settings(settings: GithubSettings) -> str:
    """The file ``.mendbot/desired/github-settings/<owner>--<name>.yml``."""
    actions = settings.actions
    lines = [
        SETTINGS_HEADER.format(repository=settings.repository).rstrip("\n"),
        f"kind: {settings.kind}",
        f"version: {settings.version}",
        f"repository: {quoted(settings.repository)}",
        "actions:",
    ]
    if actions.default_workflow_permissions is not None:
        lines.append(f"  default_workflow_permissions: {actions.default_workflow_permissions}")
    if actions.can_approve_pull_request_reviews is not None:
        lines.append(
            "  can_approve_pull_request_reviews: " + _flag(actions.can_approve_pull_request_reviews)
        )
    if actions.allowed_actions is not None:
        lines.append(f"  allowed_actions: {actions.allowed_actions}")
    selected = actions.selected_actions
    if selected is not None:
        lines += [
            "  selected_actions:",
            f"    github_owned_allowed: {_flag(selected.github_owned_allowed)}",
            f"    verified_allowed: {_flag(selected.verified_allowed)}",
            "    patterns_allowed: " + ("[]" if not selected.patterns_allowed else ""),
            *(f"      - {quoted(pattern)}" for pattern in selected.patterns_allowed),
        ]
    if lines[-1] == "actions:":
        lines[-1] = "actions: {}"
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _dated(item: ActionsSecret | ActionsVariable, indent: str) -> list[str]:
    return [
        f"{indent}- name: {item.name}",
        f"{indent}  created_at: {quoted(item.created_at)}",
        f"{indent}  updated_at: {quoted(item.updated_at)}",
    ]


def _list(name: str, indent: str, entries: list[list[str]]) -> list[str]:
    if not entries:
        return [f"{indent}{name}: []"]
    return [f"{indent}{name}:", *(line for entry in entries for line in entry)]


def _key(key: DeployKey) -> list[str]:
    return [
        f"  - id: {key.id}",
        f"    title: {quoted(key.title)}",
        f"    read_only: {_flag(key.read_only)}",
        f"    created_at: {quoted(key.created_at)}",
        f"    last_used: {quoted(key.last_used)}",
    ]


def _rule(rule: ProtectionRule) -> list[str]:
    lines = [f"      - type: {quoted(rule.type)}"]
    if rule.wait_timer is not None:
        lines.append(f"        wait_timer: {rule.wait_timer}")
    if rule.prevent_self_review is not None:
        lines.append(f"        prevent_self_review: {_flag(rule.prevent_self_review)}")
    if rule.reviewers:
        lines.append("        reviewers:")
        lines += [f"          - {quoted(reviewer)}" for reviewer in rule.reviewers]
    return lines


def _environment(environment: GithubEnvironment) -> list[str]:
    policy = environment.deployment_branch_policy
    lines = [f"  - name: {quoted(environment.name)}"]
    lines += _list("protection_rules", "    ", [_rule(r) for r in environment.protection_rules])
    if policy is None:
        lines.append("    deployment_branch_policy: null")
    else:
        lines += [
            "    deployment_branch_policy:",
            f"      protected_branches: {_flag(policy.protected_branches)}",
            f"      custom_branch_policies: {_flag(policy.custom_branch_policies)}",
        ]
    lines += _list("secrets", "    ", [_dated(s, "      ") for s in environment.secrets])
    return lines


def render_nhi(inventory: GithubNhi) -> str:
    """The file ``.mendbot/desired/github-nhi/<owner>--<name>.yml``."""
    lines = [
        NHI_HEADER.format(repository=inventory.repository).rstrip("\n"),
        f"kind: {inventory.kind}",
        f"version: {inventory.version}",
        f"repository: {quoted(inventory.repository)}",
    ]
    lines += _list("secrets", "", [_dated(s, "  ") for s in inventory.secrets])
    lines += _list("variables", "", [_dated(v, "  ") for v in inventory.variables])
    lines += _list("deploy_keys", "", [_key(k) for k in inventory.deploy_keys])
    lines += _list("environments", "", [_environment(e) for e in inventory.environments])
    return "\n".join(lines) + "\n"
