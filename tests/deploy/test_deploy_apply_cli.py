"""``mendbot deploy apply`` on the local forge, the whole loop as users meet it: a merged workflow
remediation is deployed and recorded; a regression is compensated, recorded, freezes the
environment and gets its exact revert proposed; the revert deploys and unfreezes.

Workflow runs are what a runner would report: recorded on the local forge by the test.
"""

from __future__ import annotations

import json
from pathlib import Path

from deploy_scenario import DEPLOY_NOW, Deployable, frozen, merged_staging, read_plan

from bot.forge.interface import PullRequest, PullState, WorkflowRun
from bot.gate.run import GateOptions, evaluate
from bot.protocol import ROLLBACK_EVENT, ROLLBACK_LABEL
from clirun import run_mendbot

CI = ".github/workflows/ci.yml"


def _runs(deployable: Deployable, sha: str, conclusion: str, run_id: int) -> None:
    """The CI workflow ran on ``sha`` (and, for comparison, passed on its first parent)."""
    forge = deployable.forge
    parent = deployable.scenario.repo.git("rev-parse", f"{sha}^1").strip()
    forge.record_run(WorkflowRun(run_id, CI, parent, "push", "completed", "success"))
    forge.record_run(WorkflowRun(run_id + 1, CI, sha, "push", "completed", conclusion))


def _plan_and_apply(deployable: Deployable, tmp_path: Path, sha: str | None = None):
    plan = tmp_path / f"plan-{sha or 'merge'}.json"
    planned = run_mendbot(*deployable.plan_args(plan, sha))
    assert "Traceback" not in planned.stderr, planned.stderr
    records = tmp_path / "records"
    applied = run_mendbot(*deployable.apply_args(plan, records))
    assert "Traceback" not in applied.stderr, applied.stderr
    return planned, applied, records


def _verify(deployable: Deployable, record: Path):
    return run_mendbot(
        "deploy", "verify-record", str(record), "--verify-key", str(deployable.deploy_pub)
    )


def test_a_merged_remediation_that_holds_is_applied_once_and_recorded(
    bench, signing_key, tmp_path: Path
) -> None:
    deployable = merged_staging(bench, signing_key, tmp_path)
    _runs(deployable, deployable.merge_sha, "success", 10)
    _, applied, records = _plan_and_apply(deployable, tmp_path)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert applied.stdout.startswith("applied")
    [record] = sorted(records.iterdir())
    verified = _verify(deployable, record)
    assert verified.returncode == 0, verified.stdout
    payload = json.loads(record.read_text())["dsseEnvelope"]["payload"]
    import base64

    statement = json.loads(base64.b64decode(payload))
    predicate = statement["predicate"]
    assert predicate["outcome"] == "applied"
    assert predicate["environment"] == "staging"
    assert predicate["mergeSha"] == deployable.merge_sha
    assert predicate["validation"]["result"] == "passed"
    assert predicate["gate"]["decision"] == "allow"
    assert predicate["authority"]["credential"]["type"] == "forge-read"
    [deployment] = deployable.forge.deployments("staging")
    assert deployment.state == "success"
    assert deployment.payload["outcome"] == "applied"
    # A rerun applies nothing again: the change is recorded as applied in staging.
    again = run_mendbot(*deployable.apply_args(tmp_path / "plan-merge.json", tmp_path / "again"))
    assert again.returncode == 0
    assert again.stdout.startswith("skipped")
    assert "already applied by deployment" in again.stdout
    assert len(deployable.forge.deployments("staging")) == 1


def test_a_changed_record_byte_fails_verification(bench, signing_key, tmp_path: Path) -> None:
    deployable = merged_staging(bench, signing_key, tmp_path)
    _runs(deployable, deployable.merge_sha, "success", 10)
    _, _, records = _plan_and_apply(deployable, tmp_path)
    [record] = sorted(records.iterdir())
    raw = bytearray(record.read_bytes())
    position = raw.index(b'"payload": "') + 20
    raw[position] = ord("A") if raw[position] != ord("A") else ord("B")
    tampered = tmp_path / "tampered.json"
    tampered.write_bytes(bytes(raw))
    assert _verify(deployable, tampered).returncode == 1
    stranger = run_mendbot(
        "deploy", "verify-record", str(record), "--verify-key", str(deployable.analysis_pub)
    )
    assert stranger.returncode == 1, "a record must be signed by the deploy identity"


