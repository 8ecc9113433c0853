"""``mendbot inventory github --repository OWNER/NAME --out REPO`` as users meet it: a real
process reads the fake GitHub (every answer validated against GitHub's OpenAPI description) with
a token from the environment, and writes the ``github-settings`` and ``github-nhi`` inventory
files; the bytes on disk are checked. It sends GET requests only; failures (a token missing a
permission, a bad token, an unknown repository, an unreachable server, a bad ``--out``, a
symlinked folder) exit 2 with one clear line and write nothing."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from fakegithub import FakeGitHub
from github_inventory import NHI, REPOSITORY, SETTINGS, inventory_env, seed

from bot.desired import GithubNhi, GithubSettings, parse_desired
from clirun import run_mendbot

EXPECTED_SETTINGS = """\
# Actions settings of GitHub repository acme/app, as `mendbot inventory github`
# observed them. Remediations change these values; `mendbot deploy` applies merged
# changes. Rerun the inventory to refresh.
kind: github-settings
version: 1
repository: "acme/app"
actions:
  default_workflow_permissions: write
  can_approve_pull_request_reviews: true
  allowed_actions: all
"""
EXPECTED_NHI = """\
# Non-human identities of GitHub repository acme/app (Actions secrets and variables,
# deploy keys, environments), as `mendbot inventory github` observed them. Secret values
# are never readable; removing a secret here asks for its deletion (irreversible).
kind: github-nhi
version: 1
repository: "acme/app"
secrets:
  - name: NPM_TOKEN
    created_at: "2024-02-01T10:00:00Z"
    updated_at: "2024-06-01T10:00:00Z"
  - name: OLD_DEPLOY_TOKEN
    created_at: "2021-03-02T09:14:00Z"
    updated_at: "2021-03-02T09:14:00Z"
variables:
  - name: REGION
    created_at: "2025-01-01T00:00:00Z"
    updated_at: "2025-01-01T00:00:00Z"
deploy_keys:
  - id: 42
    title: "mirror reader"
    read_only: true
    created_at: "2023-01-01T00:00:00Z"
    last_used: null
  - id: 71
    title: "release pusher"
    read_only: false
    created_at: "2022-05-05T08:00:00Z"
    last_used: "2026-11-30T12:00:00Z"
environments:
  - name: "production"
    protection_rules:
      - type: "required_reviewers"
        prevent_self_review: true
        reviewers:
          - "User:octocat"
      - type: "wait_timer"
        wait_timer: 30
    deployment_branch_policy:
      protected_branches: true
      custom_branch_policies: false
    secrets:
      - name: PROD_DB_PASSWORD
        created_at: "2025-01-01T00:00:00Z"
        updated_at: "2025-05-05T05:05:05Z"
