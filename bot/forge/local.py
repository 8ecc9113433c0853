"""The local forge: a plain git repository where a pull request is a branch plus a JSON record.

Records live in ``<git-common-dir>/mendbot/pulls/<number>.json`` (never in the working tree nor
in history); branches are real refs updated with compare-and-swap ``git update-ref``. The
working tree and the checked-out branch are never touched.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from bot.forge.interface import CommitAuthor, Forge, ForgeError, PullRequest, PullState
from bot.provenance import git
from bot.provenance.errors import GitError


class LocalForge(Forge):
    """Pull requests as branches plus JSON records inside a local repository's git directory."""

    name = "local"

    def __init__(self, repo: Path, base: str | None = None) -> None:
        try:
            self._repo = git.toplevel(repo)
            common = git.run(self._repo, "rev-parse", "--git-common-dir").decode().strip()
        except GitError as exc:
            raise ForgeError(
                f"{repo} is not a git repository ({exc})", advice="pass --repo PATH"
            ) from None
        self._store = (self._repo / common).resolve() / "mendbot" / "pulls"
        self._base = base

    @property
    def workdir(self) -> Path:
        """The repository itself."""
        return self._repo

    def default_branch(self) -> str:
        """``base`` if given, else the checked-out branch, else ``main``."""
        if self._base:
            return self._base
        ref = git.current_ref(self._repo)
        return ref.removeprefix("refs/heads/") if ref else "main"

    def find(self, fingerprint: str, branch: str | None = None) -> PullRequest | None:
        """The newest record of ``fingerprint`` (records are keyed by fingerprint alone)."""
        matches = [p for p in self.pulls() if p.fingerprint == fingerprint]
        return matches[-1] if matches else None

    def pulls(self, state: PullState | None = None) -> list[PullRequest]:
        """Every record, by number."""
        if not self._store.is_dir():
            return []
        found = []
        for path in self._store.glob("*.json"):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                data["state"] = PullState(data["state"])
                found.append(PullRequest(**data))
            except (OSError, ValueError, TypeError, KeyError) as exc:
                raise ForgeError(f"{path}: unreadable pull request record ({exc})") from None
        found.sort(key=lambda p: p.number)
        return [p for p in found if state is None or p.state == state]

    def get(self, number: int) -> PullRequest:
        """The record of pull request ``number``; raises :class:`ForgeError` if unknown."""
        for pull in self.pulls():
            if pull.number == number:
                return pull
        raise ForgeError(f"no pull request #{number} in {self._repo}")

    def branch_head(self, branch: str) -> str | None:
        """The commit of ``refs/heads/<branch>``."""
        try:
            out = git.run(self._repo, "rev-parse", "--verify", "-q", f"refs/heads/{branch}")
        except GitError:
            return None
        return out.decode().strip() or None

    def branch_commits(self, branch: str, base: str) -> list[CommitAuthor]:
        """``git log base..branch`` with author and committer e-mails."""
        out = git.run(self._repo, "log", "--format=%H %ae %ce", f"{base}..refs/heads/{branch}")
        commits = []
        for line in out.decode().splitlines():
            sha, author, committer = line.split(" ", 2)
            commits.append(CommitAuthor(sha, author, committer))
        return commits

    def push(self, branch: str, sha: str, expected: str | None) -> None:
        """Compare-and-swap update of the branch ref."""
        old = expected if expected is not None else "0" * len(sha)
        try:
            git.run(self._repo, "update-ref", f"refs/heads/{branch}", sha, old)
        except GitError as exc:
            raise ForgeError(
                f"{branch} moved while the bot was updating it ({exc})",
                advice="rerun `mendbot propose`; nothing was changed",
            ) from None

    def open(self, pull: PullRequest) -> PullRequest:
        """Assign the next number and a creation time, and store the record."""
        numbers = [p.number for p in self.pulls()]
        pull.number = max(numbers, default=0) + 1
        pull.created_at = pull.created_at or _now()
        self._write(pull)
        return pull

    def update(self, pull: PullRequest) -> None:
        """Store the record again."""
        self._write(pull)

    def comment(self, number: int, topic: str, text: str) -> bool:
        """Create or edit the sticky comment of ``topic``."""
        pull = self.get(number)
        if pull.comments.get(topic) == text:
            return False
        pull.comments[topic] = text
        self._write(pull)
        return True

    def created_since(self, since: datetime) -> int:
        """Records created at or after ``since``."""
        return sum(1 for p in self.pulls() if p.created_at and _parse(p.created_at) >= since)

    def set_state(self, number: int, state: PullState) -> PullRequest:
        """Close, reopen or mark a pull request merged (what a reviewer does on a real forge)."""
        pull = self.get(number)
        pull.state = state
        self._write(pull)
        return pull

    def _write(self, pull: PullRequest) -> None:
        self._store.mkdir(parents=True, exist_ok=True)
        data = asdict(pull)
        data["state"] = pull.state.value
        text = json.dumps(data, indent=2, sort_keys=True) + "\n"
        handle, scratch = tempfile.mkstemp(dir=self._store, prefix=".pull-", suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(scratch, self._store / f"{pull.number}.json")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
