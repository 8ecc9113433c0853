"""The gate's batched git session: what it remembers never decides a pull request that changed,
and an object git cannot read denies that pull request alone, with git's reason.

``mendbot gate --all-open`` reads objects through one ``git cat-file --batch`` process and
remembers answers by object id for the whole run. These tests run the real command on a real
repository with a corrupt object, and decide pull requests again inside one session after
someone pushed to them or moved the base branch under them.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from gate_scenario import NOW, local_scenario
from test_gate_all_open_scaling import _git_shim
from test_gate_local import _pub, gate, human_branch, human_commit, open_human_pull, status

from bot import git
from bot.forge.interface import PullState
from bot.gate.run import GateOptions, evaluate


@pytest.fixture
def staged(bench, signing_key):
    return local_scenario(bench, signing_key)


def _attestation_blob(scenario, head: str, base: str) -> str:
    changed = scenario.repo.git("diff", "--name-only", base, head).split()
    (path,) = [name for name in changed if name.endswith(".sigstore.json")]
    return scenario.repo.git("rev-parse", f"{head}:{path}")


def test_a_corrupt_attestation_denies_that_pull_request_alone_with_gits_reason(
    staged, tmp_path
) -> None:
    scenario, forge = staged
    staging, production = scenario.pulls["staging"], scenario.pulls["production"]
    pull = forge.pull_info(staging)
    blob = _attestation_blob(scenario, pull.head_sha, pull.base_sha)
    loose = scenario.path / ".git" / "objects" / blob[:2] / blob[2:]
    loose.chmod(0o644)
    loose.write_bytes(b"x\x01 not zlib data")

    done = subprocess.run(
        [sys.executable, "-m", "bot", "gate", "--all-open", "--repo", str(scenario.path),
         "--base", "main", "--verify-key", str(_pub(scenario, tmp_path)),
         "--now", NOW.strftime("%Y-%m-%dT%H:%M:%SZ"), "--format", "json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip

    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    decided = {record["pr"]: record for record in json.loads(done.stdout)}
    assert decided[production]["decision"] == "require_approval"
    broken = decided[staging]
    assert broken["decision"] == "deny"
    reason = json.dumps(broken)
    assert f"loose object {blob}" in reason and "is corrupt" in reason
    assert status(forge, pull.head_sha) == "failure"


def test_a_push_beyond_the_attested_change_is_seen_within_one_session(staged) -> None:
    scenario, forge = staged
    number = scenario.pulls["staging"]
    options = GateOptions(trust=scenario.trust, now=NOW)
    with git.batched():
        assert evaluate(forge, number, options).decision.outcome == "allow"
        branch = forge.get(number).branch
        ci = (scenario.path / ".github/workflows/ci.yml").read_text()
        human_commit(scenario.repo, branch, {".github/workflows/ci.yml": ci + "# more\n"})
        again = evaluate(forge, number, options)
    assert again.gathered is not None
    assert again.gathered.context.provenance.verified
    assert not again.gathered.context.provenance.matches_pr
    assert again.decision.outcome != "allow"
    assert again.decision.outcome == gate(forge, scenario, number).decision.outcome


def test_a_base_branch_moved_under_the_attestation_is_seen_within_one_session(staged) -> None:
    scenario, forge = staged
    number = scenario.pulls["staging"]
    options = GateOptions(trust=scenario.trust, now=NOW)
    with git.batched():
        first = evaluate(forge, number, options)
        assert first.decision.outcome == "allow"
        # Someone merges another change to the same workflow: the attested change is stale.
        scenario.repo.git("checkout", "-q", "main")
        ci = (scenario.path / ".github/workflows/ci.yml").read_text()
        scenario.repo.write(".github/workflows/ci.yml", ci.replace("npm test", "npm test -- --ci"))
        scenario.repo.commit("tweak the tests")
        again = evaluate(forge, number, options)
    assert again.pull.base_sha != first.pull.base_sha
    assert again.gathered is not None
    assert not again.gathered.context.provenance.matches_pr
    assert again.decision.outcome != "allow"
    assert again.decision.outcome == gate(forge, scenario, number).decision.outcome


def test_an_open_rollback_is_verified_once_per_run_not_once_per_decision(staged, tmp_path) -> None:
    scenario, forge = staged
    repo = scenario.repo
    staging = scenario.pulls["staging"]
    pull = forge.pull_info(staging)
    repo.git("merge", "-q", "--no-ff", "-m", f"Merge #{staging}", pull.head_ref)
    merge = repo.head()
    forge.set_state(staging, PullState.MERGED)
    repo.git("checkout", "-q", "-b", "rollback", "main")
    repo.git("revert", "--no-edit", "-m", "1", merge)
    repo.git("checkout", "-q", "main")
    open_human_pull(forge, "rollback", f"Revert #{staging}", "release-eng", ["mendbot:rollback"])
    features = []
    for index in range(4):
        ci = f"name: ci{index}\non: push\njobs: {{}}\n"
        human_branch(repo, f"feature-{index}", {".github/workflows/ci.yml": ci}, "rewrite ci")
        features.append(open_human_pull(forge, f"feature-{index}", "Rewrite CI", "alice"))
    log = tmp_path / "git.log"

    done = subprocess.run(
        [sys.executable, "-m", "bot", "gate", "--all-open", "--repo", str(scenario.path),
         "--base", "main", "--verify-key", str(_pub(scenario, tmp_path)),
         "--now", NOW.strftime("%Y-%m-%dT%H:%M:%SZ"), "--format", "json"],
        capture_output=True, text=True, check=False, env=_git_shim(tmp_path / "shim", log),
    )  # fmt: skip

    assert done.returncode == 1, done.stderr
    decided = {record["pr"]: record for record in json.loads(done.stdout)}
    for number in features:  # staging is frozen by the rollback for every one of them
        assert decided[number]["decision"] == "deny"
        assert decided[number]["context"]["environment"] == {"frozen": True}
    # Each decision searches the history for what its own pull request reverts; the rollback's
    # search (and the verification of what it reverts) happens once, not once per decision.
    searches = log.read_text().split().count("log")
    assert searches <= len(decided) + 1, (searches, len(decided))
