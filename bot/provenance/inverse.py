"""The tree that turns one merged change around exactly, computed without a checkout.

Every path the change (first parent → commit) touched goes back to the change's first parent,
nothing else, on top of a later tip of the branch. When later commits touched the same lines
the inverse does not apply; then there is no tree, and the error names those commits for a
person to decide. Shared by the revert pull request (:mod:`bot.propose.exact_revert`) and the
signed revert bundle (:mod:`bot.provenance.signing.revert_bundle`), so both revert the same way.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bot import git as gitcmd
from bot.errors import MendbotError
from bot.git import GitError


class RevertError(MendbotError):
    """No exact revert can be made: a person must decide."""

    exit_code = 1


def inverse_tree(repo: Path, sha: str, tip: str) -> str:
    """The tree of ``tip`` with ``sha``'s first-parent change turned around. Raises
    :class:`RevertError` naming the later commits when it does not apply."""
    parent = gitcmd.rev_parse(repo, f"{sha}^1")
    reverse = gitcmd.run(repo, "diff", "--binary", "--no-renames", sha, parent)
    with tempfile.TemporaryDirectory(prefix="mendbot-revert-") as scratch:
        env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
        patch = Path(scratch) / "revert.diff"
        patch.write_bytes(reverse)
        try:
            gitcmd.run(repo, "read-tree", tip, env=env)
            if reverse.strip():
                gitcmd.run(repo, "apply", "--cached", str(patch), env=env)
            return gitcmd.run(repo, "write-tree", env=env).decode().strip()
        except GitError:
            raise RevertError(
                f"later commits changed the same lines as {sha[:12]}, so an exact revert is not "
                f"possible: {_later_commits(repo, sha, parent, tip)}",
                advice="revert by hand (and keep what the later commits need)",
            ) from None


def _later_commits(repo: Path, sha: str, parent: str, tip: str) -> str:
    """``abc123 Ada: subject`` of each commit after ``sha`` on ``tip`` touching its paths."""
    paths = (
        gitcmd.run(repo, "diff", "--name-only", "--no-renames", parent, sha).decode().splitlines()
    )
    log = gitcmd.run(repo, "log", "--format=%h %an: %s", f"{sha}..{tip}", "--", *paths).decode()
    return "; ".join(line for line in log.splitlines() if line) or "(none found)"


def subject_of(repo: Path, sha: str) -> str:
    """The first line of ``sha``'s message."""
    return gitcmd.run(repo, "log", "-1", "--format=%s", sha).decode().strip()
