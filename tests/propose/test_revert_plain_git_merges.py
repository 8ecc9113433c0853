"""The revert memory when people merge with git itself rather than the forge's merge button.

A release engineer may merge the remediation branch and, later, the revert branch that
``mendbot revert`` opened with ``git merge`` (a merge commit or a fast-forward) or with
``git merge --squash``. Whatever the method, the next ``analyze --bundle-out`` and ``propose``
must open no new branch for the reverted remediation, and must say why.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from revert_scenario import analyze_and_propose, branch_names

from clirun import run_mendbot
from keyfiles import write_keys

CI = "gha-persist-credentials/ci"


def _merge(repo, branch: str, method: str) -> None:
    repo.git("checkout", "-q", "main")
    if method == "squash":
        repo.git("merge", "-q", "--squash", branch)
        repo.git("commit", "-q", "-m", f"Merge {branch} (squashed)")
    elif method == "fast-forward":
        repo.git("merge", "-q", "--ff-only", branch)
    else:
        repo.git("merge", "-q", "--no-ff", "-m", f"Merge {branch}", branch)


def _sign_every_commit_and_show_signatures(repo, tmp_path: Path) -> None:
    """A release engineer's configuration: commits signed with an SSH key, and `git log`
    printing signature checks (which git writes into the log's own output)."""
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen is not installed")
    key = tmp_path / "engineer"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    for name, value in {
        "gpg.format": "ssh",
        "user.signingkey": f"{key}.pub",
        "commit.gpgSign": "true",
        "log.showSignature": "true",
    }.items():
        repo.git("config", name, value)


@pytest.mark.parametrize("method", ["merge-commit", "fast-forward", "squash"])
def test_a_revert_merged_with_git_is_remembered(
    workflow_repo, signing_key, tmp_path: Path, method: str
) -> None:
    repo = workflow_repo
    _sign_every_commit_and_show_signatures(repo, tmp_path)
    keys = write_keys(tmp_path, "analysis", signing_key)
    first = analyze_and_propose(repo, keys, tmp_path / "bundles-1")
    assert first.returncode == 0, first.stdout + first.stderr
    [remediation] = [b for b in branch_names(repo) if b.startswith(f"mendbot/{CI}")]
    rid = remediation.removeprefix("mendbot/")
    _merge(repo, remediation, method)
    fixed = (repo.path / ".github/workflows/ci.yml").read_bytes()

    proposed = branch_names(repo)
    done = run_mendbot(
        "revert", rid, "--forge", "local", "--repo", str(repo.path), "--requested-by", "Grace"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    [revert] = branch_names(repo) - proposed
    _merge(repo, revert, method)
    assert (repo.path / ".github/workflows/ci.yml").read_bytes() != fixed

    before = branch_names(repo)
    rerun = analyze_and_propose(repo, keys, tmp_path / "bundles-2")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    [line] = [line for line in rerun.stdout.splitlines() if rid in line]
    assert line.startswith(f"reverted  {rid}: reverted in "), rerun.stdout
    assert "not proposed again" in line
    if method == "fast-forward":  # the bot's own commit is on the branch: who asked counts
        assert " by Grace: " in line, line
    assert branch_names(repo) == before
