"""The forge interface: what the propose job needs from a place that hosts pull requests."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum, unique
from pathlib import Path
from typing import Any

from bot.errors import MendbotError
from bot.protocol import BOT_EMAIL, BOT_LOGIN


class ForgeError(MendbotError):
    """The forge refused or failed an operation; nothing half-done was left behind."""

    exit_code = 3


class UnknownBranchError(ForgeError):
    """The branch named as the base (``--base``) does not exist: nothing was done."""

    exit_code = 2


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
    author: str = BOT_LOGIN
    """Login of the author (the local forge records it; GitHub reads it from the API)."""
    draft: bool = False
    """A draft pull request."""
    reviews: list[dict[str, str]] = field(default_factory=list)
    """Local forge only: submitted reviews (user, state, commit_id, submitted_at)."""
    auto_merge: dict[str, str] | None = None
    """Local forge only: the auto-merge request (``method``, ``expected_head``), if enabled."""
    merge_sha: str = ""
    """Local forge only: the commit on the base branch that merged it (once merged)."""


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

    @property
    @abstractmethod
    def repository_uri(self) -> str:
        """The URL of the repository pull requests are opened in: an attestation is accepted
        only if its statement names this repository."""

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


# -- the gate's view of a forge ----------------------------------------------------------------

CommitState = str
"""A commit status state: ``success``, ``failure``, ``error`` or ``pending``."""


@dataclass(frozen=True)
class PullInfo:
    """What the gate reads of one pull request (any author, not only the bot's)."""

    number: int
    title: str
    body: str
    author: str
    """Login of the pull request's author."""
    state: PullState
    draft: bool
    head_ref: str
    """Head branch name."""
    head_sha: str
    """The head commit now: the decision is for this commit only."""
    base_ref: str
    """Base branch name."""
    base_sha: str
    """The base branch's tip now (policies and configuration are read from it)."""
    labels: tuple[str, ...]


@dataclass(frozen=True)
class CommitPeople:
    """Who the forge says made one commit of a pull request.

    Commit metadata (names, e-mails) is written by whoever pushes, so it decides nothing by
    itself: ``author`` and ``committer`` are the accounts the forge ties them to, None when it
    ties them to none it can vouch for (e.g. an e-mail linked to no account, or a claim of a
    bot's identity without that bot's signature).
    """

    sha: str
    author: str | None
    """Login tied to the author, None when the commit cannot be tied to an account."""
    committer: str | None
    """Login tied to the committer, None likewise; the forge itself as the committer of a
    commit it signed (GitHub's ``web-flow``) is the author's doing and repeats ``author``."""
    claims_bot: bool
    """Author and committer both carry the bot's name and e-mail: a bot commit if the
    attestation it adds verifies (the gate checks), else a commit by someone unknown."""
    verified_bot: bool = False
    """The forge vouches that the bot made it (GitHub: a verified signature, with the author
    and committer linked to the bot's account)."""


@dataclass(frozen=True)
class Review:
    """One submitted review, as the forge lists it (oldest first)."""

    user: str
    state: str
    """``APPROVED``, ``CHANGES_REQUESTED``, ``DISMISSED``, ``COMMENTED`` or ``PENDING``."""
    commit_id: str
    """The head commit the review was given on."""
    submitted_at: str
    """ISO-8601 UTC."""


# -- deployments: what the deploy job writes and the gate reads -----------------------------------

#: The ``task`` of every deployment the deploy job records (GitHub Deployments API).
DEPLOY_TASK = "mendbot:apply"


@dataclass(frozen=True)
class Deployment:
    """One deploy attempt as the forge stores it (a GitHub Deployment and its latest status; a
    JSON file under ``<git-common-dir>/mendbot/deployments/`` on the local forge)."""

    id: int
    sha: str
    """The merge commit deployed."""
    environment: str
    payload: dict[str, Any]
    """What the deploy job wrote: ``change``, ``target``, ``outcome``, ``record`` (the signed
    record's sha256), ``resolves`` (the id of the failed deployment a revert's deploy resolves)."""
    state: str
    """The latest status: ``in_progress``, ``success``, ``failure``, ``error`` or ``inactive``."""
    created_at: str
    """ISO-8601 UTC."""


@dataclass(frozen=True)
class WorkflowRun:
    """One workflow run on a commit (what validation of a workflow change watches)."""

    id: int
    path: str
    """The workflow file, ``.github/workflows/<name>.yml``."""
    head_sha: str
    event: str
    status: str
    """``queued``, ``in_progress`` or ``completed``."""
    conclusion: str | None
    """``success``, ``failure``, ``cancelled``… once completed."""
    url: str = ""


class DeploymentReader(ABC):
    """Reading deployments: the deploy job (idempotency) and the gate (a failed, unresolved
    deployment freezes its environment) both need it."""

    @abstractmethod
    def deployments(self, environment: str | None = None) -> list[Deployment]:
        """Every deployment of task :data:`DEPLOY_TASK` (in ``environment``, when given), oldest
        first; raises :class:`ForgeError` when they cannot be read (callers fail closed)."""


class DeployForge(DeploymentReader, ABC):
    """What the deploy job needs from a forge: workflow runs to validate against, and somewhere
    to record deployments and ask the propose identity for a revert. It never pushes."""

    @property
    @abstractmethod
    def workdir(self) -> Path:
        """A local git repository holding the default branch's history."""

    @property
    @abstractmethod
    def repository_uri(self) -> str:
        """The URL of the repository deployed from (attestations must name it)."""

    @abstractmethod
    def default_tip(self) -> tuple[str, str]:
        """The default branch and its commit now."""

    @abstractmethod
    def workflow_runs(self, head_sha: str) -> list[WorkflowRun]:
        """Every workflow run on commit ``head_sha``, newest first."""

    @abstractmethod
    def create_deployment(self, sha: str, environment: str, payload: dict[str, Any]) -> int:
        """Create a deployment of ``sha`` to ``environment`` (task :data:`DEPLOY_TASK`, never
        auto-merging, requiring the :data:`STATUS_CONTEXT` status to be ``success`` on ``sha``)
        and return its id; raises :class:`ForgeError` when the forge refuses."""

    @abstractmethod
    def set_deployment_status(
        self, deployment: int, state: str, description: str, payload: dict[str, Any] | None = None
    ) -> None:
        """Add a status to ``deployment``; ``payload`` (local forge) or the status description
        (GitHub) carries the outcome for readers."""

    @abstractmethod
    def dispatch(self, event_type: str, payload: dict[str, Any]) -> None:
        """Ask another workflow to act (GitHub ``repository_dispatch``; a request file on the
        local forge): how the deploy job, which cannot push, gets a revert pull request."""

    @abstractmethod
    def dispatches(self) -> list[dict[str, Any]]:
        """Dispatched requests not yet handled, each ``{"id", "event_type", "client_payload"}``
        (local forge; empty on GitHub, where the event starts a workflow)."""

    @abstractmethod
    def handled(self, dispatch_id: int) -> None:
        """Mark a request of :meth:`dispatches` handled."""


class GateForge(DeploymentReader, ABC):
    """What the policy gate needs from a forge: read a pull request, report one decision.

    The gate never checks out or runs pull request code: :meth:`fetch` only makes the commits'
    objects available in :attr:`workdir` so that git can read them.
    """

    name: str = ""

    @property
    @abstractmethod
    def workdir(self) -> Path:
        """A local git repository that holds (after :meth:`fetch`) the base and head commits."""

    @property
    @abstractmethod
    def repository_uri(self) -> str:
        """The URL of the repository whose pull requests are gated: an attestation is accepted
        only if its statement names this repository."""

    @abstractmethod
    def pull_info(self, number: int) -> PullInfo:
        """The pull request as it is now; raises :class:`ForgeError` if it does not exist."""

    @abstractmethod
    def default_tip(self) -> tuple[str, str]:
        """The default branch and its commit now, readable in :attr:`workdir`: the gate's
        policies, configuration and CODEOWNERS are read there, whatever a pull request targets."""

    @abstractmethod
    def open_pulls_at_head(self, sha: str) -> list[tuple[int, str]]:
        """``(number, base branch)`` of every open pull request whose head is commit ``sha``."""

    @abstractmethod
    def merged_pull(self, sha: str) -> PullInfo | None:
        """The pull request that commit ``sha`` merged (any merge method), with ``head_sha`` the
        head it merged and ``base_sha`` the commit's first parent; None when no pull request
        merged it (a direct push: nothing was reviewed)."""

    @abstractmethod
    def open_pull_numbers(self) -> list[int]:
        """Every open pull request (any author), by number: what a scheduled run re-decides."""

    @abstractmethod
    def fetch(self, pull: PullInfo) -> None:
        """Make ``pull.base_sha`` and ``pull.head_sha`` (with their history) readable in
        :attr:`workdir` without touching any working tree."""

    @abstractmethod
    def reviews(self, number: int) -> list[Review]:
        """Every submitted review of pull request ``number``, oldest first."""

    @abstractmethod
    def commit_people(self, pull: PullInfo, merge_base: str) -> list[CommitPeople]:
        """Who made each commit ``merge_base..head`` of ``pull``, oldest first (the gate decides
        which are the bot's and whether every other one is tied to an account)."""

    @abstractmethod
    def last_push_approval_required(self, base_ref: str) -> bool:
        """Whether the forge itself refuses to merge into ``base_ref`` until the most recent
        push is approved by someone other than who pushed it (GitHub: a branch ruleset's
        ``require_last_push_approval``); False when it cannot tell."""

    @abstractmethod
    def team_memberships(self, users: list[str], teams: list[str]) -> dict[str, tuple[str, ...]]:
        """For each of ``users``, the subset of ``teams`` (slugs) they are an active member of."""

    @abstractmethod
    def write_access(self, users: list[str]) -> set[str]:
        """Those of ``users`` who may push to the repository (write, maintain or admin): only
        their reviews count, so that on a public repository a stranger cannot approve."""

    @abstractmethod
    def open_pulls_with_label(self, label: str) -> list[PullInfo]:
        """Open pull requests carrying ``label`` (how a frozen environment is recorded)."""

    @abstractmethod
    def set_status(
        self, sha: str, state: CommitState, description: str, target_url: str | None = None
    ) -> None:
        """Post the :data:`STATUS_CONTEXT` commit status on ``sha`` (replacing the previous one)."""

    @abstractmethod
    def set_gate_label(self, number: int, label: str) -> None:
        """Put ``label`` (one of :data:`GATE_LABELS`) on the pull request, remove the other gate
        labels and keep every other label."""

    @abstractmethod
    def comment(self, number: int, topic: str, text: str) -> bool:
        """Create or edit in place the one comment of ``topic``; False if it already said
        ``text`` (the same operation the propose job's :class:`Forge` uses)."""

    @abstractmethod
    def enable_auto_merge(self, number: int, head_sha: str, method: str) -> str:
        """Ask the forge to merge when every required check passes (never merge now), only while
        the head is still ``head_sha``; returns a one-line description of what was done.
        Raises :class:`ForgeError` when the forge refuses (e.g. no required check protects the
        base branch, auto-merge disabled in the repository)."""


class ForgeHost(Forge, GateForge, DeployForge, ABC):
    """A forge adapter both the propose job and the gate can use (each sees only its own
    interface); what ``--forge NAME`` builds (:data:`bot.cli.forges.FORGE_KINDS`)."""
