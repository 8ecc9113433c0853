"""Faults around an apply, each ending in a consistent, recorded state with nothing half-applied:
a concurrent deploy of the same change, a forge that fails while recording, a record that
cannot be written, a rollback request that cannot be sent."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from deploy_scenario import Deployable, frozen, merged_staging

from bot.forge.interface import WorkflowRun
from clirun import run_mendbot

CI = ".github/workflows/ci.yml"


def _ran(deployable: Deployable, conclusion: str) -> None:
    forge, sha = deployable.forge, deployable.merge_sha
    parent = deployable.scenario.repo.git("rev-parse", f"{sha}^1").strip()
    forge.record_run(WorkflowRun(1, CI, parent, "push", "completed", "success"))
    forge.record_run(WorkflowRun(2, CI, sha, "push", "completed", conclusion))


def _plan(deployable: Deployable, tmp_path: Path) -> Path:
    plan = tmp_path / "plan.json"
    done = run_mendbot(*deployable.plan_args(plan))
    assert done.returncode == 0, done.stdout + done.stderr
    return plan


def _predicate(record: Path) -> dict:
    envelope = json.loads(record.read_text())["dsseEnvelope"]
    return json.loads(base64.b64decode(envelope["payload"]))["predicate"]


def test_a_second_deploy_of_a_change_in_progress_is_refused(
    bench, signing_key, tmp_path: Path
) -> None:
    deployable = merged_staging(bench, signing_key, tmp_path)
    _ran(deployable, "success")
    plan = _plan(deployable, tmp_path)
    key = json.loads(plan.read_text())["changes"][0]["key"]
    # Another deploy job has started the same change and not finished.
    running = deployable.forge.create_deployment(
        deployable.merge_sha, "staging", {"change": "x", "key": key}
    )
    deployable.forge.set_deployment_status(running, "in_progress", "applying")
    done = run_mendbot(*deployable.apply_args(plan, tmp_path / "records"))
    assert done.returncode == 1
    assert done.stdout.startswith("refused")
    assert "still in_progress" in done.stdout
    assert [d.id for d in deployable.forge.deployments()] == [running]
    [record] = (tmp_path / "records").iterdir()
    assert _predicate(record)["outcome"] == "refused"


def test_a_record_that_cannot_be_written_is_reported_on_the_deployment(
    bench, signing_key, tmp_path: Path
) -> None:
    deployable = merged_staging(bench, signing_key, tmp_path)
    _ran(deployable, "success")
    plan = _plan(deployable, tmp_path)
    (tmp_path / "full").write_text("a file where the record folder's parent should be")
    done = run_mendbot(*deployable.apply_args(plan, tmp_path / "full" / "records"))
    assert done.returncode == 1, done.stdout
    assert "record not written" in done.stdout
    assert "Traceback" not in done.stderr
    [deployment] = deployable.forge.deployments()
    assert deployment.state == "error"
    assert deployment.payload["record"] is None


def test_a_rollback_request_that_cannot_be_sent_still_freezes(
    bench, signing_key, tmp_path: Path
) -> None:
    deployable = merged_staging(bench, signing_key, tmp_path)
    _ran(deployable, "failure")
    plan = _plan(deployable, tmp_path)
    (deployable.forge_dir / "dispatches").write_text("not a folder")
    done = run_mendbot(*deployable.apply_args(plan, tmp_path / "records"))
    assert done.returncode == 1
    assert done.stdout.startswith("compensated")
    assert "rollback request NOT dispatched; staging is frozen" in done.stdout
    [record] = (tmp_path / "records").iterdir()
    rollback = _predicate(record)["rollback"]
    assert rollback["dispatched"] is False and rollback["frozen"] == ["staging"]
    assert frozen(deployable.path, deployable.forge.deployments()) == {"staging"}


def test_a_forge_that_fails_while_recording_leaves_no_success(
    bench, signing_key, tmp_path: Path
) -> None:
    """The deployment's final status cannot be written: the record still says what happened,
    and the deployment stays in progress, which a rerun refuses to overlap and a person sees."""
    deployable = merged_staging(bench, signing_key, tmp_path)
    _ran(deployable, "success")
    plan = _plan(deployable, tmp_path)
    # The deployment file is created and updated once, then the forge stops accepting writes.
    from bot.forge.local import LocalForge

    class FlakyForge(LocalForge):
        calls = 0

        def set_deployment_status(self, deployment, state, description, payload=None):
            FlakyForge.calls += 1
            if FlakyForge.calls > 1:
                from bot.forge.interface import ForgeError

                raise ForgeError("the forge is down (HTTP 503)")
            super().set_deployment_status(deployment, state, description, payload)

    from datetime import UTC, datetime

    from bot.deploy.job import ApplyOptions, apply_changes, selected
    from bot.deploy.plan import config_at
    from bot.provenance.signing.signers import KeySigner

    forge = FlakyForge(deployable.path, base="main")
    requested = json.loads(plan.read_text())
    from bot.cli.deploy import plan_deployment as fresh_plan

    now = datetime.fromisoformat(requested["created"].replace("Z", "+00:00")).astimezone(UTC)
    fresh = fresh_plan(forge, deployable.scenario.trust, requested["sha"], now)
    signer = KeySigner.from_file(deployable.deploy_key)
    options = ApplyOptions(
        forge=forge,
        config=config_at(deployable.path, fresh.parent),
        signer=signer,
        record_out=tmp_path / "records",
        oidc_token=lambda audience: "",
        now=lambda: now,
    )
    with signer:
        [attempt] = apply_changes(fresh, selected(fresh, requested, None, None), options)
    assert attempt.outcome == "applied"
    assert any("could not be set" in reason for reason in attempt.reasons)
    [deployment] = deployable.forge.deployments()
    assert deployment.state == "in_progress"
    assert _predicate(attempt.record)["outcome"] == "applied"
