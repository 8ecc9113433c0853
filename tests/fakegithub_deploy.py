"""The deploy side of the fake GitHub: narrowed installation tokens and their revocation,
repository Actions settings, Deployments and their statuses, workflow runs, dispatches.

Mixed into :class:`fakegithub.FakeGitHub`: handlers are found by operation id like the others,
and their responses are validated against the OpenAPI subset the same way. What GitHub enforces
and the deploy job relies on is enforced here too:

* an installation token works only on its repositories (every ``/repos/{owner}/{repo}`` route)
  and, on the routes below, only with the permission each needs (403 ``Resource not accessible
  by integration`` otherwise), and stops working once ``DELETE /installation/token`` revoked it;
* ``POST /deployments`` answers 409 unless every required context's latest commit status on the
  ref is ``success``;
* every request body of these routes is validated against the operation's request schema (an
  invalid one is a client bug: recorded in ``failures`` and answered 422).

Faults for deploy tests: :attr:`FakeRepo.ignored_writes` (a settings PUT answered 204 that does
not take, so the next GET returns the old value), ``faults[operation_id]`` (the next calls fail
with the given statuses) and :attr:`DeployRoutes.down` (every API request answered 503).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from openapi_schema_validator import OAS30Validator

#: What each route of this module needs of a narrowed token: (permission, level).
SCOPED_OPERATIONS: dict[str, tuple[str, str]] = {
    "actions/get-github-actions-permissions-repository": ("administration", "read"),
    "actions/set-github-actions-permissions-repository": ("administration", "write"),
    "actions/get-github-actions-default-workflow-permissions-repository": (
        "administration",
        "read",
    ),
    "actions/set-github-actions-default-workflow-permissions-repository": (
        "administration",
        "write",
    ),
    "actions/get-allowed-actions-repository": ("administration", "read"),
    "actions/set-allowed-actions-repository": ("administration", "write"),
    "repos/list-deployments": ("deployments", "read"),
    "repos/create-deployment": ("deployments", "write"),
    "repos/get-deployment": ("deployments", "read"),
    "repos/list-deployment-statuses": ("deployments", "read"),
    "repos/create-deployment-status": ("deployments", "write"),
    "actions/list-workflow-runs-for-repo": ("actions", "read"),
    "repos/create-dispatch-event": ("contents", "write"),
    "actions/get-repo-secret": ("secrets", "read"),
    "actions/delete-repo-secret": ("secrets", "write"),
    "actions/get-environment-secret": ("environments", "read"),
    "actions/delete-environment-secret": ("environments", "write"),
}

#: The permissions the test App was granted (what a narrowed token may ask a subset of).
APP_PERMISSIONS = {
    "administration": "write",
    "actions": "read",
    "contents": "write",
    "deployments": "write",
    "environments": "write",
    "issues": "write",
    "metadata": "read",
    "pull_requests": "write",
    "secrets": "write",
    "statuses": "write",
}

_LEVELS = {"read": 1, "write": 2, "admin": 3}
_FORBIDDEN = "Resource not accessible by integration"


@dataclass
class TokenScope:
    """What one installation token may reach."""

    installation: int
    repositories: set[str]
    """Full names (``owner/name``)."""
    permissions: dict[str, str]
    expires_at: str


@dataclass
class DeployState:
    """A repository's Actions settings, deployments, workflow runs and dispatches."""

    actions: dict[str, Any] = field(
        default_factory=lambda: {"enabled": True, "allowed_actions": "all"}
    )
    """``GET …/actions/permissions`` (``enabled``, ``allowed_actions``)."""
    workflow: dict[str, Any] = field(
        default_factory=lambda: {
            "default_workflow_permissions": "write",
            "can_approve_pull_request_reviews": True,
        }
    )
    """``GET …/actions/permissions/workflow``."""
    selected_actions: dict[str, Any] = field(
        default_factory=lambda: {
            "github_owned_allowed": True,
            "verified_allowed": False,
            "patterns_allowed": [],
        }
    )
    """``GET …/actions/permissions/selected-actions``."""
    ignored_writes: set[str] = field(default_factory=set)
    """Operation ids of settings PUTs answered 204 that do not take (a fault)."""
    deployments: list[dict[str, Any]] = field(default_factory=list)
    """Deployments, oldest first, each with its ``statuses`` (oldest first)."""
    runs: list[dict[str, Any]] = field(default_factory=list)
    """Workflow runs seeded by tests (:meth:`DeployRoutes.add_run`)."""
    dispatches: list[dict[str, Any]] = field(default_factory=list)
    """``repository_dispatch`` events received."""


