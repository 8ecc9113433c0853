"""The command line: `key generate`, `analyze --bundle-out`, `verify` (exit codes and output)."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bot.provenance.layout import ATTESTATION, PATCH, PLAN, STATEMENT


def mendbot(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, cwd=cwd, check=False
    )


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    done = mendbot("key", "generate", "--out", str(tmp_path / "keys"))
    assert done.returncode == 0, done.stderr
    return tmp_path / "keys"


def test_key_generate_writes_a_private_key_only_its_owner_reads(keys: Path) -> None:
    assert stat.S_IMODE((keys / "mendbot.key").stat().st_mode) == 0o600
    assert (keys / "mendbot.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    again = mendbot("key", "generate", "--out", str(keys))
    assert again.returncode == 2
    assert "already exists; not overwritten" in again.stderr


def _analyze(repo: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return mendbot(
        "analyze", str(repo), "--offline", "--rule", "gha-persist-credentials",
        "--format", "json", "--bundle-out", str(out), *extra,
    )  # fmt: skip


def test_analyze_writes_one_signed_bundle_per_remediation_and_never_touches_the_checkout(
    workflow_repo, keys: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    git_dir = sorted(p.name for p in (workflow_repo.path / ".git").rglob("*"))
    done = _analyze(workflow_repo.path, out, "--signing-key", str(keys / "mendbot.key"))
    assert done.returncode == 1, done.stderr  # the findings remain in the checkout
    assert json.loads(done.stdout)["summary"]["findings"] == 2
    assert done.stderr.count("[signed (key)]") == 2
    assert workflow_repo.git("status", "--porcelain") == ""
    assert sorted(p.name for p in (workflow_repo.path / ".git").rglob("*")) == git_dir
    folders = sorted(p.name for p in out.iterdir())
    assert [name.rsplit("-", 1)[0] for name in folders] == [
        "gha-persist-credentials--ci",
        "gha-persist-credentials--deploy",
    ]
    for folder in out.iterdir():
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            [ATTESTATION, PATCH, PLAN, STATEMENT]
        )
        plan = json.loads((folder / PLAN).read_text())
        assert plan["signing"] == "key"
        assert plan["remediation"]["id"].replace("/", "--") == folder.name
        assert plan["fixes"] and plan["findings"]
    # Re-running replaces the bundles in place.
    again = _analyze(workflow_repo.path, out, "--signing-key", str(keys / "mendbot.key"))
    assert again.returncode == 1, again.stderr
    assert sorted(p.name for p in out.iterdir()) == folders


def test_unsigned_dry_run_needs_allow_unsigned_to_verify(workflow_repo, tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = _analyze(workflow_repo.path, out)
    assert "UNSIGNED (dry run)" in done.stderr
    folder = next(out.glob("gha-persist-credentials--ci-*"))
    assert not (folder / ATTESTATION).exists()
    workflow_repo.git("checkout", "-q", "-b", "fix")
    workflow_repo.git("apply", "--index", str(folder / PATCH))
    workflow_repo.commit("fix")
    pub = tmp_path / "k"
    mendbot("key", "generate", "--out", str(pub))
    refused = mendbot(
        "verify", str(folder), "--repo", str(workflow_repo.path), "--verify-key",
        str(pub / "mendbot.pub"),
    )  # fmt: skip
    assert refused.returncode == 1
    assert "FAIL  signature" in refused.stdout
    assert "the bundle is unsigned" in refused.stdout
    accepted = mendbot(
        "verify", str(folder), "--repo", str(workflow_repo.path), "--allow-unsigned",
        "--format", "json",
    )  # fmt: skip
    assert accepted.returncode == 0, accepted.stdout
    report = json.loads(accepted.stdout)
    assert report["ok"] is True
    assert report["source"] == "human-override"
    assert report["signer"]["kind"] == "unsigned"


def test_uncommitted_changes_are_refused(workflow_repo, tmp_path: Path) -> None:
    ci = workflow_repo.path / ".github/workflows/ci.yml"
    ci.write_text(ci.read_text() + "# local edit\n")
    done = _analyze(workflow_repo.path, tmp_path / "out")
    assert done.returncode == 3
    assert "differs from its committed version" in done.stderr
    assert "commit or stash" in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("analyze", ".", "--bundle-out", "o", "--fix"), "--bundle-out never writes"),
        (("analyze", ".", "--sign", "key"), "only apply with --bundle-out"),
        (("analyze", ".", "--bundle-out", "o", "--sign", "key"), "--sign key needs"),
        (("verify", "b"), "give exactly one of"),
        (("verify", "b", "--identity", "x"), "--identity and --issuer go together"),
        (("verify", "b", "--verify-key", "k", "--allow-unsigned"), "give exactly one of"),
    ],
)
def test_usage_errors(args: tuple[str, ...], message: str, workflow_repo) -> None:
    done = mendbot(*args, cwd=workflow_repo.path)
    assert done.returncode == 2
    assert message in done.stderr


def test_verify_explains_a_missing_bundle_folder(tmp_path: Path, keys: Path) -> None:
    done = mendbot("verify", str(tmp_path / "nope"), "--verify-key", str(keys / "mendbot.pub"))
    assert done.returncode == 3
    assert "is not a bundle folder" in done.stderr
