"""``mendbot propose`` on the local forge, over real temporary git repositories.

Bundles are made by the real analysis and signed with a fresh key (fixtures in conftest.py);
the forge is a plain repository where a pull request is a branch plus a JSON record.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bot.config import ProposeSettings
from bot.forge.interface import PullState
from bot.forge.local import LocalForge
from bot.propose.job import Status, propose
from bot.propose.pr_body import TOPIC_EDITED, TOPIC_IGNORED
from bot.protocol import BOT_EMAIL, BOT_NAME
from bot.protocol import decode_metadata as metadata
from bot.provenance.signing.signers import KeySigner
from bot.provenance.verification.trust import KeyTrust
from clirun import run_mendbot

CI = "gha-persist-credentials/ci"


@pytest.fixture
def signed(bench, signing_key) -> dict[str, Path]:
    """Key-signed bundles of the two persist-credentials remediations."""
    return bench.bundle(KeySigner(signing_key))


@pytest.fixture
def trust(signing_key) -> KeyTrust:
    return KeyTrust(signing_key.public_key())


def _ci(bundles: dict[str, Path]) -> Path:
    return next(path for rid, path in bundles.items() if rid.startswith(CI))


def _refs(repo) -> str:
    return repo.git("for-each-ref", "--format=%(refname) %(objectname)")


def test_first_proposal_commits_patch_and_attestation_with_trailers(bench, signed, trust) -> None:
    repo = bench.repo
    status_before = repo.git("status", "--porcelain")
    head_before = repo.git("symbolic-ref", "HEAD")
    forge = LocalForge(repo.path)
    outcomes = propose(list(signed.values()), forge, trust)
    assert [o.status for o in outcomes] == [Status.OPENED, Status.OPENED]
    # The user's working tree and checked-out branch are untouched.
    assert repo.git("status", "--porcelain") == status_before
    assert repo.git("symbolic-ref", "HEAD") == head_before

    pull = forge.find(forge.pulls()[0].fingerprint)
    assert pull is not None
    rid = outcomes[0].remediation_id
    assert pull.branch == f"mendbot/{rid}"
    assert pull.state is PullState.OPEN
    assert pull.labels == ["mendbot", "risk:medium"]  # unsafe: a later push step may break
    assert "| **medium** | unsafe | reversible | file | unmapped |" in pull.body
    assert pull.title.startswith("fix(security): ")
    assert pull.title.endswith(f"[{pull.fingerprint[:8]}]")
    assert repo.git("rev-parse", pull.branch) == pull.head_sha
    assert repo.git("rev-parse", f"{pull.head_sha}^") == pull.base_sha == repo.head()

    message = repo.git("log", "-1", "--format=%B", pull.branch)
    bundle = signed[rid]
    # The attestation is named by the statement it signs, not by its signature bytes.
    digest = __import__("hashlib").sha256((bundle / "statement.json").read_bytes()).hexdigest()
    assert f"Mendbot-Remediation: {rid}" in message
    assert "Mendbot-Rule: gha-persist-credentials" in message
    assert f"Mendbot-Attestation: sha256:{digest}" in message
    assert repo.git("log", "-1", "--format=%an <%ae> / %cn <%ce>", pull.branch) == (
        f"mendbot[bot] <{BOT_EMAIL}> / mendbot[bot] <{BOT_EMAIL}>"
    )
    files = repo.git("diff", "--name-only", pull.base_sha, pull.branch).splitlines()
    assert f".mendbot/attestations/{bundle.name}.sigstore.json" in files
    # Body: every section, the verify command, and the hidden metadata round-trips.
    for heading in ("## Summary", "## Risk", "## Changes", "## Provenance", "## How mendbot"):
        assert heading in pull.body
    assert f"sha256:{digest}" in pull.body
    assert "mendbot verify" in pull.body
    assert "Closing without merging ignores this fingerprint" in pull.body
    meta = metadata(pull.body)
    assert meta is not None
    assert meta["fingerprints"] == [pull.fingerprint]
    assert meta["baseSha"] == pull.base_sha
    assert meta["statementDigest"] == digest
    # The record lives under .git/mendbot/, not in the working tree.
    record = repo.path / ".git" / "mendbot" / "pulls" / f"{pull.number}.json"
    assert json.loads(record.read_text())["fingerprint"] == pull.fingerprint


def test_rerun_is_idempotent(bench, signed, trust) -> None:
    forge = LocalForge(bench.repo.path)
    propose(list(signed.values()), forge, trust)
    refs, records = _refs(bench.repo), [p.number for p in forge.pulls()]
    again = propose(list(signed.values()), forge, trust)
    assert [o.status for o in again] == [Status.UNCHANGED, Status.UNCHANGED]
    assert _refs(bench.repo) == refs
    assert [p.number for p in forge.pulls()] == records


def test_closed_unmerged_is_ignored_and_not_reproposed(bench, signed, trust) -> None:
    forge = LocalForge(bench.repo.path)
    first = propose([_ci(signed)], forge, trust)[0]
    assert first.number is not None
    forge.set_state(first.number, PullState.CLOSED)
    for _ in range(2):
        outcome = propose([_ci(signed)], forge, trust)[0]
        assert outcome.status is Status.IGNORED
    assert len(forge.pulls()) == 1
    comment = forge.get(first.number).comments[TOPIC_IGNORED]
    assert "ignored" in comment
    assert "reopen" in comment
    # Reopening undoes it.
    forge.set_state(first.number, PullState.OPEN)
    assert propose([_ci(signed)], forge, trust)[0].status is Status.UNCHANGED


def test_human_commit_stops_updates_with_exactly_one_comment(bench, signed, trust) -> None:
    repo = bench.repo
    forge = LocalForge(repo.path)
    first = propose([_ci(signed)], forge, trust)[0]
    assert first.branch is not None
    repo.git("checkout", "-q", first.branch)
    repo.write("NOTES.md", "a reviewer's tweak\n")
    human = repo.commit("reviewer tweak")
    repo.git("checkout", "-q", "main")
    for _ in range(3):
        outcome = propose([_ci(signed)], forge, trust)[0]
        assert outcome.status is Status.BLOCKED
    assert repo.git("rev-parse", first.branch) == human
    pull = forge.get(first.number or 0)
    assert list(pull.comments) == [TOPIC_EDITED]
    assert human[:12] in pull.comments[TOPIC_EDITED]
    assert "stopped updating" in pull.comments[TOPIC_EDITED]


def test_limits_hold_back_and_report(bench, signed, trust) -> None:
    forge = LocalForge(bench.repo.path)
    bundles = list(signed.values())
    per_hour = propose(bundles, forge, trust, ProposeSettings(max_new_per_hour=1))
    assert [o.status for o in per_hour] == [Status.OPENED, Status.HELD]
    assert "max_new_per_hour = 1" in per_hour[1].message
    held_branch = per_hour[1].branch
    assert held_branch is not None
    assert LocalForge(bench.repo.path).branch_head(held_branch) is None
    capped = propose(bundles, forge, trust, ProposeSettings(max_open_prs=1))
    assert [o.status for o in capped] == [Status.UNCHANGED, Status.HELD]
    assert "max_open_prs = 1" in capped[1].message
    # An hour later the per-hour budget is free again.
    later = datetime.now(UTC) + timedelta(hours=2)
    freed = propose(bundles, forge, trust, ProposeSettings(max_new_per_hour=1), now=later)
    assert [o.status for o in freed] == [Status.UNCHANGED, Status.OPENED]


def test_verification_failure_pushes_nothing(bench, signed) -> None:
    other = KeyTrust(ec.generate_private_key(ec.SECP256R1()).public_key())
    forge = LocalForge(bench.repo.path)
    refs = _refs(bench.repo)
    outcomes = propose(list(signed.values()), forge, other)
    assert {o.status for o in outcomes} == {Status.REFUSED}
    assert "signature" in outcomes[0].failed_checks
    assert "verification failed" in outcomes[0].message
    assert _refs(bench.repo) == refs
    assert forge.pulls() == []


def test_tampered_patch_is_refused(bench, signed, trust) -> None:
    bundle = _ci(signed)
    patch = bundle / "patch.diff"
    patch.write_text(patch.read_text().replace("persist-credentials: false", "persist: false"))
    forge = LocalForge(bench.repo.path)
    refs = _refs(bench.repo)
    outcome = propose([bundle], forge, trust)[0]
    assert outcome.status is Status.REFUSED
    assert "change-set" in outcome.failed_checks
    assert _refs(bench.repo) == refs


def test_base_commit_missing(bench, signed, trust, make_repo) -> None:
    elsewhere = make_repo("elsewhere")
    elsewhere.write("README.md", "other\n")
    elsewhere.commit("unrelated")
    outcome = propose([_ci(signed)], LocalForge(elsewhere.path), trust)[0]
    assert outcome.status is Status.REFUSED
    assert "base commit" in outcome.message
    assert "is not in" in outcome.message


def test_patch_no_longer_applies(bench, signed, trust) -> None:
    bundle = _ci(signed)
    patch = bundle / "patch.diff"
    patch.write_text(patch.read_text().replace("actions/checkout@v4", "actions/checkout@v9"))
    outcome = propose([bundle], LocalForge(bench.repo.path), trust)[0]
    assert outcome.status is Status.REFUSED
    assert "no longer applies" in outcome.message


def test_cli_propose_and_config_limits(bench, signed, signing_key, tmp_path: Path) -> None:
    pub = tmp_path / "mendbot.pub"
    pub.write_bytes(
        signing_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    bench.repo.write(".github/mendbot.yml", "propose:\n  max_new_per_hour: 1\n")
    command = [sys.executable, "-m", "bot", "propose", *map(str, signed.values())]
    command += ["--repo", str(bench.repo.path), "--verify-key", str(pub)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "opened" in done.stdout
    assert "held back: 1 pull request(s) opened in the last hour" in done.stdout
    assert "1 remediation(s) held back by limits" in done.stdout
    other = tmp_path / "other.pub"
    other.write_bytes(
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    command[-1] = str(other)
    refused = subprocess.run(command, capture_output=True, text=True, check=False)
    assert refused.returncode == 1
    assert "refused" in refused.stdout
    assert "signature" in refused.stdout


def test_a_base_branch_that_does_not_exist_stops_before_any_push(
    bench, signed, signing_key, tmp_path: Path
) -> None:
    pub = tmp_path / "mendbot.pub"
    pub.write_bytes(
        signing_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    before = _refs(bench.repo)
    done = run_mendbot(
        "propose", *map(str, signed.values()), "--repo", str(bench.repo.path),
        "--base", "mian", "--verify-key", str(pub),
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "the base branch 'mian' does not exist" in done.stderr
    assert "Traceback" not in done.stderr
    assert _refs(bench.repo) == before


def test_base_moved_without_conflict_causes_no_churn(bench, signed, trust) -> None:
    forge = LocalForge(bench.repo.path)
    first = propose([_ci(signed)], forge, trust)[0]
    assert first.branch is not None
    head = bench.repo.git("rev-parse", first.branch)
    bench.repo.write("CHANGELOG.md", "unrelated\n")
    bench.repo.commit("unrelated change on main")
    again = propose([_ci(signed)], forge, trust)[0]
    assert again.status is Status.UNCHANGED
    assert bench.repo.git("rev-parse", first.branch) == head


def test_base_moved_with_conflict_is_regenerated_from_a_fresh_bundle(
    bench, signed, signing_key, trust, tmp_path
) -> None:
    forge = LocalForge(bench.repo.path)
    first = propose([_ci(signed)], forge, trust)[0]
    ci = bench.repo.path / ".github/workflows/ci.yml"
    ci.write_text(ci.read_text().replace("make test", "make check"))
    new_base = bench.repo.commit("main edits the same file")
    # The old bundle no longer applies on the new base; a fresh analysis regenerates it.
    bench.out = tmp_path / "fresh"
    fresh = bench.bundle(KeySigner(signing_key))
    outcome = propose([_ci(fresh)], forge, trust)[0]
    assert outcome.status is Status.UPDATED
    assert outcome.number == first.number
    pull = forge.get(first.number or 0)
    assert pull.base_sha == new_base
    assert bench.repo.git("rev-parse", f"{pull.branch}^") == new_base
    assert len(forge.pulls()) == 1


def test_existing_branch_with_foreign_commits_is_never_touched(bench, signed, trust) -> None:
    repo = bench.repo
    rid = next(rid for rid in signed if rid.startswith(CI))
    branch = f"mendbot/{rid}"
    repo.git("checkout", "-q", "-b", branch)
    repo.write("mine.txt", "human work\n")
    human = repo.commit("human work on a branch with the bot's name")
    repo.git("checkout", "-q", "main")
    outcome = propose([_ci(signed)], LocalForge(repo.path), trust)[0]
    assert outcome.status is Status.BLOCKED
    assert repo.git("rev-parse", branch) == human
    assert LocalForge(repo.path).pulls() == []


def test_unsigned_bundle_needs_allow_unsigned(bench) -> None:
    from bot.provenance.signing.signers import NoSigner
    from bot.provenance.verification.trust import UnsafeAcceptUnsigned

    unsigned = bench.bundle(NoSigner())
    forge = LocalForge(bench.repo.path)
    strict = propose(
        [_ci(unsigned)], forge, KeyTrust(ec.generate_private_key(ec.SECP256R1()).public_key())
    )[0]
    assert strict.status is Status.REFUSED
    assert "signature" in strict.failed_checks
    allowed = propose([_ci(unsigned)], forge, UnsafeAcceptUnsigned())[0]
    assert allowed.status is Status.OPENED
    pull = forge.get(allowed.number or 0)
    assert "--allow-unsigned" in pull.body
    message = bench.repo.git("log", "-1", "--format=%B", pull.branch)
    assert "Mendbot-Attestation" not in message


def test_environment_labels_name_what_each_remediation_touches(bench, signed, trust) -> None:
    forge = LocalForge(bench.repo.path)
    environments = {"production": (".github/workflows/deploy.yml",), "staging": ("docs/*",)}
    propose(list(signed.values()), forge, trust, environments=environments)
    by_branch = {p.branch: p.labels for p in forge.pulls()}
    deploy = next(labels for branch, labels in by_branch.items() if "/deploy-" in branch)
    ci = next(labels for branch, labels in by_branch.items() if "/ci-" in branch)
    assert deploy[-1] == "env:production"
    deploy_body = next(p.body for p in forge.pulls() if "/deploy-" in p.branch)
    assert "| file | production |" in deploy_body
    assert not any(label.startswith("env:") for label in ci)  # ci.yml maps to no environment
    # A rerun with the same environments changes nothing.
    again = propose(list(signed.values()), forge, trust, environments=environments)
    assert {o.status for o in again} == {Status.UNCHANGED}


@pytest.mark.parametrize("how", ["new-commit", "amended-bot-commit"])
def test_a_commit_under_the_bots_name_is_a_persons_and_is_never_pushed_over(
    bench, signed, trust, how: str
) -> None:
    """Anyone can write the bot's name and e-mail; only a commit whose attestation verifies is
    the bot's, so a person's work under that identity stops updates instead of being lost."""
    repo = bench.repo
    forge = LocalForge(repo.path)
    first = propose([_ci(signed)], forge, trust)[0]
    assert first.branch is not None
    repo.git("checkout", "-q", first.branch)
    repo.write("NOTES.md", "work written under the bot's identity\n")
    repo.git("add", "-A")
    as_bot = {
        **os.environ,
        "GIT_AUTHOR_NAME": BOT_NAME,
        "GIT_AUTHOR_EMAIL": BOT_EMAIL,
        "GIT_COMMITTER_NAME": BOT_NAME,
        "GIT_COMMITTER_EMAIL": BOT_EMAIL,
    }
    extra = ["--amend", "--no-edit"] if how == "amended-bot-commit" else ["-m", "tweak"]
    subprocess.run(["git", "commit", "-q", *extra], cwd=repo.path, env=as_bot, check=True)
    disguised = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "main")
    outcome = propose([_ci(signed)], forge, trust)[0]
    assert outcome.status is Status.BLOCKED, outcome.message
    assert repo.git("rev-parse", first.branch) == disguised
    assert disguised[:12] in forge.get(first.number or 0).comments[TOPIC_EDITED]
