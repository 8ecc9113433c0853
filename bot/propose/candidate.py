"""Build a bundle's candidate commit: the attested patch and the attestation on the attested
base, never touching the working tree.

A plain bundle (changes to existing text files, as the analysis writes them) is built with no
git process of its own (:mod:`bot.propose.fast_candidate`); the first one on each base commit
is also built with git's commands, and the run keeps the fast way only while both give the
same commit. Any other bundle is built with git's commands in a temporary index: a run reads
each base commit into an index once and copies that index for every bundle on the same base.
The attestation goes into the same ``git apply`` as the patch, as a new-file hunk that carries
its bytes exactly (git's binary literal form, checked by git against the blob id), unless the
patch itself touches that path: then it is written on top of the patch with ``update-index``.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path

from bot import git as gitcmd
from bot.git import GitError
from bot.git.writer import ObjectWriter
from bot.propose.fast_candidate import FastCandidates

#: Paths the attestation hunk names without quoting (git quotes anything else).
_PLAIN_PATH = re.compile(r"^[A-Za-z0-9._/-]+$")


class BaseUnreadable(GitError):
    """``git read-tree`` could not read the attested base."""


class PatchRefused(GitError):
    """``git apply`` refused the patch on the attested base."""


class CandidateTrees:
    """Builds candidate trees in ``scratch`` (a private temporary folder) for one run."""

    def __init__(self, repo: Path, scratch: Path) -> None:
        self._repo = repo
        self._scratch = scratch
        self._bases: dict[str, Path] = {}
        self._built = 0
        self._writer = ObjectWriter(repo, scratch)
        self._fast = FastCandidates(repo, self._writer)
        self._checked: set[str] = set()
        """Bases on which the fast way built the very commit git built."""
        self._fast_off = False
        """Whether the fast way once differed from git (then git builds the rest of the run)."""

    def commit(
        self,
        base: str,
        patch: bytes,
        attestation: tuple[str, bytes] | None,
        message: Callable[[], bytes],
        identity: Mapping[str, str],
    ) -> str:
        """The commit on ``base`` of ``patch`` plus ``attestation`` (path, bytes), with the
        message ``message()`` (asked once the tree is built) and the author, committer and
        date of ``identity``, as ``git commit-tree`` makes it.

        Raises :class:`BaseUnreadable`, :class:`PatchRefused`, or :class:`GitError` when the
        commit cannot be written.
        """
        fast = None if self._fast_off else self._fast.tree(base, patch, attestation)
        trusted = fast is not None and base in self._checked
        if fast is not None and trusted:
            tree = fast
        else:
            try:
                tree = self.build(base, patch, attestation)
            except GitError:
                # git refused what the fast way built (an unreadable base, a patch it reads
                # otherwise): it keeps deciding for the rest of the run.
                self._fast_off = self._fast_off or fast is not None
                raise
        text = message()
        quick = self._fast.commit(fast, base, text, identity) if fast is not None else None
        if quick is not None and trusted:
            return quick
        made = (
            gitcmd.run(
                self._repo, "commit-tree", tree, "-p", base, "-F", "-", stdin=text, env=identity
            )
            .decode()
            .strip()
        )
        if quick is not None and quick == made:
            self._checked.add(base)
        elif quick is not None:
            self._fast_off = True
        return made

    def close(self) -> None:
        """Stop the run's object writers."""
        self._writer.close()

    def build(self, base: str, patch: bytes, attestation: tuple[str, bytes] | None) -> str:
        """The tree of ``base`` with ``patch`` applied and ``attestation`` (path, bytes) added.

        Raises :class:`BaseUnreadable`, :class:`PatchRefused`, or :class:`GitError` when the
        tree cannot be written.
        """
        # New files per bundle: truncating and rewriting one file makes ext4 flush it to disk
        # on close (milliseconds on a busy disk); the scratch folder goes at the end.
        self._built += 1
        index = self._scratch / f"index-{self._built}"
        shutil.copyfile(self._base_index(base), index)
        env = {"GIT_INDEX_FILE": str(index)}
        pending = attestation
        hunks = patch if patch.strip() else b""
        if attestation is not None and _fits_hunk(attestation[0], patch):
            if hunks and not hunks.endswith(b"\n"):
                hunks += b"\n"
            hunks += _new_file_hunk(attestation[0], attestation[1], len(base))
            pending = None
        if hunks:
            patch_file = self._scratch / f"patch-{self._built}.diff"
            patch_file.write_bytes(hunks)
            try:
                gitcmd.run(
                    self._repo,
                    "apply",
                    "--cached",
                    "--whitespace=nowarn",
                    str(patch_file),
                    env=env,
                )
            except GitError as exc:
                raise PatchRefused(str(exc)) from None
        if pending is not None:
            path, content = pending
            blob = gitcmd.run(self._repo, "hash-object", "-w", "--stdin", stdin=content)
            gitcmd.run(
                self._repo,
                "update-index",
                "--add",
                "--cacheinfo",
                f"100644,{blob.decode().strip()},{path}",
                env=env,
            )
        return gitcmd.run(self._repo, "write-tree", env=env).decode().strip()

    def _base_index(self, base: str) -> Path:
        """An index holding ``base``'s tree, read once per run."""
        index = self._bases.get(base)
        if index is None:
            index = self._scratch / f"base-{len(self._bases)}"
            try:
                gitcmd.run(
                    self._repo,
                    "read-tree",
                    f"{base}^{{commit}}",
                    env={"GIT_INDEX_FILE": str(index)},
                )
            except GitError as exc:
                raise BaseUnreadable(str(exc)) from None
            self._bases[base] = index
        return index


def _fits_hunk(path: str, patch: bytes) -> bool:
    """Whether the attestation can join the patch: a path git writes unquoted, that the patch
    does not mention (else ``git apply`` would refuse what ``update-index`` overwrites)."""
    return _PLAIN_PATH.match(path) is not None and path.encode() not in patch


def _new_file_hunk(path: str, content: bytes, id_length: int) -> bytes:
    """A ``git diff --binary`` hunk adding ``path`` with exactly ``content`` (mode 100644), for
    a repository whose object ids have ``id_length`` hex digits (SHA-1 or SHA-256)."""
    header = b"blob %d\0" % len(content)
    digest = hashlib.sha256 if id_length == 64 else hashlib.sha1
    blob = digest(header + content, usedforsecurity=False).hexdigest()
    lines = [
        f"diff --git a/{path} b/{path}",
        "new file mode 100644",
        f"index {'0' * id_length}..{blob}",
        "GIT binary patch",
        f"literal {len(content)}",
        *_base85_lines(zlib.compress(content, 9)),
        "",
        "",
    ]
    return "\n".join(lines).encode("ascii")


def _base85_lines(data: bytes) -> list[str]:
    """Git's base85 lines: up to 52 bytes each, led by their count (``A``-``Z`` for 1-26,
    ``a``-``z`` for 27-52); the alphabet is RFC 1924's, as Python's ``b85encode``."""
    lines = []
    for start in range(0, len(data), 52):
        chunk = data[start : start + 52]
        count = len(chunk)
        lead = chr(ord("A") + count - 1) if count <= 26 else chr(ord("a") + count - 27)
        lines.append(lead + base64.b85encode(chunk, pad=True).decode("ascii"))
    return lines
