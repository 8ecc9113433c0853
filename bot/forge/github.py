"""The GitHub forge: PyGithub for the REST API, git (through GitPython) for branches.

Pull requests are found by their branch (``GET /pulls?head=owner:branch&state=all``) and matched
by the fingerprint in their hidden metadata, so the bot keeps no state of its own; only pull
requests the bot's own account opened count, so anyone else's pull request with a copied or
forged metadata comment is never taken for the bot's. Branches are
pushed with ``--force-with-lease`` (compare and swap) and the token travels in an
``http.extraHeader`` set through the environment, never in a URL or on the command line.
Sticky comments carry a hidden ``<!-- mendbot-comment:<topic> -->`` marker and are edited in
place (``PATCH /issues/comments/{id}``); only comments written by the bot's own account count, so
a marker pasted by someone else is ignored.

The policy gate's side (:class:`~bot.forge.interface.GateForge`) reads pull requests, reviews and
team memberships, fetches the base tip and ``refs/pull/<n>/head`` into the local repository
(objects only, no checkout), reports the ``mendbot/policy`` commit status and one gate label, and
enables auto-merge through GraphQL (``enablePullRequestAutoMerge`` with the expected head) only
when a branch ruleset on the base branch requires that status.
"""

from __future__ import annotations

import base64
import os
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import git
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from github import (
    Auth,
    Github,
    GithubException,
    GithubIntegration,
    GithubRetry,
    UnknownObjectException,
)

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
)
from bot.protocol import BOT_EMAIL, BOT_NAME, GATE_LABELS, STATUS_CONTEXT, decode_metadata

_COMMENT_MARKER = "<!-- mendbot-comment:{topic} -->"
_PERMISSION_ADVICE = (
    "the token needs `contents: write` (to push the bot branch) and `pull-requests: write` "
    "(to open pull requests); a GitHub App installation token is preferred"
)


#: What the gate's token needs, by kind of operation.
_READ_ADVICE = (
    "the token needs `pull-requests: read` and `contents: read` on the repository; "
    "a GitHub App installation token is preferred"
)
_STATUS_ADVICE = "the token needs `statuses: write` to report the mendbot/policy commit status"
_LABEL_ADVICE = "the token needs `issues: write` (or `pull-requests: write`) to set gate labels"
_COMMENT_ADVICE = "the token needs `issues: write` (or `pull-requests: write`) to comment"
_TEAM_ADVICE = (
    "team-based approvals need the organisation permission `members: read` (GitHub App) or the "
    "`read:org` scope (personal token) to read team memberships"
)
_MERGE_ADVICE = "the token needs `pull-requests: write` and `contents: write` to enable auto-merge"
_RULESET_ADVICE = (
    "add a branch ruleset (Settings, Rules, Rulesets, New branch ruleset) targeting {base} with "
    "'Require status checks to pass' listing `mendbot/policy`, so GitHub itself refuses to merge "
    "a pull request the gate has not passed; classic branch protection is not read"
)
#: GitHub's limit on a commit status description.
_STATUS_DESCRIPTION_MAX = 140
_MERGE_METHODS = ("merge", "squash", "rebase")
_TIME = "%Y-%m-%dT%H:%M:%SZ"


def _wrap(action: str, exc: Exception, advice: str | None = None) -> ForgeError:
    if isinstance(exc, GithubException):
        status = exc.status
        message = exc.data.get("message") if isinstance(exc.data, dict) else exc.data
        advice = (advice or _PERMISSION_ADVICE) if status in (401, 403, 404) else None
        return ForgeError(f"GitHub refused to {action}: HTTP {status} {message}", advice=advice)
    return ForgeError(
        f"GitHub did not answer to {action} ({exc})",
        advice="GitHub kept failing after bounded retries; rerun later, nothing half-done was left",
    )


