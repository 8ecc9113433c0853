"""The gate's side of GitHub: reviews, commits, team memberships, status, label, auto-merge.

It reads pull requests, reviews and team memberships, fetches the base tip and
``refs/pull/<n>/head`` into the local repository (objects only, no checkout), reports the
``mendbot/policy`` commit status and one gate label, and enables auto-merge through GraphQL
(``enablePullRequestAutoMerge`` with the expected head) only when a branch ruleset on the base
branch requires that status.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import quote

import requests
from github import (
    GithubException,
    UnknownObjectException,
)

from bot.forge.github.client import (
    GITHUB_TIME,
    READ_ADVICE,
    GitHubClient,
    is_bot_account,
    scrub,
    wrap_error,
)
from bot.forge.interface import (
    CommitPeople,
    CommitState,
    ForgeError,
    PullInfo,
    PullState,
    Review,
)
from bot.git import GitError
from bot.protocol import BOT_EMAIL, BOT_NAME, GATE_LABELS, STATUS_CONTEXT

_STATUS_ADVICE = "the token needs `statuses: write` to report the mendbot/policy commit status"

_LABEL_ADVICE = "the token needs `issues: write` (or `pull-requests: write`) to set gate labels"

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
    if (kind == "Bot" or is_bot_account(str(login))) and not verified:
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


class GitHubDecisions(GitHubClient):
    """What the gate reads and reports (:class:`~bot.forge.interface.GateForge`'s operations)."""

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
            f"read pull request #{number}", self._info, pr, {}, advice=READ_ADVICE
        )
        return info

    def fetch(self, pull: PullInfo) -> None:
        """``git fetch`` of the base branch and ``refs/pull/<n>/head`` (which exists for every
        pull request, from a fork too) into ``refs/mendbot/gate/pr-<n>/``; no working tree is
        touched. Raises :class:`ForgeError` when the head is no longer ``pull.head_sha``."""
        prefix = f"refs/mendbot/gate/pr-{pull.number}"
        base_ref, head_ref = f"{prefix}/base", f"{prefix}/head"
        try:
            self._git(
                "fetch",
                "--no-tags",
                "-q",
                self._git_url,
                f"+refs/heads/{pull.base_ref}:{base_ref}",
                f"+refs/pull/{pull.number}/head:{head_ref}",
            )
            head = self._git("rev-parse", "--verify", "-q", f"{head_ref}^{{commit}}")
            base = self._git("rev-parse", "--verify", "-q", f"{base_ref}^{{commit}}")
        except GitError as exc:
            raise ForgeError(
                f"cannot fetch pull request #{pull.number}: {scrub(exc, self._token)}",
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
                self._git("cat-file", "-e", f"{pull.base_sha}^{{commit}}")
            except GitError:
                raise ForgeError(
                    f"the base branch {pull.base_ref} of #{pull.number} moved from "
                    f"{pull.base_sha[:12]} to {base[:12]} and the old tip is gone",
                    advice="rerun the gate",
                ) from None

    def reviews(self, number: int) -> list[Review]:
        """``GET /pulls/{n}/reviews`` (every page), in GitHub's order: oldest first."""
        pr = self._repo.get_pull(number)  # lazy: no request
        found = self._call(
            f"list the reviews of #{number}", lambda: list(pr.get_reviews()), advice=READ_ADVICE
        )
        return [
            Review(
                user=str(r.user.login) if r.user is not None else "ghost",
                state=str(r.state),
                commit_id=str(r.commit_id or ""),
                submitted_at=r.submitted_at.strftime(GITHUB_TIME) if r.submitted_at else "",
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
            advice=READ_ADVICE,
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
                if is_bot_account(people.author) and self._is_bot_login(people.author):
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
            advice=READ_ADVICE,
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
                    raise wrap_error(
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
            self._git("fetch", "--no-tags", "-q", self._git_url, f"+refs/heads/{name}:{ref}")
            sha = self._git("rev-parse", "--verify", "-q", f"{ref}^{{commit}}")
        except GitError as exc:
            raise ForgeError(
                f"cannot fetch the default branch {name}: {scrub(exc, self._token)}",
                advice="the token needs `contents: read` on the repository",
            ) from None
        return name, sha

    def open_pulls_at_head(self, sha: str) -> list[tuple[int, str]]:
        """``GET /commits/{sha}/pulls``, kept to the open ones whose head is ``sha``."""
        commit = self._repo.get_commit(sha)  # lazy: no request
        pulls = self._call(
            f"list the pull requests of {sha[:12]}",
            lambda: list(commit.get_pulls()),
            advice=READ_ADVICE,
        )
        return [
            (int(pr.number), str(pr.base.ref))
            for pr in pulls
            if pr.state == "open" and pr.head.sha == sha
        ]

    def merged_pull(self, sha: str) -> PullInfo | None:
        """``GET /commits/{sha}/pulls``, kept to the one GitHub merged as ``sha``
        (``merge_commit_sha``); its base is the commit's first parent (fetched)."""
        commit = self._repo.get_commit(sha)  # lazy: no request
        pulls = self._call(
            f"list the pull requests of {sha[:12]}",
            lambda: list(commit.get_pulls()),
            advice=READ_ADVICE,
        )
        for pr in pulls:
            if pr.merged_at is None or pr.merge_commit_sha != sha:
                continue
            parent = self._git("rev-parse", "--verify", f"{sha}^1")
            info: PullInfo = self._call(
                f"read pull request #{pr.number}", self._info, pr, {}, advice=READ_ADVICE
            )
            return replace(info, base_sha=parent)
        return None

    def open_pull_numbers(self) -> list[int]:
        """``GET /pulls?state=open`` (every author), by number."""
        numbers: list[int] = self._call(
            "list open pull requests",
            lambda: [pr.number for pr in self._repo.get_pulls(state="open")],
            advice=READ_ADVICE,
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
                raise wrap_error(f"read {user}'s permission", exc, READ_ADVICE) from None
            except requests.exceptions.RequestException as exc:
                raise wrap_error(f"read {user}'s permission", exc, READ_ADVICE) from None
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

        pulls: list[PullInfo] = self._call("list open pull requests", collect, advice=READ_ADVICE)
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
            advice=READ_ADVICE,
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
            advice=READ_ADVICE,
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
            raise wrap_error(f"enable auto-merge on #{number}", exc) from None
        return f"auto-merge ({method}) enabled on #{number} at {head_sha[:12]}"
