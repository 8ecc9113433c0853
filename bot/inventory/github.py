"""One repository's Actions settings and non-human identities, read through
:class:`~bot.inventory.github_reader.GithubReader`, as the ``github-settings`` and ``github-nhi``
desired-state models.

Deterministic: every list is sorted (secrets, variables and environments by name, deploy keys
by id, reviewers by kind and name), times are whole-second UTC, and nothing records when the
inventory ran, so an unchanged repository gives the same models. Secret values are never
readable through GitHub's API, and variable values are not recorded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote

from pydantic import ValidationError

from bot.desired import (
    ActionsSecret,
    ActionsSettings,
    ActionsVariable,
    BranchPolicy,
    DeployKey,
    GithubEnvironment,
    GithubNhi,
    GithubSettings,
    ProtectionRule,
    SelectedActions,
)
from bot.inventory.errors import InventoryError
from bot.inventory.github_reader import (
    ACTIONS_PERMISSIONS,
    DEPLOY_KEYS,
    ENVIRONMENT_SECRETS,
    ENVIRONMENTS,
    REPO_SECRETS,
    REPO_VARIABLES,
    SELECTED_ACTIONS,
    WORKFLOW_PERMISSIONS,
    GithubReader,
)

_M = TypeVar("_M")


def collect_settings(reader: GithubReader, repository: str) -> GithubSettings:
    """The repository's Actions settings (``github-settings``)."""
    permissions = _mapping(reader.get(ACTIONS_PERMISSIONS, "/actions/permissions"))
    workflow = _mapping(reader.get(WORKFLOW_PERMISSIONS, "/actions/permissions/workflow"))
    allowed = permissions.get("allowed_actions")
    selected = None
    if allowed == "selected":
        # GitHub has an allow list only while allowed_actions is `selected`.
        listed = _mapping(reader.get(SELECTED_ACTIONS, "/actions/permissions/selected-actions"))
        selected = _build(
            SelectedActions,
            "selected_actions",
            github_owned_allowed=bool(listed.get("github_owned_allowed", False)),
            verified_allowed=bool(listed.get("verified_allowed", False)),
            patterns_allowed=tuple(sorted(str(p) for p in listed.get("patterns_allowed") or ())),
        )
    actions = _build(
        ActionsSettings,
        "actions",
        default_workflow_permissions=workflow.get("default_workflow_permissions"),
        can_approve_pull_request_reviews=workflow.get("can_approve_pull_request_reviews"),
        allowed_actions=allowed,
        selected_actions=selected,
    )
    return _build(GithubSettings, "repository", repository=repository, actions=actions)


def collect_nhi(reader: GithubReader, repository: str) -> GithubNhi:
    """The repository's secrets, variables, deploy keys and environments (``github-nhi``)."""
    secrets = _secrets(reader.pages(REPO_SECRETS, "/actions/secrets", "secrets"))
    variables = sorted(
        (
            _build(
                ActionsVariable,
                f"variable {item.get('name')!r}",
                name=item.get("name"),
                created_at=iso(item.get("created_at")),
                updated_at=iso(item.get("updated_at")),
            )
            for item in _mappings(reader.pages(REPO_VARIABLES, "/actions/variables", "variables"))
        ),
        key=lambda v: v.name,
    )
    keys = sorted(
        (
            _build(
                DeployKey,
                f"deploy key {item.get('id')!r}",
                id=item.get("id"),
                title=item.get("title"),
                read_only=item.get("read_only"),
                created_at=iso(item.get("created_at")),
                last_used=iso(item.get("last_used")),
            )
            for item in _mappings(reader.pages(DEPLOY_KEYS, "/keys", None))
        ),
        key=lambda k: k.id,
    )
    environments = []
    for item in _mappings(reader.pages(ENVIRONMENTS, "/environments", "environments")):
        name = str(item.get("name", ""))
        path = f"/environments/{quote(name, safe='')}/secrets"
        environments.append(
            _build(
                GithubEnvironment,
                f"environment {name!r}",
                name=name,
                protection_rules=_rules(item.get("protection_rules")),
                deployment_branch_policy=_branch_policy(item.get("deployment_branch_policy")),
                secrets=_secrets(reader.pages(ENVIRONMENT_SECRETS, path, "secrets")),
            )
        )
    environments.sort(key=lambda e: e.name)
    return _build(
        GithubNhi,
        "repository",
        repository=repository,
        secrets=secrets,
        variables=tuple(variables),
        deploy_keys=tuple(keys),
        environments=tuple(environments),
    )


def _secrets(items: Iterable[Any]) -> tuple[ActionsSecret, ...]:
    return tuple(
        sorted(
            (
                _build(
                    ActionsSecret,
                    f"secret {item.get('name')!r}",
                    name=item.get("name"),
                    created_at=iso(item.get("created_at")),
                    updated_at=iso(item.get("updated_at")),
                )
                for item in _mappings(items)
            ),
            key=lambda s: s.name,
        )
    )


def _rules(raw: Any) -> tuple[ProtectionRule, ...]:
    rules = []
    for item in _mappings(raw or ()):
        reviewers = sorted(
            f"{entry.get('type')}:{_reviewer_name(entry.get('reviewer'))}"
            for entry in _mappings(item.get("reviewers") or ())
        )
        rules.append(
            _build(
                ProtectionRule,
                f"protection rule {item.get('type')!r}",
                type=item.get("type"),
                wait_timer=item.get("wait_timer"),
                prevent_self_review=item.get("prevent_self_review"),
                reviewers=tuple(reviewers),
            )
        )
    return tuple(sorted(rules, key=lambda r: (r.type, r.reviewers, r.wait_timer or 0)))


def _reviewer_name(reviewer: Any) -> str:
    if not isinstance(reviewer, Mapping):
        return "?"
    return str(reviewer.get("login") or reviewer.get("slug") or reviewer.get("name") or "?")


def _branch_policy(raw: Any) -> BranchPolicy | None:
    if not isinstance(raw, Mapping):
        return None
    return _build(
        BranchPolicy,
        "deployment_branch_policy",
        protected_branches=bool(raw.get("protected_branches")),
        custom_branch_policies=bool(raw.get("custom_branch_policies")),
    )


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _mappings(items: Iterable[Any]) -> Iterable[Mapping[str, Any]]:
    return (item for item in items if isinstance(item, Mapping))


def _build(model: type[_M], what: str, **fields: Any) -> _M:
    """``model(**fields)`` from GitHub's answer; raises :class:`InventoryError` for a value the
    format cannot hold (nothing is written then)."""
    try:
        return model(**fields)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = ".".join(str(part) for part in error["loc"])
        raise InventoryError(
            f"GitHub returned a value the inventory format cannot hold for {what}: "
            f"{name}: {error['msg']}",
            advice="nothing was written; report this to mendbot with the field above",
        ) from None


def iso(text: Any) -> str | None:
    """GitHub's ISO-8601 time as whole-second UTC with ``Z`` (the desired-state format's
    times); None stays None, and so does a value that is not a time."""
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
