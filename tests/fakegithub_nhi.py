"""The inventory side of the fake GitHub: a repository's Actions secrets and variables, deploy
keys and environments (with their secrets), read-only except for deleting a secret (what the
deploy job's secret deletion does: ``DELETE …/actions/secrets/{name}`` and its environment
counterpart, recorded in :attr:`NhiState.deleted`).

Mixed into :class:`fakegithub.FakeGitHub`: handlers are found by operation id like the others,
and their responses are validated against the OpenAPI subset the same way. Lists are paginated
as GitHub paginates them (``per_page``/``page`` and a ``Link: rel="next"`` header). A test sets
the state on :attr:`FakeRepo.nhi` and may deny operations to the token (``denied``: answered 403
``Resource not accessible by personal access token``, as GitHub answers a fine-grained token
missing a permission). Secret values do not exist here either: GitHub never returns them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: What each route of this module needs of a fine-grained token (GitHub's docs' names).
NHI_PERMISSIONS: dict[str, str] = {
    "actions/list-repo-secrets": "Secrets: read",
    "actions/list-repo-variables": "Variables: read",
    "repos/list-deploy-keys": "Administration: read",
    "repos/get-all-environments": "Actions: read",
    "actions/list-environment-secrets": "Environments: read",
}
_DENIED = "Resource not accessible by personal access token"


@dataclass
class NhiState:
    """A repository's secrets, variables, deploy keys and environments, as tests set them."""

    secrets: list[dict[str, Any]] = field(default_factory=list)
    """``{"name", "created_at", "updated_at"}`` each."""
    variables: list[dict[str, Any]] = field(default_factory=list)
    """``{"name", "value", "created_at", "updated_at"}`` each."""
    deploy_keys: list[dict[str, Any]] = field(default_factory=list)
    """``{"id", "title", "read_only", "created_at", "last_used", "key"}`` each."""
    environments: list[dict[str, Any]] = field(default_factory=list)
    """``{"name", "protection_rules", "deployment_branch_policy", "secrets"}`` each."""
    denied: set[str] = field(default_factory=set)
    """Operation ids the token may not call (403)."""
    next_origin: str | None = None
    """A fault: the origin ``Link: rel="next"`` points to instead of the server's own."""
    deleted: list[str] = field(default_factory=list)
    """``secret:<NAME>`` / ``environment:<env>/secret:<NAME>`` of each secret deleted."""
    undeletable: set[str] = field(default_factory=set)
    """A fault: secrets whose DELETE answers 204 but that stay (the next GET finds them)."""


