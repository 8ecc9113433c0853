"""The ``github-nhi`` secret deletion applier against the fake GitHub, through the lifecycle the
deploy job runs: an environment secret is deleted with an ``environments: write`` token; when the
merge commit's workflows cannot tell which secrets are used (``toJSON(secrets)``, a
``secrets: inherit`` call to another repository's workflow, no workflow at all), nothing is
deleted and the reason says why."""

from __future__ import annotations

from typing import Any

import pytest
from deploy_github import OTHER, REPO, context, install_deployer_app
from fakegithub import FakeGitHub

from bot.deploy.applier import Target
from bot.deploy.appliers import applier_of
from bot.deploy.github_secret_deletion import SecretDeletionError
from bot.deploy.lifecycle import Outcome, deploy_change
from bot.forge.local import LocalForge

SECRET = "environment:production/secret:LEGACY_TOKEN"
SEEN = {
    "name": "LEGACY_TOKEN",
    "created_at": "2023-01-01T00:00:00Z",
    "updated_at": "2024-01-01T00:00:00Z",
}
SAFE = """\
on: push
permissions: {}
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: make
        env:
          NPM: ${{ secrets.NPM_TOKEN }}
"""
DUMPS_ALL = SAFE.replace("${{ secrets.NPM_TOKEN }}", "${{ toJSON(secrets) }}")
INHERITS = """\
on: push
jobs:
  call:
    uses: other-org/workflows/.github/workflows/deploy.yml@v1
    secrets: inherit
"""


def _deletion() -> Target:
    return Target(
        kind="github-nhi",
        environment="production",
        objects=(SECRET,),
        pre_image={SECRET: SEEN},
        desired={SECRET: None},
        location={"repository": REPO},
        source=".mendbot/desired/github-nhi/acme--app.yml",
        deletion=True,
    )


@pytest.fixture
def served(github: FakeGitHub, make_repo: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    source = make_repo("served")
    source.write("README.md", "# app\n")
    source.commit("initial")
    install_deployer_app(github, monkeypatch, source.path)
    github.repos[REPO].nhi.environments = [
        {"name": "production", "secrets": [{"name": "LEGACY_TOKEN", **SEEN}]}
    ]
    return source


def _run(github: FakeGitHub, repo: Any, workflow: str | None) -> Any:
    if workflow is not None:
        repo.write(".github/workflows/ci.yml", workflow)
    repo.write("notes.txt", "merged\n")
    merge = repo.commit("the merge")
    forge = LocalForge(repo.path, base="main")
    target = _deletion()
    applier, grant = applier_of(target).connect(target, context(forge=forge, merge_sha=merge))
    try:
        return deploy_change(applier, target)
    finally:
        grant.revoke()


def test_an_environment_secret_is_deleted_with_an_environments_write_token(
    github: FakeGitHub, served: Any
) -> None:
    step = _run(github, served, SAFE)

    assert step.outcome is Outcome.APPLIED, step.reasons
    assert github.repos[REPO].nhi.deleted == [SECRET]
    assert github.token_requests[-1]["permissions"] == {"environments": "write"}
    assert github.failures == []


@pytest.mark.parametrize(
    ("workflow", "why"),
    [
        (DUMPS_ALL, "reads the whole secrets context or a computed name"),
        (INHERITS, "passes every secret to `other-org/workflows/.github/workflows/deploy.yml@v1`"),
        (None, "has no workflow or action file, so which secrets are used cannot be told"),
    ],
    ids=["toJSON-secrets", "remote-inherit", "no-workflow"],
)
def test_nothing_is_deleted_when_the_merge_commit_cannot_tell(
    github: FakeGitHub, served: Any, workflow: str | None, why: str
) -> None:
    step = _run(github, served, workflow)

    assert step.outcome is Outcome.DRIFT
    assert why in " ".join(step.reasons)
    assert github.repos[REPO].nhi.deleted == []


def test_another_repositorys_secret_is_not_deleted_even_under_one_installation(
    github: FakeGitHub, served: Any
) -> None:
    github.repos[OTHER].nhi.secrets = [{"name": "LEGACY_TOKEN", **SEEN}]
    target = Target(
        kind="github-nhi",
        environment="production",
        objects=("secret:LEGACY_TOKEN",),
        pre_image={"secret:LEGACY_TOKEN": SEEN},
        desired={"secret:LEGACY_TOKEN": None},
        location={"repository": OTHER},
        source=".mendbot/desired/github-nhi/acme--other.yml",
        deletion=True,
    )

    with pytest.raises(SecretDeletionError, match=f"this deploy job deploys {REPO}"):
        applier_of(target).connect(target, context())

    assert github.token_requests == []
    assert github.repos[OTHER].nhi.deleted == []
