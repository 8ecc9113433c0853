"""``mendbot deploy observe`` of GitHub changes, as the scheduled job runs it: a repository
setting applied through the fake GitHub (narrowed App token) is watched for workflows it newly
breaks on the default branch, and a workflow change whose run had not finished is judged once
the run has a conclusion. Real ``mendbot`` processes; runs are recorded on the local forge as a
runner would report them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import ec
from deploy_github import APP_ID, INSTALLATION, REPO, install_deployer_app, secrets_of
from deploy_scenario import frozen, merged_staging
from fakegithub import FakeGitHub
from observe_scenario import Deployed, at, merge_desired_change, predicate
from test_deploy_github_cli import OnGitHub, on_github  # noqa: F401 - the fixture

from bot.forge.interface import WorkflowRun
from bot.protocol import ROLLBACK_EVENT
from clirun import run_mendbot
from keyfiles import write_keys

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ".mendbot/desired/github-settings/acme--app.yml"
CI = ".github/workflows/ci.yml"
MENDBOT_YML = f"""\
environments:
  staging: [".mendbot/desired/github-settings/*"]
deploy:
  observation_hours: 24
  environments:
    staging:
      github_app_id: {APP_ID}
      github_installation_id: {INSTALLATION}
"""


def _settings(permissions: str) -> bytes:
    return (
        f"kind: github-settings\nversion: 1\nrepository: {REPO}\n"
        f"actions:\n  default_workflow_permissions: {permissions}\n"
    ).encode()


def _run(deployed: Deployed, sha: str, number: int, conclusion: str, path: str = CI) -> None:
    deployed.forge.record_run(
        WorkflowRun(
            id=number,
            path=path,
            head_sha=sha,
            event="push",
            status="completed",
            conclusion=conclusion,
        )
    )


@pytest.fixture
def read_only_token(
    github: FakeGitHub, make_repo: Any, signing_key: Any, tmp_path: Path, monkeypatch: Any
) -> Deployed:
    """The workflow token's default narrowed to read by a real deploy on the fake GitHub."""
    served = make_repo("served")
    served.write("README.md", "# app\n")
    served.commit("initial")
    key = install_deployer_app(github, monkeypatch, served.path)
    deployed = merge_desired_change(
        make_repo,
        signing_key,
        tmp_path,
        source=SOURCE,
        before=_settings("write"),
        after=_settings("read"),
        mendbot_yml=MENDBOT_YML,
        rule="gh-settings-default-token-write",
        title="Make the workflow token read-only by default",
    )
    applied = deployed.deploy()
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert github.deploy_state(REPO).workflow["default_workflow_permissions"] == "read"
    deployed.outputs.append("\n".join(secrets_of(github, key)))  # checked below, never printed
    return deployed


def test_a_setting_that_newly_breaks_a_workflow_is_put_back_and_rolled_back(
    github: FakeGitHub, read_only_token: Deployed
) -> None:
    deployed = read_only_token
    secrets = deployed.outputs.pop()
    _run(deployed, deployed.sha, 1, "success")  # CI passed on the merge, before the deploy

    quiet = deployed.observe(at(1))

    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    assert quiet.stdout.startswith("watching")
    assert "no workflow run has completed on main since the change" in quiet.stdout

    repo = deployed.repo
    repo.git("checkout", "-q", "-f", "main")
    repo.write("src/app.py", "print('later work')\n")
    later = repo.commit("later work on main")
    _run(deployed, later, 2, "failure")  # the first run since: the token cannot write

    broken = deployed.observe(at(2))

    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert broken.stdout.startswith("compensated")
    assert f"{CI} (push) run 2 on {later[:12]}: failure where run 1" in broken.stdout
    assert github.deploy_state(REPO).workflow["default_workflow_permissions"] == "write"
    [request] = deployed.forge.dispatches()
    assert request["client_payload"]["sha"] == deployed.sha
    assert frozen(repo.path, deployed.forge.deployments()) == {"staging"}
    [_, regression] = deployed.follow_ups()
    found = predicate(regression)
    assert (found["outcome"], found["validation"]["result"]) == ("compensated", "failed")
    assert found["before"] == {"actions.default_workflow_permissions": "write"}
    assert found["after"] == {"actions.default_workflow_permissions": "write"}
    credential = found["authority"]["credential"]
    assert credential["type"] == "github-installation-token"
    assert credential["scope"]["permissions"] == {"administration": "write"}
    assert deployed.verify(regression).returncode == 0
    # The fresh token was minted for the one repository and permission, and revoked.
    asked = github.token_requests[-1]
    assert asked["permissions"] == {"administration": "write"}
    assert asked["repositories"] == ["app"]
    assert len(github.revoked) == len(github.token_requests)
    for text in deployed.texts():
        for secret in secrets.splitlines():
            assert secret not in text


