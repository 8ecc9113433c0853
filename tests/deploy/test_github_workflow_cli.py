"""``mendbot deploy apply`` of a merged workflow fix, as a user runs it: the git-workflow applier
watches the runs of the touched workflow on the merge commit (recorded on the local forge, as a
runner would) and the exit code, the output and the signed record say what it found."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from deploy_scenario import Deployable, merged_staging

from bot.forge.interface import WorkflowRun
from clirun import run_mendbot

CI = ".github/workflows/ci.yml"


def _run(deployable: Deployable, sha: str, number: int, conclusion: str) -> None:
    deployable.forge.record_run(
        WorkflowRun(
            id=number,
            path=CI,
            head_sha=sha,
            event="push",
            status="completed",
            conclusion=conclusion,
        )
    )


def _deploy(deployable: Deployable, tmp_path: Path):
    plan = tmp_path / "plan.json"
    planned = run_mendbot(*deployable.plan_args(plan))
    assert planned.returncode == 0, planned.stdout + planned.stderr
    records = tmp_path / "records"
    deployable.deploy_key.chmod(0o600)  # a signing key readable by others is refused
    done = run_mendbot(*deployable.apply_args(plan, records))
    assert "Traceback" not in done.stderr, done.stderr
    written = sorted(records.glob("*.json")) if records.is_dir() else []
    return done, [json.loads(path.read_text()) for path in written]


def _predicate(records: list[dict]) -> dict:
    """The predicate of the one signed record (a DSSE envelope in a Sigstore bundle)."""
    [record] = records
    statement = json.loads(base64.b64decode(record["dsseEnvelope"]["payload"]))
    return statement["predicate"]


def test_a_workflow_fix_whose_run_passes_is_applied(bench, signing_key, tmp_path: Path):
    deployable = merged_staging(bench, signing_key, tmp_path)
    parent = deployable.scenario.repo.git("rev-parse", f"{deployable.merge_sha}^")
    _run(deployable, parent, 1, "success")
    _run(deployable, deployable.merge_sha, 2, "success")

    done, records = _deploy(deployable, tmp_path)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "applied" in done.stdout and "git-workflow" in done.stdout
    predicate = _predicate(records)
    assert predicate["outcome"] == "applied"
    assert predicate["validation"]["result"] == "passed"
    assert f"{CI} (push) run 2: success" in predicate["validation"]["checks"]
    assert deployable.forge.dispatches() == []


def test_a_workflow_fix_that_breaks_its_run_asks_for_the_revert(bench, signing_key, tmp_path):
    deployable = merged_staging(bench, signing_key, tmp_path)
    parent = deployable.scenario.repo.git("rev-parse", f"{deployable.merge_sha}^")
    _run(deployable, parent, 1, "success")
    _run(deployable, deployable.merge_sha, 2, "failure")

    done, records = _deploy(deployable, tmp_path)

    assert done.returncode == 1, done.stdout + done.stderr
    assert "compensated" in done.stdout
    assert "revert pull request is the compensation" in done.stdout
    predicate = _predicate(records)
    assert predicate["validation"]["result"] == "failed"
    assert any("regression" in check for check in predicate["validation"]["checks"])
    [request] = deployable.forge.dispatches()
    assert request["client_payload"]["sha"] == deployable.merge_sha


def test_a_workflow_fix_with_no_run_is_recorded_not_observable(bench, signing_key, tmp_path):
    deployable = merged_staging(bench, signing_key, tmp_path)

    done, records = _deploy(deployable, tmp_path)

    assert done.returncode == 0, done.stdout + done.stderr
    predicate = _predicate(records)
    assert predicate["outcome"] == "applied"
    assert predicate["validation"]["result"] == "not-observable"
    assert any("no run on" in check for check in predicate["validation"]["checks"])
