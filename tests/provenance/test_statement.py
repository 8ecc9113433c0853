"""Pure logic: the canonical change list, the statement, its strict parser, names and keys."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric import ec
from securesystemslib.dsse import Envelope

from bot.errors import UsageError
from bot.models import Remediation
from bot.provenance import dsse
from bot.provenance.changes import BlobState, Change, canonical, changeset_digest, check_path
from bot.provenance.errors import ChangeError
from bot.provenance.keys import key_hint, public_pem
from bot.provenance.layout import bundle_name, committed_attestation_path, remediation_id
from bot.provenance.run_context import _workflow, detect, strip_credentials
from bot.provenance.signing.bundle_writer import remediation_info
from bot.provenance.statement import (
    PREDICATE_TYPE_V1,
    Base,
    Generator,
    Invocation,
    Repository,
    StatementError,
    UnknownPredicateType,
    build_statement,
    consistency_problems,
    parse_statement,
    statement_bytes,
)
from bot.provenance.verification.trust import SigstoreTrust
from bot.risk import BlastRadius, Disposition, Reversibility

A, B, C = "a" * 64, "b" * 64, "c" * 64


def blob(sha: str, mode: str = "100644") -> BlobState:
    return BlobState(mode=mode, sha256=sha, git_blob=sha[:40])


def remediation() -> Remediation:
    return Remediation(
        id="gha-persist-credentials/ci-1234abcd",
        fingerprint="f" * 64,
        title="gha-persist-credentials: set persist-credentials: false in ci.yml",
        rules=("gha-persist-credentials",),
        paths=(".github/workflows/ci.yml",),
        fixes=(),
        disposition=Disposition.SAFE,
        reversibility=Reversibility.REVERSIBLE,
        blast_radius=BlastRadius.FILE,
    )


CHANGES = (
    Change(path="z.yml", op="delete", before=blob(A), after=None),
    Change(path="a.yml", op="modify", before=blob(A), after=blob(B, "100755")),
    Change(path="é/new.yml", op="add", before=None, after=blob(C)),
)


def statement(**overrides):
    values = {
        "changes": CHANGES,
        "repository": Repository(uri="https://github.com/acme/infra", id="1", owner_id="2"),
        "base": Base(ref="refs/heads/main", git_commit="1" * 40),
        "remediation": remediation_info(remediation()),
        "findings": (),
        "generator": Generator(name="mendbot", version="0.1.0", id=None, config=None),
        "invocation": Invocation(id=None, event_name=None, run_id=None, run_attempt=None),
        "created": datetime(2025, 1, 1, tzinfo=UTC),
    }
    values.update(overrides)
    return build_statement(**values)


def test_canonical_change_list_is_rfc8785_sorted_by_utf8_path() -> None:
    data = json.loads(canonical(CHANGES))
    assert [c["path"] for c in data] == ["a.yml", "z.yml", "é/new.yml"]
    assert data[1] == {
        "path": "z.yml",
        "op": "delete",
        "before": {"mode": "100644", "sha256": A, "gitBlob": A[:40]},
        "after": None,
    }
    assert canonical(CHANGES) == rfc8785.dumps(data)
    assert changeset_digest(CHANGES) == hashlib.sha256(canonical(CHANGES)).hexdigest()
    assert changeset_digest(tuple(reversed(CHANGES))) == changeset_digest(CHANGES)


def test_changeset_binds_deletes_modes_and_pre_images() -> None:
    digest = changeset_digest(CHANGES)
    no_delete = CHANGES[1:]
    other_mode = (CHANGES[0], CHANGES[1].model_copy(update={"after": blob(B)}), CHANGES[2])
    other_before = (CHANGES[0].model_copy(update={"before": blob(C)}), *CHANGES[1:])
    assert len({digest, *(changeset_digest(c) for c in (no_delete, other_mode, other_before))}) == 4


def test_statement_subjects_are_post_images_plus_changeset() -> None:
    built = statement()
    assert [(s.name, s.digest.sha256) for s in built.subject] == [
        ("a.yml", B),
        ("é/new.yml", C),
        ("_changeset", changeset_digest(CHANGES)),
    ]
    assert built.predicate_type == PREDICATE_TYPE_V1
    assert built.predicate.expires_on == "2025-01-31T00:00:00Z"
    assert consistency_problems(built) == []


def test_statement_round_trips_through_its_signed_bytes() -> None:
    payload = statement_bytes(statement())
    parsed = parse_statement(payload)
    assert statement_bytes(parsed) == payload
    document = json.loads(payload)
    assert document["_type"] == "https://in-toto.io/Statement/v1"
    assert set(document["predicate"]) == {
        "repository",
        "base",
        "changes",
        "remediation",
        "findings",
        "generator",
        "inputs",
        "invocation",
        "createdOn",
        "expiresOn",
    }
    assert document["predicate"]["remediation"]["risk"] == {
        "disposition": "safe",
        "reversibility": "reversible",
        "blastRadius": "file",
    }


def _mutated(edit) -> bytes:
    document = json.loads(statement_bytes(statement()))
    edit(document)
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(_type="https://in-toto.io/Statement/v0.1"), "_type is"),
        (lambda d: d["predicate"].update(extra=1), "extra"),
        (lambda d: d["subject"][0]["digest"].update(sha256=B.upper()), "subject.0.digest.sha256"),
        (lambda d: d["subject"][0]["digest"].update(sha1="0" * 40), "sha1"),
        (lambda d: d["predicate"]["changes"][0].update(path="../etc/passwd"), "segment"),
        (lambda d: d["predicate"]["changes"][0].update(path="_changeset"), "reserved"),
        (lambda d: d["predicate"]["changes"][0]["after"].update(mode="160000"), "mode"),
        (lambda d: d["predicate"]["changes"][0].update(after=None), "modify of a.yml needs"),
        (lambda d: d["predicate"]["base"].update(gitCommit="HEAD"), "gitCommit"),
        (lambda d: d["predicate"]["remediation"].update(source="robot"), "source"),
        (lambda d: d["predicate"].update(expiresOn="tomorrow"), "expiresOn"),
        (lambda d: d["predicate"]["findings"].append({"id": 1}), "findings"),
    ],
)
def test_parser_is_strict(edit, message) -> None:
    with pytest.raises(StatementError, match=message):
        parse_statement(_mutated(edit))


def test_unknown_predicate_type_is_its_own_error() -> None:
    payload = _mutated(lambda d: d.update(predicateType="https://slsa.dev/provenance/v1"))
    with pytest.raises(UnknownPredicateType, match="unknown predicate type"):
        parse_statement(payload)
    with pytest.raises(StatementError, match="not JSON"):
        parse_statement(b"{truncated")


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda d: d["subject"].pop(), "expected one _changeset subject, found 0"),
        (lambda d: d["subject"].append(d["subject"][0]), "subject names are not unique"),
        (lambda d: d["subject"][0]["digest"].update(sha256=C), "file subjects are not exactly"),
        (
            lambda d: d["predicate"]["changes"][0]["before"].update(sha256=C),
            "the _changeset digest is not the sha256 of the canonical change list",
        ),
        (lambda d: d["predicate"].update(expiresOn="2026-01-01T00:00:00Z"), "validity"),
    ],
)
def test_consistency_problems_name_what_is_inconsistent(edit, problem) -> None:
    problems = consistency_problems(parse_statement(_mutated(edit)))
    assert any(problem in p for p in problems), problems


def test_statement_refuses_empty_changes_and_long_validity() -> None:
    with pytest.raises(StatementError, match="changes nothing"):
        statement(changes=())
    with pytest.raises(StatementError, match="outside"):
        statement(validity=timedelta(days=365))


@pytest.mark.parametrize(
    "path", ["", "/abs", "a/../b", "./a", "a//b", "a\\b", "_changeset", "a/", "x\0y"]
)
def test_unsafe_paths_are_refused(path: str) -> None:
    with pytest.raises(ChangeError):
        check_path(path)


def test_bundle_names_are_reversible_and_safe() -> None:
    assert (
        bundle_name("gha-persist-credentials/ci-1234abcd") == "gha-persist-credentials--ci-1234abcd"
    )
    assert (
        remediation_id("gha-persist-credentials--ci-1234abcd")
        == "gha-persist-credentials/ci-1234abcd"
    )
    assert remediation_id("../etc") is None
    assert remediation_id("a---b") is None
    assert (
        committed_attestation_path("gha-x/y-1") == ".mendbot/attestations/gha-x--y-1.sigstore.json"
    )
    for bad in ("a/b/c", "../x/y", "A/b", "a--b/c"):
        with pytest.raises(Exception, match="not `<group>/<slug>`"):
            bundle_name(bad)


def test_dsse_pae_matches_securesystemslib_and_key_bundles_verify() -> None:
    assert (
        dsse.pae("application/vnd.in-toto+json", b"{}")
        == Envelope(b"{}", "application/vnd.in-toto+json", {}).pae()
    )
    key = ec.generate_private_key(ec.SECP256R1())
    bundle = dsse.parse(dsse.sign(key, b"payload").encode())
    assert bundle.hint == key_hint(key.public_key())
    assert bundle.hint == hashlib.sha256(public_pem(key.public_key())).hexdigest()
    assert dsse.verify(bundle, key.public_key()) == b"payload"
    with pytest.raises(dsse.KeySignatureError, match="signed by another key"):
        dsse.verify(bundle, ec.generate_private_key(ec.SECP256R1()).public_key())


def test_github_context_and_workflow_refs_with_at_signs(tmp_path) -> None:
    ref = _workflow("https://github.com", "acme/infra/.github/workflows/a.yml@refs/tags/pkg@1.2")
    assert ref is not None
    assert (ref.repository, ref.path, ref.ref) == (
        "https://github.com/acme/infra",
        ".github/workflows/a.yml",
        "refs/tags/pkg@1.2",
    )
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": "acme/infra",
        "GITHUB_RUN_ID": "9",
        "GITHUB_RUN_ATTEMPT": "2",
        "GITHUB_REF": "refs/heads/main",
    }
    claims = {"job_workflow_ref": "acme/shared/.github/workflows/scan.yml@v1"}
    context = detect(tmp_path, env, claims)
    assert context.invocation.id == "https://github.com/acme/infra/actions/runs/9/attempts/2"
    assert context.generator_id == "https://github.com/acme/shared/.github/workflows/scan.yml@v1"


def test_credentials_never_reach_the_statement() -> None:
    assert strip_credentials("https://x-access-token:s3cr3t@github.com/a/b.git") == (
        "https://github.com/a/b.git"
    )
    assert strip_credentials("git@github.com:a/b.git") == "ssh://github.com/a/b.git"


def test_sigstore_trust_derives_repository_and_ref_from_the_identity() -> None:
    trust = SigstoreTrust(
        identity="https://github.com/acme/infra/.github/workflows/mendbot.yml@refs/heads/main"
    )
    assert (trust.repository_uri, trust.source_ref) == (
        "https://github.com/acme/infra",
        "refs/heads/main",
    )
    with pytest.raises(UsageError, match="cannot tell the source repository"):
        SigstoreTrust(identity="mail@example.test")
