"""Attacks on the deploy identity, each performed end to end on the local forge through the real
``mendbot deploy`` / gate code: what an attacker (or an unlucky user) would try to get something
deployed that nobody reviewed, to escape a freeze, or to break the run."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from deploy_scenario import DEPLOY_NOW, Deployable, merged_staging, read_plan

from bot.forge.interface import PullRequest, PullState, WorkflowRun
from bot.gate.run import GateOptions, evaluate
from bot.protocol import ROLLBACK_EVENT, ROLLBACK_LABEL
from clirun import run_mendbot

CI = ".github/workflows/ci.yml"
DEPLOY = ".github/workflows/deploy.yml"


def _runs(deployable: Deployable, sha: str, conclusion: str, run_id: int) -> None:
    forge = deployable.forge
    parent = deployable.scenario.repo.git("rev-parse", f"{sha}^1").strip()
    forge.record_run(WorkflowRun(run_id, CI, parent, "push", "completed", "success"))
    forge.record_run(WorkflowRun(run_id + 1, CI, sha, "push", "completed", conclusion))


def _plan(deployable: Deployable, tmp_path: Path, sha: str, name: str = "plan"):
    out = tmp_path / f"{name}.json"
    done = run_mendbot(*deployable.plan_args(out, sha))
    assert "Traceback" not in done.stderr, done.stderr
    return done, out


def _failed_staging(deployable: Deployable, tmp_path: Path) -> int:
    """Deploy the staging remediation, let its validation fail: staging freezes; the id of the
    failed deployment."""
    _runs(deployable, deployable.merge_sha, "failure", 10)
    _, plan = _plan(deployable, tmp_path, deployable.merge_sha, "plan-failed")
    applied = run_mendbot(*deployable.apply_args(plan, tmp_path / "records"))
    assert applied.stdout.startswith("compensated"), applied.stdout + applied.stderr
    failed = [d for d in deployable.forge.deployments("staging") if d.state == "failure"]
    return failed[-1].id


def _approved_rollback(deployable: Deployable) -> int:
    """The propose identity opens the exact revert of the failed change; a code owner approves."""
    opened = run_mendbot(*deployable.rollback_args())
    assert opened.returncode == 0, opened.stdout + opened.stderr
    forge = deployable.forge
    [rollback] = [p for p in forge.pulls(PullState.OPEN) if ROLLBACK_LABEL in p.labels]
    forge.review(rollback.number, "paula", "APPROVED")
    return rollback.number


def _human_pull(deployable: Deployable, path: str) -> int:
    """A person's pull request changing ``path``."""
    repo = deployable.scenario.repo
    repo.git("checkout", "-q", "-f", "-B", f"human-{path.rsplit('/', 1)[-1]}", "main")
    with (repo.path / path).open("a") as handle:
        handle.write("# a person's change\n")
    head = repo.commit("a person's change")
    pull = deployable.forge.open(
        PullRequest(0, "change", "", f"human-{path.rsplit('/', 1)[-1]}", "main", head, "", "0" * 64)
    )
    return pull.number


def _frozen(deployable: Deployable, number: int) -> bool:
    options = GateOptions(trust=deployable.scenario.trust, now=DEPLOY_NOW)
    run = evaluate(deployable.forge, number, options)
    return bool(run.record["context"]["environment"]["frozen"])


