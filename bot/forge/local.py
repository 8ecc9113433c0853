"""The local forge: a plain git repository where a pull request is a branch plus a JSON record.

Records live in ``<git-common-dir>/mendbot/pulls/<number>.json`` (never in the working tree nor
in history); branches are real refs updated with compare-and-swap ``git update-ref``. The
working tree and the checked-out branch are never touched.

For the gate, reviews and the auto-merge request live in the pull request record, commit
statuses in ``mendbot/statuses/<sha>.json``, team memberships in ``mendbot/teams.json``
(``{"team-slug": ["login", ...]}``) and, optionally, who may push in
``mendbot/collaborators.json`` (``["login", ...]``; without it everyone may), all under the git
common directory.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path

from bot import git
from bot.forge.interface import (
    CommitAuthor,
    CommitPeople,
    CommitState,
    ForgeError,
    ForgeHost,
    PullInfo,
    PullRequest,
    PullState,
    Review,
    UnknownBranchError,
)
from bot.forge.local_deployments import LocalDeployments
from bot.git import GitError
from bot.protocol import BOT_EMAIL, BOT_NAME, GATE_LABELS, STATUS_CONTEXT
from bot.provenance.run_context import local_uri
from bot.safe_files import write_text_atomically


class LocalForge(LocalDeployments, ForgeHost):
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
        self._root = (self._repo / common).resolve() / "mendbot"
        self._store = self._root / "pulls"
        self._base = base
        self._records: dict[Path, tuple[tuple[int, int, int], PullRequest]] = {}
        self._uri: str | None = None
        self._default: str | None = None

    @property
    def workdir(self) -> Path:
        """The repository itself."""
        return self._repo

    @property
    def repository_uri(self) -> str:
        """The ``origin`` remote (without credentials), else the repository's ``file://`` URL:
        what a local analysis of this repository records."""
        if self._uri is None:
            self._uri = local_uri(self._repo)
        return self._uri

    def default_branch(self) -> str:
        """``base`` if given (it must exist), else the repository's own default branch: the branch
        ``origin/HEAD`` names, else ``init.defaultBranch``, else ``main``, else ``master`` (the
        first that exists). Never the checked-out branch: a pull request's branch may be
        checked out, and its policies must not judge it. Raises :class:`ForgeError` when none
        of them exists.

        Found once per forge (one command): a run does not change which branch is the default,
        only where it points, which callers read each time.
        """
        if self._default is not None:
            return self._default
        heads = self.branch_heads()
        if self._base:
            if self._base not in heads:
                raise UnknownBranchError(
                    f"the base branch {self._base!r} does not exist in {self._repo}",
                    advice="pass --base with an existing branch (the one pull requests target)",
                )
            self._default = self._base
            return self._base
        candidates = [self._origin_head(), self._configured_default(), "main", "master"]
        for name in candidates:
            if name and name in heads:
                self._default = name
                return name
        raise ForgeError(
            f"cannot tell the default branch of {self._repo}: no origin/HEAD, "
            "init.defaultBranch, main or master branch",
            advice="pass --base with the branch the gate's policies live on",
        )

    def _origin_head(self) -> str | None:
        try:
            out = git.run(self._repo, "symbolic-ref", "-q", "refs/remotes/origin/HEAD")
        except GitError:
            return None
        return out.decode().strip().removeprefix("refs/remotes/origin/") or None

    def _configured_default(self) -> str | None:
        try:
            out = git.run(self._repo, "config", "--get", "init.defaultBranch")
        except GitError:
            return None
        return out.decode().strip() or None

    def find(self, fingerprint: str, branch: str | None = None) -> PullRequest | None:
        """The newest record of ``fingerprint`` (on ``branch``, when given)."""
        matches = [
            p
            for p in self._stored()
            if p.fingerprint == fingerprint and (branch is None or p.branch == branch)
        ]
        return _copy(matches[-1]) if matches else None

    def pulls(self, state: PullState | None = None) -> list[PullRequest]:
        """Every record, by number."""
        return [_copy(p) for p in self._stored() if state is None or p.state == state]

    def _stored(self) -> list[PullRequest]:
        """Every record as read, by number: shared with the cache, never to be changed (the
        public methods hand out copies)."""
        if not self._store.is_dir():
            return []
        found = [self._stored_record(path) for path in self._store.glob("*.json")]
        found.sort(key=lambda p: p.number)
        return found

    def get(self, number: int) -> PullRequest:
        """The record of pull request ``number``; raises :class:`ForgeError` if unknown."""
        path = self._store / f"{number}.json"
        if not path.is_file():
            raise ForgeError(f"no pull request #{number} in {self._repo}")
        pull = self._record(path)
        if pull.number != number:
            raise ForgeError(f"{path}: unreadable pull request record (it is #{pull.number})")
        return pull

    def _record(self, path: Path) -> PullRequest:
        """The record in ``path``, a copy of its own: callers may change what they get."""
        return _copy(self._stored_record(path))

    def _stored_record(self, path: Path) -> PullRequest:
        """The record in ``path``, read and parsed again only when the file changed (records
        are replaced atomically, so a new version is a new file); shared with the cache."""
        try:
            meta = path.stat()
            key = (meta.st_ino, meta.st_mtime_ns, meta.st_size)
            cached = self._records.get(path)
            if cached is None or cached[0] != key:
                data = json.loads(path.read_bytes())
                data["state"] = PullState(data["state"])
                cached = (key, PullRequest(**data))
                self._records[path] = cached
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise ForgeError(f"{path}: unreadable pull request record ({exc})") from None
        return cached[1]

    def branch_head(self, branch: str) -> str | None:
        """The commit of ``refs/heads/<branch>``."""
        if self._surely_absent(branch):
            return None
        tips = git.branch_tips(self._repo, [branch])
        if tips is not None:
            return tips.get(branch)
        try:
            out = git.run(self._repo, "rev-parse", "--verify", "-q", f"refs/heads/{branch}")
        except GitError:
            return None
        return out.decode().strip() or None

    def _surely_absent(self, branch: str) -> bool:
        """Whether the repository's ref files show no ``refs/heads/<branch>`` (no loose ref,
        no ``packed-refs`` line), so no git process needs to be asked; False whenever unsure
        (another ref storage, an unusual name, an unreadable file)."""
        common = self._root.parent
        if ".." in branch or branch.startswith("/") or (common / "reftable").exists():
            return False
        ref = f"refs/heads/{branch}"
        if os.path.lexists(common / ref):
            return False
        try:
            packed = (common / "packed-refs").read_bytes()
        except FileNotFoundError:
            return True
        except OSError:
            return False
        return f" {ref}\n".encode() not in packed

    def branch_heads(self) -> dict[str, str]:
        """Every branch's commit, by branch name, read at once (one git process, however many
        pull requests there are)."""
        out = git.run(
            self._repo, "for-each-ref", "--format=%(objectname) %(refname)", "refs/heads/"
        ).decode()
        heads = {}
        for line in out.splitlines():
            sha, _, ref = line.partition(" ")
            heads[ref.removeprefix("refs/heads/")] = sha
        return heads

    def _tips(self, branches: list[str]) -> dict[str, str]:
        """The commits of ``branches`` as they are now (missing ones left out): through the
        batched reader when it can answer exactly, else :meth:`branch_heads`."""
        # Each branch costs a few reads (see git.branch_tips); many are cheaper listed at once.
        tips = git.branch_tips(self._repo, branches) if len(branches) <= 4 else None
        return tips if tips is not None else self.branch_heads()

    def branch_commits(self, branch: str, base: str) -> list[CommitAuthor]:
        """``git log base..branch`` with author and committer e-mails."""
        out = git.run(
            self._repo,
            "log",
            "--no-show-signature",
            "--format=%H %ae %ce",
            f"{base}..refs/heads/{branch}",
        )
        commits = []
        for line in out.decode().splitlines():
            sha, author, committer = line.split(" ", 2)
            commits.append(CommitAuthor(sha, author, committer))
        return commits

    def push(self, branch: str, sha: str, expected: str | None) -> None:
        """Compare-and-swap update of the branch ref."""
        old = expected if expected is not None else "0" * len(sha)
        try:
            git.update_ref(self._repo, f"refs/heads/{branch}", sha, old)
        except GitError as exc:
            raise ForgeError(
                f"{branch} moved while the bot was updating it ({exc})",
                advice="rerun `mendbot propose`; nothing was changed",
            ) from None

    def open(self, pull: PullRequest) -> PullRequest:
        """Assign the next number and a creation time, and store the record."""
        numbers = [p.number for p in self._stored()]
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
        return sum(1 for p in self._stored() if p.created_at and _parse(p.created_at) >= since)

    def set_state(self, number: int, state: PullState) -> PullRequest:
        """Close, reopen or mark a pull request merged (what a reviewer does on a real forge)."""
        pull = self.get(number)
        pull.state = state
        self._write(pull)
        return pull

    def merge(self, number: int, method: str = "squash", author: str = "Ada") -> str:
        """Merge pull request ``number`` into its base as a reviewer's merge button does
        (``squash``: one commit with the merged tree; ``merge``: a two-parent commit), mark it
        merged and return the new commit. Refuses a conflicting merge; moves the base branch
        with compare-and-swap, so a concurrent push loses nothing."""
        pull = self.get(number)
        info = self.pull_info(number)
        tree = git.merged_tree(self._repo, info.base_sha, info.head_sha)
        if tree is None:
            raise ForgeError(f"#{number} conflicts with {pull.base}: resolve it first")
        parents = ["-p", info.base_sha] + (["-p", info.head_sha] if method == "merge" else [])
        email = f"{author.lower()}@users.noreply.local"
        env = {
            "GIT_AUTHOR_NAME": author,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": author,
            "GIT_COMMITTER_EMAIL": email,
        }
        message = f"{pull.title} (#{number})\n"
        sha = (
            git.run(self._repo, "commit-tree", tree, *parents, "-m", message, env=env)
            .decode()
            .strip()
        )
        self.push(pull.base, sha, info.base_sha)
        pull.state = PullState.MERGED
        pull.head_sha = info.head_sha
        pull.merge_sha = sha
        self._write(pull)
        return sha

    # -- the gate's view ---------------------------------------------------------------------
    def merged_pull(self, sha: str) -> PullInfo | None:
        """The merged record whose ``merge_sha`` is ``sha``."""
        for pull in self.pulls(PullState.MERGED):
            if pull.merge_sha and pull.merge_sha == sha:
                return _info(pull, pull.head_sha, git.rev_parse(self._repo, f"{sha}^1"))
        return None

    def pull_info(self, number: int) -> PullInfo:
        """The record, with the head and base read from the branches as they are now."""
        pull = self.get(number)
        heads = self._tips([pull.branch, pull.base])
        head = heads.get(pull.branch) or pull.head_sha
        base = heads.get(pull.base)
        if base is None:
            raise ForgeError(f"#{number}: the base branch {pull.base} does not exist")
        return _info(pull, head, base)

    def default_tip(self) -> tuple[str, str]:
        """:meth:`default_branch` and its commit."""
        name = self.default_branch()
        sha = self._tips([name]).get(name)
        if sha is None:
            raise ForgeError(
                f"the default branch {name} does not exist in {self._repo}",
                advice="pass --base with the branch the gate's policies live on",
            )
        return name, sha

    def open_pulls_at_head(self, sha: str) -> list[tuple[int, str]]:
        """Open records whose branch points at ``sha``."""
        pulls = [p for p in self._stored() if p.state is PullState.OPEN]
        heads = self._tips([p.branch for p in pulls])
        return [(p.number, p.base) for p in pulls if (heads.get(p.branch) or p.head_sha) == sha]

    def open_pull_numbers(self) -> list[int]:
        """Open records, by number."""
        return [p.number for p in self._stored() if p.state is PullState.OPEN]

    def fetch(self, pull: PullInfo) -> None:
        """Nothing to fetch: the commits are in this repository (checked)."""
        missing = set(git.missing_commits(self._repo, (pull.base_sha, pull.head_sha)))
        for sha in (pull.base_sha, pull.head_sha):
            if sha in missing:
                raise ForgeError(f"#{pull.number}: commit {sha[:12]} is not in {self._repo}")

    def reviews(self, number: int) -> list[Review]:
        """The reviews stored in the record, oldest first."""
        return [
            Review(r["user"], r["state"], r["commit_id"], r["submitted_at"])
            for r in self.get(number).reviews
        ]

    def review(self, number: int, user: str, state: str, commit_id: str | None = None) -> Review:
        """Submit a review (what a reviewer does on a real forge) on ``commit_id`` (default: the
        head now)."""
        pull = self.get(number)
        review = Review(user, state, commit_id or self.pull_info(number).head_sha, _now())
        pull.reviews.append(asdict(review))
        self._write(pull)
        return review

    def commit_people(self, pull: PullInfo, merge_base: str) -> list[CommitPeople]:
        """``git log`` of ``merge_base..head``: a local repository has no accounts, so a commit's
        author and committer **names** are the logins (name your commits after your reviewer
        logins); with ``mendbot/collaborators.json`` only the logins it lists, so a name that
        is no one's login (a full name, another spelling) ties the commit to no one rather than
        to a stranger whose approval would then count. A name or e-mail of the bot's ties the
        commit to no one: anybody can write it, and only the bot's attestation (checked by the
        gate) proves the bot made the commit."""
        accounts = self._collaborators()
        commits = []
        for sha, author, author_email, committer, committer_email in self._idents(
            merge_base, pull.head_sha
        ):
            commits.append(
                CommitPeople(
                    sha,
                    author=_person(author, author_email, accounts),
                    committer=_person(committer, committer_email, accounts),
                    claims_bot=(author, author_email, committer, committer_email)
                    == (BOT_NAME, BOT_EMAIL, BOT_NAME, BOT_EMAIL),
                )
            )
        return commits

    def _idents(self, base: str, head: str) -> list[tuple[str, str, str, str, str]]:
        """``(commit, author name, author e-mail, committer name, committer e-mail)`` of each
        commit of ``base..head``, oldest first, as ``git log`` prints them."""
        chain = git.linear_history(self._repo, base, head) or []
        idents = [(c.object_id, *c.author, *c.committer) for c in chain if c.author and c.committer]
        if chain and len(idents) == len(chain):
            return idents
        out = git.run(
            self._repo,
            "log",
            "--no-show-signature",
            "--reverse",
            "--format=%H%x00%an%x00%ae%x00%cn%x00%ce",
            f"{base}..{head}",
        )
        lines = out.decode("utf-8", "replace").splitlines()
        return [(sha, an, ae, cn, ce) for sha, an, ae, cn, ce in (s.split("\0") for s in lines)]

    def last_push_approval_required(self, base_ref: str) -> bool:
        """Never: a local repository enforces nothing when merging."""
        return False

    def team_memberships(self, users: list[str], teams: list[str]) -> dict[str, tuple[str, ...]]:
        """Memberships from ``mendbot/teams.json``."""
        members = self._teams()
        return {
            user: tuple(team for team in teams if user in members.get(team, ())) for user in users
        }

    def set_teams(self, teams: dict[str, list[str]]) -> None:
        """Replace ``mendbot/teams.json`` (team slug → member logins)."""
        self._atomic(self._root / "teams.json", json.dumps(teams, indent=2, sort_keys=True))

    def _teams(self) -> dict[str, list[str]]:
        path = self._root / "teams.json"
        if not path.is_file():
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ForgeError(f"{path}: unreadable team memberships ({exc})") from None
        if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
            raise ForgeError(f'{path}: expected {{"team-slug": ["login", ...]}}')
        return data

    def write_access(self, users: list[str]) -> set[str]:
        """``mendbot/collaborators.json`` when it exists; everyone otherwise (a local repository
        has no access control of its own)."""
        allowed = self._collaborators()
        if allowed is None:
            return set(users)
        return {user for user in users if user in allowed}

    def _collaborators(self) -> list[str] | None:
        """The logins in ``mendbot/collaborators.json``; None when it does not exist."""
        path = self._root / "collaborators.json"
        if not path.is_file():
            return None
        try:
            allowed = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ForgeError(f"{path}: unreadable collaborators ({exc})") from None
        if not isinstance(allowed, list):
            raise ForgeError(f'{path}: expected ["login", ...]')
        return allowed

    def set_collaborators(self, logins: list[str]) -> None:
        """Replace ``mendbot/collaborators.json`` (who may push, hence approve)."""
        self._atomic(self._root / "collaborators.json", json.dumps(sorted(logins), indent=2))

    def open_pulls_with_label(self, label: str) -> list[PullInfo]:
        """Open records carrying ``label``."""
        return [
            self.pull_info(p.number)
            for p in self._stored()
            if p.state is PullState.OPEN and label in p.labels
        ]

    def set_status(
        self, sha: str, state: CommitState, description: str, target_url: str | None = None
    ) -> None:
        """Store the status in ``mendbot/statuses/<sha>.json``."""
        statuses = self.statuses(sha)
        statuses[STATUS_CONTEXT] = {
            "state": state,
            "description": description,
            "target_url": target_url or "",
        }
        self._atomic(
            self._root / "statuses" / f"{sha}.json",
            json.dumps(statuses, indent=2, sort_keys=True),
        )

    def set_gate_label(self, number: int, label: str) -> None:
        """Replace the gate label, keeping the others."""
        pull = self.get(number)
        labels = [name for name in pull.labels if name not in GATE_LABELS or name == label]
        if label not in labels:
            labels.append(label)
        if labels != pull.labels:
            pull.labels = labels
            self._write(pull)

    def enable_auto_merge(self, number: int, head_sha: str, method: str) -> str:
        """Record the request in the pull request (a local forge never merges by itself)."""
        pull = self.get(number)
        request = {"method": method, "expected_head": head_sha}
        if pull.auto_merge != request:
            pull.auto_merge = request
            self._write(pull)
        return f"auto-merge ({method}) enabled on #{number} at {head_sha[:12]}"

    def _write(self, pull: PullRequest) -> None:
        data = asdict(pull)
        data["state"] = pull.state.value
        self._atomic(
            self._store / f"{pull.number}.json", json.dumps(data, indent=2, sort_keys=True)
        )

    def _atomic(self, target: Path, text: str) -> None:
        write_text_atomically(target, text + "\n")


def _copy(pull: PullRequest) -> PullRequest:
    """A copy of ``pull`` that shares nothing a caller can change with it."""
    return replace(
        pull,
        labels=list(pull.labels),
        comments=dict(pull.comments),
        reviews=[dict(review) for review in pull.reviews],
        auto_merge=dict(pull.auto_merge) if pull.auto_merge is not None else None,
    )


def _info(pull: PullRequest, head: str, base: str) -> PullInfo:
    """The gate's view of record ``pull`` with ``head`` and ``base`` as the commits."""
    return PullInfo(
        number=pull.number,
        title=pull.title,
        body=pull.body,
        author=pull.author,
        state=pull.state,
        draft=pull.draft,
        head_ref=pull.branch,
        head_sha=head,
        base_ref=pull.base,
        base_sha=base,
        labels=tuple(pull.labels),
    )


def _person(name: str, email: str, accounts: list[str] | None) -> str | None:
    """The login a local commit names; None when it uses the bot's identity, no name, or a
    name that is not among ``accounts`` (when the repository lists them)."""
    if name == BOT_NAME or email == BOT_EMAIL or not name.strip():
        return None
    if accounts is not None and name not in accounts:
        return None
    return name


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
