"""The github-settings applier through the deploy lifecycle against the fake GitHub: a token
narrowed to one repository and ``administration: write``, settings applied and read back,
drift, failures compensated with the snapshot, and no credential in any text."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from deploy_github import (
    APP_ID,
    ENVIRONMENT,
    INSTALLATION,
    OTHER,
    REPO,
    assert_no_secret,
    calls,
    context,
    install_deployer_app,
    pem_of,
    secrets_of,
)
from fakegithub import FakeGitHub

from bot.api_url import UnsafeUrlError
from bot.deploy.applier import Target, Verdict
from bot.deploy.appliers import applier_for
from bot.deploy.desired import SelectedActions, as_state, parse_desired
from bot.deploy.github_settings import SETTINGS, GithubSettingsApplier, SettingsError
from bot.deploy.github_token import GitHubCredentialError
from bot.deploy.lifecycle import Outcome, Step, deploy_change

WORKFLOW_PUT = "actions/set-github-actions-default-workflow-permissions-repository"
PERMISSIONS_PUT = "actions/set-github-actions-permissions-repository"
SELECTED_PUT = "actions/set-allowed-actions-repository"
SOURCE = ".mendbot/desired/github-settings/acme--app.yml"


@pytest.fixture
def app(github: FakeGitHub, make_repo, monkeypatch):
    """The deployer App on the fake GitHub, its key in the deploy job's environment."""
    repo = make_repo("source")
    repo.write("README.md", "# app\n")
    repo.commit("initial")
    return install_deployer_app(github, monkeypatch, repo.path)


def _token_target(**changes: tuple[Any, Any]) -> Target:
    """A github-settings target of :data:`REPO`: ``name=(before, after)`` per changed setting."""
    names = tuple(f"actions.{name}" for name in changes)
    return Target(
        kind="github-settings",
        environment=ENVIRONMENT,
        objects=names,
        pre_image={f"actions.{n}": before for n, (before, _) in changes.items()},
        desired={f"actions.{n}": after for n, (_, after) in changes.items()},
        location={"repository": REPO},
        source=SOURCE,
    )


def _read_only_token() -> Target:
    return _token_target(
        default_workflow_permissions=("write", "read"),
        can_approve_pull_request_reviews=(True, False),
    )


def _deploy(target: Target) -> tuple[Step, Any]:
    applier, grant = applier_for(target.kind).connect(target, context())
    try:
        return deploy_change(applier, target), (applier, grant)
    finally:
        grant.revoke()


def test_a_setting_is_applied_with_a_token_narrowed_to_it_and_read_back(github, app):
    step, (applier, grant) = _deploy(_read_only_token())

    assert step.outcome is Outcome.APPLIED
    assert step.before == {
        "actions.default_workflow_permissions": "write",
        "actions.can_approve_pull_request_reviews": True,
    }
    assert step.validation is not None and step.validation.verdict is Verdict.PASSED
    assert step.validation.checks == (
        "actions.default_workflow_permissions reads back 'read'",
        "actions.can_approve_pull_request_reviews reads back false",
    )
    state = github.deploy_state(REPO)
    assert state.workflow == {
        "default_workflow_permissions": "read",
        "can_approve_pull_request_reviews": False,
    }
    assert state.actions == {"enabled": True, "allowed_actions": "all"}  # not managed: untouched
    # Narrowed at creation: one repository, the one permission the applier needs.
    assert github.token_requests == [
        {
            "installation": INSTALLATION,
            "repositories": ["app"],
            "permissions": {"administration": "write"},
        }
    ]
    assert grant.authority.credential_type == "github-installation-token"
    assert grant.authority.principal == f"app {APP_ID} installation {INSTALLATION}"
    assert grant.authority.scope == {
        "repositories": [REPO],
        "permissions": {"administration": "write"},
    }
    assert grant.authority.expires_at.endswith("Z")
    # Snapshot and validation read exactly the target's endpoint; apply wrote only it.
    settings_calls = calls(github, "/actions/permissions")
    assert settings_calls == [
        "GET /api/v3/repos/acme/app/actions/permissions/workflow",
        "PUT /api/v3/repos/acme/app/actions/permissions/workflow",
        "GET /api/v3/repos/acme/app/actions/permissions/workflow",
    ]
    assert_no_secret(secrets_of(github, app), step, applier, grant, grant.authority)


