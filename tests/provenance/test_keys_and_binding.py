"""Attacks on local signing keys and on where a key-signed attestation is accepted, each through
the command line: ``mendbot key generate``, ``mendbot analyze --signing-key``, ``mendbot
propose`` and ``mendbot verify``."""

from __future__ import annotations

import base64
import json
import stat
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from gate_scenario import NOW, local_scenario

from bot.provenance import dsse
from bot.provenance.keys import load_public

#: The order of the P-256 group: (r, s) and (r, n - s) are both valid ECDSA signatures.
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def mendbot(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, cwd=cwd, check=False
    )


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _generate(out: Path) -> None:
    done = mendbot("key", "generate", "--out", str(out))
    assert done.returncode == 0, done.stderr


def _bundle(repo, keys: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return mendbot(
        "analyze", str(repo.path), "--offline", "--rule", "gha-persist-credentials",
        "--bundle-out", str(out), "--sign", "key", "--signing-key", str(keys / "mendbot.key"),
    )  # fmt: skip


# -- mendbot key generate ----------------------------------------------------------------------


def test_key_generate_sets_its_modes_whatever_the_umask(tmp_path: Path) -> None:
    existing = tmp_path / "home"
    existing.mkdir()
    existing.chmod(0o755)
    out = existing / "secrets" / "keys"
    done = subprocess.run(
        ["sh", "-c", 'umask 000 && exec "$0" -m bot key generate --out "$1"', sys.executable, out],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert _mode(existing / "secrets") == 0o700
    assert _mode(out) == 0o700
    assert _mode(out / "mendbot.key") == 0o600
    assert _mode(out / "mendbot.pub") == 0o644
    assert _mode(existing) == 0o755  # a folder that already existed keeps its mode


def test_key_generate_never_writes_through_a_symlink(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for name in ("mendbot.pub", "mendbot.key"):
        out = tmp_path / f"keys-{name}"
        out.mkdir()
        target = elsewhere / f"planted-{name}"
        (out / name).symlink_to(target)  # dangling: exists() says False
        done = mendbot("key", "generate", "--out", str(out))
        assert done.returncode == 2, done.stdout
        assert "is a symbolic link" in done.stderr
        assert "Traceback" not in done.stderr
        assert not target.exists()
        assert sorted(p.name for p in out.iterdir()) == [name]  # nothing half-written


def test_signing_key_others_can_read_is_refused_like_ssh(workflow_repo, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    _generate(keys)
    private = keys / "mendbot.key"
    out = tmp_path / "out"
    for mode in (0o640, 0o604, 0o660):
        private.chmod(mode)
        done = _bundle(workflow_repo, keys, out)
        assert done.returncode == 2, done.stderr
        assert f"has permissions {mode:04o}" in done.stderr
        assert f"chmod 600 {private}" in done.stderr
        assert "Traceback" not in done.stderr
        assert not out.exists() or not any(out.iterdir())
    private.chmod(0o600)
    assert _bundle(workflow_repo, keys, out).returncode == 1  # bundles written; findings remain
    assert len(list(out.iterdir())) == 2


# -- repository binding ------------------------------------------------------------------------


def _fork(workflow_repo, tmp_path: Path, origin: str) -> Path:
    fork = tmp_path / "fork"
    subprocess.run(
        ["git", "clone", "-q", str(workflow_repo.path), str(fork)], check=True, capture_output=True
    )
    subprocess.run(["git", "-C", str(fork), "remote", "set-url", "origin", origin], check=True)
    return fork


def _checks(done: subprocess.CompletedProcess[str]) -> dict[str, str]:
    return {check["id"]: check["status"] for check in json.loads(done.stdout)["checks"]}


def test_bundle_of_one_repository_is_refused_in_its_fork(workflow_repo, tmp_path: Path) -> None:
    workflow_repo.git("remote", "add", "origin", "git@github.com:Acme/App.git")
    keys = tmp_path / "keys"
    _generate(keys)
    out = tmp_path / "out"
    assert _bundle(workflow_repo, keys, out).returncode == 1
    bundle = next(out.glob("gha-persist-credentials--ci-*"))
    pub = str(keys / "mendbot.pub")
    fork = _fork(workflow_repo, tmp_path, "https://github.com/mallory/app.git")
    branches = subprocess.run(
        ["git", "-C", str(fork), "for-each-ref"], capture_output=True, text=True, check=True
    ).stdout

    proposed = mendbot("propose", str(bundle), "--repo", str(fork), "--verify-key", pub)
    assert proposed.returncode == 1, proposed.stdout + proposed.stderr
    assert "refused" in proposed.stdout
    assert (
        "repository: the attestation was made for ssh://github.com/Acme/App.git, "
        "not for https://github.com/mallory/app" in proposed.stdout
    )
    after = subprocess.run(
        ["git", "-C", str(fork), "for-each-ref"], capture_output=True, text=True, check=True
    ).stdout
    assert after == branches
    assert not (fork / ".git" / "mendbot" / "pulls").exists()

    verified = mendbot(
        "verify", str(bundle), "--repo", str(fork), "--verify-key", pub, "--format", "json"
    )
    assert verified.returncode == 1
    assert _checks(verified)["repository"] == "failed"
    # The same bundle in its own repository (named differently: https, other case, .git).
    own = mendbot(
        "verify", str(bundle), "--repo", str(workflow_repo.path), "--verify-key", pub,
        "--for-repository", "https://github.com/acme/app", "--format", "json",
    )  # fmt: skip
    assert _checks(own)["repository"] == "passed"
    fresh = mendbot("propose", str(bundle), "--repo", str(workflow_repo.path), "--verify-key", pub)
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert "opened #1" in fresh.stdout


# -- signature malleation ----------------------------------------------------------------------


def _malleate(attestation: Path) -> None:
    """Replace the DSSE signature (r, s) by (r, n - s): another valid signature of the same
    statement by the same key."""
    document = json.loads(attestation.read_text())
    signature = document["dsseEnvelope"]["signatures"][0]
    r, s = decode_dss_signature(base64.b64decode(signature["sig"]))
    signature["sig"] = base64.b64encode(encode_dss_signature(r, P256_ORDER - s)).decode()
    attestation.write_text(json.dumps(document, indent=2) + "\n")


def test_malleated_signature_is_the_same_attestation_to_propose(
    workflow_repo, tmp_path: Path
) -> None:
    keys = tmp_path / "keys"
    _generate(keys)
    out = tmp_path / "out"
    assert _bundle(workflow_repo, keys, out).returncode == 1
    bundle = next(out.glob("gha-persist-credentials--ci-*"))
    command = [
        "propose", str(bundle), "--repo", str(workflow_repo.path),
        "--verify-key", str(keys / "mendbot.pub"),
    ]  # fmt: skip
    first = mendbot(*command)
    assert first.returncode == 0, first.stdout + first.stderr
    record_path = workflow_repo.path / ".git" / "mendbot" / "pulls" / "1.json"
    record = record_path.read_text()
    branch = json.loads(record)["branch"]
    head = workflow_repo.git("rev-parse", branch)

    attestation = bundle / "attestation.sigstore.json"
    original = attestation.read_bytes()
    _malleate(attestation)
    assert attestation.read_bytes() != original
    # Still a valid signature of the same statement by the same key.
    key = load_public(keys / "mendbot.pub")
    assert dsse.verify(dsse.parse(attestation.read_bytes()), key) == dsse.verify(
        dsse.parse(original), key
    )

    again = mendbot(*command)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.startswith("unchanged"), again.stdout
    assert workflow_repo.git("rev-parse", branch) == head
    assert record_path.read_text() == record


def test_gate_does_not_match_an_attestation_made_for_another_repository(
    bench, signing_key, tmp_path: Path
) -> None:
    scenario, _ = local_scenario(bench, signing_key)
    pub = tmp_path / "mendbot.pub"
    pub.write_bytes(
        signing_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    command = [
        "gate", "--pr", str(scenario.pulls["staging"]), "--repo", str(scenario.path),
        "--base", "main", "--verify-key", str(pub), "--now", NOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "--format", "json",
    ]  # fmt: skip
    own = mendbot(*command)
    assert own.returncode == 0, own.stderr
    assert json.loads(own.stdout)["context"]["provenance"]["matches_pr"] is True
    # The same pull request (branch, commits, attestation) in a fork.
    scenario.repo.git("remote", "set-url", "origin", "https://github.com/mallory/fork.git")
    fork = mendbot(*command)
    assert fork.returncode == 1, fork.stderr
    record = json.loads(fork.stdout)
    assert record["decision"] != "allow"
    assert record["context"]["provenance"]["matches_pr"] is False
    assert "not for https://github.com/mallory/fork" in fork.stdout