def test_an_evil_merge_of_an_exact_revert_deploys_nothing_unreviewed(
    bench, signing_key, tmp_path: Path
) -> None:
    """The approved exact revert is merged by hand with a merge commit that also changes the
    production workflow (GitHub marks the pull request merged by that commit). The gate judged
    the pull request's head, an exact revert; the deploy job must not deploy the merge's extra
    change as part of the "revert"."""
    deployable = merged_staging(bench, signing_key, tmp_path)
    forge, repo = deployable.forge, deployable.scenario.repo
    _failed_staging(deployable, tmp_path)
    number = _approved_rollback(deployable)
    head = forge.pull_info(number).head_sha
    main = forge.branch_head("main")
    repo.git("checkout", "-q", "-f", "-B", "evil", head)
    repo.write(DEPLOY, "name: deploy\non: push\njobs: {}\n")
    extra = repo.commit("and one more thing")
    tree = repo.git("rev-parse", f"{extra}^{{tree}}").strip()
    evil = repo.git("commit-tree", tree, "-p", main, "-p", head, "-m", "Merge rollback").strip()
    forge.push("main", evil, main)
    record = forge.get(number)
    record.state, record.head_sha, record.merge_sha = PullState.MERGED, head, evil
    forge.update(record)

    done, out = _plan(deployable, tmp_path, evil)
    plan = read_plan(out)
    applied = [c for c in plan["changes"] if c["action"] == "apply"]
    assert applied == [], applied
    assert done.returncode == 1
    assert plan["problems"] and "exact revert" in plan["problems"][0]


def test_a_success_in_another_environment_does_not_unfreeze_this_one(
    bench, signing_key, tmp_path: Path
) -> None:
    """A successful deployment to production (forged, or the revert's production leg of a
    multi-environment change) names the failed staging deployment in ``resolves``: staging must
    stay frozen until a deployment *to staging* resolves it."""
    deployable = merged_staging(bench, signing_key, tmp_path)
    forge = deployable.forge
    failed = _failed_staging(deployable, tmp_path)
    human = _human_pull(deployable, CI)
    assert _frozen(deployable, human)
    other = forge.create_deployment(
        deployable.merge_sha, "production", {"change": "elsewhere", "resolves": [failed]}
    )
    forge.set_deployment_status(other, "success", "applied", {"outcome": "applied"})
    assert _frozen(deployable, human), "a production deployment resolved staging's failure"


def test_a_success_recorded_before_a_failure_does_not_resolve_it(
    bench, signing_key, tmp_path: Path
) -> None:
    """A successful deployment names, in advance, the ids the next failures will get: a later
    failure must still freeze its environment (a resolution comes after the failure)."""
    deployable = merged_staging(bench, signing_key, tmp_path)
    forge = deployable.forge
    forge.set_status(deployable.merge_sha, "success", "earlier decision")
    ahead = forge.create_deployment(
        deployable.merge_sha, "staging", {"change": "other", "resolves": list(range(2, 50))}
    )
    forge.set_deployment_status(ahead, "success", "applied", {"outcome": "applied"})
    failed = _failed_staging(deployable, tmp_path)
    assert failed > ahead
    human = _human_pull(deployable, CI)
    assert _frozen(deployable, human), "a failure was resolved before it happened"


def test_a_rerun_into_the_same_folder_keeps_the_record_of_what_was_applied(
    bench, signing_key, tmp_path: Path
) -> None:
    """The deploy job is run again with the same --record-out (a retried job, a person running
    it twice): the second run is skipped and recorded, and the signed record of the attempt that
    actually changed the target must still be there."""
    deployable = merged_staging(bench, signing_key, tmp_path)
    _runs(deployable, deployable.merge_sha, "success", 10)
    _, plan = _plan(deployable, tmp_path, deployable.merge_sha)
    records = tmp_path / "records"
    first = run_mendbot(*deployable.apply_args(plan, records))
    assert first.stdout.startswith("applied"), first.stdout + first.stderr
    [applied] = sorted(records.iterdir())
    applied_bytes = applied.read_bytes()
    again = run_mendbot(*deployable.apply_args(plan, records))
    assert again.stdout.startswith("skipped"), again.stdout + again.stderr
    assert applied.read_bytes() == applied_bytes, "the applied record was overwritten"
    assert len(list(records.iterdir())) == 2


