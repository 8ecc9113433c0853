"""The local forge's deployments, workflow runs and dispatches, as JSON files under the git
common directory (never in the working tree nor in history):

* ``mendbot/deployments/<id>.json``: one deployment with its statuses, oldest first;
* ``mendbot/runs/<sha>.json``: the workflow runs of a commit (written by whatever runs the
  workflows locally, e.g. the demo or a test: a local repository has no runner);
* ``mendbot/dispatches/<n>.json``: requests for another identity (a revert pull request).

Creating a deployment requires the ``mendbot/policy`` status to be ``success`` on the commit,
as GitHub's ``required_contexts`` does, and takes an exclusive lock so that two deploy jobs
cannot both start the same change in the same environment.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.forge.interface import DEPLOY_TASK, Deployment, ForgeError, WorkflowRun
from bot.protocol import STATUS_CONTEXT
from bot.safe_files import write_text_atomically

#: Deployment states that end an attempt.
FINAL_STATES = frozenset({"success", "failure", "error", "inactive"})


class LocalDeployments:
    """Mixed into :class:`~bot.forge.local.LocalForge`: ``_root`` is its ``<common>/mendbot``."""

    _root: Path

    def statuses(self, sha: str) -> dict[str, dict[str, str]]:
        """The commit statuses of ``sha`` by context."""
        path = self._root / "statuses" / f"{sha}.json"
        if not path.is_file():
            return {}
        data: dict[str, dict[str, str]] = json.loads(path.read_text(encoding="utf-8"))
        return data

    # -- reading ------------------------------------------------------------------------------

    def deployments(self, environment: str | None = None) -> list[Deployment]:
        """Every recorded deployment (in ``environment``), oldest first."""
        folder = self._root / "deployments"
        if not folder.is_dir():
            return []
        found = []
        for path in folder.glob("*.json"):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                statuses = data["statuses"]
                found.append(
                    Deployment(
                        id=int(data["id"]),
                        sha=str(data["sha"]),
                        environment=str(data["environment"]),
                        payload=dict(data["payload"]),
                        state=str(statuses[-1]["state"]) if statuses else "queued",
                        created_at=str(data["created_at"]),
                    )
                )
            except (OSError, ValueError, TypeError, KeyError, IndexError) as exc:
                raise ForgeError(f"{path}: unreadable deployment record ({exc})") from None
        found.sort(key=lambda d: d.id)
        return [d for d in found if environment is None or d.environment == environment]

    def workflow_runs(self, head_sha: str) -> list[WorkflowRun]:
        """The runs recorded for ``head_sha`` in ``mendbot/runs/<sha>.json``, newest first."""
        path = self._root / "runs" / f"{head_sha}.json"
        if not path.is_file():
            return []
        try:
            runs = [WorkflowRun(**run) for run in json.loads(path.read_text(encoding="utf-8"))]
        except (OSError, ValueError, TypeError) as exc:
            raise ForgeError(f"{path}: unreadable workflow runs ({exc})") from None
        return sorted(runs, key=lambda run: -run.id)

    def record_run(self, run: WorkflowRun) -> None:
        """Record a workflow run of ``run.head_sha`` (what a runner would report)."""
        path = self._root / "runs" / f"{run.head_sha}.json"
        runs = [r for r in self.workflow_runs(run.head_sha) if r.id != run.id] + [run]
        data = [vars(r) for r in sorted(runs, key=lambda r: r.id)]
        write_text_atomically(path, json.dumps(data, indent=2, sort_keys=True) + "\n")

    # -- writing ------------------------------------------------------------------------------

    def create_deployment(self, sha: str, environment: str, payload: dict[str, Any]) -> int:
        """Create deployment ``<next id>`` in state ``queued``; refuses (like GitHub's 409) when
        ``mendbot/policy`` is not ``success`` on ``sha``, and when another deployment of the
        same change and target in ``environment`` is still in progress."""
        state = self.statuses(sha).get(STATUS_CONTEXT, {}).get("state")
        if state != "success":
            raise ForgeError(
                f"cannot deploy {sha[:12]}: the required status {STATUS_CONTEXT} is "
                f"{state or 'absent'}, not success",
                advice="the gate must allow the merge commit before it is deployed",
            )
        folder = self._root / "deployments"
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ForgeError(f"cannot record the deployment ({exc.strerror})") from None
        key = payload.get("key") or f"{payload.get('change')}|{payload.get('target')}"
        for other in self.deployments(environment):
            same = other.payload.get("key") or (
                f"{other.payload.get('change')}|{other.payload.get('target')}"
            )
            if same == key and other.state not in FINAL_STATES:
                raise ForgeError(
                    f"deployment {other.id} of the same change to {environment} is still "
                    f"{other.state}: two deploy jobs must not apply one change at once",
                    advice="wait for it to finish, then run the deploy job again",
                )
        number = max((d.id for d in self.deployments()), default=0) + 1
        while True:
            path = folder / f"{number}.json"
            record = {
                "id": number,
                "sha": sha,
                "environment": environment,
                "task": DEPLOY_TASK,
                "payload": payload,
                "created_at": _now(),
                "statuses": [{"state": "queued", "description": "", "at": _now()}],
            }
            try:
                # O_EXCL: a concurrent job that picked the same number loses and takes the next.
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                number += 1
                continue
            except OSError as exc:
                raise ForgeError(f"cannot record the deployment ({exc.strerror})") from None
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(json.dumps(record, indent=2, sort_keys=True) + "\n")
            return number

    def set_deployment_status(
        self, deployment: int, state: str, description: str, payload: dict[str, Any] | None = None
    ) -> None:
        """Append a status; ``payload`` keys are merged into the deployment's payload."""
        path = self._root / "deployments" / f"{deployment}.json"
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            record["statuses"].append({"state": state, "description": description, "at": _now()})
            if payload:
                record["payload"].update(payload)
            write_text_atomically(path, json.dumps(record, indent=2, sort_keys=True) + "\n")
        except (OSError, ValueError) as exc:
            raise ForgeError(f"cannot update deployment {deployment} ({exc})") from None

    def dispatch(self, event_type: str, payload: dict[str, Any]) -> None:
        """Write ``mendbot/dispatches/<n>.json`` for the identity that handles ``event_type``."""
        folder = self._root / "dispatches"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            number = len(list(folder.glob("*.json"))) + 1
            while True:
                try:
                    fd = os.open(folder / f"{number}.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL)
                except FileExistsError:
                    number += 1
                    continue
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump({"event_type": event_type, "client_payload": payload}, handle)
                return
        except OSError as exc:
            raise ForgeError(f"cannot write the {event_type} request ({exc.strerror})") from None

    def dispatches(self) -> list[dict[str, Any]]:
        """Every dispatched request not yet handled, oldest first."""
        folder = self._root / "dispatches"
        if not folder.is_dir():
            return []
        found = []
        for path in sorted(folder.glob("*.json"), key=lambda p: int(p.stem)):
            data = json.loads(path.read_text(encoding="utf-8"))
            data["id"] = int(path.stem)
            found.append(data)
        return found

    def handled(self, dispatch_id: int) -> None:
        """Remove a handled dispatch request."""
        (self._root / "dispatches" / f"{dispatch_id}.json").unlink(missing_ok=True)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