class DeployRoutes:
    """Handlers and state of the deploy routes (see the module docstring)."""

    down: bool = False
    """The API is down: every REST request is answered 503."""

    # Provided by FakeGitHub.
    app: Any
    tokens: set[str]
    failures: list[str]
    _local: Any

    def deploy_init(self) -> None:
        self.token_scopes: dict[str, TokenScope] = {}
        """Scope of each installation token issued, by token."""
        self.revoked: list[str] = []
        """Installation tokens revoked through ``DELETE /installation/token``."""
        self.token_requests: list[dict[str, Any]] = []
        """The body of every ``POST /app/installations/{id}/access_tokens`` (what was asked)."""
        self.refused: list[str] = []
        """``<operation id> <repository>: <why>`` of every request refused for its scope."""

    # -- state --------------------------------------------------------------------------------
    def deploy_state(self, full_name: str) -> DeployState:
        repo = self.repos[full_name]  # type: ignore[attr-defined]
        state: DeployState = repo.deploy
        return state

    def add_run(
        self,
        full_name: str,
        path: str,
        head_sha: str,
        status: str = "completed",
        conclusion: str | None = "success",
        event: str = "push",
    ) -> dict[str, Any]:
        """Seed a workflow run of ``path`` on ``head_sha`` (what a runner would report)."""
        run = {
            "id": self.next_id(),  # type: ignore[attr-defined]
            "path": path,
            "head_sha": head_sha,
            "status": status,
            "conclusion": conclusion if status == "completed" else None,
            "event": event,
        }
        self.deploy_state(full_name).runs.append(run)
        return run

    # -- enforcement --------------------------------------------------------------------------
    def check_scope(self, operation_id: str, params: dict[str, str]) -> None:
        """403 when the request's token is narrowed and this route is outside its scope."""
        from fakegithub import HttpError

        scope = self.token_scopes.get(self._local.token)
        if scope is None:
            return
        full_name = f"{params.get('owner')}/{params.get('repo')}"
        need = SCOPED_OPERATIONS.get(operation_id)
        granted = scope.permissions.get(need[0]) if need else None
        if "owner" in params and full_name not in scope.repositories:
            why = "repository outside the token"
        elif need is not None and (granted is None or _LEVELS[granted] < _LEVELS[need[1]]):
            why = f"needs {need[0]}: {need[1]}, the token has {granted or 'none'}"
        else:
            return
        self.refused.append(f"{operation_id} {full_name}: {why}")
        raise HttpError(403, _FORBIDDEN)

    def check_request(self, operation: dict[str, Any], payload: Any) -> None:
        """422 (and a recorded failure) when the body breaks the operation's request schema."""
        from fakegithub import _REGISTRY, HttpError, _operation_path, _pointer

        if operation["operationId"] not in SCOPED_OPERATIONS:
            return
        if "requestBody" not in operation:
            return
        pointer = _pointer(
            "paths",
            *_operation_path(operation),
            "requestBody",
            "content",
            "application/json",
            "schema",
        )
        validator = OAS30Validator({"$ref": f"urn:gh#/{pointer}"}, registry=_REGISTRY)
        errors = list(validator.iter_errors(payload if payload is not None else {}))
        if errors:
            message = f"{operation['operationId']} request: {errors[0].message}"
            self.failures.append(message)
            raise HttpError(422, f"Invalid request. {errors[0].message}")

    # -- installation tokens ------------------------------------------------------------------
    def op_apps_create_installation_access_token(self, params, query, payload):
        from fakegithub import HttpError, _merge, skeleton

        assert self.app is not None
        number = int(params["installation_id"])
        if number not in self.app.installations:
            raise HttpError(404, "Not Found")
        body = payload or {}
        self.token_requests.append({"installation": number, **body})
        installed = self.app.installations[number]
        repositories = set(installed)
        if "repositories" in body:
            by_name = {full.split("/", 1)[1]: full for full in installed}
            wanted = body["repositories"]
            if not isinstance(wanted, list) or any(name not in by_name for name in wanted):
                raise HttpError(
                    422,
                    "There is at least one repository that does not exist or is not "
                    "accessible to the parent installation.",
                )
            repositories = {by_name[name] for name in wanted}
        permissions = dict(self.app.permissions)
        if "permissions" in body:
            asked = body["permissions"]
            for name, level in asked.items():
                granted = self.app.permissions.get(name)
                if granted is None or _LEVELS.get(level, 9) > _LEVELS[granted]:
                    raise HttpError(
                        422, "The permissions requested are not granted to this installation."
                    )
            permissions = dict(asked)
        token = f"ghs_{secrets.token_hex(16)}"
        expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        self.app.issued.append(token)
        self.tokens.add(token)
        self.token_scopes[token] = TokenScope(number, repositories, permissions, expires)
        answer: dict[str, Any] = {
            "token": token,
            "expires_at": expires,
            "permissions": permissions,
            "repository_selection": "selected",
        }
        if "repositories" in body:
            answer["repositories"] = [
                _merge(
                    skeleton({"$ref": "#/components/schemas/repository"}),
                    self.render_repo(self.repos[full], ""),  # type: ignore[attr-defined]
                )
                for full in sorted(repositories)
                if full in self.repos  # type: ignore[attr-defined]
            ]
        return 201, answer

    def op_apps_revoke_installation_access_token(self, params, query, payload):
        from fakegithub import HttpError

        token = self._local.token
        if self.app is None or token not in self.app.issued:
            raise HttpError(401, "Bad credentials")
        self.tokens.discard(token)
        self.token_scopes.pop(token, None)
        self.revoked.append(token)
        return 204, None

    # -- Actions settings ---------------------------------------------------------------------
    def _settings(self, params: dict[str, str]) -> DeployState:
        repo = self._repo(params)  # type: ignore[attr-defined]
        state: DeployState = repo.deploy
        return state

    def op_actions_get_github_actions_permissions_repository(self, params, query, payload):
        state = self._settings(params)
        url = f"{self._repo_url(self._repo(params))}/actions/permissions/selected-actions"  # type: ignore[attr-defined]
        body = dict(state.actions)
        if body.get("allowed_actions") == "selected":
            body["selected_actions_url"] = url
        return 200, body

    def op_actions_set_github_actions_permissions_repository(self, params, query, payload):
        state = self._settings(params)
        if "actions/set-github-actions-permissions-repository" not in state.ignored_writes:
            state.actions.update(payload)
        return 204, None

    def op_actions_get_github_actions_default_workflow_permissions_repository(
        self, params, query, payload
    ):
        return 200, dict(self._settings(params).workflow)

    def op_actions_set_github_actions_default_workflow_permissions_repository(
        self, params, query, payload
    ):
        state = self._settings(params)
        operation = "actions/set-github-actions-default-workflow-permissions-repository"
        if operation not in state.ignored_writes:
            state.workflow.update(payload or {})
        return 204, None

    def op_actions_get_allowed_actions_repository(self, params, query, payload):
        return 200, dict(self._settings(params).selected_actions)

    def op_actions_set_allowed_actions_repository(self, params, query, payload):
        state = self._settings(params)
        if "actions/set-allowed-actions-repository" not in state.ignored_writes:
            state.selected_actions.update(payload or {})
        return 204, None

    # -- deployments --------------------------------------------------------------------------
    def _deployment(self, params: dict[str, str]) -> dict[str, Any]:
        from fakegithub import HttpError

        wanted = int(params["deployment_id"])
        for deployment in self._settings(params).deployments:
            if deployment["id"] == wanted:
                return deployment
        raise HttpError(404, "Not Found")

    def render_deployment(self, params: dict[str, str], deployment: dict[str, Any]) -> Any:
        from fakegithub import NOW, _merge, skeleton

        repo_url = self._repo_url(self._repo(params))  # type: ignore[attr-defined]
        url = f"{repo_url}/deployments/{deployment['id']}"
        fields = {k: v for k, v in deployment.items() if k != "statuses"}
        return _merge(
            skeleton({"$ref": "#/components/schemas/deployment"}),
            {
                **fields,
                "node_id": f"DE_kw{deployment['id']}",
                "url": url,
                "statuses_url": f"{url}/statuses",
                "repository_url": repo_url,
                "creator": self.render_user(deployment["creator"]),  # type: ignore[attr-defined]
                "updated_at": NOW,
            },
        )

    def render_deployment_status(
        self, params: dict[str, str], deployment: dict[str, Any], status: dict[str, Any]
    ) -> Any:
        from fakegithub import _merge, skeleton

        repo_url = self._repo_url(self._repo(params))  # type: ignore[attr-defined]
        url = f"{repo_url}/deployments/{deployment['id']}"
        return _merge(
            skeleton({"$ref": "#/components/schemas/deployment-status"}),
            {
                **status,
                "node_id": f"DES_kw{status['id']}",
                "url": f"{url}/statuses/{status['id']}",
                "deployment_url": url,
                "repository_url": repo_url,
                "creator": self.render_user("mendbot[bot]"),  # type: ignore[attr-defined]
                "updated_at": status["created_at"],
            },
        )

    def op_repos_create_deployment(self, params, query, payload):
        from fakegithub import NOW, HttpError

        repo = self._repo(params)  # type: ignore[attr-defined]
        state = self._settings(params)
        sha = self._ref_sha(repo, payload["ref"])  # type: ignore[attr-defined]
        latest = self.latest_statuses(repo, sha)  # type: ignore[attr-defined]
        required = payload.get("required_contexts")
        contexts = list(latest) if required is None else required
        failing = [c for c in contexts if latest.get(c, {}).get("state") != "success"]
        if failing:
            raise HttpError(409, f"Conflict: Commit status checks failed for {payload['ref']}.")
        deployment = {
            "id": self.next_id(),  # type: ignore[attr-defined]
            "sha": sha,
            "ref": payload["ref"],
            "task": payload.get("task", "deploy"),
            "environment": payload.get("environment", "production"),
            "payload": payload.get("payload", {}),
            "description": payload.get("description", ""),
            "production_environment": bool(payload.get("production_environment", False)),
            "transient_environment": bool(payload.get("transient_environment", False)),
            "auto_merge": payload.get("auto_merge", True),
            "required_contexts": required,
            "creator": "mendbot[bot]",
            "created_at": NOW,
            "statuses": [],
        }
        state.deployments.append(deployment)
        return 201, self._public(params, deployment)

    def _public(self, params: dict[str, str], deployment: dict[str, Any]) -> Any:
        body = self.render_deployment(params, deployment)
        body.pop("auto_merge")
        body.pop("required_contexts")
        return body

    def op_repos_list_deployments(self, params, query, payload):
        state = self._settings(params)
        found = [
            self._public(params, d)
            for d in reversed(state.deployments)
            if all(
                query.get(key) in (None, d[key]) for key in ("sha", "ref", "task", "environment")
            )
        ]
        page, headers = self._paginate(found, query)  # type: ignore[attr-defined]
        return 200, page, headers

    def op_repos_get_deployment(self, params, query, payload):
        return 200, self._public(params, self._deployment(params))

    def op_repos_list_deployment_statuses(self, params, query, payload):
        deployment = self._deployment(params)
        newest_first = [
            self.render_deployment_status(params, deployment, s)
            for s in reversed(deployment["statuses"])
        ]
        page, headers = self._paginate(newest_first, query)  # type: ignore[attr-defined]
        return 200, page, headers

    def op_repos_create_deployment_status(self, params, query, payload):
        from fakegithub import NOW, HttpError

        deployment = self._deployment(params)
        description = payload.get("description", "")
        if len(description) > 140:
            raise HttpError(422, "description is too long (maximum is 140 characters)")
        status = {
            "id": self.next_id(),  # type: ignore[attr-defined]
            "state": payload["state"],
            "description": description,
            "environment": payload.get("environment", deployment["environment"]),
            "target_url": payload.get("target_url", ""),
            "log_url": payload.get("log_url", ""),
            "environment_url": payload.get("environment_url", ""),
            "created_at": NOW,
        }
        deployment["statuses"].append(status)
        return 201, self.render_deployment_status(params, deployment, status)

    # -- workflow runs and dispatches ---------------------------------------------------------
    def op_actions_list_workflow_runs_for_repo(self, params, query, payload):
        from fakegithub import NOW, _merge, skeleton

        repo = self._repo(params)  # type: ignore[attr-defined]
        repo_url = self._repo_url(repo)  # type: ignore[attr-defined]
        state = self._settings(params)
        runs = [
            run
            for run in reversed(state.runs)
            if query.get("head_sha") in (None, run["head_sha"])
            and query.get("event") in (None, run["event"])
            and query.get("status") in (None, run["status"], run["conclusion"])
        ]
        page, headers = self._paginate(runs, query)  # type: ignore[attr-defined]
        base = skeleton({"$ref": "#/components/schemas/workflow-run"})
        rendered = [
            _merge(
                base,
                {
                    **run,
                    "node_id": f"WFR_kw{run['id']}",
                    "name": run["path"].rsplit("/", 1)[-1],
                    "workflow_id": abs(hash(run["path"])) % 10**6 + 1,
                    "run_number": run["id"],
                    "head_branch": repo.default_branch,
                    "display_title": "run",
                    "url": f"{repo_url}/actions/runs/{run['id']}",
                    "html_url": f"{self.origin}/{repo.owner}/{repo.name}/actions/runs/{run['id']}",  # type: ignore[attr-defined]
                    "created_at": NOW,
                    "updated_at": NOW,
                    "head_commit": None,
                    "repository": _merge(
                        skeleton({"$ref": "#/components/schemas/minimal-repository"}),
                        self.render_repo(repo, ""),  # type: ignore[attr-defined]
                    ),
                    "head_repository": _merge(
                        skeleton({"$ref": "#/components/schemas/minimal-repository"}),
                        self.render_repo(repo, ""),  # type: ignore[attr-defined]
                    ),
                },
            )
            for run in page
        ]
        return 200, {"total_count": len(runs), "workflow_runs": rendered}, headers

    def op_repos_create_dispatch_event(self, params, query, payload):
        self._settings(params).dispatches.append(dict(payload))
        return 204, None