def test_a_plan_file_with_a_broken_change_is_a_clear_error(
    bench, signing_key, tmp_path: Path
) -> None:
    """A plan file edited by hand (or truncated by another tool) whose change has no ``key``,
    or a key that is not text: a clear error naming the file, no traceback, nothing deployed."""
    deployable = merged_staging(bench, signing_key, tmp_path)
    _, plan = _plan(deployable, tmp_path, deployable.merge_sha)
    data = read_plan(plan)
    for broken in ({"action": "apply"}, {**data["changes"][0], "key": ["not", "text"]}):
        edited = tmp_path / "edited.json"
        edited.write_text(json.dumps({**data, "changes": [broken]}))
        done = run_mendbot(*deployable.apply_args(edited, tmp_path / "records"))
        assert "Traceback" not in done.stderr, done.stderr
        assert done.returncode == 2, done.stdout + done.stderr
        assert "edited.json" in done.stderr
        assert deployable.forge.deployments() == []


def test_a_merge_commit_claimed_by_another_pull_request_is_not_deployed(
    bench, signing_key, tmp_path: Path
) -> None:
    """Someone who may push to main "merges" an approved, harmless documentation pull request
    with a merge commit whose content is instead the production remediation, which nobody
    approved (GitHub records the documentation pull request as merged by that commit). The
    attestation matches the merge's change, but the gate judged the documentation pull
    request: the production change must not be deployed."""
    deployable = merged_staging(bench, signing_key, tmp_path)
    forge, repo = deployable.forge, deployable.scenario.repo
    production = forge.pull_info(deployable.scenario.pulls["production"]).head_sha
    main = forge.branch_head("main")
    repo.git("checkout", "-q", "-f", "-B", "docs", main)
    repo.write("README.md", "How to build.\n")
    docs = repo.commit("docs")
    pull = forge.open(PullRequest(0, "docs", "", "docs", "main", docs, "", "0" * 64))
    forge.review(pull.number, "paula", "APPROVED")
    options = GateOptions(trust=deployable.scenario.trust, now=DEPLOY_NOW)
    assert evaluate(forge, pull.number, options).decision.outcome == "allow"
    repo.git("checkout", "-q", "-f", "-B", "smuggled", main)
    repo.git("merge", "-q", "--no-commit", "--squash", production)
    smuggled = repo.commit("the remediation content")
    tree = repo.git("rev-parse", f"{smuggled}^{{tree}}").strip()
    evil = repo.git("commit-tree", tree, "-p", main, "-p", docs, "-m", "Merge docs").strip()
    forge.push("main", evil, main)
    record = forge.get(pull.number)
    record.state, record.head_sha, record.merge_sha = PullState.MERGED, docs, evil
    forge.update(record)

    done, out = _plan(deployable, tmp_path, evil)
    plan = read_plan(out)
    assert [c for c in plan["changes"] if c["action"] == "apply"] == [], done.stdout
    assert done.returncode == 1
    assert plan["gate"]["outcome"] == "deny", plan["gate"]["summary"]
    assert "does not hold what pull request" in plan["gate"]["summary"]


def test_a_plan_that_cannot_be_written_is_a_clear_error(bench, signing_key, tmp_path: Path) -> None:
    """--out names a file inside something that is not a folder: a clear error naming the
    path, no traceback, and nothing left behind."""
    deployable = merged_staging(bench, signing_key, tmp_path)
    blocker = tmp_path / "plans"
    blocker.write_text("a file, not a folder\n")
    done = run_mendbot(*deployable.plan_args(blocker / "plan.json"))
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2, done.stdout + done.stderr
    assert str(blocker) in done.stderr
    assert blocker.read_text() == "a file, not a folder\n"


def test_a_forged_success_in_the_same_environment_does_not_unfreeze_it(
    bench, signing_key, tmp_path: Path
) -> None:
    """A person with deployments write access creates a successful deployment, of a commit that
    reverts nothing (the failed change itself), in the frozen environment and names the failure
    in `resolves`."""
    deployable = merged_staging(bench, signing_key, tmp_path)
    forge = deployable.forge
    failed = _failed_staging(deployable, tmp_path)
    human = _human_pull(deployable, CI)
    assert _frozen(deployable, human)
    forged = forge.create_deployment(
        deployable.merge_sha, "staging", {"change": "nothing", "resolves": [failed]}
    )
    forge.set_deployment_status(forged, "success", "applied", {"outcome": "applied"})
    assert _frozen(deployable, human), "a deployment that reverts nothing unfroze staging"


