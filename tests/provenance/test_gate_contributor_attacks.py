"""Attacks on the gate's "who contributed" rule, each performed the way an attacker with write
access would: commits pushed under borrowed identities, then the attacker's own approval, and
``mendbot gate`` run on the result. Every test asserts the gate fails closed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from gate_scenario import NOW, SIGNED, Scenario, local_scenario

from bot.forge import BOT_EMAIL, BOT_NAME, LocalForge
from bot.provenance import KeySigner


@pytest.fixture
def staged(bench, signing_key) -> tuple[Scenario, LocalForge]:
    return local_scenario(bench, signing_key)


def _pub(scenario: Scenario, tmp_path: Path) -> Path:
    pem = scenario.trust.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    path = tmp_path / "mendbot.pub"
    path.write_bytes(pem)
    return path


def gate_cli(scenario: Scenario, number: int, tmp_path: Path, *trust: str) -> tuple[int, str, dict]:
    """``mendbot gate --forge local`` on pull request ``number``; returns the exit code, the
    standard output and the decision record."""
    record = tmp_path / f"record-{number}.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "gate",
            "--forge",
            "local",
            "--pr",
            str(number),
            "--repo",
            str(scenario.path),
            "--base",
            "main",
            *(trust or ("--verify-key", str(_pub(scenario, tmp_path)))),
            "--now",
            NOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "--record",
            str(record),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout, json.loads(record.read_text())


def test_allow_unsigned_makes_no_commit_the_bots(staged, bench, tmp_path, monkeypatch) -> None:
    scenario, forge = staged
    number = scenario.pulls["production"]
    pull = forge.pull_info(number)
    # Olivia, who owns deploy.yml, replaces the bot's commit with one of her own under the
    # bot's identity, its attestation signed by a key of hers, and approves it herself. With
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
    code, out, record = gate_cli(scenario, number, tmp_path, "--allow-unsigned")
    pr = record["context"]["pr"]
    assert (pr["head_sha"], pr["contributors_known"]) == (forged, False)
    assert code == 1, out
    assert "none counts while the pull request has commits tied to no account" in out
