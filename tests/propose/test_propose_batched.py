"""``mendbot propose`` asks git little per bundle, and asking less opened no door.

The command runs as a user runs it (a child process) with a ``git`` shim on ``PATH`` that
counts the git processes; the hostile bundles name a base that is an option or a tree, which
git must never be asked to read as a commit.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from bot.forge.local import LocalForge
from bot.propose.job import Status, propose
from bot.provenance.signing.signers import KeySigner
from bot.provenance.verification.trust import KeyTrust

#: Git processes ``mendbot propose`` may start for one more plain bundle (20 before batching,
#: 16 before the batched session, 5 before the run's long-lived writers: apply, write-tree,
#: commit-tree, the verifier's diff and the branch update; now none: the first bundle of a run
#: starts the run's processes).
GIT_PER_BUNDLE = 0


@pytest.fixture
def bundles(bench, signing_key) -> list[Path]:
    bench.analyse_as("https://example.test/acme/app.git")
    return sorted(bench.bundle(KeySigner(signing_key)).values())


def _shim(folder: Path) -> tuple[dict[str, str], Path]:
    log = folder / "calls"
    folder.mkdir()
    shim = folder / "git"
    shim.write_text(f'#!/bin/sh\necho "$1" >> "{log}"\nexec {shutil.which("git")} "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    return {**os.environ, "PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}, log


def test_one_more_bundle_costs_at_most_a_fixed_number_of_git_processes(
    bench, bundles, signing_key, tmp_path
) -> None:
    key = tmp_path / "mendbot.pub"
    key.write_bytes(
        signing_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    counts = []
    for taken in (1, 2):
        repo = tmp_path / f"repo-{taken}"
        shutil.copytree(bench.repo.path, repo, symlinks=True)
        env, log = _shim(tmp_path / f"shim-{taken}")
        done = subprocess.run(
            [sys.executable, "-m", "bot", "propose", *map(str, bundles[:taken]),
             "--repo", str(repo), "--verify-key", str(key)],
            capture_output=True, text=True, check=False, env=env,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.count(": opened #") == taken
        counts.append(len(log.read_text().split()))
    assert counts[1] - counts[0] <= GIT_PER_BUNDLE, counts


@pytest.mark.parametrize("kind", ["option", "tree"])
def test_a_base_that_is_not_a_commit_is_refused_as_missing(
    bench, bundles, signing_key, kind, tmp_path
):
    bundle = bundles[0]
    statement = json.loads((bundle / "statement.json").read_text(encoding="utf-8"))
    planted = tmp_path / "pwned"
    base = f"--output={planted}"
    if kind == "tree":
        base = bench.repo.git("rev-parse", "HEAD^{tree}")
    statement["predicate"]["base"]["gitCommit"] = base
    (bundle / "statement.json").write_text(json.dumps(statement), encoding="utf-8")
    before = bench.repo.git("for-each-ref")

    outcome = propose([bundle], LocalForge(bench.repo.path), KeyTrust(signing_key.public_key()))[0]

    assert outcome.status is Status.REFUSED
    assert f"the attested base commit {base[:12]} is not in" in outcome.message
    assert bench.repo.git("for-each-ref") == before, "nothing pushed"
    assert not planted.exists()
