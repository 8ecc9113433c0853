"""The batched session's long-lived ``git diff-tree --stdin`` and ``git update-ref --stdin``
answer exactly what one git process per question answers, and a failure costs only its own
question.

The repositories are real; the hostile file names are the ones a checkout can hold: line
breaks, tabs, a name that is the differ's end marker, a leading ``:`` (how every raw entry
starts), bytes that are not UTF-8.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from bot import git
from bot.provenance.changes import raw_diff

ZERO = "0" * 40


def _git(repo: Path, *args: str, stdin: bytes | None = None) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Ada",
        "GIT_AUTHOR_EMAIL": "ada@example.test",
        "GIT_COMMITTER_NAME": "Ada",
        "GIT_COMMITTER_EMAIL": "ada@example.test",
    }
    done = subprocess.run(
        ["git", *args], cwd=repo, env=env, input=stdin, capture_output=True, check=True
    )
    return done.stdout.decode().strip()


HOSTILE_NAMES = [
    b"end of diff\n",
    b"line\nbreak",
    b"tab\there",
    b":100644 100644 fake",
    b"caf\xc3\xa9.yml",
    b"not-utf8-\xff.yml",
    b'quote"d',
]


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, list[str]]:
    """A repository whose commits add, change, retype and delete files with hostile names."""
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    root = os.fsencode(repo)
    for name in HOSTILE_NAMES:
        with open(os.path.join(root, name), "wb") as file:
            file.write(b"one\n")
    (repo / "dir").mkdir()
    (repo / "dir" / "run.sh").write_text("echo hi\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "first")
    first = _git(repo, "rev-parse", "HEAD")
    for name in HOSTILE_NAMES[::2]:
        with open(os.path.join(root, name), "wb") as file:
            file.write(b"two\n")
    os.unlink(os.path.join(root, HOSTILE_NAMES[1]))
    (repo / "dir" / "run.sh").chmod(0o755)
    (repo / "dir" / "link").symlink_to("run.sh")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "second")
    second = _git(repo, "rev-parse", "HEAD")
    return repo, [first, second]


def test_the_differ_prints_what_git_diff_prints_for_hostile_names(repo) -> None:
    path, (first, second) = repo
    pairs = [(first, second), (second, first), (first, first)]
    alone = [raw_diff(path, old, new) for old, new in pairs]
    assert alone[0].count(b"\0:") >= 6  # the hostile names are in the diff
    with git.batched() as session:
        batched = [raw_diff(path, old, new) for old, new in pairs]
        differ = session.differ(path)
        # The differ itself, not an answer the session remembered.
        trees = [_git(path, "rev-parse", f"{c}^{{tree}}") for c in (first, second)]
        direct = differ.diff(trees[0], trees[1])
    assert batched == alone
    assert direct == alone[0]


def test_a_pair_git_cannot_diff_fails_alone_and_the_differ_goes_on(repo) -> None:
    path, (first, second) = repo
    blob = _git(path, "rev-parse", f"{first}:dir/run.sh")
    tree = _git(path, "rev-parse", f"{first}^{{tree}}")
    other = _git(path, "rev-parse", f"{second}^{{tree}}")
    with git.batched() as session:
        differ = session.differ(path)
        with pytest.raises(git.GitError, match="not a tree"):
            differ.diff(tree, blob)
        assert differ.diff(tree, other) == raw_diff(path, first, second)


def test_a_failed_branch_update_changes_nothing_and_loses_no_other(repo) -> None:
    path, (first, second) = repo
    with git.batched():
        git.update_ref(path, "refs/heads/a", first, ZERO)
        # Another writer holds the lock of b (a concurrent push): its update fails alone.
        (path / ".git" / "refs" / "heads" / "b.lock").write_text("")
        with pytest.raises(git.GitError, match=r"b\.lock"):
            git.update_ref(path, "refs/heads/b", first, ZERO)
        # A compare-and-swap that expects another commit fails without moving the branch.
        with pytest.raises(git.GitError, match="refs/heads/a"):
            git.update_ref(path, "refs/heads/a", second, second)
        git.update_ref(path, "refs/heads/c", second, ZERO)
        git.update_ref(path, "refs/heads/a", second, first)
    heads = _git(path, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/")
    assert heads.splitlines() == [
        f"refs/heads/a {second}",
        f"refs/heads/c {second}",
        f"refs/heads/main {second}",
    ]