def test_the_token_is_refused_outside_its_repository_and_permission(github, app):
    target = _read_only_token()
    _, grant = GithubSettingsApplier.connect(target, context())
    token = github.app.issued[-1]
    headers = {"Authorization": f"Bearer {token}"}
    api = github.base_url

    # The attack: the deploy job's token used on another repository of the same installation,
    # and for a permission it was not given (creating a deployment).
    other = requests.put(
        f"{api}/repos/{OTHER}/actions/permissions/workflow",
        json={"default_workflow_permissions": "write"},
        headers=headers,
        timeout=10,
    )
    deployment = requests.post(
        f"{api}/repos/{REPO}/deployments",
        json={"ref": "main", "required_contexts": []},
        headers=headers,
        timeout=10,
    )
    repository = requests.get(f"{api}/repos/{OTHER}", headers=headers, timeout=10)
    own = requests.get(
        f"{api}/repos/{REPO}/actions/permissions/workflow", headers=headers, timeout=10
    )

    assert (other.status_code, deployment.status_code, repository.status_code) == (403, 403, 403)
    assert own.status_code == 200
    assert other.json()["message"] == "Resource not accessible by integration"
    assert github.refused == [
        f"{WORKFLOW_PUT} {OTHER}: repository outside the token",
        f"repos/create-deployment {REPO}: needs deployments: write, the token has none",
        f"repos/get {OTHER}: repository outside the token",
    ]
    assert github.deploy_state(OTHER).workflow["default_workflow_permissions"] == "write"
    assert github.deploy_state(REPO).deployments == []
    grant.revoke()


