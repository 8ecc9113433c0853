"""``mendbot propose`` on the local forge: a branch git cannot update fails that bundle alone.

Branches move through one ``git update-ref --stdin`` per run, a transaction per branch. Here
another writer holds the lock of one bot branch (what a concurrent push does): that bundle must
be reported as failed, with the branch named, and every other bundle proposed, before and
after it. The command runs as a user runs it, a child process on a real repository.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from bot.provenance.signing.signers import KeySigner
from clirun import run_mendbot


@pytest.fixture
def bundles(bench, signing_key) -> list[Path]:
    return sorted(bench.bundle(KeySigner(signing_key)).values())


@pytest.fixture
def public_key(signing_key, tmp_path: Path) -> Path:
    pub = tmp_path / "mendbot.pub"
    pub.write_bytes(
        signing_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return pub


def _records(repo: Path) -> list[dict[str, object]]:
    store = repo / ".git" / "mendbot" / "pulls"
    return [json.loads(p.read_text()) for p in sorted(store.glob("*.json"))]


@pytest.mark.parametrize("locked", [0, 1])
def test_a_branch_locked_by_another_writer_fails_that_bundle_alone(
    bench, bundles, public_key, locked: int
) -> None:
    repo = bench.repo.path
    rid = json.loads((bundles[locked] / "plan.json").read_text())["remediation"]["id"]
    branch = f"mendbot/{rid}"
    lock = repo / ".git" / "refs" / "heads" / f"{branch}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text("")
    command = ["propose", *map(str, bundles), "--repo", str(repo), "--verify-key", str(public_key)]
    done = run_mendbot(*command)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stdout.splitlines()
    assert lines[locked].startswith(f"failed    {rid}: {branch} moved while the bot was updating")
    assert "Unable to create" in lines[locked]  # git's own reason
    assert lines[1 - locked].startswith("opened"), done.stdout
    assert "1 remediation(s) failed on the forge (the others were proposed)" in done.stdout
    # The failed bundle has neither a branch nor a pull request; the other has both.
    heads = bench.repo.git("for-each-ref", "--format=%(refname)", "refs/heads/mendbot/")
    assert f"refs/heads/{branch}" not in heads.split()
    assert len(heads.split()) == 1
    assert [r["branch"] for r in _records(repo)] == [heads.split()[0].removeprefix("refs/heads/")]
    # Once the other writer is done, a rerun proposes it and leaves the other as it was.
    lock.unlink()
    rerun = run_mendbot(*command)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert rerun.stdout.splitlines()[locked].startswith("opened")
    assert rerun.stdout.splitlines()[1 - locked].startswith("unchanged")
    assert len(_records(repo)) == 2
