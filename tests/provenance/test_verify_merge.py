"""``mendbot verify`` checks what merging ``--head`` into ``--base`` changes, so a genuine
attestation reused on a later base, or the squash commit of such a pull request, fails."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from bot.provenance.layout import committed_attestation_path, remediation_id
from bot.provenance.signing.signers import KeySigner

CI = ".github/workflows/ci.yml"


def mendbot(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, check=False
    )


class Setup:
    """A signed ci.yml bundle, its fix applied on a branch, and the public key on disk."""

    def __init__(self, bench, signing_key, tmp_path: Path, on: str = "main") -> None:
        self.repo = bench.repo
        bundles = bench.bundle(KeySigner(signing_key))
        self.bundle = next(path for rid, path in bundles.items() if "/ci-" in rid)
        self.fix = bench.apply(self.bundle, on=on)
        self.repo.git("checkout", "-q", "main")
        self.key = tmp_path / "mendbot.pub"
        self.key.write_bytes(
            signing_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )

    def verify(self, *args: str) -> subprocess.CompletedProcess[str]:
        return mendbot(
            "verify", str(self.bundle), "--repo", str(self.repo.path),
            "--verify-key", str(self.key), *args,
        )  # fmt: skip

    def advance_main(self) -> str:
        """Reviewed work merged on main after the attestation: a new file, a README edit."""
        self.repo.write("SECURITY.md", "Report to security@example.test\n")
        self.repo.write("README.md", "# project\n\nReleased.\n")
        return self.repo.commit("security policy")

    def commit_tree(self, tree_of: str, parent: str) -> str:
        return self.repo.git("commit-tree", f"{tree_of}^{{tree}}", "-p", parent, "-m", "Fix CI")


@pytest.fixture
def setup(bench, signing_key, tmp_path) -> Setup:
    return Setup(bench, signing_key, tmp_path)


def _failed(done: subprocess.CompletedProcess[str]) -> dict[str, list[str]]:
    checks: dict[str, list[str]] = {}
    for check in json.loads(done.stdout)["checks"]:
        if check["status"] == "failed":
            checks.setdefault(check["id"], []).append(check["message"])
    return checks


def test_the_fix_verifies_against_main_by_default_and_after_main_moves_on(setup) -> None:
    done = setup.verify("--head", setup.fix)
    assert done.returncode == 0, done.stdout
    assert "ok    base              merging into refs/heads/main = " in done.stdout
    assert "skip  merge-result" in done.stdout  # main has not moved: change-set says it all
    setup.advance_main()
    done = setup.verify("--head", setup.fix, "--format", "json")
    assert done.returncode == 0, done.stdout
    statuses = {c["id"]: c["status"] for c in json.loads(done.stdout)["checks"]}
    checks = ["head", "base", "base-commit", "attestation-path", "change-set", "merge-result"]
    assert {name: statuses[name] for name in checks} == dict.fromkeys(checks, "passed")


def test_the_attestation_reused_on_a_later_main_fails_by_default(setup) -> None:
    tip = setup.advance_main()
    attack = setup.commit_tree(setup.fix, tip)
    done = setup.verify("--head", attack, "--format", "json")
    assert done.returncode == 1
    failed = _failed(done)
    assert failed["change-set"] == [
        "extra change: head modifies README.md, which is not attested",
        "extra change: head deletes SECURITY.md, which is not attested",
    ]
    # Merged into the attested base commit it would change only the fix: which base is asked
    # about decides, hence the default is the attested *branch*, never the attested commit.
    attested = setup.repo.git("rev-parse", f"{setup.fix}^")
    assert setup.verify("--head", attack, "--base", attested).returncode == 0


def test_the_squash_of_the_reused_attestation_fails_where_the_deploy_job_looks(setup) -> None:
    tip = setup.advance_main()
    squash = setup.commit_tree(setup.fix, tip)
    setup.repo.git("update-ref", "refs/heads/main", squash)
    # Merged: --base defaults to main, which already holds it; the check says what to pass.
    done = setup.verify("--head", squash)
    assert done.returncode == 1
    assert "is already in refs/heads/main" in done.stdout
    assert "--base <that commit's first parent>" in done.stdout
    done = setup.verify("--head", squash, "--base", f"{squash}^", "--format", "json")
    assert done.returncode == 1
    assert (
        "extra change: head deletes SECURITY.md, which is not attested"
        in (_failed(done)["change-set"])
    )


def test_the_squash_of_the_genuine_pull_request_verifies(setup) -> None:
    tip = setup.advance_main()
    tree = setup.repo.git("merge-tree", "--write-tree", tip, setup.fix)
    squash = setup.repo.git("commit-tree", tree, "-p", tip, "-m", "Fix CI (#1)")
    done = setup.verify("--head", squash, "--base", f"{squash}^")
    assert done.returncode == 0, done.stdout


def test_a_merge_that_changes_the_fixed_file_too_fails_merge_result(setup) -> None:
    ci = (setup.repo.path / CI).read_text()
    setup.repo.write(CI, ci + "      - run: git push origin HEAD:gh-pages\n")
    setup.repo.commit("publish")
    done = setup.verify("--head", setup.fix, "--format", "json")
    assert done.returncode == 1
    failed = _failed(done)
    assert list(failed) == ["merge-result"]
    assert failed["merge-result"][0].startswith(
        f"{CI}: pre-image content differs from the attested one"
    )
    assert "in the merge" in failed["merge-result"][0]


def test_an_unknown_base_is_a_failed_check_not_a_traceback(setup) -> None:
    done = setup.verify("--head", setup.fix, "--base", "no-such-branch")
    assert done.returncode == 1
    assert "FAIL  base" in done.stdout
    assert "no-such-branch is not a commit" in done.stdout
    assert "Traceback" not in done.stderr


def test_an_unknown_head_is_a_failed_check_not_a_traceback(setup) -> None:
    done = setup.verify("--head", "no-such-head", "--base", "main")
    assert done.returncode == 1
    assert "FAIL  head" in done.stdout
    assert "no-such-head is not a commit" in done.stdout
    assert "Traceback" not in done.stderr


def test_a_submodule_added_next_to_the_fix_fails_the_change_set(setup) -> None:
    """A gitlink cannot be attested or compared: the change set fails, it is never skipped."""
    repo = setup.repo
    repo.git("checkout", "-q", "--detach", setup.fix)
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{setup.fix},vendored")
    repo.git("commit", "-q", "-m", "vendor a submodule")  # not commit(): add -A drops it
    head = repo.head()
    repo.git("checkout", "-q", "main")
    done = setup.verify("--head", head, "--base", "main", "--format", "json")
    assert done.returncode == 1
    assert "vendored is a submodule" in "".join(_failed(done)["change-set"])


def test_a_bundle_made_on_a_detached_head_verifies_only_against_a_named_base(
    bench, signing_key, tmp_path
) -> None:
    """The attestation names no branch, so there is nothing to merge into by default."""
    bench.repo.git("checkout", "-q", "--detach", "main")
    detached = Setup(bench, signing_key, tmp_path)
    done = detached.verify("--head", detached.fix, "--format", "json")
    assert done.returncode == 1
    assert "the attestation names no branch" in "".join(_failed(done)["base"])
    assert detached.verify("--head", detached.fix, "--base", "main").returncode == 0


def test_the_default_base_falls_back_to_origins_branch(setup) -> None:
    """A CI checkout often has refs/remotes/origin/main and no local main."""
    repo = setup.repo
    repo.git("update-ref", "refs/remotes/origin/main", "main")
    repo.git("checkout", "-q", "--detach", setup.fix)
    repo.git("branch", "-D", "main")
    done = setup.verify("--head", setup.fix)
    assert done.returncode == 0, done.stdout
    assert "ok    base              merging into refs/remotes/origin/main = " in done.stdout
    repo.git("update-ref", "-d", "refs/remotes/origin/main")
    done = setup.verify("--head", setup.fix)
    assert done.returncode == 1
    assert "the attested branch refs/heads/main is not in" in done.stdout


def test_a_bundle_made_on_an_unmerged_branch_does_not_verify_into_main(
    bench, signing_key, tmp_path
) -> None:
    bench.repo.git("checkout", "-q", "-b", "side")
    bench.repo.git("commit", "-q", "--allow-empty", "-m", "side work, never merged")
    setup = Setup(bench, signing_key, tmp_path, on="side")
    done = setup.verify("--head", setup.fix, "--base", "main", "--format", "json")
    assert done.returncode == 1
    [message] = _failed(done)["base-commit"]
    assert "is not on the base" in message


def _attestation_path(setup: Setup) -> str:
    rid = remediation_id(setup.bundle.name)
    assert rid is not None
    return committed_attestation_path(rid)


def test_a_committed_attestation_other_than_the_verified_one_fails(setup) -> None:
    repo = setup.repo
    path = _attestation_path(setup)
    repo.git("checkout", "-q", "-b", "other-bytes", setup.fix)
    repo.write(path, (repo.path / path).read_bytes() + b"\n")
    head = repo.commit("reformat the attestation")
    repo.git("checkout", "-q", "main")
    done = setup.verify("--head", head, "--format", "json")
    assert done.returncode == 1
    assert _failed(done)["attestation-path"] == [
        f"the attestation committed at {path} is not the one verified"
    ]


def test_replacing_an_attestation_already_on_the_base_fails(setup, bench) -> None:
    repo = setup.repo
    path = _attestation_path(setup)
    repo.write(path, "{}\n")
    repo.commit("a file already at the attestation's path")
    head = bench.apply(setup.bundle)  # modifies that file instead of adding it
    repo.git("checkout", "-q", "main")
    done = setup.verify("--head", head, "--format", "json")
    assert done.returncode == 1
    [message] = _failed(done)["attestation-path"]
    assert message.startswith(f"head changes {path} (status M)")
