"""The commit that turns one merged change around exactly, built without a checkout.

Shared by ``mendbot revert`` (a person asks) and ``mendbot propose --rollback`` (the deploy job
asks): every path the change touched goes back to the change's first parent, nothing else, on
top of the branch's tip. When later commits touched the same lines the inverse does not apply;
then no revert is made and the error names those commits, for a person to decide.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bot import git as gitcmd
from bot.errors import MendbotError
from bot.forge.interface import Forge, PullRequest
from bot.git import GitError
from bot.protocol import bot_commit_env


class RevertError(MendbotError):
    """No exact revert can be made: a person must decide."""

    exit_code = 1


def exact_revert_commit(repo: Path, sha: str, tip: str, message: str) -> str:
    """A bot commit on ``tip`` whose change is ``sha``'s first-parent change turned around,
    with ``message``; deterministic (the date is ``sha``'s), so a rerun builds the same
    commit. Raises :class:`RevertError` naming the later commits when it does not apply."""
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
            tree = gitcmd.run(repo, "write-tree", env=env).decode().strip()
        except GitError:
            raise RevertError(
                f"later commits changed the same lines as {sha[:12]}, so an exact revert is not "
                f"possible: {_later_commits(repo, sha, parent, tip)}",
                advice="revert by hand (and keep what the later commits need)",
            ) from None
    date = gitcmd.run(repo, "log", "-1", "--format=%cI", sha).decode().strip()
    identity = bot_commit_env(date)
    return (
        gitcmd.run(
            repo, "commit-tree", tree, "-p", tip, "-F", "-", stdin=message.encode(), env=identity
        )
        .decode()
        .strip()
    )


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


def open_revert_pull(
    forge: Forge,
    *,
    sha: str,
    commit: str,
    tip: str,
    branch: str,
    fingerprint: str,
    body: str,
    labels: list[str],
) -> PullRequest:
    """Push the revert ``commit`` of ``sha`` to ``branch`` and open its pull request into the
    default branch at ``tip``, titled ``Revert "<subject of sha>"``."""
    forge.push(branch, commit, forge.branch_head(branch))
    return forge.open(
        PullRequest(
            number=0,
            title=f'Revert "{subject_of(forge.workdir, sha)}"'[:250],
            body=body,
            branch=branch,
            base=forge.default_branch(),
            head_sha=commit,
            base_sha=tip,
            fingerprint=fingerprint,
            labels=labels,
        )
    )
