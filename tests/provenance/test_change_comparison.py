"""The two comparisons that decide trust, on plain values: an attested change list against the
one git reports (``compare``), and a pull request against the commit it claims to revert
(``undoes``)."""

from __future__ import annotations

import hashlib

import pytest

from bot.gate.reverts import undoes
from bot.provenance.changes import BlobState, Change, RawEntry
from bot.provenance.verification.compare import compare

NULL_ID = "0" * 40
REG, EXE, LINK = "100644", "100755", "120000"
NULL_MODE = "000000"


def state(content: str, mode: str = "100644") -> BlobState:
    data = content.encode()
    return BlobState(
        mode=mode,  # type: ignore[arg-type]
        sha256=hashlib.sha256(data).hexdigest(),
        git_blob=hashlib.sha256(data).hexdigest()[:40],  # any 40-hex id
    )


def modify(path: str, before: str, after: str, *, modes: tuple[str, str] = ("100644",) * 2):
    return Change(
        path=path, op="modify", before=state(before, modes[0]), after=state(after, modes[1])
    )


# -- compare ---------------------------------------------------------------------------------


def test_identical_change_lists_have_no_differences() -> None:
    changes = [modify("a.yml", "x", "y"), Change(path="b", op="add", before=None, after=state("b"))]
    assert compare(changes, list(reversed(changes))) == []


def test_extra_and_missing_paths_are_named_with_the_subject() -> None:
    attested = [modify("a.yml", "x", "y")]
    actual = [Change(path="z.txt", op="delete", before=state("z"), after=None)]
    problems = compare(attested, actual, "the merge")
    assert [message for message, _ in problems] == [
        "missing change: the attestation modifies a.yml, the merge does not",
        "extra change: the merge deletes z.txt, which is not attested",
    ]
    assert "drop the extra change" in problems[1][1]
    assert "apply the whole patch.diff" in problems[0][1]


def test_an_operation_mismatch_is_one_difference_with_the_given_advice() -> None:
    attested = [modify("a.yml", "x", "y")]
    actual = [Change(path="a.yml", op="delete", before=state("x"), after=None)]
    assert compare(attested, actual, "head", "ADVICE") == [
        ("a.yml: head deletes it, the attestation modifies it", "ADVICE")
    ]


def test_pre_image_and_post_image_content_are_both_compared() -> None:
    attested = [modify("a.yml", "x", "y")]
    pre = compare(attested, [modify("a.yml", "other", "y")])
    assert len(pre) == 1 and pre[0][0].startswith("a.yml: pre-image content differs")
    assert "at head" in pre[0][0]
    post = compare(attested, [modify("a.yml", "x", "other")], "the merge", "ADVICE")
    assert len(post) == 1 and post[0][0].startswith("a.yml: post-image content differs")
    assert "in the merge" in post[0][0] and post[0][1] == "ADVICE"


@pytest.mark.parametrize(
    ("attested_modes", "actual_modes", "message"),
    [
        ((REG, REG), (REG, EXE), "a: post-image mode 100755 at head, attested 100644"),
        ((EXE, REG), (REG, REG), "a: pre-image mode 100644 at head, attested 100755"),
        (
            (REG, REG),
            (REG, LINK),
            "a: is a symlink at head (mode 120000), attested as a regular file (100644)",
        ),
        ((REG, LINK), (REG, REG), "a: is a regular file at head (100644), attested as a symlink"),
    ],
)
def test_modes_are_compared_on_both_sides(attested_modes, actual_modes, message) -> None:
    problems = compare(
        [modify("a", "x", "y", modes=attested_modes)], [modify("a", "x", "y", modes=actual_modes)]
    )
    assert [m for m, _ in problems] == [message]


# -- undoes ------------------------------------------------------------------------------------


def raw(path: str, src: tuple[str, str], dst: tuple[str, str], status: str = "M") -> RawEntry:
    return RawEntry(
        src_mode=src[0], src_id=src[1], dst_mode=dst[0], dst_id=dst[1], status=status, path=path
    )


OLD = ("100644", "1" * 40)
NEW = ("100644", "2" * 40)
ATTESTATION = ("100644", "3" * 40)
ABSENT = (NULL_MODE, NULL_ID)
BOT_CHANGE = [
    raw("ci.yml", OLD, NEW),
    raw(".mendbot/attestations/x.sigstore.json", ABSENT, ATTESTATION, "A"),
]
EXACT_REVERT = [
    raw("ci.yml", NEW, OLD),
    raw(".mendbot/attestations/x.sigstore.json", ATTESTATION, ABSENT, "D"),
]


ATTESTATION_GONE = EXACT_REVERT[1]


def test_an_empty_pull_request_reverts_no_empty_commit() -> None:
    assert not undoes([], [])


def test_the_exact_inverse_undoes_the_change() -> None:
    assert undoes(EXACT_REVERT, BOT_CHANGE)
    assert undoes(list(reversed(EXACT_REVERT)), BOT_CHANGE)


@pytest.mark.parametrize(
    "revert",
    [
        pytest.param([], id="nothing"),
        pytest.param(BOT_CHANGE, id="the change itself, not turned around"),
        pytest.param([EXACT_REVERT[0]], id="keeps the attestation"),
        pytest.param([raw("ci.yml", NEW, (REG, "9" * 40)), ATTESTATION_GONE], id="other content"),
        pytest.param([raw("ci.yml", NEW, (EXE, OLD[1])), ATTESTATION_GONE], id="executable bit"),
        pytest.param([raw("ci.yml", (REG, "8" * 40), OLD), ATTESTATION_GONE], id="other pre-image"),
        pytest.param([raw("ci.yml", NEW, ABSENT, "D"), ATTESTATION_GONE], id="deletes instead"),
        pytest.param([*EXACT_REVERT, raw("extra.txt", ABSENT, NEW, "A")], id="an extra path"),
    ],
)
def test_anything_else_does_not_undo_the_change(revert: list[RawEntry]) -> None:
    assert not undoes(revert, BOT_CHANGE)
