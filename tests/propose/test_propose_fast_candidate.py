"""A plain bundle's commit, built without a git process of its own, is the very commit git's own
commands build, and anything less plain is left to git.

The patches are made by the real producer (:func:`bot.provenance.signing.patch.make_patch`) or
edited by hand into what ``git apply`` would place elsewhere, refuse or read another way; the
reference is always git itself (``read-tree``, ``apply --cached``, ``write-tree``,
``commit-tree``) on the same real repository.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from bot import git
from bot.git.writer import ObjectWriter
from bot.propose.candidate import BaseUnreadable, CandidateTrees
from bot.propose.fast_candidate import FastCandidates
from bot.protocol import bot_commit_env
from bot.provenance.layout import committed_attestation_path, remediation_id
from bot.provenance.signing.patch import make_patch
from bot.provenance.signing.signers import KeySigner
from clirun import run_mendbot


def _git(repo: Path, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None):
    done = subprocess.run(
        ["git", *args],
        cwd=repo,
        input=stdin,
        env={**os.environ, **(env or {})},
        capture_output=True,
        check=True,
    )
    return done.stdout.decode().strip()


def _git_commit(repo: Path, base: str, patch: bytes, attestation: tuple[str, bytes], message: bytes,
                date: str, scratch: Path) -> str:  # fmt: skip
    """The candidate commit as git's own commands build it."""
    index = {"GIT_INDEX_FILE": str(scratch / "reference-index")}
    _git(repo, "read-tree", base, env=index)
    (scratch / "reference.diff").write_bytes(patch)
    _git(repo, "apply", "--cached", str(scratch / "reference.diff"), env=index)
    blob = _git(repo, "hash-object", "-w", "--stdin", stdin=attestation[1])
    _git(repo, "update-index", "--add", "--cacheinfo", f"100644,{blob},{attestation[0]}", env=index)
    tree = _git(repo, "write-tree", env=index)
    identity = bot_commit_env(date)
    return _git(repo, "commit-tree", tree, "-p", base, "-F", "-", stdin=message, env=identity)