class NhiRoutes:
    """Handlers of the inventory routes (see the module docstring)."""

    # Provided by FakeGitHub.
    _local: Any

    def _nhi(self, params: dict[str, str], operation: str) -> NhiState:
        from fakegithub import HttpError

        repo = self._repo(params)  # type: ignore[attr-defined]
        state: NhiState = repo.nhi
        if operation in state.denied:
            raise HttpError(403, _DENIED)
        return state

    def _page(
        self, state: NhiState, items: list[Any], query: dict[str, str]
    ) -> tuple[list[Any], dict[str, str]]:
        chunk, headers = self._paginate(items, query)  # type: ignore[attr-defined]
        if state.next_origin is not None and "Link" in headers:
            origin = self.origin  # type: ignore[attr-defined]
            headers["Link"] = headers["Link"].replace(origin, state.next_origin)
        return chunk, headers

    def op_actions_list_repo_secrets(self, params, query, payload):
        state = self._nhi(params, "actions/list-repo-secrets")
        chunk, headers = self._page(state, state.secrets, query)
        body = {"total_count": len(state.secrets), "secrets": [_secret(s) for s in chunk]}
        return 200, body, headers

    def op_actions_list_repo_variables(self, params, query, payload):
        state = self._nhi(params, "actions/list-repo-variables")
        chunk, headers = self._page(state, state.variables, query)
        variables = [
            {
                "name": v["name"],
                "value": v.get("value", ""),
                "created_at": v.get("created_at", "2025-01-01T00:00:00Z"),
                "updated_at": v.get("updated_at", "2025-01-01T00:00:00Z"),
            }
            for v in chunk
        ]
        return 200, {"total_count": len(state.variables), "variables": variables}, headers

    def op_repos_list_deploy_keys(self, params, query, payload):
        state = self._nhi(params, "repos/list-deploy-keys")
        chunk, headers = self._page(state, state.deploy_keys, query)
        repo_url = self._repo_url(self._repo(params))  # type: ignore[attr-defined]
        keys = [
            {
                "id": k["id"],
                "key": k.get("key", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeFakeFake"),
                "url": f"{repo_url}/keys/{k['id']}",
                "title": k["title"],
                "verified": True,
                "created_at": k.get("created_at", "2025-01-01T00:00:00Z"),
                "read_only": k["read_only"],
                "added_by": k.get("added_by"),
                "last_used": k.get("last_used"),
                "enabled": True,
            }
            for k in chunk
        ]
        return 200, keys, headers

    def op_repos_get_all_environments(self, params, query, payload):
        state = self._nhi(params, "repos/get-all-environments")
        chunk, headers = self._page(state, state.environments, query)
        repo = self._repo(params)  # type: ignore[attr-defined]
        environments = [self._environment(repo, number, e) for number, e in enumerate(chunk, 1)]
        return 200, {"total_count": len(state.environments), "environments": environments}, headers

    def _environment(self, repo: Any, number: int, environment: dict[str, Any]) -> dict[str, Any]:
        name = environment["name"]
        body: dict[str, Any] = {
            "id": 5000 + number,
            "node_id": f"EN_{number}",
            "name": name,
            "url": f"{self._repo_url(repo)}/environments/{name}",  # type: ignore[attr-defined]
            "html_url": f"https://github.example/{repo.owner}/{repo.name}/deployments",
            "created_at": "2025-01-01T00:00:00Z",
            "updated_at": environment.get("updated_at", "2025-01-01T00:00:00Z"),
            "protection_rules": [
                {"id": 3000 + i, "node_id": f"GA_{i}", **rule}
                for i, rule in enumerate(environment.get("protection_rules", []))
            ],
        }
        if environment.get("deployment_branch_policy") is not None:
            body["deployment_branch_policy"] = environment["deployment_branch_policy"]
        return body

    def op_actions_list_environment_secrets(self, params, query, payload):
        from fakegithub import HttpError

        state = self._nhi(params, "actions/list-environment-secrets")
        found = [e for e in state.environments if e["name"] == params["environment_name"]]
        if not found:
            raise HttpError(404, "Not Found")
        secrets = found[0].get("secrets", [])
        chunk, headers = self._page(state, secrets, query)
        return 200, {"total_count": len(secrets), "secrets": [_secret(s) for s in chunk]}, headers

    # -- one secret: read and delete (the deploy job) ----------------------------------------
    def _one(self, secrets: list[dict[str, Any]], name: str) -> dict[str, Any]:
        from fakegithub import HttpError

        found = [s for s in secrets if s["name"].upper() == name.upper()]
        if not found:
            raise HttpError(404, "Not Found")
        return found[0]

    def _environment_secrets(self, state: NhiState, environment: str) -> list[dict[str, Any]]:
        from fakegithub import HttpError

        found = [e for e in state.environments if e["name"] == environment]
        if not found:
            raise HttpError(404, "Not Found")
        secrets: list[dict[str, Any]] = found[0].setdefault("secrets", [])
        return secrets

    def _delete(self, state: NhiState, secrets: list[dict[str, Any]], name: str, key: str) -> None:
        secret = self._one(secrets, name)
        if key in state.undeletable:
            return
        secrets.remove(secret)
        state.deleted.append(key)

    def op_actions_get_repo_secret(self, params, query, payload):
        state = self._nhi(params, "actions/get-repo-secret")
        return 200, _secret(self._one(state.secrets, params["secret_name"]))

    def op_actions_delete_repo_secret(self, params, query, payload):
        state = self._nhi(params, "actions/delete-repo-secret")
        name = params["secret_name"]
        self._delete(state, state.secrets, name, f"secret:{name}")
        return 204, None

    def op_actions_get_environment_secret(self, params, query, payload):
        state = self._nhi(params, "actions/get-environment-secret")
        secrets = self._environment_secrets(state, params["environment_name"])
        return 200, _secret(self._one(secrets, params["secret_name"]))

    def op_actions_delete_environment_secret(self, params, query, payload):
        state = self._nhi(params, "actions/delete-environment-secret")
        environment, name = params["environment_name"], params["secret_name"]
        secrets = self._environment_secrets(state, environment)
        self._delete(state, secrets, name, f"environment:{environment}/secret:{name}")
        return 204, None


def _secret(secret: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": secret["name"],
        "created_at": secret.get("created_at", "2025-01-01T00:00:00Z"),
        "updated_at": secret.get("updated_at", "2025-01-01T00:00:00Z"),
    }
