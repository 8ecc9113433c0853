"""The propose job's side of GitHub: bot branches and the pull requests the bot opened.

Pull requests are found by their branch (``GET /pulls?head=owner:branch&state=all``) and matched
by the fingerprint in their hidden metadata, so the bot keeps no state of its own; only pull
requests the bot's own account opened count, so anyone else's pull request with a copied or
forged metadata comment is never taken for the bot's. Branches are pushed with
``--force-with-lease`` (compare and swap).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.forge.github.client import (
    GitHubClient,
    scrub,
)
from bot.forge.interface import (
    CommitAuthor,
    ForgeError,
    PullRequest,
    PullState,
)
from bot.git import GitError
from bot.protocol import decode_metadata


class GitHubPulls(GitHubClient):
    """Branches and bot pull requests (:class:`~bot.forge.interface.Forge`'s operations)."""

    def _to_pull(self, pr: Any) -> PullRequest | None:
        """The bot's view of ``pr``; None unless the bot opened it and its metadata is valid."""
        if not self._by_bot(pr.user):
            return None
        meta = decode_metadata(pr.body or "")
        if meta is None or not meta.get("fingerprints"):
            return None
        if pr.merged_at is not None:
            state = PullState.MERGED
        else:
            state = PullState.OPEN if pr.state == "open" else PullState.CLOSED
        return PullRequest(
            number=pr.number,
            title=pr.title,
            body=pr.body or "",
            branch=pr.head.ref,
            base=pr.base.ref,
            head_sha=pr.head.sha,
            base_sha=str(meta.get("baseSha", "")),
            fingerprint=str(meta["fingerprints"][0]),
            labels=[label.name for label in pr.labels],
            state=state,
            created_at=pr.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )

    def find(self, fingerprint: str, branch: str | None = None) -> PullRequest | None:
        """The newest pull request the bot opened whose metadata names ``fingerprint``."""
        head = {"head": f"{self._owner}:{branch}"} if branch else {}
        pulls = self._call(
            "list pull requests",
            lambda: list(
                self._repo.get_pulls(state="all", sort="created", direction="desc", **head)
            ),
        )
        for pr in pulls:
            pull = self._to_pull(pr)
            if pull is not None and pull.fingerprint == fingerprint:
                return pull
        return None

    def pulls(self, state: PullState | None = None) -> list[PullRequest]:
        """Every pull request the bot opened (with valid metadata), by number."""
        wanted = "open" if state is PullState.OPEN else "all"
        found = self._call("list pull requests", lambda: list(self._repo.get_pulls(state=wanted)))
        pulls = [p for p in (self._to_pull(pr) for pr in found) if p is not None]
        pulls = [p for p in pulls if state is None or p.state is state]
        return sorted(pulls, key=lambda p: p.number)

    def branch_commits(self, branch: str, base: str) -> list[CommitAuthor]:
        """Fetch the branch into ``refs/mendbot/remote/`` and list ``base..branch``."""
        local = f"refs/mendbot/remote/{branch}"
        try:
            self._git("fetch", "--no-tags", "-q", self._git_url, f"+refs/heads/{branch}:{local}")
            out = self._git("log", "--no-show-signature", "--format=%H %ae %ce", f"{base}..{local}")
        except GitError as exc:
            raise ForgeError(f"cannot fetch {branch}: {scrub(exc, self._token)}") from None
        commits = []
        for line in out.splitlines():
            sha, author, committer = line.split(" ", 2)
            commits.append(CommitAuthor(sha, author, committer))
        return commits

    def push(self, branch: str, sha: str, expected: str | None) -> None:
        """``git push --force-with-lease=refs/heads/<branch>:<expected>``."""
        lease = f"--force-with-lease=refs/heads/{branch}:{expected or ''}"
        try:
            self._git("push", "--porcelain", lease, self._git_url, f"{sha}:refs/heads/{branch}")
        except GitError as exc:
            raise ForgeError(
                f"cannot push {branch}: {scrub(exc, self._token)}",
                advice="the branch moved or the token cannot push (`contents: write`); "
                "nothing was changed",
            ) from None

    def open(self, pull: PullRequest) -> PullRequest:
        """``POST /pulls`` then ``PUT /issues/{n}/labels``."""
        pr = self._call(
            "open a pull request",
            lambda: self._repo.create_pull(
                base=pull.base, head=pull.branch, title=pull.title, body=pull.body
            ),
        )
        self._call("label the pull request", pr.set_labels, *pull.labels)
        pull.number = pr.number
        return pull

    def update(self, pull: PullRequest) -> None:
        """``PATCH /pulls/{n}`` and ``PUT /issues/{n}/labels``."""
        pr = self._call("read the pull request", self._repo.get_pull, pull.number)
        self._call("update the pull request", pr.edit, title=pull.title, body=pull.body)
        self._call("label the pull request", pr.set_labels, *pull.labels)

    def created_since(self, since: datetime) -> int:
        """mendbot pull requests created at or after ``since``."""
        return sum(
            1
            for p in self.pulls()
            if datetime.strptime(p.created_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=since.tzinfo)
            >= since
        )
