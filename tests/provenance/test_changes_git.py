"""The change list and patch on real temporary git repositories."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from bot.provenance.changes import diff_changes
from bot.provenance.errors import ChangeError
from bot.provenance.signing.patch import make_patch


def _snapshot(git_dir: Path) -> dict[str, bytes]:
    """Every file under .git with its content: proves nothing in the repository was written."""
    return {
        str(p.relative_to(git_dir)): p.read_bytes()
        for p in sorted(git_dir.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def repo(make_repo):
    repo = make_repo()
    repo.write("keep.txt", "keep\n")
    repo.write("edit.txt", "one\n")
    repo.write("gone.txt", "bye\n")
    repo.write("run.sh", "#!/bin/sh\n")
    repo.write("moved.txt", "move me\n")
    repo.write("link-target.txt", "target\n")
    repo.commit("base")
    return repo


def test_add_modify_delete_mode_symlink_and_rename(repo) -> None:
    base = repo.head()
    repo.write("edit.txt", "two\n")
    repo.write("new.txt", "new\n")
    (repo.path / "gone.txt").unlink()
    (repo.path / "run.sh").chmod(0o755)
    repo.git("mv", "moved.txt", "renamed.txt")
    (repo.path / "keep.txt").unlink()
    os.symlink("link-target.txt", repo.path / "keep.txt")
    head = repo.commit("everything")
    changes = {c.path: c for c in diff_changes(repo.path, base, head)}
    assert {p: c.op for p, c in changes.items()} == {
        "edit.txt": "modify",
        "gone.txt": "delete",
        "keep.txt": "modify",
        "moved.txt": "delete",
        "new.txt": "add",
        "renamed.txt": "add",
        "run.sh": "modify",
    }
    assert changes["edit.txt"].after is not None
    assert changes["edit.txt"].after.sha256 == hashlib.sha256(b"two\n").hexdigest()
    assert changes["edit.txt"].after.git_blob == repo.git("rev-parse", f"{head}:edit.txt")
    assert changes["run.sh"].before is not None and changes["run.sh"].after is not None
    assert (changes["run.sh"].before.mode, changes["run.sh"].after.mode) == ("100644", "100755")
    assert changes["run.sh"].before.sha256 == changes["run.sh"].after.sha256
    keep = changes["keep.txt"]
    assert keep.after is not None and keep.after.mode == "120000"
    assert keep.after.sha256 == hashlib.sha256(b"link-target.txt").hexdigest()
    assert changes["gone.txt"].after is None and changes["new.txt"].before is None


def test_non_utf8_path_is_refused(repo) -> None:
    base = repo.head()
    (repo.path / os.fsdecode(b"caf\xe9.txt")).write_text("x\n")
    head = repo.commit("latin-1 name")
    with pytest.raises(ChangeError, match="not valid UTF-8"):
        diff_changes(repo.path, base, head)


def test_gitlink_is_refused(repo) -> None:
    base = repo.head()
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{base},vendor/sub")
    repo.git("commit", "-q", "-m", "submodule")
    with pytest.raises(ChangeError, match="submodule"):
        diff_changes(repo.path, base, repo.head())


def test_a_file_named_changeset_is_refused(repo) -> None:
    base = repo.head()
    repo.write("_changeset", "collide\n")
    head = repo.commit("reserved")
    with pytest.raises(ChangeError, match="reserved subject name"):
        diff_changes(repo.path, base, head)


def test_patch_is_made_by_git_applies_cleanly_and_leaves_the_repository_alone(repo) -> None:
    (repo.path / "run.sh").chmod(0o755)
    base = repo.commit("executable")
    before = _snapshot(repo.path / ".git")
    status = repo.git("status", "--porcelain")
    files = {
        "edit.txt": b"two\r\nwith crlf\r\n",
        "run.sh": b"#!/bin/sh\necho changed\n",
        "dir/new.yml": "ünïcode: ✓\n".encode(),
        "gone.txt": None,
    }
    patch = make_patch(repo.path, base, files)
    assert _snapshot(repo.path / ".git") == before
    assert repo.git("status", "--porcelain") == status
    assert patch.diff.startswith(b"diff --git a/dir/new.yml b/dir/new.yml\n")
    assert {c.path: c.op for c in patch.changes} == {
        "dir/new.yml": "add",
        "edit.txt": "modify",
        "gone.txt": "delete",
        "run.sh": "modify",
    }
    run = next(c for c in patch.changes if c.path == "run.sh")
    assert run.after is not None and run.after.mode == "100755"  # the mode was kept
    # `git apply` accepts it on the base commit, and the result is exactly the attested list.
    (repo.path.parent / "p.diff").write_bytes(patch.diff)
    repo.git("checkout", "-q", "-b", "apply", base)
    repo.git("apply", "--check", "--index", str(repo.path.parent / "p.diff"))
    repo.git("apply", "--index", str(repo.path.parent / "p.diff"))
    head = repo.commit("applied")
    assert tuple(diff_changes(repo.path, base, head)) == patch.changes
    assert (repo.path / "edit.txt").read_bytes() == b"two\r\nwith crlf\r\n"


def test_patch_refuses_symlinks_and_no_ops(repo) -> None:
    os.symlink("link-target.txt", repo.path / "alias.txt")
    base = repo.commit("symlink")
    with pytest.raises(ChangeError, match="not a regular file"):
        make_patch(repo.path, base, {"alias.txt": b"text\n"})
    with pytest.raises(ChangeError, match="nothing to patch"):
        make_patch(repo.path, base, {"keep.txt": b"keep\n"})


def test_git_diff_user_configuration_cannot_change_the_patch(repo, monkeypatch) -> None:
    base = repo.head()
    plain = make_patch(repo.path, base, {"edit.txt": b"two\n"}).diff
    repo.git("config", "diff.noprefix", "true")
    repo.git("config", "diff.mnemonicPrefix", "true")
    repo.git("config", "color.ui", "always")
    repo.git("config", "diff.renames", "copies")
    assert make_patch(repo.path, base, {"edit.txt": b"two\n"}).diff == plain
    subprocess.run(["git", "apply", "--check", "-"], input=plain, cwd=repo.path, check=True)