def test_revocation_ends_the_token_and_never_raises(github, app, caplog):
    applier, grant = GithubSettingsApplier.connect(_read_only_token(), context())
    token = github.app.issued[-1]

    grant.revoke()
    grant.revoke()  # a second call does nothing

    assert github.revoked == [token]
    assert calls(github, "DELETE /api/v3/installation/token") == [
        "DELETE /api/v3/installation/token"
    ]
    after = requests.get(
        f"{github.base_url}/repos/{REPO}/actions/permissions/workflow",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert after.status_code == 401
    with pytest.raises(Exception, match="HTTP 401"):
        applier.snapshot(_read_only_token())

    # GitHub down while revoking: logged, not raised, and the token is not in the log.
    _, second = GithubSettingsApplier.connect(_read_only_token(), context())
    github.down = True
    with caplog.at_level(logging.WARNING):
        second.revoke()
    assert "not revoked" in caplog.text
    assert_no_secret(secrets_of(github, app), caplog.text, repr(second))


def test_drift_applies_nothing(github, app):
    github.deploy_state(REPO).workflow["default_workflow_permissions"] = "read"  # changed by hand

    step, _ = _deploy(_read_only_token())

    assert step.outcome is Outcome.DRIFT
    assert step.reasons == (
        "actions.default_workflow_permissions is 'read' on acme/app, the analysis saw 'write'",
    )
    assert [c for c in github.requests if c.startswith("PUT")] == []
    assert github.deploy_state(REPO).workflow["can_approve_pull_request_reviews"] is True


def _allow_list_target() -> Target:
    allow = as_state(
        SelectedActions(github_owned_allowed=True, patterns_allowed=("acme/*@v1", "docker/*"))
    )
    before = {"github_owned_allowed": True, "verified_allowed": False, "patterns_allowed": []}
    return _token_target(allowed_actions=("all", "selected"), selected_actions=(before, allow))


def test_an_allow_list_is_applied_in_order_and_read_back(github, app):
    step, _ = _deploy(_allow_list_target())

    assert step.outcome is Outcome.APPLIED, step.reasons
    state = github.deploy_state(REPO)
    assert state.actions == {"enabled": True, "allowed_actions": "selected"}
    assert state.selected_actions == {
        "github_owned_allowed": True,
        "verified_allowed": False,
        "patterns_allowed": ["acme/*@v1", "docker/*"],
    }
    puts = [c for c in github.requests if c.startswith("PUT")]
    assert puts == [
        "PUT /api/v3/repos/acme/app/actions/permissions",
        "PUT /api/v3/repos/acme/app/actions/permissions/selected-actions",
    ]


def test_a_put_that_fails_half_way_is_compensated_with_the_snapshot(github, app):
    # allowed_actions is written, then the allow list's PUT fails: both must be restored.
    github.faults[SELECTED_PUT] = [500]
    before = github.deploy_state(REPO)
    snapshot = (dict(before.actions), dict(before.selected_actions))

    step, (applier, grant) = _deploy(_allow_list_target())

    assert step.outcome is Outcome.COMPENSATED
    assert step.reasons[0].startswith("apply failed: GitHubApiError: GitHub refused to set")
    assert "HTTP 500" in step.reasons[0]
    assert step.reasons[1] == "the snapshot was restored"
    state = github.deploy_state(REPO)
    assert (state.actions, state.selected_actions) == snapshot
    puts = [c for c in github.requests if c.startswith("PUT")]
    assert puts == [  # applied in order, restored in reverse
        "PUT /api/v3/repos/acme/app/actions/permissions",
        "PUT /api/v3/repos/acme/app/actions/permissions/selected-actions",
        "PUT /api/v3/repos/acme/app/actions/permissions/selected-actions",
        "PUT /api/v3/repos/acme/app/actions/permissions",
    ]
    assert_no_secret(secrets_of(github, app), step, applier, grant)


def test_a_value_that_does_not_read_back_is_compensated(github, app):
    # GitHub answers 204 to the allow list's PUT but keeps the old list (the next GET says so).
    github.deploy_state(REPO).ignored_writes.add(SELECTED_PUT)

    step, _ = _deploy(_allow_list_target())

    assert step.outcome is Outcome.COMPENSATED
    assert step.validation is not None and step.validation.verdict is Verdict.FAILED
    assert step.validation.checks[0] == "actions.allowed_actions reads back 'selected'"
    assert step.validation.checks[1].startswith("actions.selected_actions reads back {")
    assert step.reasons == ("validation failed", "the snapshot was restored")
    state = github.deploy_state(REPO)
    assert state.actions == {"enabled": True, "allowed_actions": "all"}
    assert state.selected_actions["patterns_allowed"] == []


def test_a_compensation_that_fails_is_reported(github, app, caplog):
    github.faults[WORKFLOW_PUT] = [500, 502]  # the apply and then the restore both fail

    with caplog.at_level(logging.DEBUG):  # every library's log, urllib3 and PyGithub included
        step, _ = _deploy(_read_only_token())

    assert step.outcome is Outcome.COMPENSATION_FAILED
    assert "HTTP 502" in step.reasons[1]
    assert caplog.records, "nothing was logged: the check below would prove nothing"
    assert_no_secret(secrets_of(github, app), step, caplog.text)


def test_github_down_reads_nothing_and_applies_nothing(github, app):
    applier, grant = GithubSettingsApplier.connect(_read_only_token(), context())
    github.down = True

    step = deploy_change(applier, _read_only_token())

    assert (step.outcome, step.before) == (Outcome.FAILED, None)
    assert (
        "GitHub refused to read /actions/permissions/workflow of acme/app: HTTP 503"
        in (step.reasons[0])
    )
    github.down = False
    assert github.deploy_state(REPO).workflow["default_workflow_permissions"] == "write"
    assert_no_secret(secrets_of(github, app), step, applier, grant)
    grant.revoke()


def test_no_app_key_is_a_clear_error_and_asks_for_nothing(github, app, monkeypatch):
    monkeypatch.delenv("MENDBOT_DEPLOY_APP_KEY")
    with pytest.raises(GitHubCredentialError) as caught:
        GithubSettingsApplier.connect(_read_only_token(), context())
    text = caught.value.diagnostics()
    assert "MENDBOT_DEPLOY_APP_KEY is not set" in text
    assert f"deploy.environments.{ENVIRONMENT}.github_app_id" in text
    assert github.token_requests == []


def test_a_change_reviewed_in_one_repository_never_sets_another_ones(github, app):
    """The App is installed on both repositories; the change was reviewed in REPO's pull
    request, so OTHER's settings are not this job's to change."""
    target = _token_target(default_workflow_permissions=("write", "read"))
    target = dataclasses.replace(target, location={"repository": OTHER})
    with pytest.raises(SettingsError) as caught:
        GithubSettingsApplier.connect(target, context())
    assert f"the settings are those of {OTHER}" in caught.value.diagnostics()
    assert github.token_requests == []
    assert github.deploy_state(OTHER).workflow["default_workflow_permissions"] == "write"


def test_a_plain_http_api_root_elsewhere_gets_no_jwt(github, app, monkeypatch):
    """The App's JWT and the narrowed token never travel over plain http to another host."""
    monkeypatch.setenv("GITHUB_API_URL", "http://github.example/api/v3")
    with pytest.raises(UnsafeUrlError) as caught:
        GithubSettingsApplier.connect(_read_only_token(), context())
    assert "plain http to github.example" in caught.value.diagnostics()
    assert github.token_requests == []


def test_no_app_configured_names_the_fields(github, app):
    with pytest.raises(GitHubCredentialError) as caught:
        GithubSettingsApplier.connect(_read_only_token(), context(app=False))
    text = caught.value.diagnostics()
    assert "github_app_id" in text and "github_installation_id" in text
    assert f"deploy.environments.{ENVIRONMENT}" in text
    assert github.token_requests == []


def test_a_key_that_is_not_a_pem_is_refused_without_showing_it(github, app, monkeypatch):
    monkeypatch.setenv("MENDBOT_DEPLOY_APP_KEY", "not-a-key-but-secret-text")
    with pytest.raises(GitHubCredentialError) as caught:
        GithubSettingsApplier.connect(_read_only_token(), context())
    assert "MENDBOT_DEPLOY_APP_KEY is not an unencrypted PEM private key" in str(caught.value)
    assert "secret-text" not in caught.value.diagnostics()


def test_another_apps_key_is_refused_by_github(github, app, monkeypatch):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    monkeypatch.setenv("MENDBOT_DEPLOY_APP_KEY", pem_of(stranger))
    with pytest.raises(GitHubCredentialError, match="HTTP 401") as caught:
        GithubSettingsApplier.connect(_read_only_token(), context())
    assert github.app.issued == []
    assert_no_secret(secrets_of(github, stranger), caught.value.diagnostics())


def test_a_permission_the_app_lacks_is_refused_not_widened(github, app):
    del github.app.permissions["administration"]
    with pytest.raises(GitHubCredentialError, match="HTTP 422") as caught:
        GithubSettingsApplier.connect(_read_only_token(), context())
    assert "administration: write" in caught.value.diagnostics()
    assert github.app.issued == []


def test_an_unknown_setting_is_refused_before_any_token(github, app):
    target = _token_target(sha_pinning_required=(False, True))
    with pytest.raises(SettingsError, match=r"cannot apply actions\.sha_pinning_required"):
        GithubSettingsApplier.connect(target, context())
    assert github.token_requests == []


def test_the_documented_desired_state_is_valid_and_every_setting_has_an_endpoint():
    page = (Path(__file__).parents[2] / "docs" / "deploy.md").read_text(encoding="utf-8")
    blocks = [block.split("```", 1)[0] for block in page.split("```yaml\n")[1:]]
    [example] = [block for block in blocks if block.startswith("kind: github-settings")]
    parsed = parse_desired(SOURCE, example.encode())
    managed = {f"actions.{name}" for name in as_state(parsed)["actions"]}
    assert managed == set(SETTINGS)
    for name in SETTINGS:
        assert f"`{name}`" in page


@pytest.mark.parametrize("repository", ["../..", "acme/..", "acme", "acme/app/../other", ""])
def test_a_repository_that_is_not_owner_name_is_refused_before_any_token(github, app, repository):
    honest = _read_only_token()
    target = Target(
        kind=honest.kind,
        environment=honest.environment,
        objects=honest.objects,
        pre_image=honest.pre_image,
        desired=honest.desired,
        location={"repository": repository},
        source=SOURCE,
    )
    with pytest.raises(SettingsError, match="no repository"):
        GithubSettingsApplier.connect(target, context())
    assert github.token_requests == []
