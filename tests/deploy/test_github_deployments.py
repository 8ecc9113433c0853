"""The deploy job's side of the GitHub forge against the fake GitHub: deployments and their
statuses (GitHub refusing one unless ``mendbot/policy`` is success), workflow runs by commit,
and ``repository_dispatch``."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import requests
from fakegithub import TOKEN, FakeGitHub

from bot.forge.github.forge import GitHubForge
from bot.forge.interface import DEPLOY_TASK, ForgeError
from bot.protocol import STATUS_CONTEXT

REPO = "acme/app"


@pytest.fixture
def forge(github: FakeGitHub, make_repo, tmp_path: Path) -> GitHubForge:
    source = make_repo("source")
    source.write("README.md", "# app\n")
    source.commit("initial")
    github.add_repo(REPO, source.path)
    workdir = tmp_path / "work"
    subprocess.run(["git", "clone", "-q", str(source.path), str(workdir)], check=True)
    return GitHubForge(REPO, workdir, TOKEN, base_url=github.base_url, throttle=False, retry=0)


def _head(github: FakeGitHub) -> str:
    sha = github.sha(github.repos[REPO], "refs/heads/main")
    assert sha is not None
    return sha


def _status(github: FakeGitHub, sha: str, state: str, context: str = STATUS_CONTEXT) -> None:
    github.repos[REPO].statuses.setdefault(sha, []).append(
        {
            "id": github.next_id(),
            "state": state,
            "description": "",
            "target_url": None,
            "context": context,
            "created_at": "2026-01-01T00:00:00Z",
            "creator": "mendbot[bot]",
        }
    )


def test_a_deployment_is_refused_unless_the_gate_passed_on_the_commit(github, forge):
    sha = _head(github)
    _status(github, sha, "success", context="ci/other")  # not the context the deploy requires

    with pytest.raises(ForgeError) as absent:
        forge.create_deployment(sha, "production", {"change": "r-1"})
    _status(github, sha, "pending")
    with pytest.raises(ForgeError) as pending:
        forge.create_deployment(sha, "production", {"change": "r-1"})

    for caught in (absent, pending):
        text = caught.value.diagnostics()
        assert "HTTP 409" in text
        assert f"required status {STATUS_CONTEXT}" in text
    assert github.deploy_state(REPO).deployments == []


def test_deployments_carry_their_newest_status_and_outcome(github, forge):
    sha = _head(github)
    _status(github, sha, "failure")
    _status(github, sha, "success")  # the newest status of the context counts

    first = forge.create_deployment(sha, "production", {"change": "r-1", "target": "t"})
    forge.set_deployment_status(first, "in_progress", "applying")
    forge.set_deployment_status(first, "failure", "validation failed", {"outcome": "compensated"})
    second = forge.create_deployment(sha, "staging", {"change": "r-2"})
    forge.set_deployment_status(second, "success", "applied", {"outcome": "applied"})

    stored = github.deploy_state(REPO).deployments
    assert [d["task"] for d in stored] == [DEPLOY_TASK, DEPLOY_TASK]
    assert stored[0]["required_contexts"] == [STATUS_CONTEXT]
    assert stored[0]["auto_merge"] is False
    assert [s["description"] for s in stored[0]["statuses"]] == [
        "applying",
        "mendbot:compensated validation failed",
    ]
    everything = forge.deployments()
    assert [(d.id, d.environment, d.state) for d in everything] == [
        (first, "production", "failure"),
        (second, "staging", "success"),
    ]
    assert everything[0].payload == {"change": "r-1", "target": "t", "outcome": "compensated"}
    assert everything[0].sha == sha
    production = forge.deployments("production")
    assert [d.id for d in production] == [first]
    one = requests.get(
        f"{github.base_url}/repos/{REPO}/deployments/{first}",
        headers={"Authorization": f"token {TOKEN}"},
        timeout=10,
    )
    assert (one.status_code, one.json()["sha"], one.json()["task"]) == (200, sha, DEPLOY_TASK)


def test_a_deployment_without_status_is_queued_and_long_descriptions_are_cut(github, forge):
    sha = _head(github)
    _status(github, sha, "success")
    number = forge.create_deployment(sha, "production", {"change": "r-1"})
    assert [d.state for d in forge.deployments()] == ["queued"]

    forge.set_deployment_status(number, "success", "x" * 300, {"outcome": "applied"})

    status = github.deploy_state(REPO).deployments[0]["statuses"][-1]
    assert len(status["description"]) == 140
    assert forge.deployments()[0].payload["outcome"] == "applied"


def test_workflow_runs_are_read_by_commit_newest_first(github, forge):
    sha = _head(github)
    older = github.add_run(REPO, ".github/workflows/ci.yml", sha, conclusion="failure")
    github.add_run(REPO, ".github/workflows/ci.yml", "f" * 40)  # another commit
    newer = github.add_run(REPO, ".github/workflows/lint.yml", sha, status="in_progress")

    runs = forge.workflow_runs(sha)

    assert [(r.id, r.path, r.status, r.conclusion) for r in runs] == [
        (newer["id"], ".github/workflows/lint.yml", "in_progress", None),
        (older["id"], ".github/workflows/ci.yml", "completed", "failure"),
    ]
    assert all(r.head_sha == sha and r.event == "push" for r in runs)
    assert "GET /api/v3/repos/acme/app/actions/runs" in github.requests


def test_dispatch_reaches_github(github, forge):
    forge.dispatch("mendbot-revert", {"change": "r-1", "environment": "production"})

    assert github.deploy_state(REPO).dispatches == [
        {
            "event_type": "mendbot-revert",
            "client_payload": {"change": "r-1", "environment": "production"},
        }
    ]
    assert forge.dispatches() == []


def test_a_refused_dispatch_is_an_error_not_silence(github, forge):
    # The revert is how a failed deploy gets undone: losing the request silently would leave a
    # failed change live with nobody asked to revert it.
    github.faults["repos/create-dispatch-event"] = [500]
    with pytest.raises(ForgeError, match="dispatch mendbot-revert: HTTP 500"):
        forge.dispatch("mendbot-revert", {"change": "r-1"})

    github.failures.clear()
    too_many = {f"k{i}": i for i in range(11)}  # GitHub takes at most 10 payload properties
    with pytest.raises(ForgeError, match="HTTP 422"):
        forge.dispatch("mendbot-revert", too_many)
    assert github.failures and "too many properties" in " ".join(github.failures)
    github.failures.clear()  # the invalid body was this test's doing
    assert github.deploy_state(REPO).dispatches == []


def test_github_down_is_a_forge_error(github, forge):
    github.down = True
    with pytest.raises(ForgeError, match="HTTP 503"):
        forge.deployments()
    with pytest.raises(ForgeError, match="HTTP 503"):
        forge.workflow_runs("a" * 40)
