"""The candidate commit of a plain bundle, built with no git process of its own.

Inside a batched session the base's trees and blobs are read through the session's object
reader, the patch is applied by :mod:`bot.propose.exact_apply` (only where the result is
certainly ``git apply``'s), and the blobs, the changed trees and the commit are written through
one long-lived git process of each kind (:class:`~bot.git.writer.ObjectWriter`). Whenever the
bundle is not that plain shape, or anything is unexpected, the answer is None and the caller
builds the commit with git's own commands, as before.
"""

from __future__ import annotations

import calendar
import hashlib
import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from bot import git as gitcmd
from bot.git import GitError
from bot.git.session import active
from bot.git.writer import TREE_MODES, ObjectWriter
from bot.propose import exact_apply

#: The commit dates taken here: what the statement's ``createdOn`` is, UTC to the second.
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")
#: The names and e-mails taken here (git would strip or refuse some others).
_NAME = re.compile(r"^[A-Za-z0-9_\[\]-]+$")
_EMAIL = re.compile(r"^[A-Za-z0-9_.+-]+@[A-Za-z0-9_.-]+$")


class _NotPlain(Exception):
    """The bundle or the base is not the plain shape this module builds."""


class FastCandidates:
    """Builds candidate commits in ``repo`` through ``writer``."""

    def __init__(self, repo: Path, writer: ObjectWriter) -> None:
        self._repo = repo
        self._writer = writer
        # Bundles on one base share its folders: each tree is read and parsed once per run.
        self._read: dict[str, dict[bytes, tuple[str, str]]] = {}

    def tree(self, base: str, patch: bytes, attestation: tuple[str, bytes] | None) -> str | None:
        """The tree of commit ``base`` with ``patch`` applied and ``attestation`` (path, bytes)
        added; None when it cannot be built here."""
        try:
            return self._tree(base, patch, attestation)
        except (_NotPlain, GitError, ValueError):
            return None

    def commit(
        self, tree: str, base: str, message: bytes, identity: Mapping[str, str]
    ) -> str | None:
        """The commit of ``tree`` on ``base`` with ``message`` and the author, committer and
        date of ``identity`` (as ``git commit-tree`` reads them from the environment); None
        when it cannot be built here."""
        header = _commit_header(identity)
        if header is None:
            return None
        text = f"tree {tree}\nparent {base}\n{header}\n".encode() + message
        try:
            return self._writer.commit(text)
        except GitError:
            return None

    def _tree(self, base: str, patch: bytes, attestation: tuple[str, bytes] | None) -> str | None:
        commit = gitcmd.read_commit(self._repo, base)
        changes = exact_apply.parse(patch) if patch.strip() else []
        if commit is None or commit.object_id != base or changes is None:
            return None
        tree = _TreeEdit(self._repo, self._writer, self._read, commit.tree)
        for change in changes:
            mode, before = tree.entry(change.path)
            if mode != change.mode:
                return None
            after = exact_apply.apply(
                change, tree.blob(before), lambda content: exact_apply.blob_id(content, len(base))
            )
            if after is None or self._writer.blob(after) != change.after:
                return None
            tree.put(change.path, mode, change.after)
        if attestation is not None:
            path, content = attestation
            if not exact_apply.plain_path(path) or path.encode() in patch or tree.exists(path):
                return None
            tree.put(path, "100644", self._writer.blob(content))
        return tree.write()


def _commit_header(identity: Mapping[str, str]) -> str | None:
    """The author and committer lines ``git commit-tree`` writes for ``identity``; None for a
    date or name it might read otherwise."""
    lines = []
    for role in ("AUTHOR", "COMMITTER"):
        name = identity.get(f"GIT_{role}_NAME", "")
        email = identity.get(f"GIT_{role}_EMAIL", "")
        date = identity.get(f"GIT_{role}_DATE", "")
        if not (_DATE.match(date) and _NAME.match(name) and _EMAIL.match(email)):
            return None
        try:
            moment = datetime.strptime(date, "%Y-%m-%dT%H:%M:%SZ")
        except ValueError:  # no such day
            return None
        if not 1970 <= moment.year <= 2099:
            return None
        seconds = calendar.timegm(moment.timetuple())
        lines.append(f"{role.lower()} {name} <{email}> {seconds} +0000")
    return "\n".join(lines) + "\n"


