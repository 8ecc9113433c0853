"""bot/git inside a batched session answers exactly what git answers, and a reader that dies
fails the read it was doing, never a later one.

The repository is real: a history with a side branch, a merge, a conflict and a file turned
into a symlink; every question is asked for every pair of commits both inside a session (one
``cat-file --batch`` process, answers remembered by object id, shortcuts through parents) and
outside (one git process per question), and the answers must be equal.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
from contextlib import nullcontext
from pathlib import Path

import pytest

from bot import git
from bot.forge.local import LocalForge
from bot.git.reader import ObjectReader
from bot.provenance.changes import raw_diff


def _git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Ada",
        "GIT_AUTHOR_EMAIL": "ada@example.test",
        "GIT_COMMITTER_NAME": "Ada Lovelace",
        "GIT_COMMITTER_EMAIL": "ada@example.test",
    }
    done = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def _commit(repo: Path, files: dict[str, str | None], message: str) -> str:
    for name, content in files.items():
        path = repo / name
        if content is None:
            path.unlink()
        elif content.startswith("->"):
            path.unlink(missing_ok=True)
            path.symlink_to(content[2:])
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return _git(repo, "rev-parse", "HEAD")


@pytest.fixture
def history(tmp_path: Path) -> tuple[Path, list[str]]:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    root = _commit(repo, {"a.txt": "a\n", "dir/b.txt": "b\n"}, "root")
    second = _commit(repo, {"a.txt": "a2\n"}, "second")
    _git(repo, "checkout", "-q", "-b", "side", root)
    side = _commit(repo, {"dir/c.txt": "c\n", "a.txt": "conflict\n"}, "side")
    side2 = _commit(repo, {"dir/b.txt": "->a.txt"}, "side symlink")
    _git(repo, "checkout", "-q", "main")
    clean = _commit(repo, {"dir/d.txt": "d\n"}, "clean")
    _git(repo, "checkout", "-q", "-b", "merged", clean)
    _git(repo, "merge", "-q", "--no-edit", "-X", "ours", "side")
    merge = _git(repo, "rev-parse", "HEAD")
    after = _commit(repo, {"dir/b.txt": None}, "after merge")
    _git(repo, "checkout", "-q", "main")
    return repo, [root, second, side, side2, clean, merge, after]


def _answers(repo: Path, commits: list[str]) -> dict[tuple[str, str, str], object]:
    answers: dict[tuple[str, str, str], object] = {}
    for one, other in itertools.product(commits, repeat=2):
        answers["merge-base", one, other] = git.merge_base(repo, one, other)
        answers["is-ancestor", one, other] = git.is_ancestor(repo, one, other)
        answers["merged-tree", one, other] = git.merged_tree(repo, one, other)
        answers["diff", one, other] = raw_diff(repo, one, other)
        answers["parents", one, other] = git.parents(repo, one)
        answers["resolve", one, other] = git.resolve_commits(repo, [one, f"{other}^{{tree}}"])
    return answers


def test_a_session_answers_every_question_as_one_git_process_per_question_does(history) -> None:
    repo, commits = history
    alone = _answers(repo, commits)
    with git.batched():
        batched = _answers(repo, commits)
        again = _answers(repo, commits)  # now from what the session remembered
    assert batched == alone
    assert again == alone


def _crafted(repo: Path, parent: str) -> str:
    """A commit whose idents git itself would never write (two ``<`` in one)."""
    tree = _git(repo, "rev-parse", f"{parent}^{{tree}}")
    text = (
        f"tree {tree}\nparent {parent}\nauthor A <b> <c> 1 +0000\n"
        "committer  Bob  <<bob@example.test>> 1 +0000\n\nby hand\n"
    )
    done = subprocess.run(
        ["git", "hash-object", "-t", "commit", "-w", "--stdin"],
        cwd=repo, input=text, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip()


def test_linear_history_is_the_range_git_lists_or_leaves_the_question_to_git(history) -> None:
    repo, commits = history
    root, second, side, _side2, clean, _merge, after = commits
    crafted = _crafted(repo, clean)
    with git.batched():
        chain = git.linear_history(repo, root, crafted)
        assert chain is not None
        assert [c.object_id for c in chain] == _git(
            repo, "rev-list", "--reverse", f"{root}..{crafted}"
        ).split()
        logged = _git(repo, "log", "--reverse", "--format=%an|%ae|%cn|%ce", f"{root}..{clean}")
        assert [
            f"{'|'.join(c.author or ())}|{'|'.join(c.committer or ())}" for c in chain[:-1]
        ] == (logged.splitlines())
        # Idents git would split its own way are not guessed: the caller asks git log.
        assert (chain[-1].author, chain[-1].committer) == (None, None)
        assert git.linear_history(repo, clean, after) is None  # a merge on the way
        assert git.linear_history(repo, side, second) is None  # not an ancestor
    assert git.linear_history(repo, root, clean) is None  # outside a session


def test_a_moved_branch_is_read_again_while_object_answers_are_kept(history) -> None:
    repo, commits = history
    with git.batched():
        assert git.branch_tips(repo, ["main", "side"]) == {"main": commits[4], "side": commits[3]}
        assert git.merge_base(repo, commits[4], commits[3]) == commits[0]
        _git(repo, "update-ref", "refs/heads/side", commits[0])
        assert git.branch_tips(repo, ["side"]) == {"side": commits[0]}
        assert git.branch_tips(repo, ["main", "gone"]) is None  # for-each-ref says which


def test_a_tag_shadowing_a_deleted_branch_is_never_taken_for_it(history) -> None:
    repo, commits = history
    _git(repo, "branch", "-D", "side")
    _git(repo, "tag", "refs/heads/side", commits[2])  # `rev-parse refs/heads/side` finds this
    assert _git(repo, "rev-parse", "refs/heads/side") == commits[2]
    with git.batched():
        assert git.branch_tips(repo, ["side"]) is None  # so: ask for-each-ref instead


def _corrupt(repo: Path, object_id: str) -> None:
    loose = repo / ".git" / "objects" / object_id[:2] / object_id[2:]
    assert loose.is_file()
    loose.chmod(0o644)
    loose.write_bytes(b"x\x01 this is not zlib data")


def _kill_readers() -> int:
    """Kill this process's ``git cat-file --batch`` children, as the kernel's OOM killer
    would; how many there were."""
    killed = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == os.getpid() and command[:3] == [b"git", b"cat-file", b"--batch"]:
            os.kill(int(entry.name), signal.SIGKILL)
            killed += 1
    return killed


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_a_reader_whose_process_dies_fails_that_read_and_starts_afresh(history) -> None:
    repo, commits = history
    blob = _git(repo, "rev-parse", f"{commits[0]}:a.txt")
    reader = ObjectReader(repo)
    try:
        assert reader.read(blob) is not None
        assert _kill_readers() == 1
        with pytest.raises(git.GitError, match=r"git cat-file --batch failed in "):
            reader.read(blob)
        found = reader.read(blob)  # a new process
        assert found is not None and found.content == b"a\n"
    finally:
        reader.close()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_a_session_whose_reader_dies_gives_the_same_answers(history) -> None:
    repo, commits = history
    alone = _answers(repo, commits[:4])
    with git.batched():
        assert git.read_blob(repo, f"{commits[0]}:a.txt") == b"a\n"
        assert _kill_readers() == 1
        assert _answers(repo, commits[:4]) == alone


def test_a_corrupt_object_fails_the_read_with_gits_message(history) -> None:
    repo, commits = history
    broken = _git(repo, "rev-parse", f"{commits[1]}:a.txt")
    _corrupt(repo, broken)
    with git.batched():
        with pytest.raises(git.GitError, match=f"object {broken} is not a blob"):
            git.read_blobs(repo, [broken])
        with pytest.raises(git.GitError, match=f"loose object {broken} .* is corrupt"):
            git.read_blob(repo, f"{commits[1]}:a.txt")
        assert git.read_blob(repo, f"{commits[0]}:a.txt") == b"a\n"


def test_a_commit_fetched_during_the_session_is_found_not_remembered_missing(
    history, tmp_path
) -> None:
    repo, commits = history
    other = tmp_path / "other"
    _git(tmp_path, "clone", "-q", str(repo), str(other))
    newer = _commit(other, {"e.txt": "e\n"}, "elsewhere")
    tip = commits[4]
    with git.batched():
        assert not git.is_ancestor(repo, tip, newer)
        assert git.read_commit(repo, newer) is None
        _git(repo, "fetch", "-q", str(other), "main:refs/heads/fetched")
        assert git.is_ancestor(repo, tip, newer)
        found = git.read_commit(repo, newer)
        assert found is not None and found.parents == (tip,)
        assert git.linear_history(repo, tip, newer) == [found]


def test_the_local_forge_finds_loose_and_packed_branches_and_no_others(history) -> None:
    repo, commits = history
    forge = LocalForge(repo, base="main")
    _git(repo, "branch", "mendbot/loose", commits[1])
    _git(repo, "branch", "mendbot/packed", commits[2])
    _git(repo, "pack-refs", "--all")
    _git(repo, "branch", "mendbot/late", commits[3])  # loose, beside packed-refs
    assert (repo / ".git" / "packed-refs").is_file()
    for session in (nullcontext(), git.batched()):
        with session:
            assert forge.branch_head("mendbot/packed") == commits[2]
            assert forge.branch_head("mendbot/loose") == commits[1]
            assert forge.branch_head("mendbot/late") == commits[3]
            assert forge.branch_head("mendbot") is None  # a folder of branches, not one
            assert forge.branch_head("mendbot/none") is None
