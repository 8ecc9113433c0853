"""The forge interface: what the propose job needs from a place that hosts pull requests."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum, unique
from pathlib import Path

from bot.errors import MendbotError

#: The identity of every commit the bot makes; any other author or committer is a human.
BOT_NAME = "mendbot[bot]"
BOT_EMAIL = "mendbot@users.noreply.local"


class ForgeError(MendbotError):
    """The forge refused or failed an operation; nothing half-done was left behind."""

    exit_code = 3


@unique
class PullState(StrEnum):
    """The state of a pull request."""

    OPEN = "open"
    CLOSED = "closed"
    MERGED = "merged"


@dataclass
class PullRequest:
    """One pull request as the bot sees it (the fields every forge can provide)."""

    number: int
    """Forge-assigned number, unique per repository."""
    title: str
    """Title line."""
    body: str
    """Markdown body, ending with the hidden metadata comment."""
    branch: str
    """Head branch (``mendbot/<group>/<slug>-<fp8>``)."""
    base: str
    """Base branch name."""
    head_sha: str
    """Commit the head branch pointed to when the bot last wrote it."""
    base_sha: str
    """The attested base commit."""
    fingerprint: str
    """The remediation fingerprint (sha256 hex): the pull request's identity."""
    labels: list[str] = field(default_factory=list)
    """Labels, in order."""
    state: PullState = PullState.OPEN
    """open, closed (unmerged) or merged."""
    created_at: str = ""
    """ISO-8601 UTC creation time."""
    comments: dict[str, str] = field(default_factory=dict)
    """Sticky comments by topic, edited in place."""


@dataclass(frozen=True)
class CommitAuthor:
    """Who made one commit on a branch."""

    sha: str
    """Commit id."""
    author_email: str
    """Author e-mail."""
    committer_email: str
    """Committer e-mail."""

    @property
    def by_bot(self) -> bool:
        """Whether both the author and the committer are the bot."""
        return self.author_email == BOT_EMAIL and self.committer_email == BOT_EMAIL


class Forge(ABC):
    """A repository host. ``workdir`` is a local git repository holding the base commits, where
    the propose job builds commits (never in a user's working tree) before :meth:`push`."""

    name: str = ""

    @property
    @abstractmethod
    def workdir(self) -> Path:
        """The local git repository where commits are built and verified."""

    @abstractmethod
    def default_branch(self) -> str:
        """The branch pull requests target."""

    @abstractmethod
    def find(self, fingerprint: str, branch: str | None = None) -> PullRequest | None:
        """The newest pull request (any state) of ``fingerprint`` (whose head is ``branch``, when
        given); None if it was never opened."""

    @abstractmethod
    def pulls(self, state: PullState | None = None) -> list[PullRequest]:
        """Every bot pull request, optionally only those in ``state``, by number."""

    @abstractmethod
    def branch_head(self, branch: str) -> str | None:
        """The commit ``branch`` points to on the forge, or None if it does not exist."""

    @abstractmethod
    def branch_commits(self, branch: str, base: str) -> list[CommitAuthor]:
        """The commits on ``branch`` that are not reachable from ``base``."""

    @abstractmethod
    def push(self, branch: str, sha: str, expected: str | None) -> None:
        """Point ``branch`` at ``sha`` only if it still points at ``expected`` (None: absent)."""

    @abstractmethod
    def open(self, pull: PullRequest) -> PullRequest:
        """Create a pull request (its number is assigned by the forge) and return it."""

    @abstractmethod
    def update(self, pull: PullRequest) -> None:
        """Write back the title, body, labels and head of an existing pull request."""

    @abstractmethod
    def comment(self, number: int, topic: str, text: str) -> bool:
        """Create or edit the sticky comment of ``topic``; False if it already said ``text``."""

    @abstractmethod
    def created_since(self, since: datetime) -> int:
        """How many bot pull requests were created at or after ``since``."""
