"""A repository on the fake GitHub with Actions settings, secrets, variables, deploy keys and
environments, and the environment ``mendbot inventory github`` runs with against it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fakegithub import TOKEN, FakeGitHub

REPOSITORY = "acme/app"
NAME = "acme--app.yml"
SETTINGS = f".mendbot/desired/github-settings/{NAME}"
NHI = f".mendbot/desired/github-nhi/{NAME}"


def seed(github: FakeGitHub, source: Path) -> Any:
    """``acme/app`` with two repository secrets, a variable, a write and a read-only deploy key,
    and a protected ``production`` environment holding one secret; Actions settings as GitHub's
    defaults for older repositories (write token, Actions may approve pull requests)."""
    repo = github.add_repo(REPOSITORY, source)
    repo.nhi.secrets = [
        {
            "name": "NPM_TOKEN",
            "created_at": "2024-02-01T10:00:00Z",
            "updated_at": "2024-06-01T10:00:00Z",
        },
        {
            "name": "OLD_DEPLOY_TOKEN",
            "created_at": "2021-03-02T09:14:00Z",
            "updated_at": "2021-03-02T09:14:00Z",
        },
    ]
    repo.nhi.variables = [{"name": "REGION", "value": "eu-west-1"}]
    repo.nhi.deploy_keys = [
        {
            "id": 71,
            "title": "release pusher",
            "read_only": False,
            "created_at": "2022-05-05T08:00:00Z",
            "last_used": "2026-11-30T12:00:00Z",
        },
        {
            "id": 42,
            "title": "mirror reader",
            "read_only": True,
            "created_at": "2023-01-01T00:00:00Z",
        },
    ]
    repo.nhi.environments = [
        {
            "name": "production",
            "protection_rules": [
                {"type": "wait_timer", "wait_timer": 30},
                {
                    "type": "required_reviewers",
                    "prevent_self_review": True,
                    "reviewers": [
                        {"type": "User", "reviewer": github.render_user("octocat")},
                    ],
                },
            ],
            "deployment_branch_policy": {
                "protected_branches": True,
                "custom_branch_policies": False,
            },
            "secrets": [{"name": "PROD_DB_PASSWORD", "updated_at": "2025-05-05T05:05:05Z"}],
        }
    ]
    return repo


def inventory_env(github: FakeGitHub, token: str = TOKEN) -> dict[str, str]:
    """This process's environment with the fake's API root and a token (in the environment,
    never on the command line)."""
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "GH_TOKEN")}
    env["GITHUB_API_URL"] = github.base_url
    env["GITHUB_TOKEN"] = token
    return env
