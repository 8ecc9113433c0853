"""The deploy job's side of GitHub: Deployments and their statuses, workflow runs by commit,
and ``repository_dispatch`` (how the deploy identity, which cannot push, asks for a revert).

The outcome of an attempt travels in the deployment's ``payload`` (written once, at creation)
and in each status's description, prefixed ``mendbot:<outcome>``, so that a reader (the gate's
freeze) never needs anything but the Deployments API.
"""

from __future__ import annotations

import json
from typing import Any

import requests
from github import GithubException

from bot.forge.github.client import READ_ADVICE, GitHubClient, wrap_error
from bot.forge.interface import DEPLOY_TASK, Deployment, ForgeError, WorkflowRun
from bot.protocol import STATUS_CONTEXT

#: GitHub's limit on a deployment status description.
_DESCRIPTION_MAX = 140
#: Prefix of a status description carrying the attempt's outcome.
OUTCOME_PREFIX = "mendbot:"


class GitHubDeployments(GitHubClient):
    """``/repos/{o}/{r}/deployments``, ``/actions/runs`` and ``/dispatches``."""

    def deployments(self, environment: str | None = None) -> list[Deployment]:
        """``GET /deployments?task=mendbot:apply[&environment=…]`` and, for each, its newest
        status (``GET /deployments/{id}/statuses``), oldest first."""

        def collect() -> list[Deployment]:
            found = []
            kwargs: dict[str, Any] = {"environment": environment} if environment else {}
            for item in self._repo.get_deployments(task=DEPLOY_TASK, **kwargs):
                statuses = list(item.get_statuses())
                raw: object = item.payload  # PyGithub types it dict; GitHub sends any JSON
                # A deployment someone else made may carry any JSON: only an object is read.
                payload: dict[str, Any] = dict(raw) if isinstance(raw, dict) else {}
                state = statuses[0].state if statuses else "queued"
                if statuses:
                    outcome = _outcome(statuses[0].description or "")
                    if outcome:
                        payload["outcome"] = outcome
                found.append(
                    Deployment(
                        id=item.id,
                        sha=item.sha,
                        environment=item.environment,
                        payload=payload,
                        state=state,
                        created_at=item.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    )
                )
            return sorted(found, key=lambda d: d.id)

        result: list[Deployment] = self._call("list deployments", collect, advice=READ_ADVICE)
        return result

    def workflow_runs(self, head_sha: str) -> list[WorkflowRun]:
        """``GET /actions/runs?head_sha=…``, newest first."""

        def collect() -> list[WorkflowRun]:
            return [
                WorkflowRun(
                    id=run.id,
                    path=str(run.path).split("@", 1)[0],
                    head_sha=run.head_sha,
                    event=run.event,
                    status=run.status,
                    conclusion=run.conclusion,
                    url=run.html_url,
                )
                for run in self._repo.get_workflow_runs(head_sha=head_sha)
            ]

        runs: list[WorkflowRun] = self._call(
            f"list the workflow runs of {head_sha[:12]}", collect, advice=READ_ADVICE
        )
        return sorted(runs, key=lambda run: -run.id)

    def create_deployment(self, sha: str, environment: str, payload: dict[str, Any]) -> int:
        """``POST /deployments`` with ``auto_merge: false`` and ``required_contexts:
        ["mendbot/policy"]``: GitHub itself refuses (409) unless the gate's status on ``sha``
        is ``success``, and that refusal is reported as such."""
        try:
            created = self._repo.create_deployment(
                ref=sha,
                task=DEPLOY_TASK,
                auto_merge=False,
                required_contexts=[STATUS_CONTEXT],
                payload=payload,
                environment=environment,
                description=f"mendbot {payload.get('change', '')}"[:_DESCRIPTION_MAX],
                production_environment=False,
            )
        except GithubException as exc:
            if exc.status == 409:
                raise ForgeError(
                    f"cannot deploy {sha[:12]} to {environment}: GitHub refused the deployment "
                    f"(HTTP 409) because the required status {STATUS_CONTEXT} is not success "
                    "on that commit",
                    advice="the gate must allow the merge commit before it is deployed",
                ) from None
            raise wrap_error(
                f"create a deployment of {sha[:12]} to {environment}",
                exc,
                "the deploy job needs `deployments: write`",
            ) from None
        except requests.exceptions.RequestException as exc:
            raise wrap_error(f"create a deployment of {sha[:12]} to {environment}", exc) from None
        return int(created.id)

    def set_deployment_status(
        self, deployment: int, state: str, description: str, payload: dict[str, Any] | None = None
    ) -> None:
        """``POST /deployments/{id}/statuses``; the outcome (``payload["outcome"]``) leads the
        description so readers can tell a compensated failure from an applied change."""
        outcome = (payload or {}).get("outcome")
        text = f"{OUTCOME_PREFIX}{outcome} {description}" if outcome else description
        item = self._call(f"read deployment {deployment}", self._repo.get_deployment, deployment)
        self._call(
            f"set the status of deployment {deployment}",
            item.create_status,
            state=state,
            description=text[:_DESCRIPTION_MAX],
        )

    def dispatch(self, event_type: str, payload: dict[str, Any]) -> None:
        """``POST /dispatches`` (``repository_dispatch``): starts the workflow that handles
        ``event_type`` (the propose identity's revert)."""
        # NOTE(deploy): PyGithub's create_repository_dispatch returns False on a refusal instead
        # of raising; a lost revert request must fail the job, so the checked call is used.
        self._call(
            f"dispatch {event_type}",
            self._github.requester.requestJsonAndCheck,
            "POST",
            f"/repos/{self._full_name}/dispatches",
            input={"event_type": event_type, "client_payload": json.loads(json.dumps(payload))},
            advice="the deploy job's token needs `contents: write` to dispatch",
        )

    def dispatches(self) -> list[dict[str, Any]]:
        """Nothing to list: on GitHub a dispatch starts a workflow at once."""
        return []

    def handled(self, dispatch_id: int) -> None:
        """Nothing to mark: GitHub delivered the event to a workflow run."""
        del dispatch_id


def _outcome(description: str) -> str | None:
    if not description.startswith(OUTCOME_PREFIX):
        return None
    return description[len(OUTCOME_PREFIX) :].split(" ", 1)[0] or None