"""


def _inventory(github: FakeGitHub, out: Path, *extra: str, token: str | None = None):
    env = inventory_env(github) if token is None else inventory_env(github, token)
    return run_mendbot(
        "inventory", "github", "--repository", REPOSITORY, "--out", str(out), *extra, env=env
    )


@pytest.fixture
def hub(github: FakeGitHub, make_repo) -> FakeGitHub:
    source = make_repo("source")
    source.write("README.md", "# app\n")
    source.commit("initial")
    seed(github, source.path)
    return github


def test_inventory_writes_settings_and_identities_with_get_requests_only(
    hub: FakeGitHub, tmp_path: Path
) -> None:
    out = tmp_path / "checkout"
    out.mkdir()
    hub.requests.clear()
    done = _inventory(hub, out)
    assert done.returncode == 0, done.stderr
    assert (out / SETTINGS).read_text() == EXPECTED_SETTINGS
    assert (out / NHI).read_text() == EXPECTED_NHI
    assert isinstance(parse_desired(SETTINGS, (out / SETTINGS).read_bytes()), GithubSettings)
    assert isinstance(parse_desired(NHI, (out / NHI).read_bytes()), GithubNhi)
    assert hub.requests, "the inventory asked GitHub nothing"
    assert {request.split()[0] for request in hub.requests} == {"GET"}
    assert f"wrote {SETTINGS}" in done.stderr and f"wrote {NHI}" in done.stderr
    assert "2 secrets, 1 variables, 2 deploy keys, 1 environments" in done.stderr


def test_a_rerun_on_an_unchanged_repository_changes_no_byte(
    hub: FakeGitHub, tmp_path: Path
) -> None:
    assert _inventory(hub, tmp_path).returncode == 0
    before = {p: (tmp_path / p).read_bytes() for p in (SETTINGS, NHI)}
    times = {p: (tmp_path / p).stat().st_mtime_ns for p in (SETTINGS, NHI)}
    again = _inventory(hub, tmp_path)
    assert again.returncode == 0, again.stderr
    assert {p: (tmp_path / p).read_bytes() for p in (SETTINGS, NHI)} == before
    assert {p: (tmp_path / p).stat().st_mtime_ns for p in (SETTINGS, NHI)} == times
    assert f"unchanged: {NHI}" in again.stderr


def test_a_rerun_keeps_the_suppressions_and_comments_people_wrote(
    hub: FakeGitHub, tmp_path: Path
) -> None:
    """Settings and identities are refreshed from GitHub; a person's comments stay on their
    entries, and one whose entry GitHub no longer lists is reported, not silently lost."""
    assert _inventory(hub, tmp_path).returncode == 0
    nhi, settings = tmp_path / NHI, tmp_path / SETTINGS
    decided_nhi = nhi.read_text().replace(
        "  - name: OLD_DEPLOY_TOKEN\n",
        "  # still read by the yearly audit job in acme/compliance\n"
        "  - name: OLD_DEPLOY_TOKEN  # mendbot: ignore[nhi-github-unused-secret]\n",
    )
    decided_nhi = decided_nhi.replace(
        "  - name: NPM_TOKEN\n", "  - name: NPM_TOKEN  # rotated by the release team\n"
    )
    nhi.write_text(decided_nhi)
    suppression = "# mendbot: ignore[gh-settings-default-token-write]"
    decided_settings = settings.read_text().replace(
        "  default_workflow_permissions: write\n",
        f"  default_workflow_permissions: write  {suppression}\n",
    )
    settings.write_text(decided_settings)
    hub.repos[REPOSITORY].nhi.secrets = hub.repos[REPOSITORY].nhi.secrets[1:]  # NPM_TOKEN gone

    again = _inventory(hub, tmp_path)

    assert again.returncode == 0, again.stderr
    assert settings.read_text() == decided_settings
    refreshed = nhi.read_text()
    assert "NPM_TOKEN" not in refreshed
    assert (
        "  # still read by the yearly audit job in acme/compliance\n"
        "  - name: OLD_DEPLOY_TOKEN  # mendbot: ignore[nhi-github-unused-secret]\n"
    ) in refreshed
    assert "a comment was dropped, its entry is gone" in again.stderr
    assert "# rotated by the release team" in again.stderr
    third = _inventory(hub, tmp_path)
    assert third.returncode == 0, third.stderr
    assert nhi.read_text() == refreshed and settings.read_text() == decided_settings


def test_titles_with_characters_yaml_reads_apart_are_written_and_read_back(
    hub: FakeGitHub, tmp_path: Path
) -> None:
    """A deploy key title is anyone's text: NEL (a line break to YAML), C1 controls, the
    Unicode separators and a byte order mark must not stop the inventory nor change on
    the way."""
    title = "mirror\x85reader \x9b\u2028\u2029\ufeff\x7f end"
    hub.repos[REPOSITORY].nhi.deploy_keys[1]["title"] = title
    done = _inventory(hub, tmp_path)
    assert done.returncode == 0, done.stderr
    parsed = parse_desired(NHI, (tmp_path / NHI).read_bytes())
    assert isinstance(parsed, GithubNhi)
    assert {key.title for key in parsed.deploy_keys} == {"release pusher", title}
    written = (tmp_path / NHI).read_text(encoding="utf-8")
    assert not any(char in written for char in "\x85\x9b\u2028\u2029\ufeff\x7f")  # escaped


def test_every_page_is_read(hub: FakeGitHub, tmp_path: Path) -> None:
    repo = hub.repos[REPOSITORY]
    repo.nhi.secrets = [{"name": f"TOKEN_{n:03d}"} for n in range(250, 0, -1)]
    repo.nhi.deploy_keys = [
        {"id": n, "title": f"key {n}", "read_only": True} for n in range(1, 131)
    ]
    hub.requests.clear()
    assert _inventory(hub, tmp_path).returncode == 0
    parsed = parse_desired(NHI, (tmp_path / NHI).read_bytes())
    assert isinstance(parsed, GithubNhi)
    assert [s.name for s in parsed.secrets] == [f"TOKEN_{n:03d}" for n in range(1, 251)]
    assert [k.id for k in parsed.deploy_keys] == list(range(1, 131))
    pages = [r for r in hub.requests if r.endswith("/actions/secrets")]
    assert len(pages) == 3  # 100 + 100 + 50


@pytest.mark.parametrize(
    ("operation", "permission"),
    [
        ("actions/list-repo-secrets", '"Secrets: read"'),
        ("actions/list-repo-variables", '"Variables: read"'),
        ("repos/list-deploy-keys", '"Administration: read"'),
        ("actions/list-environment-secrets", '"Environments: read"'),
    ],
)
def test_a_missing_permission_exits_2_naming_it_and_writes_nothing(
    hub: FakeGitHub, tmp_path: Path, operation: str, permission: str
) -> None:
    hub.repos[REPOSITORY].nhi.denied.add(operation)
    done = _inventory(hub, tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert operation in done.stderr and "403" in done.stderr
    assert permission in done.stderr
    assert not (tmp_path / ".mendbot").exists()


def test_a_bad_token_exits_2_and_is_never_printed(hub: FakeGitHub, tmp_path: Path) -> None:
    wrong = "ghp_not_a_token_the_server_knows_0123456789"
    done = _inventory(hub, tmp_path, token=wrong)
    assert done.returncode == 2
    assert "401" in done.stderr and "GITHUB_TOKEN" in done.stderr
    assert wrong not in done.stdout + done.stderr
    assert not (tmp_path / ".mendbot").exists()


def test_no_token_exits_2_and_no_token_option_exists(hub: FakeGitHub, tmp_path: Path) -> None:
    env = inventory_env(hub)
    del env["GITHUB_TOKEN"]
    done = run_mendbot(
        "inventory", "github", "--repository", REPOSITORY, "--out", str(tmp_path), env=env
    )
    assert done.returncode == 2
    assert "no GitHub token" in done.stderr
    helped = run_mendbot("inventory", "github", "--help")
    assert "--token" not in helped.stdout


def test_an_unknown_repository_exits_2_with_404(hub: FakeGitHub, tmp_path: Path) -> None:
    done = run_mendbot(
        "inventory", "github", "--repository", "acme/missing", "--out", str(tmp_path),
        env=inventory_env(hub),
    )  # fmt: skip
    assert done.returncode == 2
    assert "404" in done.stderr and "acme/missing" in done.stderr
    assert len(done.stderr.strip().splitlines()) <= 3
    assert not (tmp_path / ".mendbot").exists()


def test_an_unreachable_server_exits_2(hub: FakeGitHub, tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = _inventory(hub, tmp_path, "--api-url", f"http://127.0.0.1:{port}/api/v3")
    assert done.returncode == 2
    assert "cannot reach GitHub" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / ".mendbot").exists()


def test_a_next_page_on_another_host_is_not_followed(hub: FakeGitHub, tmp_path: Path) -> None:
    """A server (or a proxy) that points the next page elsewhere must not get the token."""
    hub.repos[REPOSITORY].nhi.secrets = [{"name": f"S{n}"} for n in range(150)]
    hub.repos[REPOSITORY].nhi.next_origin = "http://evil.example"
    done = _inventory(hub, tmp_path)
    assert done.returncode == 2
    assert "points outside" in done.stderr
    assert not (tmp_path / ".mendbot").exists()


@pytest.mark.parametrize("bad", ["missing", "file"])
def test_a_bad_out_exits_2(hub: FakeGitHub, tmp_path: Path, bad: str) -> None:
    out = tmp_path / "out"
    if bad == "file":
        out.write_text("not a folder\n")
    done = _inventory(hub, out)
    assert done.returncode == 2
    assert "--out" in done.stderr and "Traceback" not in done.stderr


def test_a_symlinked_inventory_folder_is_never_written_through(
    hub: FakeGitHub, tmp_path: Path
) -> None:
    out = tmp_path / "checkout"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / ".mendbot/desired").mkdir(parents=True)
    (out / ".mendbot/desired/github-nhi").symlink_to(elsewhere, target_is_directory=True)
    done = _inventory(hub, out)
    assert done.returncode == 2
    assert "link" in done.stderr
    assert list(elsewhere.iterdir()) == []


def test_a_bad_repository_argument_is_refused_before_any_request(
    hub: FakeGitHub, tmp_path: Path
) -> None:
    hub.requests.clear()
    done = run_mendbot(
        "inventory", "github", "--repository", "acme/../../orgs", "--out", str(tmp_path),
        env=inventory_env(hub),
    )  # fmt: skip
    assert done.returncode == 2
    assert "OWNER/NAME" in done.stderr
    assert hub.requests == []


def test_selected_actions_are_read_only_while_they_apply(hub: FakeGitHub, tmp_path: Path) -> None:
    state = hub.deploy_state(REPOSITORY)
    state.actions = {"enabled": True, "allowed_actions": "selected"}
    state.selected_actions = {
        "github_owned_allowed": True,
        "verified_allowed": False,
        "patterns_allowed": ["octo/zeta@*", "acme/alpha@v1"],
    }
    assert _inventory(hub, tmp_path).returncode == 0
    text = (tmp_path / SETTINGS).read_text()
    assert text.endswith(
        "  allowed_actions: selected\n"
        "  selected_actions:\n"
        "    github_owned_allowed: true\n"
        "    verified_allowed: false\n"
        "    patterns_allowed:\n"
        '      - "acme/alpha@v1"\n'
        '      - "octo/zeta@*"\n'
    )
    state.actions = {"enabled": True, "allowed_actions": "all"}
    hub.requests.clear()
    assert _inventory(hub, tmp_path).returncode == 0
    assert "selected_actions" not in (tmp_path / SETTINGS).read_text()
    assert not any(r.endswith("/selected-actions") for r in hub.requests)


def test_a_setting_the_file_asked_for_and_github_does_not_show_is_warned_about(
    hub: FakeGitHub, tmp_path: Path
) -> None:
    assert _inventory(hub, tmp_path).returncode == 0
    asked = (tmp_path / SETTINGS).read_text().replace("reviews: true", "reviews: false")
    (tmp_path / SETTINGS).write_text(asked)
    done = _inventory(hub, tmp_path)
    assert done.returncode == 0
    assert (
        "warning: actions.can_approve_pull_request_reviews is true on GitHub, the file said "
        "false" in " ".join(done.stderr.split())
    )
    assert (tmp_path / SETTINGS).read_text() == EXPECTED_SETTINGS


def test_an_existing_file_of_another_repository_is_left_unchanged(
    hub: FakeGitHub, tmp_path: Path
) -> None:
    other = EXPECTED_NHI.replace('repository: "acme/app"', 'repository: "acme/other"')
    (tmp_path / NHI).parent.mkdir(parents=True)
    (tmp_path / NHI).write_text(other)
    done = _inventory(hub, tmp_path)
    assert done.returncode == 2
    assert "acme/other" in done.stderr
    assert (tmp_path / NHI).read_text() == other
    assert not (tmp_path / SETTINGS).exists()


@pytest.mark.parametrize(
    "url", ["http://github.example.com/api/v3", "http://10.0.0.7/api/v3", "HTTP://api.github.com"]
)
def test_plain_http_to_another_machine_is_refused_before_the_token_is_sent(
    hub: FakeGitHub, tmp_path: Path, url: str
) -> None:
    """Over plain http the token header could be read by anyone on the way: never sent."""
    secret = "ghp_token_that_must_not_travel_in_clear_0123"
    env = {**inventory_env(hub, secret), "GITHUB_API_URL": url}
    done = run_mendbot(
        "inventory", "github", "--repository", REPOSITORY, "--out", str(tmp_path), env=env
    )
    assert done.returncode == 2, done.stderr
    assert "plain http" in done.stderr and "https://" in done.stderr
    assert "Traceback" not in done.stderr and secret not in done.stdout + done.stderr
    assert not (tmp_path / ".mendbot").exists()


@pytest.mark.parametrize(
    "url",
    [
        "https://x-access-token:ghp_pasted_into_the_url_0123456789@ghe.example/api/v3",
        "ghp_pasted_into_the_url_0123456789",
    ],
)
def test_an_api_url_holding_a_token_is_refused_without_printing_it(
    hub: FakeGitHub, tmp_path: Path, url: str
) -> None:
    """A token pasted into the API URL (or instead of it) is never echoed in the error."""
    done = _inventory(hub, tmp_path, "--api-url", url)
    assert done.returncode == 2, done.stderr
    assert "ghp_pasted_into_the_url" not in done.stdout + done.stderr
    assert "GITHUB_API_URL" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / ".mendbot").exists()


def test_the_same_repository_in_other_case_updates_the_same_files(
    hub: FakeGitHub, tmp_path: Path
) -> None:
    assert _inventory(hub, tmp_path).returncode == 0
    before = {p: (tmp_path / p).read_bytes() for p in (SETTINGS, NHI)}

    again = run_mendbot(
        "inventory", "github", "--repository", "Acme/App", "--out", str(tmp_path),
        env=inventory_env(hub),
    )  # fmt: skip

    assert again.returncode == 0, again.stderr
    for kind in ("github-settings", "github-nhi"):
        assert sorted(p.name for p in (tmp_path / ".mendbot/desired" / kind).iterdir()) == [
            "acme--app.yml"
        ]
    assert {p: (tmp_path / p).read_bytes() for p in (SETTINGS, NHI)} == before
    assert f"unchanged: {NHI}" in again.stderr


def test_a_file_named_in_other_case_is_the_one_updated(hub: FakeGitHub, tmp_path: Path) -> None:
    assert _inventory(hub, tmp_path).returncode == 0
    for kind in ("github-settings", "github-nhi"):
        folder = tmp_path / ".mendbot/desired" / kind
        (folder / "acme--app.yml").rename(folder / "Acme--App.yml")

    again = _inventory(hub, tmp_path)

    assert again.returncode == 0, again.stderr
    for kind in ("github-settings", "github-nhi"):
        assert sorted(p.name for p in (tmp_path / ".mendbot/desired" / kind).iterdir()) == [
            "Acme--App.yml"
        ]
