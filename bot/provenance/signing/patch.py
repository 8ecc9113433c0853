"""Make ``patch.diff`` and the change list with real git, without touching the checkout.

The post-images are hashed into a *temporary* object directory (the repository's own objects are
an alternate, read-only) and staged in a *temporary* index built from the base commit; git then
writes the tree and diffs it against the base. The repository's index, work tree, refs and
object database are never written.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot import git
from bot.provenance.changes import Change, changes_from_raw, check_path, parse_raw, raw_diff
from bot.provenance.errors import ChangeError

#: Mode of a file the remediation creates.
NEW_FILE_MODE = "100644"


@dataclass(frozen=True)
class Patch:
    """A remediation's diff against its base commit, and its canonical change list."""

    diff: bytes
    """``git diff --binary --full-index`` output that ``git apply`` accepts at the base."""
    changes: tuple[Change, ...]


def make_patch(repo: Path, base: str, files: Mapping[str, bytes | None]) -> Patch:
    """Diff ``base`` against ``base`` with ``files`` replaced (None deletes a path).

    Paths are repository-relative; a replaced file keeps its mode at ``base`` (new files get
    ``100644``). Raises :class:`ChangeError` for an unsafe path, for a path that is a symlink
    or submodule at ``base``, or when nothing changes; :class:`GitError` when git fails.
    """
    for path in files:
        check_path(path)
    with tempfile.TemporaryDirectory(prefix="mendbot-patch-") as scratch:
        objects = Path(scratch) / "objects"
        objects.mkdir()
        real_objects = git.run(repo, "rev-parse", "--path-format=absolute", "--git-path", "objects")
        env = {
            "GIT_INDEX_FILE": str(Path(scratch) / "index"),
            "GIT_OBJECT_DIRECTORY": str(objects),
            "GIT_ALTERNATE_OBJECT_DIRECTORIES": real_objects.decode().strip(),
        }
        git.run(repo, "read-tree", base, env=env)
        for path, content in sorted(files.items()):
            existing = git.blob_at(repo, base, path)
            if existing is not None and existing[0] not in ("100644", "100755"):
                raise ChangeError(
                    f"{path} is not a regular file at {base[:12]} (mode {existing[0]}); "
                    "mendbot only rewrites regular files"
                )
            if content is None:
                git.run(repo, "update-index", "--force-remove", "--", path, env=env)
                continue
            object_id = git.run(repo, "hash-object", "-w", "--stdin", stdin=content, env=env)
            mode = existing[0] if existing is not None else NEW_FILE_MODE
            cacheinfo = f"{mode},{object_id.decode().strip()},{path}"
            git.run(repo, "update-index", "--add", "--cacheinfo", cacheinfo, env=env)
        tree = git.run(repo, "write-tree", env=env).decode().strip()
        diff = git.run(
            repo, "diff", "--binary", "--full-index", *git.DIFF_OPTIONS, base, tree, "--", env=env
        )
        changes = changes_from_raw(repo, parse_raw(raw_diff(repo, base, tree, env)), env)
    if not changes:
        raise ChangeError("the new file contents equal the base commit; there is nothing to patch")
    return Patch(diff=diff, changes=tuple(changes))
