"""The deploy freeze after a failed release merge, lifted by ``mendbot revert`` of the remediation
it carried: the exact, path-restricted revert the gate already recognises, on real git
repositories through the real commands.

A release branch brings the staging remediation onto main together with a person's work, in one
merge commit. The release's deployment to staging fails (recorded by the release pipeline):
staging freezes. The release engineer reverts the remediation alone (``mendbot revert``); once
that revert is merged and deployed, staging unfreezes, just as it does after the whole-commit
revert ``mendbot propose --rollback`` opens. Reverting the person's work instead resolves
nothing, even with a success that names the failure.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec
from deploy_scenario import DEPLOY_NOW, Deployable, read_plan
from gate_scenario import local_scenario
from test_deploy_apply_cli import _runs
from test_deploy_attacks import _frozen, _human_pull

from bot.forge.interface import PullRequest, PullState
from bot.gate.run import GateOptions, evaluate
from bot.protocol import REVERT_LABEL
from clirun import run_mendbot
from keyfiles import write_keys

CI = ".github/workflows/ci.yml"
FEATURE = "feature.txt"


def _released(bench, signing_key, tmp_path: Path) -> tuple[Deployable, str, int]:
    """The staging remediation merged into a release branch with a person's feature, the
    release merged into main; its deployment to staging failed. The deployable (its
    ``merge_sha`` the release merge), the remediation id and the failed deployment's id."""
    scenario, forge = local_scenario(bench, signing_key)
    repo = scenario.repo
    branch = forge.get(scenario.pulls["staging"]).branch
    repo.git("checkout", "-q", "-f", "-B", "release", "main")
    repo.write(FEATURE, "a feature\n")
    repo.commit("a feature")
    repo.git("merge", "-q", "--no-ff", "-m", f"Merge {branch}", branch)
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "-m", "Merge release", "release")
    release = repo.head()
    forge.set_status(release, "success", "released")
    failed = forge.create_deployment(release, "staging", {"change": "release"})
    forge.set_deployment_status(failed, "failure", "the release did not hold")
    _, analysis_pub = write_keys(tmp_path / "keys", "analysis", signing_key)
    deploy_key, deploy_pub = write_keys(
        tmp_path / "keys", "deploy", ec.generate_private_key(ec.SECP256R1())
    )
    deployable = Deployable(scenario, forge, release, analysis_pub, deploy_key, deploy_pub)
    return deployable, branch.removeprefix("mendbot/"), failed


def test_mendbot_revert_of_the_remediation_in_a_failed_release_lifts_the_freeze(
    bench, signing_key, tmp_path: Path
) -> None:
    deployable, rid, failed = _released(bench, signing_key, tmp_path)
    forge, repo = deployable.forge, deployable.scenario.repo
    human = _human_pull(deployable, CI)
    assert _frozen(deployable, human)

    opened = run_mendbot("revert", rid, "--forge", "local", "--repo", str(repo.path))
    assert opened.returncode == 0, opened.stdout + opened.stderr
    [revert] = [p for p in forge.pulls(PullState.OPEN) if REVERT_LABEL in p.labels]
    forge.review(revert.number, "paula", "APPROVED")  # a code owner
    options = GateOptions(trust=deployable.scenario.trust, now=DEPLOY_NOW)
    decided = evaluate(forge, revert.number, options)
    assert decided.record["context"]["pr"]["reverts_bot_change"] is True
    assert decided.decision.outcome == "allow", decided.decision
    revert_sha = forge.merge(revert.number, "squash")
    assert FEATURE in repo.git("ls-tree", "--name-only", revert_sha).split()

    _runs(deployable, revert_sha, "success", 20)
    plan_file = tmp_path / "plan-revert.json"
    planned = run_mendbot(*deployable.plan_args(plan_file, revert_sha))
    plan = read_plan(plan_file)
    assert plan["problems"] == [], planned.stdout + planned.stderr
    assert plan["gate"]["revert_of"] == deployable.merge_sha
    [change] = plan["changes"]
    assert (change["action"], change["environment"], change["resolves"]) == (
        "apply",
        "staging",
        [failed],
    )
    applied = run_mendbot(*deployable.apply_args(plan_file, tmp_path / "records"))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert applied.stdout.startswith("applied")
    assert [d.state for d in forge.deployments("staging")] == ["failure", "success"]
    assert not _frozen(deployable, human), "the exact revert's deployment left staging frozen"


def test_reverting_the_persons_work_of_a_failed_release_does_not_lift_the_freeze(
    bench, signing_key, tmp_path: Path
) -> None:
    """The other half of the release merge turned around exactly is no revert of a bot change:
    a success that names the failure (forged, or from another pipeline) unfreezes nothing."""
    deployable, _, failed = _released(bench, signing_key, tmp_path)
    forge, repo = deployable.forge, deployable.scenario.repo
    human = _human_pull(deployable, CI)
    repo.git("checkout", "-q", "-f", "-B", "drop-feature", "main")
    repo.git("rm", "-q", FEATURE)
    head = repo.commit('Revert "a feature"')
    pull = forge.open(PullRequest(0, "drop", "", "drop-feature", "main", head, "", "0" * 64))
    dropped = forge.merge(pull.number, "squash")
    forge.set_status(dropped, "success", "decided")
    forged = forge.create_deployment(dropped, "staging", {"change": "x", "resolves": [failed]})
    forge.set_deployment_status(forged, "success", "applied", {"outcome": "applied"})
    assert _frozen(deployable, human), "a revert of the person's work unfroze staging"