def test_a_setting_changed_by_hand_since_is_drift_and_not_written_back(
    github: FakeGitHub, read_only_token: Deployed
) -> None:
    deployed = read_only_token
    deployed.outputs.pop()
    github.deploy_state(REPO).workflow["default_workflow_permissions"] = "write"

    drifted = deployed.observe(at(1))

    assert drifted.returncode == 1, drifted.stdout + drifted.stderr
    assert drifted.stdout.startswith("drift")
    assert "changed outside mendbot since, not set again" in drifted.stdout
    assert deployed.forge.dispatches() == []
    puts = [line for line in github.requests if line.startswith("PUT")]
    assert len(puts) == 1  # the apply's only


def test_a_workflow_run_that_finished_after_the_deploy_is_judged_then(
    bench: Any, signing_key: Any, tmp_path: Path
) -> None:
    staged = merged_staging(bench, signing_key, tmp_path)
    records = tmp_path / "records"
    plan = tmp_path / "plan.json"
    assert run_mendbot(*staged.plan_args(plan)).returncode == 0
    parent = staged.scenario.repo.git("rev-parse", f"{staged.merge_sha}^")
    staged.forge.record_run(WorkflowRun(1, CI, parent, "push", "completed", "success"))
    applied = run_mendbot(*staged.apply_args(plan, records))  # no run on the merge yet
    assert applied.returncode == 0, applied.stdout + applied.stderr
    [first] = sorted(records.iterdir())
    assert predicate(first)["validation"]["result"] == "not-observable"
    observe = [
        "deploy", "observe", "--records", str(records), "--repo", str(staged.path),
        "--base", "main", "--verify-key", str(staged.deploy_pub),
        "--sign", "key", "--signing-key", str(staged.deploy_key), "--record-out", str(records),
    ]  # fmt: skip

    staged.forge.record_run(WorkflowRun(2, CI, staged.merge_sha, "push", "in_progress", None))
    running = run_mendbot(*observe, "--now", at(1))

    assert running.returncode == 0, running.stdout + running.stderr
    assert running.stdout.startswith("watching")
    assert f"{CI}: still running on {staged.merge_sha[:12]} now" in running.stdout

    staged.forge.record_run(WorkflowRun(2, CI, staged.merge_sha, "push", "completed", "failure"))
    failed = run_mendbot(*observe, "--now", at(2))

    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert failed.stdout.startswith("compensated")
    assert "where the parent's run 1 succeeded: regression" in failed.stdout
    [request] = staged.forge.dispatches()
    assert request["client_payload"]["sha"] == staged.merge_sha
    assert frozen(staged.path, staged.forge.deployments()) == {"staging"}
    follow_ups = sorted(p for p in records.iterdir() if "-observed" in p.name)
    assert len(follow_ups) == 2
    verified = run_mendbot(
        "deploy", "verify-record", str(follow_ups[-1]), "--verify-key", str(staged.deploy_pub)
    )
    assert verified.returncode == 0, verified.stdout