def test_a_replayed_bot_attestation_does_not_make_a_human_change_a_bot_change(
    bench, signing_key, tmp_path: Path
) -> None:
    """A person's change to the staging workflow also commits a copy of a genuine bot
    attestation (of another change). Once merged, its exact revert must not count as the
    revert of a bot change: not safe by fiat, not through the freeze, not "no contributor"."""
    deployable = merged_staging(bench, signing_key, tmp_path)
    forge, repo = deployable.forge, deployable.scenario.repo
    changed = repo.git("diff", "--name-only", f"{deployable.merge_sha}^1", deployable.merge_sha)
    [genuine] = [p for p in changed.split() if p.startswith(".mendbot/attestations/")]
    number = _human_pull(deployable, CI)
    repo.write(".mendbot/attestations/replayed.sigstore.json", (repo.path / genuine).read_bytes())
    head = repo.commit("a person's change, with a bot attestation copied in")
    record = forge.get(number)
    record.head_sha = head
    forge.update(record)
    human_merge = forge.merge(number, "squash")

    repo.git("checkout", "-q", "-f", "-B", "revert-it", "main")
    repo.git("revert", "--no-edit", human_merge)
    revert_head = repo.git("rev-parse", "HEAD").strip()
    revert = forge.open(
        PullRequest(0, "revert", "", "revert-it", "main", revert_head, "", "0" * 64, author="mal")
    )
    options = GateOptions(trust=deployable.scenario.trust, now=DEPLOY_NOW)
    context = evaluate(forge, revert.number, options).record["context"]
    assert context["pr"]["is_revert"] is True
    assert context["pr"]["reverts_bot_change"] is False, "a human change counted as the bot's"
    assert context["change"]["disposition"] != "safe"


def test_one_unusable_rollback_request_does_not_block_the_others(
    bench, signing_key, tmp_path: Path
) -> None:
    """A rollback request that cannot be served (a commit not on main: forged, or from a
    rewritten history) sits before a genuine one. The genuine revert pull request must still be
    opened; the bad request is reported and kept for a person."""
    deployable = merged_staging(bench, signing_key, tmp_path)
    forge = deployable.forge
    forge.dispatch(ROLLBACK_EVENT, {"sha": "0" * 40, "environment": "staging"})
    _failed_staging(deployable, tmp_path)
    assert len(forge.dispatches()) == 2
    done = run_mendbot(*deployable.rollback_args())
    assert "Traceback" not in done.stderr, done.stderr
    rollbacks = [p for p in forge.pulls(PullState.OPEN) if ROLLBACK_LABEL in p.labels]
    assert len(rollbacks) == 1, done.stdout + done.stderr
    assert done.returncode != 0, "an unserved rollback request must not look like success"
    assert "0000000000" in done.stderr
    [kept] = forge.dispatches()
    assert kept["client_payload"]["sha"] == "0" * 40


def test_a_deployment_left_unfinished_freezes_its_environment(
    bench, signing_key, tmp_path: Path
) -> None:
    deployable = merged_staging(bench, signing_key, tmp_path)
    forge = deployable.forge
    forge.set_status(deployable.merge_sha, "success", "decided")
    started = forge.create_deployment(
        deployable.merge_sha, "staging", {"change": "interrupted", "key": "interrupted"}
    )
    forge.set_deployment_status(started, "in_progress", "applying")
    stored = deployable.forge_dir / "deployments" / f"{started}.json"
    data = json.loads(stored.read_text())
    data["created_at"] = (DEPLOY_NOW - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    stored.write_text(json.dumps(data))
    human = _human_pull(deployable, CI)
    assert _frozen(deployable, human), "an interrupted deployment left staging open"