def test_a_regression_is_compensated_frozen_reverted_and_unfrozen(
    bench, signing_key, tmp_path: Path
) -> None:
    deployable = merged_staging(bench, signing_key, tmp_path)
    forge, repo = deployable.forge, deployable.scenario.repo
    _runs(deployable, deployable.merge_sha, "failure", 10)
    _, applied, records = _plan_and_apply(deployable, tmp_path)
    assert applied.returncode == 1, applied.stdout
    assert applied.stdout.startswith("compensated")
    assert "rollback request dispatched; staging is frozen" in applied.stdout
    [failed] = forge.deployments("staging")
    assert (failed.state, failed.payload["outcome"]) == ("failure", "compensated")
    [request] = forge.dispatches()
    assert request["event_type"] == ROLLBACK_EVENT
    assert request["client_payload"]["sha"] == deployable.merge_sha

    # Before the revert pull request exists, the failed deployment alone freezes staging.
    repo.git("checkout", "-q", "-B", "human-ci-change", "main")
    with (repo.path / CI).open("a") as handle:
        handle.write("      - run: echo more tests\n")
    human_head = repo.commit("more tests")
    human = forge.open(
        PullRequest(
            0, "more tests", "", "human-ci-change", "main", human_head, "", "0" * 64, author="ada"
        )
    )
    options = GateOptions(trust=deployable.scenario.trust, now=DEPLOY_NOW)
    frozen = evaluate(forge, human.number, options)
    assert frozen.record["context"]["environment"]["frozen"] is True
    assert frozen.decision.outcome == "deny"

    # The propose identity opens the exact revert; the gate lets it through the freeze.
    opened = run_mendbot(*deployable.rollback_args())
    assert opened.returncode == 0, opened.stdout + opened.stderr
    assert forge.dispatches() == []
    [rollback] = [p for p in forge.pulls(PullState.OPEN) if ROLLBACK_LABEL in p.labels]
    assert "env:staging" in rollback.labels
    decided = evaluate(forge, rollback.number, options)
    assert decided.record["context"]["environment"]["frozen"] is True
    assert decided.decision.outcome == "require_approval", "the freeze must not deny a rollback"
    forge.review(rollback.number, "paula", "APPROVED")  # a code owner reviews the rollback
    decided = evaluate(forge, rollback.number, options)
    assert decided.decision.outcome == "allow", decided.decision.missing_approvals
    assert decided.record["context"]["pr"]["reverts_bot_change"] is True
    again = run_mendbot(
        *deployable.rollback_args("--rollback", deployable.merge_sha, "--env", "staging")
    )
    assert again.stdout.startswith("already open:")

    # The revert merges and deploys: its deployment resolves the failure, staging unfreezes.
    revert_sha = forge.merge(rollback.number, "squash")
    _runs(deployable, revert_sha, "success", 20)
    planned, reverted, _ = _plan_and_apply(deployable, tmp_path, revert_sha)
    plan = read_plan(tmp_path / f"plan-{revert_sha}.json")
    assert plan["gate"]["revert_of"] == deployable.merge_sha
    assert plan["changes"][0]["resolves"] == [failed.id]
    assert reverted.returncode == 0, planned.stdout + reverted.stdout
    assert reverted.stdout.startswith("applied")
    assert forge.get(human.number).state is PullState.OPEN
    after = evaluate(forge, human.number, options)
    assert after.record["context"]["environment"]["frozen"] is False
    assert [d.state for d in forge.deployments("staging")] == ["failure", "success"]
    for record in sorted(records.iterdir()):
        assert _verify(deployable, record).returncode == 0


def test_a_revert_that_fails_in_turn_leaves_the_environment_frozen(
    bench, signing_key, tmp_path: Path
) -> None:
    deployable = merged_staging(bench, signing_key, tmp_path)
    forge = deployable.forge
    _runs(deployable, deployable.merge_sha, "failure", 10)
    _plan_and_apply(deployable, tmp_path)
    run_mendbot(*deployable.rollback_args())
    [rollback] = [p for p in forge.pulls(PullState.OPEN) if ROLLBACK_LABEL in p.labels]
    forge.review(rollback.number, "paula", "APPROVED")
    revert_sha = forge.merge(rollback.number, "squash")
    _runs(deployable, revert_sha, "failure", 20)
    _, reverted, _ = _plan_and_apply(deployable, tmp_path, revert_sha)
    assert reverted.returncode == 1
    assert reverted.stdout.startswith("compensated")
    states = [(d.state, d.payload.get("outcome")) for d in forge.deployments("staging")]
    assert states == [("failure", "compensated"), ("failure", "compensated")]

    assert frozen(deployable.path, forge.deployments()) == {"staging"}
