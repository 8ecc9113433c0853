"""``mendbot deploy plan|apply|verify-record`` on ``--forge github``, as the deploy job runs them.

The staging remediation of the gate scenario is proposed on the fake GitHub, gated and merged
with the fake's merge button; the deploy job's checkout then has the merge commit. Every command
is a real ``mendbot`` process holding the token in ``$GITHUB_TOKEN``; the gate at deploy time
finds the merged pull request over ``GET /commits/{sha}/pulls``, the deployment, its statuses and
the rollback request are GitHub's own objects (read back from the fake), and workflow runs are
what a runner would have reported (seeded on the fake).
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from pathlib import Path
from subprocess import CompletedProcess

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from deploy_scenario import DEPLOY_TIME, write_keys
from fakegithub import TOKEN, FakeGitHub
from gate_scenario import NOW, SIGNED, Scenario, prepare_base, propose_all

from bot.forge.github.forge import GitHubForge
from bot.gate.run import GateOptions, evaluate
from bot.protocol import ROLLBACK_EVENT, ROLLBACK_LABEL
from clirun import run_mendbot

REPO = "acme/app"
CI = ".github/workflows/ci.yml"


@dataclass
class OnGitHub:
    """The scenario served as :data:`REPO`, the local checkout the deploy job has, the keys."""

    github: FakeGitHub
    scenario: Scenario
    forge: GitHubForge
    analysis_pub: Path
    deploy_key: Path
    deploy_pub: Path
    outputs: list[str]
    """Everything the commands printed and wrote (checked for the token at the end)."""

    @property
    def path(self) -> Path:
        return self.scenario.path

    @property
    def bare(self) -> Path:
        return self.github.repos[REPO].bare

    def checkout_main(self) -> str:
        """What ``actions/checkout`` gives the deploy job: main as it is on GitHub now."""
        repo = self.scenario.repo
        repo.git("checkout", "-q", "--detach")
        repo.git("fetch", "-q", str(self.bare), "+refs/heads/main:refs/heads/main")
        repo.git("checkout", "-q", "main")
        return repo.git("rev-parse", "HEAD").strip()

    def parent_of(self, sha: str) -> str:
        return self.scenario.repo.git("rev-parse", f"{sha}^1").strip()

    def mendbot(self, *args: str) -> CompletedProcess[str]:
        env = {**os.environ, "GITHUB_TOKEN": TOKEN}
        for name in ("GITHUB_ACTIONS", "GITHUB_REPOSITORY", "GITHUB_API_URL", "GITHUB_RUN_ID"):
            env.pop(name, None)
        done = run_mendbot(*args, env=env)
        assert "Traceback" not in done.stderr, done.stderr
        self.outputs += [done.stdout, done.stderr]
        return done

    def forge_args(self) -> list[str]:
        return [
            "--forge",
            "github",
            "--repository",
            REPO,
            "--api-url",
            self.github.base_url,
            "--repo",
            str(self.path),
            "--base",
            "main",
            "--verify-key",
            str(self.analysis_pub),
            "--now",
            DEPLOY_TIME,
        ]

    def plan(self, sha: str, out: Path) -> CompletedProcess[str]:
        done = self.mendbot("deploy", "plan", "--sha", sha, *self.forge_args(), "--out", str(out))
        if out.exists():
            self.outputs.append(out.read_text())
        return done

    def apply(self, plan: Path, records: Path) -> CompletedProcess[str]:
        done = self.mendbot(
            "deploy",
            "apply",
            "--plan",
            str(plan),
            *self.forge_args(),
            "--sign",
            "key",
            "--signing-key",
            str(self.deploy_key),
            "--record-out",
            str(records),
        )
        if records.exists():
            self.outputs += [record.read_text() for record in sorted(records.iterdir())]
        return done

    def verify(self, record: Path) -> CompletedProcess[str]:
        return self.mendbot(
            "deploy", "verify-record", str(record), "--verify-key", str(self.deploy_pub)
        )

    def seed_runs(self, sha: str, conclusion: str) -> None:
        """CI ran on ``sha`` with ``conclusion`` and passed on its first parent."""
        self.github.add_run(REPO, CI, self.parent_of(sha), conclusion="success")
        self.github.add_run(REPO, CI, sha, conclusion=conclusion)

    def deployments(self) -> list[dict]:
        return self.github.deploy_state(REPO).deployments

    def policy_states(self, sha: str) -> list[str]:
        statuses = self.github.repos[REPO].statuses.get(sha, [])
        return [s["state"] for s in statuses if s["context"] == "mendbot/policy"]

    def assert_no_token(self) -> None:
        """The token is in no output, plan or record, and in no request line the fake logged
        (only the Authorization header, which the log does not keep, carried it)."""
        assert self.outputs
        for text in [*self.outputs, *self.github.requests, *self.github.unhandled]:
            assert TOKEN not in text, f"the token leaked into: {text:.200}"


@pytest.fixture
def on_github(github: FakeGitHub, bench, signing_key, tmp_path: Path) -> OnGitHub:
    """Both remediations proposed on the fake; the gate allowed the staging one; not merged."""
    prepare_base(bench.repo)
    github.add_repo(REPO, bench.repo.path)
    github.teams = {"acme/platform": {"paula"}, "acme/security": {"sam", "sue"}}
    github.collaborators = {"paula": "write", "sam": "write", "sue": "admin", "ada": "write"}
    forge = GitHubForge(
        REPO, bench.repo.path, TOKEN, base_url=github.base_url, throttle=False, retry=0
    )
    scenario = propose_all(bench, signing_key, forge, SIGNED)
    run = evaluate(forge, scenario.pulls["staging"], GateOptions(trust=scenario.trust, now=NOW))
    assert run.decision.outcome == "allow", run.decision
    _, analysis_pub = write_keys(tmp_path / "keys", "analysis", signing_key)
    deploy_key, deploy_pub = write_keys(
        tmp_path / "keys", "deploy", ec.generate_private_key(ec.SECP256R1())
    )
    return OnGitHub(github, scenario, forge, analysis_pub, deploy_key, deploy_pub, [])


def _merge_staging(on: OnGitHub, method: str = "squash") -> str:
    merge_sha = on.github.merge_pull(REPO, on.scenario.pulls["staging"], method)
    assert on.checkout_main() == merge_sha
    return merge_sha


def _open_human_pull(on: OnGitHub) -> int:
    """Ada's pull request adding a step to staging's workflow, pushed and opened on the fake."""
    repo = on.scenario.repo
    repo.git("checkout", "-q", "-B", "more-tests", "main")
    with (repo.path / CI).open("a") as handle:
        handle.write("      - run: echo more tests\n")
    repo.commit("more tests")
    repo.git("checkout", "-q", "main")
    repo.git("push", "-q", str(on.bare), "more-tests:refs/heads/more-tests")
    return on.github.add_pull(REPO, "more-tests", title="More tests", author="ada").number


def _gate(on: OnGitHub, number: int, record: Path) -> tuple[CompletedProcess[str], dict]:
    """``mendbot gate --pr number`` on the fake, and its decision record."""
    done = on.mendbot("gate", "--pr", str(number), *on.forge_args(), "--record", str(record))
    return done, json.loads(record.read_text())


def _statement(record: Path) -> dict:
    payload = json.loads(record.read_text())["dsseEnvelope"]["payload"]
    return json.loads(base64.b64decode(payload))


@pytest.mark.parametrize("method", ["squash", "merge"])
def test_the_merge_button_makes_the_commit_github_lists_for_its_pull_request(
    on_github: OnGitHub, method: str
) -> None:
    github, repo = on_github.github, on_github.scenario.repo
    number = on_github.scenario.pulls["staging"]
    pull = github.repos[REPO].pulls[number]
    base = github.sha(github.repos[REPO], "refs/heads/main")
    head = github.sha(github.repos[REPO], f"refs/pull/{number}/head")
    merge_sha = github.merge_pull(REPO, number, method)
    assert on_github.checkout_main() == merge_sha
    parents = repo.git("rev-list", "--parents", "-n", "1", merge_sha).split()[1:]
    assert parents == ([base] if method == "squash" else [base, head])
    assert repo.git("rev-parse", f"{merge_sha}^{{tree}}") == repo.git(
        "rev-parse", f"{head}^{{tree}}"
    )
    assert (pull.state, pull.merged, pull.merge_commit_sha) == ("closed", True, merge_sha)
    found = on_github.forge.merged_pull(merge_sha)
    assert found is not None
    assert (found.number, found.head_sha, found.base_sha) == (number, head, base)
    assert on_github.forge.merged_pull(base) is None
    with pytest.raises(ValueError, match="closed"):
        github.merge_pull(REPO, number, method)


def test_the_merge_button_refuses_a_conflict_and_moves_nothing(on_github: OnGitHub) -> None:
    github, repo = on_github.github, on_github.scenario.repo
    number = on_github.scenario.pulls["staging"]
    repo.git("checkout", "-q", "main")
    repo.write(CI, "name: ci\non: push\njobs: {}\n")
    repo.commit("rewrite ci")
    repo.git("push", "-q", str(on_github.bare), "main:refs/heads/main")
    before = github.sha(github.repos[REPO], "refs/heads/main")
    with pytest.raises(ValueError, match="does not merge cleanly"):
        github.merge_pull(REPO, number)
    assert github.sha(github.repos[REPO], "refs/heads/main") == before
    pull = github.repos[REPO].pulls[number]
    assert (pull.state, pull.merged, pull.merge_commit_sha) == ("open", False, None)


@pytest.mark.parametrize("method", ["squash", "merge"])
def test_a_merged_remediation_is_deployed_on_github_once_and_recorded(
    on_github: OnGitHub, tmp_path: Path, method: str
) -> None:
    on = on_github
    merge_sha = _merge_staging(on, method)
    on.seed_runs(merge_sha, "success")
    plan = tmp_path / "plan.json"
    planned = on.plan(merge_sha, plan)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert on.policy_states(merge_sha) == ["pending", "success"]
    [change] = json.loads(plan.read_text())["changes"]
    assert (change["action"], change["kind"], change["environment"]) == (
        "apply",
        "git-workflow",
        "staging",
    )
    assert change["target"]["objects"] == [CI]

    records = tmp_path / "records"
    applied = on.apply(plan, records)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert applied.stdout.startswith("applied")
    [deployment] = on.deployments()
    assert deployment["sha"] == merge_sha
    assert deployment["environment"] == "staging"
    assert deployment["task"] == "mendbot:apply"
    assert deployment["required_contexts"] == ["mendbot/policy"]
    assert deployment["auto_merge"] is False
    assert deployment["statuses"][-1]["state"] == "success"
    [record] = sorted(records.iterdir())
    verified = on.verify(record)
    assert verified.returncode == 0, verified.stdout
    predicate = _statement(record)["predicate"]
    assert (predicate["outcome"], predicate["mergeSha"]) == ("applied", merge_sha)
    assert predicate["gate"]["decision"] == "allow"
    assert predicate["validation"]["result"] == "passed"

    again = on.apply(plan, tmp_path / "again")
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.startswith("skipped")
    assert "already applied by deployment" in again.stdout
    assert len(on.deployments()) == 1
    assert on.github.deploy_state(REPO).dispatches == []
    on.assert_no_token()


def test_a_regression_on_github_is_compensated_dispatched_and_freezes_staging(
    on_github: OnGitHub, tmp_path: Path
) -> None:
    on = on_github
    merge_sha = _merge_staging(on)
    on.seed_runs(merge_sha, "failure")
    plan = tmp_path / "plan.json"
    assert on.plan(merge_sha, plan).returncode == 0
    records = tmp_path / "records"
    applied = on.apply(plan, records)
    assert applied.returncode == 1, applied.stdout + applied.stderr
    assert applied.stdout.startswith("compensated")
    assert "rollback request dispatched; staging is frozen" in applied.stdout
    [deployment] = on.deployments()
    assert deployment["statuses"][-1]["state"] == "failure"
    [request] = on.github.deploy_state(REPO).dispatches
    assert request["event_type"] == ROLLBACK_EVENT
    assert request["client_payload"]["sha"] == merge_sha
    assert request["client_payload"]["environment"] == "staging"
    [record] = sorted(records.iterdir())
    assert on.verify(record).returncode == 0
    assert _statement(record)["predicate"]["outcome"] == "compensated"

    # Someone opens another pull request into staging's workflow: the gate, reading the failed
    # deployment back from GitHub, sees staging frozen and denies it.
    human = _open_human_pull(on)
    gated, record = _gate(on, human, tmp_path / "gate.json")
    assert gated.returncode == 1, gated.stdout + gated.stderr
    assert (record["decision"], record["context"]["environment"]["frozen"]) == ("deny", True)
    head = on.github.sha(on.github.repos[REPO], "refs/heads/more-tests")
    assert on.policy_states(head)[-1] == "failure"
    on.assert_no_token()


def test_a_direct_push_to_main_is_denied_and_nothing_is_deployed(
    on_github: OnGitHub, tmp_path: Path
) -> None:
    on = on_github
    repo = on.scenario.repo
    repo.git("checkout", "-q", "main")
    repo.write(CI, (repo.path / CI).read_text().replace("npm test", "npm test --silent"))
    pushed = repo.commit("quiet tests, straight to main")
    repo.git("push", "-q", str(on.bare), "main:refs/heads/main", "main:refs/heads/quiet")
    # The same commit is the head of an approved, still open pull request: GitHub lists it for
    # the commit, but it merged nothing.
    decoy = on.github.add_pull(REPO, "quiet", title="Quiet tests", author="ada").number
    on.github.add_review(REPO, decoy, "paula", "APPROVED")
    on.seed_runs(pushed, "success")
    plan = tmp_path / "plan.json"
    planned = on.plan(pushed, plan)
    assert planned.returncode == 1, planned.stdout + planned.stderr
    assert f"no pull request merged {pushed[:12]}" in planned.stdout
    assert on.policy_states(pushed) == ["pending", "failure"]
    applied = on.apply(plan, tmp_path / "records")
    assert applied.returncode == 1, applied.stdout + applied.stderr
    assert "nothing is deployed" in applied.stdout
    assert on.deployments() == []
    assert not (tmp_path / "records").exists() or not any((tmp_path / "records").iterdir())
    on.assert_no_token()


def test_the_revert_is_proposed_gated_and_deployed_on_github_and_unfreezes_staging(
    on_github: OnGitHub, tmp_path: Path
) -> None:
    on = on_github
    merge_sha = _merge_staging(on)
    on.seed_runs(merge_sha, "failure")
    assert on.plan(merge_sha, tmp_path / "plan.json").returncode == 0
    records = tmp_path / "records"
    assert on.apply(tmp_path / "plan.json", records).returncode == 1
    [failed] = on.deployments()
    [request] = on.github.deploy_state(REPO).dispatches

    # The workflow the dispatch starts: the propose identity opens the exact revert.
    payload = request["client_payload"]
    trust = ["--repo", str(on.path), "--base", "main", "--verify-key", str(on.analysis_pub)]
    forge = ["--forge", "github", "--repository", REPO, "--api-url", on.github.base_url]
    opened = on.mendbot(
        "propose", "--rollback", payload["sha"], "--env", payload["environment"], *forge, *trust
    )
    assert opened.returncode == 0, opened.stdout + opened.stderr
    proposed = set(on.scenario.pulls.values())
    [revert] = [
        p
        for p in on.github.repos[REPO].pulls.values()
        if p.state == "open" and p.number not in proposed
    ]
    assert {ROLLBACK_LABEL, "env:staging"} <= set(revert.labels)

    # The gate lets the revert through the freeze once a code owner approved it.
    waiting, record = _gate(on, revert.number, tmp_path / "gate.json")
    assert waiting.returncode == 1, waiting.stdout + waiting.stderr
    assert record["decision"] == "require_approval", "the freeze must not deny a rollback"
    assert record["context"]["environment"]["frozen"] is True
    assert record["context"]["pr"]["reverts_bot_change"] is True
    on.github.add_review(REPO, revert.number, "paula", "APPROVED")
    allowed, _ = _gate(on, revert.number, tmp_path / "gate.json")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr

    # It merges and deploys: its deployment resolves the failed one and staging unfreezes.
    revert_sha = on.github.merge_pull(REPO, revert.number, "squash")
    assert on.checkout_main() == revert_sha
    on.seed_runs(revert_sha, "success")
    plan = tmp_path / "revert-plan.json"
    planned = on.plan(revert_sha, plan)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert json.loads(plan.read_text())["changes"][0]["resolves"] == [failed["id"]]
    applied = on.apply(plan, records)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert [d["statuses"][-1]["state"] for d in on.deployments()] == ["failure", "success"]
    for record in sorted(records.iterdir()):
        assert on.verify(record).returncode == 0
    assert len(on.github.deploy_state(REPO).dispatches) == 1
    _, after = _gate(on, _open_human_pull(on), tmp_path / "after.json")
    assert after["context"]["environment"]["frozen"] is False
    on.assert_no_token()


def test_a_pull_request_merged_into_another_branch_is_not_deployed(
    on_github: OnGitHub, tmp_path: Path
) -> None:
    """The bot's approved change merged into ``release`` (not the default branch): GitHub lists
    the pull request as having merged that commit, but it never reached main."""
    on = on_github
    staging = on.github.repos[REPO].pulls[on.scenario.pulls["staging"]]
    on.scenario.repo.git("push", "-q", str(on.bare), "main:refs/heads/release")
    side = on.github.add_pull(REPO, staging.head, base="release", title=staging.title).number
    on.github.add_review(REPO, side, "paula", "APPROVED")
    merged = on.github.merge_pull(REPO, side, "merge")
    on.scenario.repo.git("fetch", "-q", str(on.bare), "+refs/heads/release:refs/heads/release")
    assert on.forge.merged_pull(merged) is not None
    on.seed_runs(merged, "success")
    planned = on.plan(merged, tmp_path / "plan.json")
    assert planned.returncode == 1, planned.stdout + planned.stderr
    assert "is not on the first-parent history of the default branch main" in planned.stdout
    assert on.policy_states(merged) == ["pending", "failure"]
    [change] = json.loads((tmp_path / "plan.json").read_text())["changes"]
    assert change["action"] == "refuse"
    applied = on.apply(tmp_path / "plan.json", tmp_path / "records")
    assert (applied.returncode, applied.stdout) == (0, "nothing to apply\n")
    # A plan file edited to say `apply` is planned again, refused, and recorded as refused.
    forged = json.loads((tmp_path / "plan.json").read_text())
    forged["changes"][0]["action"] = "apply"
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    applied = on.apply(tmp_path / "forged.json", tmp_path / "records")
    assert applied.returncode == 1, applied.stdout + applied.stderr
    assert applied.stdout.startswith("refused")
    [record] = sorted((tmp_path / "records").iterdir())
    assert on.verify(record).returncode == 0
    assert _statement(record)["predicate"]["outcome"] == "refused"
    assert on.deployments() == []
    on.assert_no_token()
