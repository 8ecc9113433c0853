"""``mendbot revert`` turns around the remediation, exactly, however it reached the branch.

Through the real commands on real repositories: a remediation merged inside a release branch,
squashed with another remediation or with a person's extra commits, merged by a fast-forward or
a rebase; a repository whose git configuration changes what ``git diff`` and ``git apply`` do;
a pull request merged with git itself; a deleted revert branch; a shallow clone; the signed and
unsigned revert paths asked for the same remediation; a hostile reason. Each test performs the
reviewer's reproduction and checks the bytes written and the exit code.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from gate_scenario import SHIPPED_POLICIES
from revert_scenario import branch_names
from test_revert_cli import CI, _analyze_and_propose, _merged, _sync
from test_signed_revert import _gate, _propose, _revert_bundle

from bot.forge.interface import PullRequest, PullState
from bot.forge.local import LocalForge
from bot.protocol import REVERT_LABEL
from bot.provenance.layout import bundle_name, committed_attestation_path
from bot.provenance.revert_statement import revert_id
from clirun import run_mendbot

CI_PATH = ".github/workflows/ci.yml"
DEPLOY_PATH = ".github/workflows/deploy.yml"


def _proposed(repo, keys, tmp_path: Path) -> dict[str, str]:
    """The shipped policies on main, then both remediations proposed (not merged): their
    branches by remediation id."""
    shutil.copytree(SHIPPED_POLICIES, repo.path / "policies")
    repo.commit("the default policies")
    done = _analyze_and_propose(repo, keys, tmp_path / "bundles")
    assert done.returncode == 0, done.stdout + done.stderr
    return {
        branch.removeprefix("mendbot/"): branch
        for branch in branch_names(repo)
        if branch.startswith("mendbot/gha-")
    }


def _land(repo, branch: str, method: str, into: str = "main") -> str:
    """Bring ``branch`` onto ``into`` with git itself, as a release engineer would; returns
    the new tip."""
    repo.git("checkout", "-q", into)
    if method == "squash":
        repo.git("merge", "-q", "--squash", branch)
        repo.git("commit", "-q", "-m", f"{branch} (squashed)")
    elif method == "fast-forward":
        repo.git("merge", "-q", "--ff-only", branch)
    elif method == "rebase":
        repo.git("rebase", "-q", into, branch)
        repo.git("checkout", "-q", into)
        repo.git("merge", "-q", "--ff-only", branch)
    else:
        repo.git("merge", "-q", "--no-ff", "-m", f"Merge {branch}", branch)
    return repo.head()


def _revert(repo, target: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_mendbot("revert", target, "--forge", "local", "--repo", str(repo.path), *extra)


def _open_revert(repo) -> PullRequest:
    [pull] = [p for p in LocalForge(repo.path).pulls(PullState.OPEN) if REVERT_LABEL in p.labels]
    return pull


def _changed(repo, old: str, new: str) -> set[str]:
    return set(repo.git("diff", "--name-only", "--no-renames", old, new).split())


def _blob(repo, commit: str, path: str) -> str:
    return repo.git("rev-parse", f"{commit}:{path}")


def _reverts_a_bot_change(repo, keys, number: int, tmp_path: Path) -> tuple[bool, bool]:
    _, record = _gate(repo, keys, number, tmp_path)
    pr = record["context"]["pr"]
    return pr["is_revert"], pr["reverts_bot_change"]


# -- only the remediation's own paths, whatever else its commit brought ---------------------------


@pytest.mark.parametrize("method", ["merge-commit", "squash", "fast-forward"])
def test_a_remediation_merged_with_a_release_branch_is_reverted_alone(
    workflow_repo, keys, tmp_path: Path, method: str
) -> None:
    repo = workflow_repo
    branches = _proposed(repo, keys, tmp_path)
    rid = next(r for r in branches if r.startswith(CI))
    before = repo.head()
    repo.git("checkout", "-q", "-b", "release", "main")
    repo.write("feature.txt", "a feature\n")
    repo.commit("a feature")
    _land(repo, branches[rid], "merge-commit", into="release")
    _land(repo, "release", method)

    done = _revert(repo, rid)
    assert done.returncode == 0, done.stdout + done.stderr
    revert = _open_revert(repo)
    head = repo.git("rev-parse", revert.branch)
    assert _changed(repo, "main", head) == {CI_PATH, committed_attestation_path(rid)}
    assert _blob(repo, head, CI_PATH) == _blob(repo, before, CI_PATH)
    assert _blob(repo, head, "feature.txt") == _blob(repo, "main", "feature.txt")
    # The gate agrees: the exact revert of a bot change.
    assert _reverts_a_bot_change(repo, keys, revert.number, tmp_path) == (True, True)


def test_a_signed_revert_of_a_remediation_merged_with_a_release_branch_is_verified(
    workflow_repo, keys, tmp_path: Path
) -> None:
    repo = workflow_repo
    branches = _proposed(repo, keys, tmp_path)
    rid = next(r for r in branches if r.startswith(CI))
    repo.git("checkout", "-q", "-b", "release", "main")
    repo.write("feature.txt", "a feature\n")
    repo.commit("a feature")
    _land(repo, branches[rid], "merge-commit", into="release")
    _land(repo, "release", "merge-commit")
    out = tmp_path / "revert-bundle"

    signed = _revert_bundle(repo, keys, out, rid)
    assert signed.returncode == 0, signed.stdout + signed.stderr
    folder = out / bundle_name(revert_id(rid))
    changes = json.loads((folder / "statement.json").read_text())["predicate"]["changes"]
    assert {c["path"] for c in changes} == {CI_PATH, committed_attestation_path(rid)}
    proposed = _propose(repo, keys, folder)
    assert proposed.returncode == 0, proposed.stdout + proposed.stderr
    revert = _open_revert(repo)
    head = repo.git("rev-parse", revert.branch)
    assert "feature.txt" not in _changed(repo, "main", head)
    _, record = _gate(repo, keys, revert.number, tmp_path)
    assert record["context"]["provenance"]["matches_pr"] is True
    pr = record["context"]["pr"]
    assert (pr["is_revert"], pr["reverts_bot_change"]) == (True, True)


def test_one_of_two_remediations_squashed_together_is_reverted_alone(
    workflow_repo, keys, tmp_path: Path
) -> None:
    repo = workflow_repo
    branches = _proposed(repo, keys, tmp_path)
    rid = next(r for r in branches if r.startswith(CI))
    other = next(r for r in branches if r != rid)
    before = repo.head()
    repo.git("merge", "-q", "--squash", branches[rid], branches[other])
    repo.git("commit", "-q", "-m", "both fixes at once")
    squashed = repo.head()

    done = _revert(repo, rid)
    assert done.returncode == 0, done.stdout + done.stderr
    revert = _open_revert(repo)
    head = repo.git("rev-parse", revert.branch)
    assert _changed(repo, squashed, head) == {CI_PATH, committed_attestation_path(rid)}
    assert _blob(repo, head, CI_PATH) == _blob(repo, before, CI_PATH)
    assert _blob(repo, head, DEPLOY_PATH) == _blob(repo, squashed, DEPLOY_PATH)
    assert _reverts_a_bot_change(repo, keys, revert.number, tmp_path) == (True, True)

    # Once merged, only the reverted one is remembered as reverted.
    _land(repo, revert.branch, "merge-commit")
    report = run_mendbot("analyze", str(repo.path), "--offline", "--format", "json")
    assert [e["remediation"] for e in json.loads(report.stdout)["reverted"]] == [rid]


def test_reverting_the_other_work_of_a_release_merge_is_no_bot_revert(
    workflow_repo, keys, tmp_path: Path
) -> None:
    """The gate's fast lane is for a remediation's own paths: a pull request that turns
    around the rest of a commit that also merged a remediation is no revert at all."""
    repo = workflow_repo
    branches = _proposed(repo, keys, tmp_path)
    rid = next(r for r in branches if r.startswith(CI))
    repo.git("checkout", "-q", "-b", "release", "main")
    repo.write("feature.txt", "a feature\n")
    repo.commit("a feature")
    _land(repo, branches[rid], "merge-commit", into="release")
    _land(repo, "release", "merge-commit")
    repo.git("checkout", "-q", "-b", "drop-feature", "main")
    repo.git("rm", "-q", "feature.txt")
    repo.commit('Revert "a feature"')
    repo.git("checkout", "-q", "main")
    forge = LocalForge(repo.path)
    pull = forge.open(
        PullRequest(
            number=0,
            title='Revert "a feature"',
            body="",
            branch="drop-feature",
            base="main",
            head_sha=repo.git("rev-parse", "drop-feature"),
            base_sha=repo.head(),
            fingerprint="",
            labels=[REVERT_LABEL],
            author="mallory",
        )
    )
    assert _reverts_a_bot_change(repo, keys, pull.number, tmp_path) == (False, False)


@pytest.mark.parametrize("method", ["merge-commit", "squash"])
def test_a_commit_that_changed_the_remediations_file_differently_is_refused(
    workflow_repo, keys, tmp_path: Path, method: str
) -> None:
    repo = workflow_repo
    branches = _proposed(repo, keys, tmp_path)
    rid = next(r for r in branches if r.startswith(CI))
    repo.git("checkout", "-q", branches[rid])
    workflow = repo.path / CI_PATH
    workflow.write_text(workflow.read_text() + "      - run: make lint\n")
    repo.commit("and lint too")
    merged = _land(repo, branches[rid], method)
    existing = branch_names(repo)

    done = _revert(repo, rid)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"commit {merged[:12]} changed {CI_PATH} differently" in done.stderr
    assert "Traceback" not in done.stderr
    assert branch_names(repo) == existing


@pytest.mark.parametrize("method", ["merge-commit", "squash", "fast-forward", "rebase"])
def test_a_persons_extra_commit_in_the_pull_request_is_kept_whatever_the_merge_method(
    workflow_repo, keys, tmp_path: Path, method: str
) -> None:
    repo = workflow_repo
    branches = _proposed(repo, keys, tmp_path)
    rid = next(r for r in branches if r.startswith(CI))
    before = repo.head()
    if method == "rebase":  # a rebase that rewrites the bot's commit
        repo.write("CHANGELOG.md", "main moved on\n")
        before = repo.commit("main moves on")
    repo.git("checkout", "-q", branches[rid])
    repo.write("notes.txt", "a person's note\n")
    repo.commit("a note in the same pull request")
    _land(repo, branches[rid], method)

    done = _revert(repo, rid)
    assert done.returncode == 0, done.stdout + done.stderr
    head = repo.git("rev-parse", _open_revert(repo).branch)
    assert _changed(repo, "main", head) == {CI_PATH, committed_attestation_path(rid)}
    assert _blob(repo, head, CI_PATH) == _blob(repo, before, CI_PATH)
    assert _blob(repo, head, "notes.txt") == _blob(repo, "main", "notes.txt")


# -- the user's git configuration changes nothing -------------------------------------------------

FLOW_WORKFLOW = (
    "name: ci\non: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"
    "      - uses: actions/checkout@v4\n        with: {fetch-depth: 0}   \n"
    "      - run: make test\n"
)


def test_the_revert_is_exact_whatever_the_repositorys_git_configuration(
    workflow_repo, keys, tmp_path: Path
) -> None:
    repo = workflow_repo
    repo.write(CI_PATH, FLOW_WORKFLOW)  # the fix rewrites a line ending in blanks
    before = repo.commit("fetch the whole history")
    _, numbers = _merged(repo, keys, tmp_path)
    rid = next(r for r in numbers if r.startswith(CI))
    for key, value in (
        ("diff.noprefix", "true"),
        ("color.diff", "always"),
        ("color.ui", "always"),
        ("apply.whitespace", "fix"),
        ("diff.external", "/bin/false"),
        ("diff.mnemonicPrefix", "true"),
    ):
        repo.git("config", key, value)

    done = _revert(repo, rid)
    assert done.returncode == 0, done.stdout + done.stderr
    head = repo.git("rev-parse", _open_revert(repo).branch)
    assert _blob(repo, head, CI_PATH) == _blob(repo, before, CI_PATH)
    restored = subprocess.run(
        ["git", "cat-file", "blob", f"{head}:{CI_PATH}"],
        cwd=repo.path,
        capture_output=True,
        check=True,
    ).stdout
    assert restored == FLOW_WORKFLOW.encode()
    assert repo.git("ls-tree", "--name-only", "-r", head, ".mendbot") == "\n".join(
        sorted(committed_attestation_path(r) for r in numbers if r != rid)
    )
    # The signed revert bundle is made the same way.
    out = tmp_path / "revert-bundle"
    assert _revert_bundle(repo, keys, out, rid).returncode == 0
    statement = json.loads((out / bundle_name(revert_id(rid)) / "statement.json").read_text())
    [workflow] = [c for c in statement["predicate"]["changes"] if c["path"] == CI_PATH]
    assert workflow["after"]["sha256"] == hashlib.sha256(FLOW_WORKFLOW.encode()).hexdigest()


# -- pull request numbers on the local forge; a deleted revert branch ------------------------------


def test_a_pull_request_merged_with_git_is_reverted_by_its_number_and_its_branch_comes_back(
    workflow_repo, keys, tmp_path: Path
) -> None:
    repo = workflow_repo
    branches = _proposed(repo, keys, tmp_path)
    rid = next(r for r in branches if r.startswith(CI))
    forge = LocalForge(repo.path)
    [number] = [p.number for p in forge.pulls() if p.branch == branches[rid]]
    _land(repo, branches[rid], "merge-commit")

    done = _revert(repo, f"#{number}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"reverts {rid}, merged in {repo.head()[:12]}" in done.stdout
    revert = _open_revert(repo)
    assert f"(#{number})" in revert.body
    commit = repo.git("rev-parse", revert.branch)

    repo.git("branch", "-q", "-D", revert.branch)
    again = _revert(repo, rid)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.startswith(f"branch recreated for the open #{revert.number} ")
    assert repo.git("rev-parse", revert.branch) == commit
    assert _open_revert(repo).number == revert.number
    # Now it is there: a third run changes nothing.
    third = _revert(repo, rid)
    assert third.stdout.startswith(f"already open: #{revert.number} ")


# -- one revert pull request per remediation, signed or not --------------------------------------


def _merged_with_policies(repo, keys, tmp_path: Path) -> str:
    shutil.copytree(SHIPPED_POLICIES, repo.path / "policies")
    repo.commit("the default policies")
    _, numbers = _merged(repo, keys, tmp_path)
    _sync(repo)
    return next(r for r in numbers if r.startswith(CI))


def test_a_signed_revert_proposed_twice_is_unchanged_and_blocks_the_unsigned_one(
    workflow_repo, keys, tmp_path: Path
) -> None:
    repo = workflow_repo
    rid = _merged_with_policies(repo, keys, tmp_path)
    out = tmp_path / "revert-bundle"
    assert _revert_bundle(repo, keys, out, rid).returncode == 0
    folder = out / bundle_name(revert_id(rid))
    first = _propose(repo, keys, folder)
    assert first.returncode == 0 and first.stdout.startswith("opened"), first.stdout
    pull = _open_revert(repo)

    second = _propose(repo, keys, folder)
    assert second.returncode == 0, second.stdout + second.stderr
    assert second.stdout.startswith(f"unchanged {revert_id(rid)}: #{pull.number} is up to date")
    unsigned = _revert(repo, rid)
    assert unsigned.returncode == 0, unsigned.stdout + unsigned.stderr
    assert unsigned.stdout.startswith(f"already open: #{pull.number} ({pull.branch})")
    assert _open_revert(repo).number == pull.number


def test_an_unsigned_revert_already_open_is_not_opened_again_from_a_signed_bundle(
    workflow_repo, keys, tmp_path: Path
) -> None:
    repo = workflow_repo
    rid = _merged_with_policies(repo, keys, tmp_path)
    assert _revert(repo, rid).returncode == 0
    pull = _open_revert(repo)
    out = tmp_path / "revert-bundle"
    assert _revert_bundle(repo, keys, out, rid).returncode == 0
    existing = branch_names(repo)

    done = _propose(repo, keys, out / bundle_name(revert_id(rid)))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"already open as #{pull.number} ({pull.branch}): nothing opened" in done.stdout
    assert _open_revert(repo).number == pull.number
    assert branch_names(repo) == existing


# -- a shallow clone ------------------------------------------------------------------------------


def test_a_shallow_clone_says_the_whole_history_is_needed(
    workflow_repo, keys, tmp_path: Path
) -> None:
    repo = workflow_repo
    _, numbers = _merged(repo, keys, tmp_path)
    rid = next(r for r in numbers if r.startswith(CI))
    shallow = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{repo.path}", str(shallow)], check=True
    )
    refs = subprocess.run(
        ["git", "-C", str(shallow), "for-each-ref"], capture_output=True, text=True, check=True
    ).stdout

    for extra in ((), ("--bundle-out", str(tmp_path / "out"))):
        done = run_mendbot("revert", rid, "--repo", str(shallow), *extra)
        assert done.returncode == 3, done.stdout + done.stderr
        assert "is a shallow clone" in done.stderr and "fetch-depth: 0" in done.stderr
        assert "is not a commit" not in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()
    after = subprocess.run(
        ["git", "-C", str(shallow), "for-each-ref"], capture_output=True, text=True, check=True
    ).stdout
    assert after == refs


# -- the reason is inert in the body -------------------------------------------------------------


def test_the_reason_and_who_asked_are_inert_in_the_pull_request_body(
    workflow_repo, keys, tmp_path: Path
) -> None:
    repo = workflow_repo
    _, numbers = _merged(repo, keys, tmp_path)
    rid = next(r for r in numbers if r.startswith(CI))
    reason = (
        "@octocat ping\n<!-- hide the rest\n<img src=x onerror=alert(1)> [x](https://evil.example)"
    )
    done = _revert(repo, rid, "--reason", reason, "--requested-by", "@org/admins `x`")
    assert done.returncode == 0, done.stdout + done.stderr
    body = _open_revert(repo).body
    assert (
        "Requested by `@org/admins 'x'`: `@octocat ping <!-- hide the rest "
        "<img src=x onerror=alert(1)> [x](https://evil.example)`" in body
    )
    assert "\n<img" not in body and "\n<!--" not in body.split("<!-- mendbot")[0]