class _TreeEdit:
    """The base tree with some paths replaced, written bottom-up."""

    def __init__(
        self,
        repo: Path,
        writer: ObjectWriter,
        read: dict[str, dict[bytes, tuple[str, str]]],
        root: str,
    ) -> None:
        session = active()
        if session is None:
            raise _NotPlain
        self._reader = session.reader(repo)
        self._writer = writer
        self._read = read
        self._id_bytes = len(root) // 2
        self._dirs: dict[str, dict[bytes, tuple[str, str]]] = {"": self._entries(root)}
        self._changed: set[str] = set()

    def entry(self, path: str) -> tuple[str, str]:
        """``(mode, object id)`` of the regular file at ``path``; raises :class:`_NotPlain`
        when there is none."""
        folder, _, name = path.rpartition("/")
        entries = self._folder(folder, create=False)
        found = entries.get(name.encode()) if entries is not None else None
        if found is None or found[0] not in ("100644", "100755"):
            raise _NotPlain
        return found

    def exists(self, path: str) -> bool:
        """Whether anything is at ``path``; raises :class:`_NotPlain` when a file stands
        where a folder of it would be."""
        folder, _, name = path.rpartition("/")
        entries = self._folder(folder, create=False)
        return entries is not None and name.encode() in entries

    def blob(self, object_id: str) -> bytes:
        """The content of blob ``object_id``."""
        found = self._reader.read(object_id)
        if found is None or found.kind != "blob":
            raise _NotPlain
        return found.content

    def put(self, path: str, mode: str, object_id: str) -> None:
        """Put a file at ``path`` (creating its folders)."""
        folder, _, name = path.rpartition("/")
        entries = self._folder(folder, create=True)
        if entries is None:
            raise _NotPlain
        entries[name.encode()] = (mode, object_id)
        while True:
            self._changed.add(folder)
            if not folder:
                return
            folder = folder.rpartition("/")[0]

    def write(self) -> str:
        """Write the changed trees, deepest first, in one request; the root's id. Each id is
        computed here first (a parent names its folders' new trees) and must be git's."""
        order = sorted(self._changed, key=lambda f: -f.count("/") - bool(f))
        trees, expected = [], []
        for folder in order:
            entries = self._dirs[folder]
            trees.append([(mode, oid, name) for name, (mode, oid) in entries.items()])
            expected.append(_tree_id(entries, 2 * self._id_bytes))
            if folder:
                parent, _, name = folder.rpartition("/")
                self._dirs[parent][name.encode()] = ("40000", expected[-1])
        if not expected or order[-1] or self._writer.trees(trees) != expected:
            raise _NotPlain
        return expected[-1]

    def _folder(self, folder: str, *, create: bool) -> dict[bytes, tuple[str, str]] | None:
        """The entries of ``folder``, read on first use; None when it is absent (made empty,
        with ``create``). Raises :class:`_NotPlain` when a file stands where a folder is."""
        known = self._dirs.get(folder)
        if known is not None:
            return known
        parent, _, name = folder.rpartition("/")
        above = self._folder(parent, create=create)
        found = above.get(name.encode()) if above is not None else None
        if found is None and not create:
            return None
        if found is not None and found[0] != "40000":
            raise _NotPlain
        entries = self._entries(found[1]) if found is not None else {}
        self._dirs[folder] = entries
        return entries

    def _entries(self, tree: str) -> dict[bytes, tuple[str, str]]:
        """The entries of tree ``tree`` (a copy of the run's, to change); raises
        :class:`_NotPlain` for a mode git would not write or a name that is there twice."""
        known = self._read.get(tree)
        if known is None:
            known = self._read[tree] = self._parsed(tree)
        return dict(known)

    def _parsed(self, tree: str) -> dict[bytes, tuple[str, str]]:
        found = self._reader.read(tree)
        if found is None or found.kind != "tree":
            raise _NotPlain
        entries: dict[bytes, tuple[str, str]] = {}
        data, position = found.content, 0
        while position < len(data):
            space = data.index(b" ", position)
            end = data.index(b"\0", space)
            mode, name = data[position:space].decode("ascii", "replace"), data[space + 1 : end]
            object_id = data[end + 1 : end + 1 + self._id_bytes].hex()
            if mode not in TREE_MODES or name in entries or len(object_id) != 2 * self._id_bytes:
                raise _NotPlain
            entries[name] = (mode, object_id)
            position = end + 1 + self._id_bytes
        return entries


def _tree_id(entries: dict[bytes, tuple[str, str]], id_length: int) -> str:
    """The object id of a tree of ``entries`` (name → mode, object id), in git's order: by
    name, a folder's name read with a ``/`` after it."""
    ordered = sorted(entries.items(), key=lambda e: e[0] + (b"/" if e[1][0] == "40000" else b""))
    content = b"".join(
        mode.encode() + b" " + name + b"\0" + bytes.fromhex(oid) for name, (mode, oid) in ordered
    )
    digest = hashlib.sha256 if id_length == 64 else hashlib.sha1
    return digest(b"tree %d\0" % len(content) + content, usedforsecurity=False).hexdigest()
