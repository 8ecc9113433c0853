"""``mendbot deploy plan`` on the local forge: what a merged remediation would deploy."""

from __future__ import annotations

from pathlib import Path

from clirun import run_mendbot
from deploy_scenario import merged_staging, read_plan


def test_plan_of_a_merged_workflow_remediation(bench, signing_key, tmp_path: Path) -> None:
    deployable = merged_staging(bench, signing_key, tmp_path)
    out = tmp_path / "plan.json"
    done = run_mendbot(*deployable.plan_args(out))
    print(done.stdout, done.stderr)
    plan = read_plan(out)
    print(plan)
    assert plan["sha"] == deployable.merge_sha
    assert plan["gate"]["outcome"] == "allow"
    assert False