@pytest.fixture
def public_key(signing_key, tmp_path: Path) -> Path:
    pub = tmp_path / "mendbot.pub"
    pub.write_bytes(
        signing_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return pub


def _propose_and_rebuild(bench, signing_key, public_key, tmp_path) -> list[tuple[str, str, str]]:
    """Propose every bundle through the CLI; (branch head, git's rebuild, raw commit) each."""
    bench.analyse_as("https://example.test/acme/app.git")
    bundles = sorted(bench.bundle(KeySigner(signing_key)).values())
    repo = bench.repo.path
    done = run_mendbot(
        "propose", *map(str, bundles), "--repo", str(repo), "--verify-key", str(public_key)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(": opened #") == len(bundles) == 2
    found = []
    for bundle in bundles:
        rid = remediation_id(bundle.name)
        assert rid is not None
        head = _git(repo, "rev-parse", f"refs/heads/mendbot/{rid}")
        raw = subprocess.run(
            ["git", "cat-file", "commit", head], cwd=repo, capture_output=True, check=True
        ).stdout
        message = raw.split(b"\n\n", 1)[1]
        date = _git(repo, "log", "-1", "--format=%aI", head).replace("+00:00", "Z")
        attestation = (committed_attestation_path(rid), (bundle / "attestation.sigstore.json"))
        rebuilt = _git_commit(
            repo, bench.repo.head(), (bundle / "patch.diff").read_bytes(),
            (attestation[0], attestation[1].read_bytes()), message, date, tmp_path,
        )  # fmt: skip
        found.append((head, rebuilt, raw.decode()))
    return found


def test_plain_bundles_get_the_very_commit_git_builds(
    bench, signing_key, public_key, tmp_path
) -> None:
    for head, rebuilt, _raw in _propose_and_rebuild(bench, signing_key, public_key, tmp_path):
        assert head == rebuilt


def test_a_repository_where_git_writes_commits_otherwise_gets_gits_commits(
    bench, signing_key, public_key, tmp_path
) -> None:
    # commit-tree records a configured commit encoding; the fast way does not write it, so the
    # first bundle's comparison must send every bundle of the run to git.
    bench.repo.git("config", "i18n.commitEncoding", "ISO-8859-1")
    for head, rebuilt, raw in _propose_and_rebuild(bench, signing_key, public_key, tmp_path):
        assert "\nencoding ISO-8859-1\n" in raw
        assert head == rebuilt


@pytest.fixture
def builders(bench, tmp_path: Path) -> Iterator[tuple[FastCandidates, CandidateTrees]]:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with git.batched():
        trees = CandidateTrees(bench.repo.path, scratch)
        fast_scratch = tmp_path / "fast"
        fast_scratch.mkdir()
        writer = ObjectWriter(bench.repo.path, fast_scratch)
        try:
            yield FastCandidates(bench.repo.path, writer), trees
        finally:
            writer.close()
            trees.close()


ATTESTATION = (".mendbot/attestations/x.sigstore.json", b'{"signed": true}\n')

LINES = "".join(f"line {n}\n" for n in range(1, 41))
TWO_HUNKS = LINES.replace("line 2\n", "2\n").replace("line 30\n", "")
EDITS: dict[str, tuple[bytes, bytes]] = {
    "middle": (LINES.encode(), LINES.replace("line 20\n", "twenty\n").encode()),
    "first": (LINES.encode(), LINES.replace("line 1\n", "one\n", 1).encode()),
    "last": (LINES.encode(), LINES.replace("line 40\n", "forty\nforty-one\n").encode()),
    "two hunks": (LINES.encode(), TWO_HUNKS.encode()),
    "adds the last newline": (b"a\nb", b"a\nb\n"),
    "drops the last newline": (b"a\nb\n", b"a\nb"),
    "edits without a last newline": (b"a\nb\nc", b"a\nB\nc"),
    "crlf": (b"a\r\nb\r\nc\r\n", b"a\r\nB\r\nc\r\n"),
    "lone carriage returns": (b"a\rb\nc\rd\n\re\n", b"a\rB\nc\rd\n\rE\n"),
    "fills an empty file": (b"", b"new\n"),
    "empties a file": (b"x\ny\n", b""),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(EDITS))
def test_the_fast_tree_is_the_tree_git_applies(bench, builders, case: str) -> None:
    fast, trees = builders
    before, after = EDITS[case]
    repo = bench.repo
    repo.write("dir/file.txt", before)
    repo.write("run.sh", b"#!/bin/sh\n")
    (repo.path / "run.sh").chmod(0o755)  # an executable file
    base = repo.commit("base")
    patch = make_patch(repo.path, base, {"dir/file.txt": after, "run.sh": b"#!/bin/sh\nexit\n"})
    built = fast.tree(base, patch.diff, ATTESTATION)
    assert built is not None
    assert built == trees.build(base, patch.diff, ATTESTATION)


def _hostile(bench) -> tuple[str, bytes]:
    repo = bench.repo
    repo.write("dir/file.txt", LINES)
    base = repo.commit("base")
    patch = make_patch(
        repo.path, base, {"dir/file.txt": LINES.replace("line 20\n", "20\n").encode()}
    )
    return base, patch.diff


def _moved(patch: bytes) -> bytes:
    return patch.replace(b"@@ -17,7 +17,7 @@", b"@@ -15,7 +15,7 @@")


def _lying(patch: bytes) -> bytes:
    header, _, rest = patch.partition(b"..")
    return header + b".." + b"0" * 40 + rest[40:]


def _no_trailing_context(patch: bytes) -> bytes:
    head, _, body = patch.partition(b"@@ -17,7 +17,7 @@")
    lines = body.split(b"\n")
    return head + b"@@ -17,4 +17,4 @@" + b"\n".join(lines[:6]) + b"\n"


def _mode(patch: bytes) -> bytes:
    return patch.replace(b" 100644\n", b" 100755\n", 1)


def _path(target: str):
    return lambda patch: patch.replace(b"dir/file.txt", target.encode())


HOSTILE = {
    "hunk moved by two lines (git applies it at an offset)": _moved,
    "post-image id that is not the result": _lying,
    "hunk without trailing context inside the file": _no_trailing_context,
    "mode the base does not have": _mode,
    "path into .git": _path(".git/hooks/pre-commit"),
    "path with ..": _path("dir/../dir/file.txt"),
    "count that does not add up": lambda p: p.replace(b"+17,7 @@", b"+17,9 @@"),
    "line number in Arabic-Indic digits": lambda p: p.replace(
        b"@@ -17,7", "@@ -\u0661\u0667,7".encode()
    ),
    "new file": lambda p: p.replace(b"index ", b"new file mode 100644\nindex ", 1),
    "trailing garbage": lambda p: p + b"garbage\n",
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_anything_less_plain_is_left_to_git(bench, builders, case: str) -> None:
    fast, _trees = builders
    base, patch = _hostile(bench)
    assert fast.tree(base, patch, ATTESTATION) is not None  # the plain patch is taken
    edited = HOSTILE[case](patch)
    assert edited != patch
    assert fast.tree(base, edited, ATTESTATION) is None


def test_a_symlink_or_a_file_in_the_attestations_place_is_left_to_git(bench, builders) -> None:
    fast, _trees = builders
    repo = bench.repo
    repo.write("dir/file.txt", LINES)
    (repo.path / "link").symlink_to("dir/file.txt")
    repo.write(".mendbot", "a file where the folder would be\n")
    base = repo.commit("base")
    patch = make_patch(repo.path, base, {"dir/file.txt": b"other\n"}).diff
    assert fast.tree(base, patch, ATTESTATION) is None
    assert fast.tree(base, patch.replace(b"dir/file.txt", b"link"), None) is None


def test_a_base_git_refuses_to_read_is_refused_though_the_fast_way_could_build_on_it(
    bench, builders
) -> None:
    fast, trees = builders
    repo = bench.repo.path
    identity = bot_commit_env("2026-01-01T00:00:00Z")
    # A plain bundle on a plain base first: the fast way builds git's very commit there.
    clean_base, clean_patch = _hostile(bench)
    clean = trees.commit(clean_base, clean_patch, ATTESTATION, lambda: b"fix\n", identity)
    assert clean == trees.commit(clean_base, clean_patch, ATTESTATION, lambda: b"fix\n", identity)
    # A base whose tree holds a .git folder, which git never checks out (read-tree refuses it).
    blob = _git(repo, "hash-object", "-w", "--stdin", stdin=b"[core]\n")
    folder = _git(repo, "mktree", stdin=f"100644 blob {blob}\tconfig\n".encode())
    listing = _git(repo, "ls-tree", "HEAD") + f"\n040000 tree {folder}\t.git\n"
    base = _git(repo, "commit-tree", _git(repo, "mktree", stdin=listing.encode()), "-p", "HEAD",
                "-m", "hostile")  # fmt: skip
    readme = _git(repo, "hash-object", "-w", "--stdin", stdin=b"# project\nchanged\n")
    edited = listing.replace(_git(repo, "rev-parse", "HEAD:README.md"), readme)
    after = _git(repo, "commit-tree", _git(repo, "mktree", stdin=edited.encode()), "-m", "after")
    patch = subprocess.run(
        ["git", "diff", "--binary", "--full-index", *git.DIFF_OPTIONS, base, after, "--"],
        cwd=repo, capture_output=True, check=True,
    ).stdout  # fmt: skip
    assert fast.tree(base, patch, ATTESTATION) is not None
    for _ in range(2):  # the second bundle on that base too
        with pytest.raises(BaseUnreadable, match=r"invalid path '\.git/config'"):
            trees.commit(base, patch, ATTESTATION, lambda: b"fix\n", identity)
