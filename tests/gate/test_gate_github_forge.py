"""The gate's side of :class:`GitHubForge` (``GateForge``): real PyGithub, real ``git fetch``.

Everything goes to the fake GitHub on 127.0.0.1: REST responses are validated against GitHub's
OpenAPI description, GraphQL queries against GitHub's GraphQL schema, and the fixture asserts
that no request hit a route the fake does not serve and no response broke its schema.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from fakegithub import TOKEN, FakeGitHub
from github import Auth, Github

from bot.forge.github.forge import GitHubForge
from bot.forge.interface import ForgeError, GateForge, PullInfo, PullState, Review
from bot.protocol import GATE_LABELS, STATUS_CONTEXT

REPO = "octo/project"


@pytest.fixture
def source(make_repo):
    """``main`` with two commits and ``feature`` one commit ahead of it."""
    repo = make_repo("source")
    repo.write("README.md", "# project\n")
    repo.commit("initial")
    repo.write("policy.yml", "rules: []\n")
    repo.commit("policy")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("app.py", "print('hi')\n")
    repo.commit("feature")
    repo.git("checkout", "-q", "main")
    return repo


@pytest.fixture
def workdir(source, tmp_path: Path) -> Path:
    """The gate's local repository: ``main`` only, so the pull request's head is not there."""
    path = tmp_path / "work"
    subprocess.run(
        [
            "git",
            "clone",
            "-q",
            "--no-local",
            "--single-branch",
            "-b",
            "main",
            str(source.path),
            str(path),
        ],
        check=True,
    )
    return path


@pytest.fixture
def forge(github: FakeGitHub, source, workdir: Path) -> GitHubForge:
    github.add_repo(REPO, source.path)
    return GitHubForge(REPO, workdir, TOKEN, base_url=github.base_url, throttle=False, retry=0)


def _git(path: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=path, capture_output=True, text=True, check=check)


def _push_to(github: FakeGitHub, branch: str, tmp_path: Path, name: str = "more.txt") -> str:
    """A human pushes one more commit to ``branch`` on the fake; returns the new head."""
    clone = tmp_path / f"push-{name}"
    bare = github.repos[REPO].bare
    subprocess.run(["git", "clone", "-q", "-b", branch, str(bare), str(clone)], check=True)
    (clone / name).write_text("more\n")
    _git(clone, "add", "-A")
    _git(clone, "commit", "-q", "-m", "more")
    _git(clone, "push", "-q", "origin", "HEAD")
    return _git(clone, "rev-parse", "HEAD").stdout.strip()


def _since(github: FakeGitHub, start: int) -> list[str]:
    return github.requests[start:]


def test_github_forge_is_a_gate_forge(forge) -> None:
    assert isinstance(forge, GateForge)
    assert not GitHubForge.__abstractmethods__
    assert forge.workdir.is_dir()


# -- pull_info, fetch ---------------------------------------------------------------------------


def test_pull_info_fields(github, forge, source) -> None:
    github.add_pull(
        REPO, "feature", title="Add app", body="why", author="alice", draft=True, labels=["x"]
    )
    info = forge.pull_info(1)
    assert info == PullInfo(
        number=1,
        title="Add app",
        body="why",
        author="alice",
        state=PullState.OPEN,
        draft=True,
        head_ref="feature",
        head_sha=source.git("rev-parse", "feature"),
        base_ref="main",
        base_sha=source.git("rev-parse", "main"),
        labels=("x",),
    )
    github.repos[REPO].pulls[1].state = "closed"
    assert forge.pull_info(1).state is PullState.CLOSED
    github.repos[REPO].pulls[1].merged = True
    assert forge.pull_info(1).state is PullState.MERGED


def test_pull_info_reads_the_base_tip_now(github, forge, tmp_path) -> None:
    github.add_pull(REPO, "feature", author="alice")
    moved = _push_to(github, "main", tmp_path)
    assert forge.pull_info(1).base_sha == moved


def test_pull_info_of_a_missing_pull_request(github, forge) -> None:
    with pytest.raises(ForgeError, match="HTTP 404") as caught:
        forge.pull_info(42)
    assert "pull-requests: read" in caught.value.diagnostics()
    assert "GET /api/v3/repos/octo/project/pulls/42" in github.requests


def test_fetch_makes_both_commits_readable_without_touching_the_work_tree(
    github, forge, workdir
) -> None:
    github.add_pull(REPO, "feature", author="alice")
    info = forge.pull_info(1)
    assert _git(workdir, "cat-file", "-e", f"{info.head_sha}^{{commit}}", check=False).returncode
    before = (
        _git(workdir, "rev-parse", "HEAD").stdout,
        _git(workdir, "status", "--porcelain", "--untracked-files=all").stdout,
        sorted(p.name for p in workdir.iterdir()),
    )
    forge.fetch(info)
    for sha in (info.base_sha, info.head_sha):
        assert _git(workdir, "cat-file", "-e", f"{sha}^{{commit}}", check=False).returncode == 0
    assert (
        _git(workdir, "rev-parse", f"refs/mendbot/gate/pr-{info.number}/head").stdout.strip()
        == info.head_sha
    )
    after = (
        _git(workdir, "rev-parse", "HEAD").stdout,
        _git(workdir, "status", "--porcelain", "--untracked-files=all").stdout,
        sorted(p.name for p in workdir.iterdir()),
    )
    assert after == before
    assert "app.py" not in after[2]
    # The token never lands in the repository's configuration.
    assert TOKEN not in (workdir / ".git" / "config").read_text()


def test_fetch_reads_the_pull_ref(github, forge, workdir, tmp_path) -> None:
    # GitHub keeps refs/pull/<n>/head for every pull request (a fork's too): the fetch uses it,
    # and the fake moves it with the head branch (on its next git request, as the push in
    # this test goes straight to the bare repository).
    github.add_pull(REPO, "feature", author="alice")
    repo = github.repos[REPO]
    assert github.sha(repo, "refs/pull/1/head") == github.sha(repo, "refs/heads/feature")
    moved = _push_to(github, "feature", tmp_path)
    forge.fetch(forge.pull_info(1))
    assert github.sha(repo, "refs/pull/1/head") == moved
    head = _git(workdir, "rev-parse", "refs/mendbot/gate/pr-1/head").stdout.strip()
    assert head == moved


def test_fetch_refuses_when_the_head_moved(github, forge, workdir, tmp_path) -> None:
    github.add_pull(REPO, "feature", author="alice")
    info = forge.pull_info(1)
    moved = _push_to(github, "feature", tmp_path)
    with pytest.raises(ForgeError, match="moved") as caught:
        forge.fetch(info)
    assert moved[:12] in str(caught.value)
    assert "rerun" in caught.value.diagnostics()
    assert TOKEN not in caught.value.diagnostics()


def test_fetch_accepts_a_base_that_moved_forward(github, forge, workdir, tmp_path) -> None:
    github.add_pull(REPO, "feature", author="alice")
    info = forge.pull_info(1)
    _push_to(github, "main", tmp_path)
    forge.fetch(info)  # the old base tip is still readable: the decision stays well defined
    assert _git(workdir, "cat-file", "-e", info.base_sha, check=False).returncode == 0


def test_fetch_failure_is_scrubbed(github, forge) -> None:
    github.add_pull(REPO, "feature", author="alice")
    info = forge.pull_info(1)
    gone = PullInfo(**{**info.__dict__, "base_ref": "no-such-branch"})
    with pytest.raises(ForgeError, match="cannot fetch pull request #1") as caught:
        forge.fetch(gone)
    assert TOKEN not in caught.value.diagnostics()
    assert "contents: read" in caught.value.diagnostics()


# -- reviews, teams, labelled pull requests ----------------------------------------------------


def test_reviews_oldest_first_with_their_fields(github, forge) -> None:
    github.add_pull(REPO, "feature", author="alice")
    head = forge.pull_info(1).head_sha
    github.add_review(REPO, 1, "bob", "CHANGES_REQUESTED", submitted_at="2026-01-01T10:00:00Z")
    github.add_review(REPO, 1, "carol", "COMMENTED", "0" * 40, "2026-01-01T11:00:00Z")
    github.add_review(REPO, 1, "bob", "APPROVED", submitted_at="2026-01-02T09:30:00Z")
    assert forge.reviews(1) == [
        Review("bob", "CHANGES_REQUESTED", head, "2026-01-01T10:00:00Z"),
        Review("carol", "COMMENTED", "0" * 40, "2026-01-01T11:00:00Z"),
        Review("bob", "APPROVED", head, "2026-01-02T09:30:00Z"),
    ]


def test_reviews_follow_every_page(github, forge) -> None:
    github.add_pull(REPO, "feature", author="alice")
    for i in range(105):
        github.add_review(
            REPO,
            1,
            f"user{i}",
            "COMMENTED",
            submitted_at=f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}Z",
        )
    start = len(github.requests)
    reviews = forge.reviews(1)
    assert [r.user for r in reviews] == [f"user{i}" for i in range(105)]
    pages = [r for r in _since(github, start) if r.endswith("/pulls/1/reviews")]
    assert len(pages) == 2


def test_reviews_of_no_one(github, forge) -> None:
    github.add_pull(REPO, "feature", author="alice")
    assert forge.reviews(1) == []


def test_team_memberships(github, forge) -> None:
    github.teams = {"octo/security": {"alice"}, "octo/platform": {"alice", "bob"}}
    github.pending_members = {"octo/security": {"bob"}}  # invited, not yet a member
    found = forge.team_memberships(["alice", "bob", "carol"], ["security", "platform"])
    assert found == {
        "alice": ("security", "platform"),
        "bob": ("platform",),
        "carol": (),
    }
    asked = [r for r in github.requests if "/memberships/" in r]
    assert len(asked) == 6
    assert all(r.startswith("GET /api/v3/orgs/octo/teams/") for r in asked)


def test_team_memberships_of_another_organisation_and_no_teams(github, forge) -> None:
    github.teams = {"other-org/admins": {"dave"}}
    assert forge.team_memberships(["dave"], ["other-org/admins", "admins"]) == {
        "dave": ("other-org/admins",)
    }
    start = len(github.requests)
    assert forge.team_memberships(["dave", "erin"], []) == {"dave": (), "erin": ()}
    assert _since(github, start) == []


def test_team_memberships_without_permission(github, forge) -> None:
    github.faults["teams/get-membership-for-user-in-org"] = [403]
    with pytest.raises(ForgeError, match="HTTP 403") as caught:
        forge.team_memberships(["alice"], ["security"])
    assert "members: read" in caught.value.diagnostics()


def test_open_pulls_with_label(github, forge, source) -> None:
    repo = github.repos[REPO]
    github.git(repo, "branch", "other", "feature")
    github.git(repo, "branch", "third", "feature")
    github.add_pull(REPO, "feature", author="alice", labels=["freeze:prod"])
    github.add_pull(REPO, "other", author="bob", labels=["misc"])
    closed = github.add_pull(REPO, "third", author="carol", labels=["freeze:prod", "x"])
    closed.state = "closed"
    github.add_pull(REPO, "feature", author="dave", labels=["misc", "freeze:prod"], draft=True)
    found = forge.open_pulls_with_label("freeze:prod")
    assert [(p.number, p.author, p.draft) for p in found] == [
        (1, "alice", False),
        (4, "dave", True),
    ]
    assert found[1].labels == ("misc", "freeze:prod")
    assert found[0].base_sha == source.git("rev-parse", "main")
    assert forge.open_pulls_with_label("nothing") == []


# -- status, label, comment ---------------------------------------------------------------------


def _reader(github: FakeGitHub) -> Github:
    return Github(auth=Auth.Token(TOKEN), base_url=github.base_url, retry=0)


def test_set_status_posts_the_gate_context(github, forge, source) -> None:
    sha = source.git("rev-parse", "feature")
    start = len(github.requests)
    forge.set_status(sha, "pending", "evaluating", "https://ci.example.test/run/1")
    assert _since(github, start) == [f"POST /api/v3/repos/{REPO}/statuses/{sha}"]
    forge.set_status(sha, "success", "2 policies passed")
    # Read back through GitHub's own routes (combined status: the newest per context).
    requester = _reader(github).requester
    _, combined = requester.requestJsonAndCheck("GET", f"/repos/{REPO}/commits/{sha}/status")
    assert combined["state"] == "success"
    assert [(s["context"], s["state"], s["description"]) for s in combined["statuses"]] == [
        (STATUS_CONTEXT, "success", "2 policies passed")
    ]
    _, history = requester.requestJsonAndCheck("GET", f"/repos/{REPO}/commits/{sha}/statuses")
    assert [(s["state"], s["target_url"]) for s in history] == [
        ("success", None),
        ("pending", "https://ci.example.test/run/1"),
    ]


def test_set_status_truncates_a_long_description(github, forge, source) -> None:
    sha = source.git("rev-parse", "feature")
    forge.set_status(sha, "failure", "blocked: " + "x" * 300)
    status = github.repos[REPO].statuses[sha][-1]
    assert len(status["description"]) == 140
    assert status["description"].endswith("\u2026")
    assert status["description"].startswith("blocked: xxx")
    assert status["context"] == STATUS_CONTEXT
    # Exactly 140 characters is kept as it is.
    forge.set_status(sha, "failure", "y" * 140)
    assert github.repos[REPO].statuses[sha][-1]["description"] == "y" * 140


def test_set_status_on_an_unknown_commit(github, forge) -> None:
    with pytest.raises(ForgeError, match="HTTP 422"):
        forge.set_status("1" * 40, "success", "ok")
    with pytest.raises(ForgeError, match="not a commit status state"):
        forge.set_status("1" * 40, "green", "ok")


def test_set_gate_label_replaces_only_gate_labels(github, forge) -> None:
    pull = github.add_pull(
        REPO, "feature", labels=["mendbot", "gate:blocked", "risk:low", "gate:needs-approval"]
    )
    start = len(github.requests)
    forge.set_gate_label(1, "gate:pass")
    assert pull.labels == ["mendbot", "risk:low", "gate:pass"]
    assert _since(github, start) == [
        f"GET /api/v3/repos/{REPO}/issues/1/labels",
        f"POST /api/v3/repos/{REPO}/issues/1/labels",
        f"DELETE /api/v3/repos/{REPO}/issues/1/labels/gate:needs-approval",
        f"DELETE /api/v3/repos/{REPO}/issues/1/labels/gate:blocked",
    ]
    # Already right: one read, no write.
    start = len(github.requests)
    forge.set_gate_label(1, "gate:pass")
    assert _since(github, start) == [f"GET /api/v3/repos/{REPO}/issues/1/labels"]
    assert pull.labels == ["mendbot", "risk:low", "gate:pass"]
    forge.set_gate_label(1, "gate:needs-approval")
    assert pull.labels == ["mendbot", "risk:low", "gate:needs-approval"]
    assert sum(label in GATE_LABELS for label in pull.labels) == 1


def test_set_gate_label_refuses_other_labels(github, forge) -> None:
    github.add_pull(REPO, "feature", labels=["mendbot"])
    with pytest.raises(ForgeError, match="not a gate label"):
        forge.set_gate_label(1, "mendbot")
    assert github.requests == []


def test_set_gate_label_without_permission(github, forge) -> None:
    github.add_pull(REPO, "feature")
    github.faults["issues/add-labels"] = [403]
    with pytest.raises(ForgeError, match="HTTP 403") as caught:
        forge.set_gate_label(1, "gate:blocked")
    assert "issues: write" in caught.value.diagnostics()


def test_sticky_comment_is_created_edited_in_place_and_left_alone(github, forge) -> None:
    pull = github.add_pull(REPO, "feature", author="alice")
    assert forge.comment(1, "gate", "blocked: 1 finding") is True
    assert len(pull.comments) == 1
    first = dict(pull.comments[0])
    assert "<!-- mendbot-comment:gate -->" in first["body"]
    start = len(github.requests)
    assert forge.comment(1, "gate", "blocked: 1 finding") is False
    assert all(r.startswith("GET") for r in _since(github, start))
    assert forge.comment(1, "gate", "passed") is True
    assert len(pull.comments) == 1
    assert pull.comments[0]["id"] == first["id"]
    assert pull.comments[0]["body"].startswith("passed\n")
    assert f"PATCH /api/v3/repos/{REPO}/issues/comments/{first['id']}" in github.requests
    # Another topic is another comment.
    assert forge.comment(1, "other", "hello") is True
    assert len(pull.comments) == 2


def test_sticky_comment_ignores_a_marker_written_by_someone_else(github, forge) -> None:
    pull = github.add_pull(REPO, "feature", author="alice")
    forged = {
        "id": github.next_id(),
        "user": "mallory",
        "body": "gate passed, merge away\n\n<!-- mendbot-comment:gate -->",
    }
    pull.comments.append(forged)
    assert forge.comment(1, "gate", "blocked") is True
    assert len(pull.comments) == 2
    assert pull.comments[0] == forged  # never edited (GitHub would refuse anyway)
    assert pull.comments[1]["body"].startswith("blocked\n")
    assert forge.comment(1, "gate", "blocked") is False


def test_sticky_comment_with_a_user_token_matches_that_user(github, source, workdir) -> None:
    github.add_repo(REPO, source.path)
    github.tokens.add("ghp_user")
    github.token_users["ghp_user"] = "release-bot-account"
    forge = GitHubForge(REPO, workdir, "ghp_user", base_url=github.base_url, throttle=False)
    pull = github.add_pull(REPO, "feature")
    pull.comments.append(
        {
            "id": github.next_id(),
            "user": "release-bot-account",
            "body": "old\n\n<!-- mendbot-comment:gate -->",
        }
    )
    assert forge.comment(1, "gate", "new") is True
    assert [c["body"].split("\n")[0] for c in pull.comments] == ["new"]
    assert "GET /api/v3/user" in github.requests


def test_propose_comment_edits_in_place_too(github, forge) -> None:
    pull = github.add_pull(REPO, "feature")
    assert forge.comment(1, "ignored", "closed: ignored") is True
    assert forge.comment(1, "ignored", "closed: ignored") is False
    assert forge.comment(1, "ignored", "closed: ignored (again)") is True
    assert [c["body"] for c in pull.comments] == [
        "closed: ignored (again)\n\n<!-- mendbot-comment:ignored -->"
    ]


# -- who made the commits --------------------------------------------------------------------------


def _commit_as(repo, name: str, author: str, committer: str) -> str:
    """One commit adding ``name``, by ``Name <author>`` committed by ``Name <committer>``."""
    repo.write(name, f"{name}\n")
    repo.git("add", "-A")
    env = {
        "GIT_AUTHOR_NAME": author.split("@")[0],
        "GIT_AUTHOR_EMAIL": author,
        "GIT_COMMITTER_NAME": committer.split("@")[0],
        "GIT_COMMITTER_EMAIL": committer,
    }
    subprocess.run(
        ["git", "commit", "-q", "-m", name], cwd=repo.path, env={**os.environ, **env}, check=True
    )
    return str(repo.git("rev-parse", "HEAD"))


def test_commit_people_ties_a_commit_to_an_account_only_when_github_vouches(
    github, forge, source
) -> None:
    app = "9+mendbot[bot]@users.noreply.github.com"
    github.accounts = {
        "author@example.test": "carol",
        "alice@example.test": "alice",
        "noreply@github.com": "web-flow",
        app: "mendbot[bot]",
    }
    source.git("checkout", "-q", "feature")
    web = _commit_as(source, "web.txt", "alice@example.test", "noreply@github.com")
    web_forged = _commit_as(source, "forged.txt", "alice@example.test", "noreply@github.com")
    unlinked = _commit_as(source, "unlinked.txt", "alice@home.example", "alice@example.test")
    app_forged = _commit_as(source, "app.txt", app, app)
    app_made = _commit_as(source, "app2.txt", app, app)
    source.git("checkout", "-q", "main")
    source.git("push", "-q", "--force", str(github.repos[REPO].bare), "feature:refs/heads/feature")
    github.verified_commits.update({web, app_made})
    github.add_pull(REPO, "feature", author="carol")
    pull = forge.pull_info(1)
    people = {c.sha: c for c in forge.commit_people(pull, pull.base_sha)}
    oldest_first = [source.git("rev-parse", f"feature~{n}") for n in range(5, -1, -1)]
    assert list(people) == oldest_first
    assert (people[web].author, people[web].committer) == ("alice", "alice")
    assert (people[web_forged].author, people[web_forged].committer) == ("alice", None)
    assert (people[unlinked].author, people[unlinked].committer) == (None, "alice")
    assert (people[app_forged].author, people[app_forged].committer) == (None, None)
    assert (people[app_made].author, people[app_made].verified_bot) == ("mendbot[bot]", False)
    # An installation token does not say which account is the bot's (GET /user: 403), so only
    # a forge told its bot login vouches for a verified commit of that account.
    fresh = GitHubForge(
        REPO,
        forge.workdir,
        TOKEN,
        base_url=github.base_url,
        throttle=False,
        retry=0,
        bot_login="mendbot[bot]",
    )
    assert [c.verified_bot for c in fresh.commit_people(pull, pull.base_sha)] == [
        False,
        False,
        False,
        False,
        False,
        True,
    ]


def test_commit_people_refuses_a_pull_request_longer_than_github_lists(
    github, forge, source
) -> None:
    # 251 commits: GitHub lists the first 250 only, so whoever made the last is not in its answer.
    source.git("checkout", "-q", "feature")
    head, tree = source.git("rev-parse", "HEAD"), source.git("rev-parse", "HEAD^{tree}")
    for n in range(250):
        head = source.git("commit-tree", tree, "-p", head, "-m", f"step {n}")
    source.git("update-ref", "refs/heads/feature", head)
    source.git("checkout", "-q", "main")
    source.git("push", "-q", "--force", str(github.repos[REPO].bare), "feature:refs/heads/feature")
    github.add_pull(REPO, "feature")
    pull = forge.pull_info(1)
    with pytest.raises(ForgeError, match="#1 has 250 commits or more"):
        forge.commit_people(pull, pull.base_sha)


def test_last_push_approval_is_read_from_the_branch_rules(github, forge) -> None:
    assert forge.last_push_approval_required("main") is False
    github.required_checks["main"] = ["mendbot/policy"]
    assert forge.last_push_approval_required("main") is False
    github.last_push_approval.add("main")
    assert forge.last_push_approval_required("main") is True
    assert forge.last_push_approval_required("release") is False


# -- auto-merge -----------------------------------------------------------------------------------


def test_auto_merge_refused_without_a_rule_requiring_the_gate(github, forge) -> None:
    github.add_pull(REPO, "feature")
    head = forge.pull_info(1).head_sha
    github.required_checks["main"] = ["ci/test"]  # a required check, but not the gate's
    with pytest.raises(ForgeError, match="no branch rule on main requires the mendbot/policy"):
        forge.enable_auto_merge(1, head, "squash")
    github.required_checks.clear()
    with pytest.raises(ForgeError, match="auto-merge refused") as caught:
        forge.enable_auto_merge(1, head, "squash")
    assert "ruleset" in caught.value.diagnostics()
    assert github.repos[REPO].pulls[1].auto_merge is None
    assert github.graphql == []


def test_auto_merge_refused_when_the_repository_disallows_it(github, forge) -> None:
    github.add_pull(REPO, "feature")
    head = forge.pull_info(1).head_sha
    github.required_checks["main"] = ["ci/test", STATUS_CONTEXT]
    github.repos[REPO].allow_auto_merge = False
    with pytest.raises(ForgeError, match="Auto merge is not allowed") as caught:
        forge.enable_auto_merge(1, head, "squash")
    assert "Allow auto-merge" in caught.value.diagnostics()
    assert github.repos[REPO].pulls[1].auto_merge is None


def test_auto_merge_refused_when_the_head_moved(github, forge, tmp_path) -> None:
    github.add_pull(REPO, "feature")
    head = forge.pull_info(1).head_sha
    github.required_checks["main"] = [STATUS_CONTEXT]
    _push_to(github, "feature", tmp_path)
    with pytest.raises(ForgeError, match="does not match") as caught:
        forge.enable_auto_merge(1, head, "merge")
    assert "rerun" in caught.value.diagnostics()
    assert github.repos[REPO].pulls[1].auto_merge is None


def test_auto_merge_refused_when_nothing_is_pending(github, forge) -> None:
    # GitHub will not arm auto-merge on a pull request that could be merged right now.
    github.add_pull(REPO, "feature")
    head = forge.pull_info(1).head_sha
    github.required_checks["main"] = [STATUS_CONTEXT]
    forge.set_status(head, "success", "passed")
    with pytest.raises(ForgeError, match="clean status") as caught:
        forge.enable_auto_merge(1, head, "squash")
    assert "pending" in caught.value.diagnostics()


def test_auto_merge_enabled(github, forge) -> None:
    github.add_pull(REPO, "feature")
    head = forge.pull_info(1).head_sha
    github.required_checks["main"] = ["ci/test", STATUS_CONTEXT]
    forge.set_status(head, "pending", "evaluating")
    assert forge.enable_auto_merge(1, head, "Squash") == (
        f"auto-merge (squash) enabled on #1 at {head[:12]}"
    )
    recorded = github.repos[REPO].pulls[1].auto_merge
    assert recorded is not None
    assert (recorded["merge_method"], recorded["expected_head"]) == ("squash", head)
    (request,) = github.graphql
    assert "enablePullRequestAutoMerge" in request["query"]
    assert request["variables"]["input"] == {
        "pullRequestId": "PR_kw1",
        "mergeMethod": "SQUASH",
        "expectedHeadOid": head,
    }
    # The pull request now shows it (pulls/get renders auto_merge).
    pr = _reader(github).get_repo(REPO).get_pull(1)
    assert pr.auto_merge is not None
    assert pr.auto_merge["merge_method"] == "squash"


def test_auto_merge_rejects_an_unknown_method(github, forge) -> None:
    with pytest.raises(ForgeError, match="unknown merge method"):
        forge.enable_auto_merge(1, "0" * 40, "fast-forward")
    assert github.requests == []


# -- the fake's GraphQL endpoint ----------------------------------------------------------------


def test_fake_graphql_validates_against_githubs_schema(github, forge) -> None:
    requester = _reader(github).requester
    with pytest.raises(Exception, match="400"):
        requester.graphql_query("mutation { enablePullRequestAutoMerge(input: {}) { bogus } }", {})
    assert len(github.failures) == 1
    assert "bogus" in github.failures[0]
    github.failures.clear()
    with pytest.raises(Exception, match="400"):
        requester.graphql_query("query { viewer { login } }", {})
    assert github.unhandled == [f"POST {github.graphql_path} viewer"]
    github.unhandled.clear()
    with pytest.raises(Exception, match="Could not resolve"):
        requester.graphql_named_mutation(
            "enablePullRequestAutoMerge",
            {"pullRequestId": "PR_nope", "mergeMethod": "MERGE"},
            "clientMutationId",
        )