class GitHubForge(ForgeHost):
    """Pull requests on GitHub or GitHub Enterprise Server (``base_url``).

    ``bot_login`` is the account the token acts as (for a GitHub App, ``<app-slug>[bot]``); when
    not given it is read from ``GET /user``, and when GitHub does not say (an installation
    token), any bot account (``type: Bot``) counts as the bot for sticky comments.
    """

    name = "github"

    def __init__(
        self,
        repository: str,
        workdir: Path,
        token: str,
        *,
        base_url: str = "https://api.github.com",
        git_url: str | None = None,
        retry: GithubRetry | int | None = None,
        throttle: bool = True,
        base: str | None = None,
        bot_login: str | None = None,
    ) -> None:
        self._full_name = repository
        self._owner = repository.split("/")[0]
        self._workdir = workdir
        self._token = token
        if retry is None:
            retry = GithubRetry(total=5, max_rate_limit_wait=120)
        self._github = Github(
            auth=Auth.Token(token),
            base_url=base_url,
            retry=retry,
            per_page=100,
            timeout=15,
            seconds_between_requests=0.25 if throttle else None,
            seconds_between_writes=1.0 if throttle else None,
            lazy=True,
        )
        self._repo = self._github.get_repo(repository)
        self._git_url = git_url or _git_url(base_url, repository)
        self._default: str | None = base
        self._fetched_bases: dict[str, str] = {}
        """Branch tips fetched by :meth:`fetch`, by branch name."""
        self._bot_login = bot_login
        # An installation token (``ghs_``) cannot read ``GET /user``: do not ask (GitHub would
        # answer 403 and PyGithub would log it); any bot account is then the bot.
        self._bot_resolved = bot_login is not None or token.startswith("ghs_")

    @property
    def workdir(self) -> Path:
        """The local clone where commits are built."""
        return self._workdir

    @property
    def repository_uri(self) -> str:
        """``https://HOST/OWNER/NAME``: the repository's web address (what GitHub Actions
        records in a statement)."""
        return self._git_url.removesuffix(".git")

    def _call(
        self, action: str, fn: Any, *args: Any, advice: str | None = None, **kwargs: Any
    ) -> Any:
        try:
            return fn(*args, **kwargs)
        except (GithubException, requests.exceptions.RequestException) as exc:
            raise _wrap(action, exc, advice) from None

    def default_branch(self) -> str:
        """The repository's default branch."""
        if self._default is None:
            self._default = str(
                self._call("read the repository", lambda: self._repo.default_branch)
            )
        return self._default

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

    def branch_head(self, branch: str) -> str | None:
        """The branch's commit, from ``GET /git/ref/heads/<branch>``."""
        try:
            return str(self._repo.get_git_ref(f"heads/{branch}").object.sha)
        except UnknownObjectException:
            return None
        except (GithubException, requests.exceptions.RequestException) as exc:
            raise _wrap(f"read the branch {branch}", exc) from None

    def _git(self) -> git.Git:
        header = (
            "Authorization: basic "
            + base64.b64encode(f"x-access-token:{self._token}".encode()).decode()
        )
        runner = git.Repo(self._workdir).git
        runner.update_environment(
            GIT_TERMINAL_PROMPT="0",
            GIT_CONFIG_COUNT="1",
            GIT_CONFIG_KEY_0="http.extraHeader",
            GIT_CONFIG_VALUE_0=header,
        )
        return runner

    def branch_commits(self, branch: str, base: str) -> list[CommitAuthor]:
        """Fetch the branch into ``refs/mendbot/remote/`` and list ``base..branch``."""
        local = f"refs/mendbot/remote/{branch}"
        try:
            runner = self._git()
            runner.fetch("--no-tags", "-q", self._git_url, f"+refs/heads/{branch}:{local}")
            out = runner.log("--format=%H %ae %ce", f"{base}..{local}")
        except git.GitCommandError as exc:
            raise ForgeError(f"cannot fetch {branch}: {_scrub(exc, self._token)}") from None
        commits = []
        for line in out.splitlines():
            sha, author, committer = line.split(" ", 2)
            commits.append(CommitAuthor(sha, author, committer))
        return commits

    def push(self, branch: str, sha: str, expected: str | None) -> None:
        """``git push --force-with-lease=refs/heads/<branch>:<expected>``."""
        lease = f"--force-with-lease=refs/heads/{branch}:{expected or ''}"
        try:
            self._git().push("--porcelain", lease, self._git_url, f"{sha}:refs/heads/{branch}")
        except git.GitCommandError as exc:
            raise ForgeError(
                f"cannot push {branch}: {_scrub(exc, self._token)}",
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

    def comment(self, number: int, topic: str, text: str) -> bool:
        """Create the topic's comment, or edit it in place (found again by its hidden marker);
        False when it already said ``text``."""
        marker = _COMMENT_MARKER.format(topic=topic)
        body = f"{text}\n\n{marker}"
        issue = self._repo.get_issue(number)  # lazy: no request
        existing = self._call(
            f"list the comments of #{number}",
            lambda: list(issue.get_comments()),
            advice=_READ_ADVICE,
        )
        mine = [c for c in existing if marker in (c.body or "") and self._by_bot(c.user)]
        if not mine:
            self._call(f"comment on #{number}", issue.create_comment, body, advice=_COMMENT_ADVICE)
            return True
        if mine[0].body == body:
            return False
        self._call(f"edit a comment on #{number}", mine[0].edit, body, advice=_COMMENT_ADVICE)
        return True

    def _by_bot(self, user: Any) -> bool:
        """Whether ``user`` (a comment's author) is the account this forge acts as."""
        if user is None:
            return False
        bot = self._bot_account()
        if bot is not None:
            return bool(user.login == bot)
        return bool(user.type == "Bot")

    def _is_bot_login(self, login: str) -> bool:
        """Whether ``login`` is the account this forge acts as; False when GitHub does not say
        which account that is (an installation token without ``bot_login``)."""
        bot = self._bot_account()
        return bot is not None and login == bot

    def _bot_account(self) -> str | None:
        """``bot_login``, else the login ``GET /user`` names (None for an installation token:
        GitHub answers 403)."""
        if not self._bot_resolved:
            self._bot_resolved = True
            try:
                self._bot_login = str(self._github.get_user().login)
            except GithubException:
                self._bot_login = None
            except requests.exceptions.RequestException as exc:
                raise _wrap("read the token's account", exc) from None
        return self._bot_login

    def created_since(self, since: datetime) -> int:
        """mendbot pull requests created at or after ``since``."""
        return sum(
            1
            for p in self.pulls()
            if datetime.strptime(p.created_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=since.tzinfo)
            >= since
        )

    # -- the gate's view (GateForge) ------------------------------------------------------
    def _info(self, pr: Any, tips: dict[str, str]) -> PullInfo:
        """A :class:`PullInfo` from a PyGithub pull request; the base tip is read from the
        branch itself (``GET /git/ref/heads/<base>``, cached in ``tips``) rather than from the
        pull request's ``base.sha``, which GitHub does not promise to keep current."""
        base_ref = str(pr.base.ref)
        if base_ref not in tips:
            tip = self.branch_head(base_ref)
            if tip is None:
                raise ForgeError(
                    f"#{pr.number}: the base branch {base_ref} does not exist",
                    advice="retarget the pull request to an existing branch",
                )
            tips[base_ref] = tip
        if pr.merged_at is not None:
            state = PullState.MERGED
        else:
            state = PullState.OPEN if pr.state == "open" else PullState.CLOSED
        return PullInfo(
            number=int(pr.number),
            title=str(pr.title or ""),
            body=str(pr.body or ""),
            author=str(pr.user.login) if pr.user is not None else "ghost",
            state=state,
            draft=bool(pr.draft),
            head_ref=str(pr.head.ref),
            head_sha=str(pr.head.sha),
            base_ref=base_ref,
            base_sha=tips[base_ref],
            labels=tuple(str(label.name) for label in pr.labels),
        )

    def pull_info(self, number: int) -> PullInfo:
        """``GET /pulls/{n}`` and ``GET /git/ref/heads/<base>``."""
        pr = self._repo.get_pull(number)  # lazy: the first attribute read sends the request
        info: PullInfo = self._call(
            f"read pull request #{number}", self._info, pr, {}, advice=_READ_ADVICE
        )
        return info

    def fetch(self, pull: PullInfo) -> None:
        """``git fetch`` of the base branch and ``refs/pull/<n>/head`` (which exists for every
        pull request, from a fork too) into ``refs/mendbot/gate/pr-<n>/``; no working tree is
        touched. Raises :class:`ForgeError` when the head is no longer ``pull.head_sha``."""
        prefix = f"refs/mendbot/gate/pr-{pull.number}"
        base_ref, head_ref = f"{prefix}/base", f"{prefix}/head"
        try:
            runner = self._git()
            runner.fetch(
                "--no-tags",
                "-q",
                self._git_url,
                f"+refs/heads/{pull.base_ref}:{base_ref}",
                f"+refs/pull/{pull.number}/head:{head_ref}",
            )
            head = runner.rev_parse("--verify", "-q", f"{head_ref}^{{commit}}")
            base = runner.rev_parse("--verify", "-q", f"{base_ref}^{{commit}}")
        except git.GitCommandError as exc:
            raise ForgeError(
                f"cannot fetch pull request #{pull.number}: {_scrub(exc, self._token)}",
                advice="the token needs `contents: read` on the repository",
            ) from None
        self._fetched_bases[pull.base_ref] = str(base)
        if head != pull.head_sha:
            raise ForgeError(
                f"the head of #{pull.number} moved from {pull.head_sha[:12]} to {head[:12]} "
                "while the gate was reading it",
                advice="rerun the gate: a decision is only ever for the head commit it read",
            )
        if base != pull.base_sha:
            try:
                self._git().cat_file("-e", f"{pull.base_sha}^{{commit}}")
            except git.GitCommandError:
                raise ForgeError(
                    f"the base branch {pull.base_ref} of #{pull.number} moved from "
                    f"{pull.base_sha[:12]} to {base[:12]} and the old tip is gone",
                    advice="rerun the gate",
                ) from None

    def reviews(self, number: int) -> list[Review]:
        """``GET /pulls/{n}/reviews`` (every page), in GitHub's order: oldest first."""
        pr = self._repo.get_pull(number)  # lazy: no request
        found = self._call(
            f"list the reviews of #{number}", lambda: list(pr.get_reviews()), advice=_READ_ADVICE
        )
        return [
            Review(
                user=str(r.user.login) if r.user is not None else "ghost",
                state=str(r.state),
                commit_id=str(r.commit_id or ""),
                submitted_at=r.submitted_at.strftime(_TIME) if r.submitted_at else "",
            )
            for r in found
        ]

    def commit_people(self, pull: PullInfo, merge_base: str) -> list[CommitPeople]:
        """``GET /pulls/{n}/commits``: the accounts GitHub links to each commit's author and
        committer, by e-mail. An e-mail linked to no account ties the commit to no one; so does
        a bot account (``type: Bot``) on a commit whose signature GitHub did not verify, since
        anyone can write a bot's no-reply e-mail. ``web-flow`` (GitHub's committer of web
        edits, merges and API commits) stands for the author when GitHub verified the commit,
        and for no one otherwise. A commit is the bot's when GitHub verified it and both author
        and committer are this forge's bot account."""
        pr = self._repo.get_pull(pull.number)  # lazy: no request
        commits = self._call(
            f"list the commits of #{pull.number}",
            lambda: [_commit_people(commit) for commit in pr.get_commits()],
            advice=_READ_ADVICE,
        )
        if len(commits) >= _PULL_COMMITS_LIMIT:
            raise ForgeError(
                f"#{pull.number} has {_PULL_COMMITS_LIMIT} commits or more: GitHub lists no more "
                "than that, so the gate cannot tell who contributed to it",
                advice="squash or split the pull request",
            )
        found = []
        for people in commits:
            if people.author is not None and people.author == people.committer:
                # Only a verified commit of a bot account keeps the bot's login here.
                if _is_bot_account(people.author) and self._is_bot_login(people.author):
                    people = replace(people, verified_bot=True)
            found.append(people)
        return found

    def last_push_approval_required(self, base_ref: str) -> bool:
        """``GET /rules/branches/{base}``: a ``pull_request`` rule with
        ``require_last_push_approval``. Classic branch protection is not read (that needs the
        ``administration`` permission), so a setting made only there reads as False."""
        rules = self._call(
            f"read the branch rules of {base_ref}",
            self._branch_rules,
            base_ref,
            advice=_READ_ADVICE,
        )
        return any(
            rule.get("type") == "pull_request"
            and bool((rule.get("parameters") or {}).get("require_last_push_approval"))
            for rule in rules
        )

    def team_memberships(self, users: list[str], teams: list[str]) -> dict[str, tuple[str, ...]]:
        """``GET /orgs/{org}/teams/{slug}/memberships/{user}`` for every pair; ``org`` is the
        repository's owner unless the team is written ``org/slug``. Only an ``active``
        membership counts; 404 (no such membership, or team) is "not a member"."""
        requester = self._github.requester
        found: dict[str, list[str]] = {user: [] for user in users}
        for team in dict.fromkeys(teams):
            org, _, slug = team.rpartition("/")
            path = (
                f"/orgs/{quote(org or self._owner, safe='')}/teams/{quote(slug, safe='')}"
                "/memberships/"
            )
            for user in found:
                try:
                    _, data = requester.requestJsonAndCheck("GET", path + quote(user, safe=""))
                except UnknownObjectException:
                    continue
                except (GithubException, requests.exceptions.RequestException) as exc:
                    raise _wrap(
                        f"read {user}'s membership of the team {team}", exc, _TEAM_ADVICE
                    ) from None
                if isinstance(data, dict) and data.get("state") == "active":
                    found[user].append(team)
        return {user: tuple(names) for user, names in found.items()}

    def default_tip(self) -> tuple[str, str]:
        """The repository's default branch, fetched into ``refs/mendbot/gate/default`` (no
        second fetch when :meth:`fetch` just fetched it as a pull request's base)."""
        name = self.default_branch()
        if name in self._fetched_bases:
            return name, self._fetched_bases[name]
        ref = "refs/mendbot/gate/default"
        try:
            runner = self._git()
            runner.fetch("--no-tags", "-q", self._git_url, f"+refs/heads/{name}:{ref}")
            sha = str(runner.rev_parse("--verify", "-q", f"{ref}^{{commit}}"))
        except git.GitCommandError as exc:
            raise ForgeError(
                f"cannot fetch the default branch {name}: {_scrub(exc, self._token)}",
                advice="the token needs `contents: read` on the repository",
            ) from None
        return name, sha

    def open_pulls_at_head(self, sha: str) -> list[tuple[int, str]]:
        """``GET /commits/{sha}/pulls``, kept to the open ones whose head is ``sha``."""
        commit = self._repo.get_commit(sha)  # lazy: no request
        pulls = self._call(
            f"list the pull requests of {sha[:12]}",
            lambda: list(commit.get_pulls()),
            advice=_READ_ADVICE,
        )
        return [
            (int(pr.number), str(pr.base.ref))
            for pr in pulls
            if pr.state == "open" and pr.head.sha == sha
        ]

    def open_pull_numbers(self) -> list[int]:
        """``GET /pulls?state=open`` (every author), by number."""
        numbers: list[int] = self._call(
            "list open pull requests",
            lambda: [pr.number for pr in self._repo.get_pulls(state="open")],
            advice=_READ_ADVICE,
        )
        return sorted(numbers)

    def write_access(self, users: list[str]) -> set[str]:
        """``GET /repos/{o}/{r}/collaborators/{user}/permission`` for each user: ``admin``,
        ``maintain`` and ``write`` roles may push; 404 (not a collaborator) may not."""
        requester = self._github.requester
        allowed: set[str] = set()
        for user in dict.fromkeys(users):
            path = f"{self._repo.url}/collaborators/{quote(user, safe='')}/permission"
            try:
                _, data = requester.requestJsonAndCheck("GET", path)
            except GithubException as exc:
                if exc.status == 404:  # not a collaborator (or not a user at all)
                    continue
                raise _wrap(f"read {user}'s permission", exc, _READ_ADVICE) from None
            except requests.exceptions.RequestException as exc:
                raise _wrap(f"read {user}'s permission", exc, _READ_ADVICE) from None
            if isinstance(data, dict) and (
                data.get("role_name") in _PUSH_ROLES or data.get("permission") in _PUSH_ROLES
            ):
                allowed.add(user)
        return allowed

    def open_pulls_with_label(self, label: str) -> list[PullInfo]:
        """``GET /pulls?state=open`` filtered by label, by number."""

        def collect() -> list[PullInfo]:
            tips: dict[str, str] = {}
            return [
                self._info(pr, tips)
                for pr in self._repo.get_pulls(state="open")
                if any(existing.name == label for existing in pr.labels)
            ]

        pulls: list[PullInfo] = self._call("list open pull requests", collect, advice=_READ_ADVICE)
        return sorted(pulls, key=lambda p: p.number)

    def set_status(
        self, sha: str, state: CommitState, description: str, target_url: str | None = None
    ) -> None:
        """``POST /statuses/{sha}`` with the ``mendbot/policy`` context; the description is cut
        to GitHub's 140 characters (ending in an ellipsis)."""
        if state not in ("success", "failure", "error", "pending"):
            raise ForgeError(f"not a commit status state: {state!r}")
        if len(description) > _STATUS_DESCRIPTION_MAX:
            description = description[: _STATUS_DESCRIPTION_MAX - 1].rstrip() + "\u2026"
        extra = {"target_url": target_url} if target_url else {}
        commit = self._repo.get_commit(sha)  # lazy: no request
        self._call(
            f"set the {STATUS_CONTEXT} status on {sha[:12]}",
            commit.create_status,
            state=state,
            description=description,
            context=STATUS_CONTEXT,
            advice=_STATUS_ADVICE,
            **extra,
        )

    def set_gate_label(self, number: int, label: str) -> None:
        """``GET /issues/{n}/labels``, then ``POST /issues/{n}/labels`` for a missing ``label``
        and ``DELETE /issues/{n}/labels/{name}`` for each other gate label; nothing else."""
        if label not in GATE_LABELS:
            raise ForgeError(f"{label!r} is not a gate label ({', '.join(GATE_LABELS)})")
        issue = self._repo.get_issue(number)  # lazy: no request
        current = self._call(
            f"read the labels of #{number}",
            lambda: [str(existing.name) for existing in issue.get_labels()],
            advice=_READ_ADVICE,
        )
        if label not in current:
            self._call(f"label #{number}", issue.add_to_labels, label, advice=_LABEL_ADVICE)
        for other in GATE_LABELS:
            if other != label and other in current:
                self._call(
                    f"remove the label {other} from #{number}",
                    issue.remove_from_labels,
                    other,
                    advice=_LABEL_ADVICE,
                )

    def _branch_rules(self, base: str) -> list[dict[str, Any]]:
        """Every rule that applies to ``base`` (``GET /rules/branches/{base}``, every page)."""
        url = f"{self._repo.url}/rules/branches/{quote(base, safe='')}"
        requester = self._github.requester
        found: list[dict[str, Any]] = []
        page = 1
        while True:
            _, rules = requester.requestJsonAndCheck(
                "GET", url, parameters={"per_page": 100, "page": page}
            )
            found.extend(rule for rule in rules or [] if isinstance(rule, dict))
            if len(rules or []) < 100:
                return found
            page += 1

    def _requires_gate_status(self, base: str) -> bool:
        """Whether a branch ruleset on ``base`` requires the ``mendbot/policy`` status."""
        for rule in self._branch_rules(base):
            if rule.get("type") != "required_status_checks":
                continue
            checks = (rule.get("parameters") or {}).get("required_status_checks") or []
            if any(check.get("context") == STATUS_CONTEXT for check in checks):
                return True
        return False

    def enable_auto_merge(self, number: int, head_sha: str, method: str) -> str:
        """Refuse unless a branch ruleset on the base requires ``mendbot/policy`` (otherwise
        GitHub would merge as soon as the other checks pass, whatever the gate said), then the
        GraphQL ``enablePullRequestAutoMerge`` mutation with ``expectedHeadOid``."""
        method = method.lower()
        if method not in _MERGE_METHODS:
            raise ForgeError(
                f"unknown merge method {method!r}", advice=f"use one of {', '.join(_MERGE_METHODS)}"
            )
        pr = self._repo.get_pull(number)
        base = self._call(f"read pull request #{number}", lambda: str(pr.base.ref))
        required = self._call(
            f"read the branch rules of {base}",
            self._requires_gate_status,
            base,
            advice=_READ_ADVICE,
        )
        if not required:
            raise ForgeError(
                f"auto-merge refused: no branch rule on {base} requires the {STATUS_CONTEXT} "
                "check, so GitHub could merge the pull request whatever the gate decides",
                advice=_RULESET_ADVICE.format(base=base),
            )
        try:
            pr.enable_automerge(merge_method=method.upper(), expected_head_oid=head_sha)
        except GithubException as exc:
            raise _auto_merge_error(number, exc) from None
        except requests.exceptions.RequestException as exc:
            raise _wrap(f"enable auto-merge on #{number}", exc) from None
        return f"auto-merge ({method}) enabled on #{number} at {head_sha[:12]}"


def _auto_merge_error(number: int, exc: GithubException) -> ForgeError:
    """GitHub's GraphQL refusal (``{"errors": [{"message": ...}]}``) as a :class:`ForgeError`."""
    data = exc.data if isinstance(exc.data, dict) else {}
    errors = data.get("errors") or []
    messages = [str(e.get("message")) for e in errors if isinstance(e, dict)]
    message = "; ".join(messages) or str(data.get("message") or exc.message or exc.status)
    lowered = message.lower()
    if "not allowed for this repository" in lowered:
        advice = "turn on 'Allow auto-merge' in the repository's Settings, General, Pull Requests"
    elif "clean status" in lowered or "unstable status" in lowered:
        advice = (
            "nothing is left to wait for, so GitHub will not arm auto-merge: enable it while "
            "the mendbot/policy status is still pending, before reporting success"
        )
    elif "head" in lowered and "oid" in lowered:
        advice = "the head moved after the gate read it: rerun the gate for the new head"
    elif exc.status in (401, 403) or "permission" in lowered or "not accessible" in lowered:
        advice = _MERGE_ADVICE
    else:
        advice = None
    return ForgeError(f"GitHub refused auto-merge on #{number}: {message}", advice=advice)


#: GitHub's committer of web edits, merges and commits made through the API.
_WEB_FLOW = "web-flow"


def _is_bot_account(login: str) -> bool:
    return login.endswith("[bot]")


def _linked(account: Any, verified: bool) -> str | None:
    """The login of a commit's linked account; None for GitHub's empty object (no account),
    which PyGithub cannot complete, and for a bot account on an unverified commit, whose
    no-reply e-mail anyone can write."""
    if account is None:
        return None
    try:
        login, kind = account.login, account.type
    except GithubException:
        return None
    if not login:
        return None
    if (kind == "Bot" or _is_bot_account(str(login))) and not verified:
        return None
    return str(login)


def _commit_people(commit: Any) -> CommitPeople:
    """:class:`CommitPeople` of one ``GET /pulls/{n}/commits`` item (a PyGithub ``Commit``)."""
    git_commit = commit.commit
    verified = bool(git_commit.verification.verified)
    author = _linked(commit.author, verified)
    if _linked(commit.committer, True) == _WEB_FLOW:
        committer = author if verified else None
    else:
        committer = _linked(commit.committer, verified)
    identity = [(person.name, person.email) for person in (git_commit.author, git_commit.committer)]
    return CommitPeople(
        sha=str(commit.sha),
        author=author,
        committer=committer,
        claims_bot=identity == [(BOT_NAME, BOT_EMAIL)] * 2,
    )


#: ``GET /pulls/{n}/commits`` lists at most this many commits.
_PULL_COMMITS_LIMIT = 250

#: Repository roles that may push (``permission`` reports maintain as ``write``).
_PUSH_ROLES = frozenset({"admin", "maintain", "write"})


def _git_url(base_url: str, repository: str) -> str:
    """``https://github.com/o/r.git`` for api.github.com; ``https://HOST/o/r.git`` for GHES."""
    root = base_url.rstrip("/")
    if root == "https://api.github.com":
        return f"https://github.com/{repository}.git"
    return f"{root.removesuffix('/api/v3')}/{repository}.git"


def token_from_environment() -> str:
    """``GITHUB_TOKEN`` (or ``GH_TOKEN``); raises :class:`ForgeError` when neither is set."""
    token = os.environ.get("GITHUB_TOKEN") or os.environ.get("GH_TOKEN")
    if not token:
        raise ForgeError(
            "no GitHub token: set GITHUB_TOKEN (a GitHub App installation token is preferred)",
            advice=_PERMISSION_ADVICE,
        )
    return token


_APP_KEY_ADVICE = (
    "pass --app-private-key (or $MENDBOT_APP_PRIVATE_KEY_FILE) the PEM file generated under the "
    "GitHub App's settings, 'Private keys' (an RSA key, `-----BEGIN RSA PRIVATE KEY-----`)"
)


def _read_app_key(path: Path) -> str:
    """The PEM text of the App's RSA private key, checked before anything is signed."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ForgeError(
            f"cannot read the GitHub App private key {path}: {exc}", advice=_APP_KEY_ADVICE
        ) from None
    try:
        key = serialization.load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ForgeError(
            f"the GitHub App private key {path} is not an unencrypted PEM private key ({exc})",
            advice=_APP_KEY_ADVICE,
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ForgeError(
            f"the GitHub App private key {path} is not an RSA key (GitHub Apps sign with RS256)",
            advice=_APP_KEY_ADVICE,
        )
    return text


def installation_token(
    repository: str,
    app_id: str,
    private_key_file: Path,
    installation_id: int | None = None,
    *,
    base_url: str = "https://api.github.com",
    retry: GithubRetry | int | None = None,
) -> str:
    """A GitHub App installation token for ``repository``.

    The App authenticates with a short-lived RS256 JWT signed by its private key; the installation
    is ``installation_id`` or, when not given, the one ``GET /repos/{owner}/{repo}/installation``
    names. The token lasts an hour, which is longer than a ``propose`` run.
    """
    pem = _read_app_key(private_key_file)
    if retry is None:
        retry = GithubRetry(total=5, max_rate_limit_wait=120)
    integration = GithubIntegration(
        auth=Auth.AppAuth(app_id, pem), base_url=base_url, retry=retry, timeout=15
    )
    owner, _, name = repository.partition("/")
    try:
        if installation_id is None:
            installation_id = int(integration.get_repo_installation(owner, name).id)
        return str(integration.get_access_token(installation_id).token)
    except GithubException as exc:
        message = exc.data.get("message") if isinstance(exc.data, dict) else exc.data
        if exc.status == 401:
            raise ForgeError(
                f"GitHub refused the GitHub App {app_id}'s JWT: HTTP 401 {message}",
                advice="check that --app-id is the App's id (or client id) and that the private "
                "key belongs to that App (a revoked key is refused too), and that this machine's "
                "clock is right: the JWT is valid for at most 10 minutes",
            ) from None
        if exc.status == 404:
            what = (
                f"has no installation {installation_id}"
                if installation_id is not None
                else f"is not installed on {repository}"
            )
            raise ForgeError(
                f"the GitHub App {app_id} {what}: HTTP 404 {message}",
                advice=f"install the App on {repository} (the App's settings, 'Install App', or "
                "the organisation's Settings, 'GitHub Apps', 'Configure', 'Repository access'), "
                "or pass the right --installation-id",
            ) from None
        raise _wrap("issue a GitHub App installation token", exc) from None
    except requests.exceptions.RequestException as exc:
        raise _wrap("issue a GitHub App installation token", exc) from None
    finally:
        integration.close()


def _scrub(exc: Exception, token: str) -> str:
    return str(exc).replace(token, "***")