def test_the_example_workflow_observes_hourly_in_each_environment_with_known_options() -> None:
    workflow = ROOT / "docs" / "examples" / "mendbot-deploy.yml"
    document = yaml.safe_load(workflow.read_text())
    triggers = document[True]  # YAML 1.1 reads the key `on` as true
    assert triggers["schedule"] == [{"cron": "17 * * * *"}]
    assert document["permissions"] == {}
    jobs = document["jobs"]
    assert jobs["plan"]["if"] == "github.event_name != 'schedule'"
    observe = jobs["observe"]
    assert observe["if"] == "github.event_name == 'schedule'"
    assert observe["environment"] == "${{ matrix.environment }}"
    assert observe["permissions"] == {
        "id-token": "write",
        "contents": "read",
        "actions": "read",
        "deployments": "write",
    }
    # The job runs the action (deploy-command: observe), which adds the forge, trust, signing
    # and record options to the step's `args`.
    [step] = [s for s in observe["steps"] if s.get("with", {}).get("deploy-command") == "observe"]
    script = (ROOT / "action" / "run.sh").read_text()
    trust = script[script.index("trust=()") : script.index("# Runs")]
    added = script[script.index("      observe)") :].split(";;", 1)[0]
    used = set(re.findall(r"(--[a-z-]+)", step["with"]["args"] + trust + added))
    helped = run_mendbot("deploy", "observe", "--help")
    assert helped.returncode == 0
    assert used and used <= set(re.findall(r"(--[a-z-]+)", helped.stdout))


def test_a_records_folder_that_does_not_exist_is_a_clear_error(make_repo: Any, tmp_path: Path):
    repo = make_repo("empty")
    repo.commit("initial")
    key, pub = write_keys(tmp_path / "keys", "deploy", ec.generate_private_key(ec.SECP256R1()))
    missing = tmp_path / "no-records"

    done = run_mendbot(
        "deploy", "observe", "--records", str(missing), "--repo", str(repo.path),
        "--base", "main", "--verify-key", str(pub), "--sign", "key", "--signing-key", str(key),
        "--record-out", str(tmp_path / "out"),
    )  # fmt: skip

    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{missing}: not a folder of deploy records" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


def test_on_github_a_run_that_failed_after_the_deploy_fails_the_deployment_and_dispatches(
    on_github: OnGitHub,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> None:
    on = on_github
    merge_sha = on.github.merge_pull(REPO, on.scenario.pulls["staging"], "squash")
    assert on.checkout_main() == merge_sha
    on.github.add_run(REPO, CI, on.parent_of(merge_sha), conclusion="success")
    plan, records = tmp_path / "plan.json", tmp_path / "records"
    assert on.plan(merge_sha, plan).returncode == 0
    applied = on.apply(plan, records)  # no run on the merge commit yet: not observable
    assert applied.returncode == 0, applied.stdout + applied.stderr
    on.github.add_run(REPO, CI, merge_sha, conclusion="failure")

    observed = on.mendbot(
        "deploy", "observe", "--records", str(records), "--forge", "github",
        "--repository", REPO, "--api-url", on.github.base_url, "--repo", str(on.path),
        "--base", "main", "--verify-key", str(on.deploy_pub),
        "--sign", "key", "--signing-key", str(on.deploy_key),
        "--record-out", str(records), "--now", at(1),
    )  # fmt: skip

    assert observed.returncode == 1, observed.stdout + observed.stderr
    assert observed.stdout.startswith("compensated")
    [deployment] = on.deployments()
    assert [s["state"] for s in deployment["statuses"]][-2:] == ["success", "failure"]
    [request] = on.github.deploy_state(REPO).dispatches
    assert request["event_type"] == ROLLBACK_EVENT
    assert request["client_payload"]["sha"] == merge_sha
    assert frozen(on.path, on.forge.deployments()) == {"staging"}
    [follow_up] = [path for path in records.iterdir() if "-observed" in path.name]
    assert on.verify(follow_up).returncode == 0
    on.outputs.append(follow_up.read_text())
    on.assert_no_token()
