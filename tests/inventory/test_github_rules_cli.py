"""The GitHub inventory rules as users meet them: ``mendbot inventory github`` (a real process,
the fake GitHub) writes the inventory of a repository, then ``mendbot analyze`` (a real process)
judges it against the repository's workflows; the JSON report, the exit code and the bytes on
disk are checked. The attacks: a secret a remote reusable workflow may read through
``secrets: inherit`` (or that a workflow reads through the whole context or in lower case) must
never be proposed for deletion, and a person's suppression or explicit choice is never
overwritten."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from fakegithub import FakeGitHub
from github_inventory import NHI, REPOSITORY, SETTINGS, inventory_env, seed

from clirun import run_mendbot

UNUSED = "nhi-github-unused-secret"
UNDEFINED = "nhi-github-undefined-secret"
WRITE_KEY = "nhi-github-write-deploy-key"
TOKEN_WRITE = "gh-settings-default-token-write"
APPROVE = "gh-settings-actions-can-approve-prs"

RELEASE = """\
on: push
permissions:
  contents: read
jobs:
  publish:
    runs-on: ubuntu-latest
    steps:
      - run: npm publish
        env:
          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}
      - run: twine upload dist/*
        env:
          TWINE_PASSWORD: ${{ secrets.PYPI_TOKEN }}
  deploy:
    runs-on: ubuntu-latest
    environment: production
    permissions: {}
    steps:
      - run: ./deploy.sh
        env:
          DB: ${{ secrets.PROD_DB_PASSWORD }}
"""
CI = """\
on: pull_request
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: make test
  lint:
    runs-on: ubuntu-latest
    steps:
      - run: make lint
"""
SETTINGS_TEXT = """\
kind: github-settings
version: 1
repository: "acme/app"
actions:
  default_workflow_permissions: write
  can_approve_pull_request_reviews: true
"""
NHI_TEXT = """\
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
environments:
  - name: "production"
    secrets:
      - name: PROD_DB_PASSWORD
"""


def _report(target: Path, *args: str) -> tuple[int, dict[str, Any]]:
    done = run_mendbot("analyze", str(target), "--format", "json", *args)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, json.loads(done.stdout)


def _by_rule(report: dict[str, Any], rule: str) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["rule"] == rule]


def _repo(root: Path, workflows: dict[str, str], nhi: str = NHI_TEXT) -> Path:
    for name, text in {SETTINGS: SETTINGS_TEXT, NHI: nhi, **workflows}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(text.encode())
    return root


@pytest.fixture
def hub(github: FakeGitHub, make_repo: Any) -> FakeGitHub:
    source = make_repo("source")
    source.write("README.md", "# app\n")
    source.commit("initial")
    seed(github, source.path)
    return github


def test_inventory_then_analyze_reports_each_rule_with_its_evidence(
    hub: FakeGitHub, tmp_path: Path
) -> None:
    repo = tmp_path / "app"
    _repo(repo, {".github/workflows/release.yml": RELEASE, ".github/workflows/ci.yml": CI})
    done = run_mendbot(
        "inventory", "github", "--repository", REPOSITORY, "--out", str(repo),
        env=inventory_env(hub),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    code, report = _report(repo)
    assert code == 1
    [unused] = _by_rule(report, UNUSED)
    assert unused["evidence"] == "secret:OLD_DEPLOY_TOKEN"
    assert unused["path"] == NHI and "irreversible" in unused["message"]
    [undefined] = _by_rule(report, UNDEFINED)
    assert undefined["evidence"] == "secrets.PYPI_TOKEN"
    assert ".github/workflows/release.yml" in undefined["message"]
    assert "organisation secrets are not visible" in undefined["message"]
    [key] = _by_rule(report, WRITE_KEY)
    assert key["evidence"] == "deploy_keys[71].read_only: false"
    [token] = _by_rule(report, TOKEN_WRITE)
    assert token["evidence"] == "actions.default_workflow_permissions: write"
    assert token["path"] == SETTINGS
    # The evidence: the jobs on the default (ci.yml's two jobs), not those with permissions.
    assert ".github/workflows/ci.yml:3 `test`" in token["message"]
    assert ".github/workflows/ci.yml:7 `lint`" in token["message"]
    assert "release.yml" not in token["message"]
    [approve] = _by_rule(report, APPROVE)
    assert approve["evidence"] == "actions.can_approve_pull_request_reviews: true"
    fixes = {f["rule"]: f["fix"] for f in report["findings"] if f["fix"] is not None}
    assert fixes[APPROVE]["disposition"] == "safe"
    assert fixes[TOKEN_WRITE]["disposition"] == "unsafe"
    assert fixes[TOKEN_WRITE]["reversibility"] == "reversible"
    assert (fixes[UNUSED]["disposition"], fixes[UNUSED]["reversibility"]) == (
        "unsafe",
        "irreversible",
    )
    assert WRITE_KEY not in fixes and UNDEFINED not in fixes


@pytest.mark.parametrize(
    "workflow",
    [
        # A reusable workflow in another repository receives every secret.
        "on: push\njobs:\n  call:\n    uses: octo/shared/.github/workflows/r.yml@v1\n"
        "    secrets: inherit\n",
        # The whole secrets context.
        "on: push\njobs:\n  dump:\n    runs-on: ubuntu-latest\n    steps:\n"
        '      - run: echo "$S" | ./consume\n        env:\n          S: ${{ toJSON(secrets) }}\n',
        # A computed name.
        "on: push\njobs:\n  pick:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: ./use\n        env:\n"
        "          T: ${{ secrets[format('{0}_TOKEN', 'OLD_DEPLOY')] }}\n",
    ],
    ids=["remote-inherit", "whole-context", "computed-name"],
)
def test_no_secret_is_proposed_for_deletion_when_any_may_be_read(
    tmp_path: Path, workflow: str
) -> None:
    repo = _repo(tmp_path, {".github/workflows/x.yml": workflow})
    _, report = _report(repo, "--fix=all")
    assert _by_rule(report, UNUSED) == []
    assert (repo / NHI).read_text() == NHI_TEXT


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (".github/workflows/lower.yml", "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n"
         "      - run: ./a\n        env:\n          T: ${{ secrets.old_deploy_token }}\n"),
        (".github/workflows/index.yml", "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n"
         "      - if: ${{ secrets['OLD_DEPLOY_TOKEN'] != '' }}\n        run: ./a\n"),
        (".github/actions/deploy/action.yml", "runs:\n  using: composite\n  steps:\n"
         "    - run: ./a\n      shell: bash\n      env:\n"
         "        T: ${{ secrets.OLD_DEPLOY_TOKEN }}\n"),
        (".github/workflows/call.yml", "on: push\njobs:\n  call:\n"
         "    uses: ./.github/workflows/local.yml\n"
         "    secrets:\n      token: ${{ secrets.OLD_DEPLOY_TOKEN }}\n"),
    ],
    ids=["lower-case", "indexed", "composite-action", "reusable-call"],
)  # fmt: skip
def test_a_secret_referenced_in_any_form_is_not_unused(
    tmp_path: Path, name: str, text: str
) -> None:
    repo = _repo(tmp_path, {".github/workflows/release.yml": RELEASE, name: text})
    _, report = _report(repo)
    assert [f["evidence"] for f in _by_rule(report, UNUSED)] == []


def test_a_finding_keeps_its_id_when_a_refreshed_inventory_moves_the_secret(
    tmp_path: Path,
) -> None:
    repo = _repo(tmp_path, {".github/workflows/release.yml": RELEASE})
    _, first = _report(repo)
    moved = NHI_TEXT.replace("secrets:\n", "secrets:\n  - name: AAA_FIRST\n", 1)
    (repo / NHI).write_text(moved)
    _, second = _report(repo)
    ids = {f["evidence"]: f["id"] for f in _by_rule(second, UNUSED)}
    [before] = _by_rule(first, UNUSED)
    assert ids["secret:OLD_DEPLOY_TOKEN"] == before["id"]


def test_an_unused_environment_secret_is_removed_from_its_environment_only(
    tmp_path: Path,
) -> None:
    workflow = RELEASE.replace("secrets.PROD_DB_PASSWORD", "secrets.OLD_DEPLOY_TOKEN")
    repo = _repo(tmp_path, {".github/workflows/release.yml": workflow})
    _, report = _report(repo, "--fix=all", "--rule", UNUSED)
    [finding] = _by_rule(report, UNUSED)
    assert finding["evidence"] == "environment:production/secret:PROD_DB_PASSWORD"
    assert "of environment 'production'" in finding["message"]
    assert (repo / NHI).read_text() == NHI_TEXT.replace(
        "    secrets:\n      - name: PROD_DB_PASSWORD\n", "    secrets: []\n"
    )


def test_undefined_secret_follows_the_job_environment(tmp_path: Path) -> None:
    workflows = {
        ".github/workflows/env.yml": """\
on: push
permissions: {}
jobs:
  in-prod:
    runs-on: x
    environment: {name: production}
    steps:
      - run: ./a
        env: {A: "${{ secrets.PROD_DB_PASSWORD }}", T: "${{ secrets.GITHUB_TOKEN }}"}
  outside:
    runs-on: x
    steps:
      - run: ./b
        env: {B: "${{ secrets.PROD_DB_PASSWORD }}"}
  dynamic:
    runs-on: x
    environment: ${{ inputs.target }}
    steps:
      - run: ./c
        env: {C: "${{ secrets.PROD_DB_PASSWORD }}"}
""",
        ".github/workflows/reusable.yml": """\
on:
  workflow_call:
    secrets:
      CALLER_TOKEN: {required: true}
jobs:
  a:
    runs-on: x
    steps:
      - run: ./d
        env: {D: "${{ secrets.CALLER_TOKEN }}"}
""",
    }
    repo = _repo(tmp_path, workflows)
    _, report = _report(repo)
    [finding] = _by_rule(report, UNDEFINED)
    assert finding["evidence"] == "secrets.PROD_DB_PASSWORD"
    assert "job `outside`" in finding["message"]


def test_no_secret_is_unused_in_a_checkout_without_workflows(tmp_path: Path) -> None:
    """An inventory kept in a repository apart from the code must not make every secret look
    unused (and so be proposed for an irreversible deletion)."""
    repo = _repo(tmp_path, {})
    _, report = _report(repo, "--fix=all")
    assert _by_rule(report, UNUSED) == []
    [token] = _by_rule(report, TOKEN_WRITE)
    assert "no workflow was analysed" in token["message"]
    assert (repo / NHI).read_text() == NHI_TEXT


def test_an_organisation_secret_a_person_listed_is_not_reported(tmp_path: Path) -> None:
    repo = _repo(tmp_path, {".github/workflows/release.yml": RELEASE})
    (repo / ".github/mendbot.yml").write_text(
        f"rules:\n  {UNDEFINED}:\n    options:\n      organization_secrets: [pypi_token]\n"
    )
    _, report = _report(repo)
    assert _by_rule(report, UNDEFINED) == []


def test_no_undefined_secret_without_the_inventory(tmp_path: Path) -> None:
    (tmp_path / ".github/workflows").mkdir(parents=True)
    (tmp_path / ".github/workflows/release.yml").write_text(RELEASE)
    _, report = _report(tmp_path)
    assert _by_rule(report, UNDEFINED) == []


def test_safe_fixes_alone_touch_only_the_approval_setting_keeping_crlf_and_comments(
    tmp_path: Path,
) -> None:
    settings = (
        "# Actions settings of acme/app\r\n"
        "kind: github-settings\r\n"
        "version: 1\r\n"
        'repository: "acme/app"\r\n'
        "actions:\r\n"
        "  default_workflow_permissions: write   # flipped after the permissions PRs\r\n"
        "  can_approve_pull_request_reviews: true  # GitHub's old default\r\n"
    )
    repo = _repo(tmp_path, {".github/workflows/ci.yml": CI})
    (repo / SETTINGS).write_bytes(settings.encode())
    nhi_before = (repo / NHI).read_bytes()
    code, _ = _report(repo, "--fix")
    assert code == 1
    approved_off = settings.replace("reviews: true", "reviews: false")
    assert approved_off != settings
    assert (repo / SETTINGS).read_bytes() == approved_off.encode()
    assert (repo / NHI).read_bytes() == nhi_before  # unsafe deletions held back
    # --fix=all also makes the default token read-only, comments and CRLF kept.
    _report(repo, "--fix=all")
    both = approved_off.replace("permissions: write", "permissions: read")
    assert (repo / SETTINGS).read_bytes() == both.encode()


def test_deleting_an_unused_secret_removes_only_its_entry_keeping_crlf_and_comments(
    tmp_path: Path,
) -> None:
    nhi = NHI_TEXT.replace(
        "secrets:\n  - name: NPM_TOKEN", "secrets:  # rotated yearly\n  - name: NPM_TOKEN"
    ).replace("\n", "\r\n")
    repo = _repo(tmp_path, {".github/workflows/release.yml": RELEASE}, nhi=nhi)
    _report(repo, "--fix=all", "--rule", UNUSED)
    expected = nhi.replace(
        '  - name: OLD_DEPLOY_TOKEN\r\n    created_at: "2021-03-02T09:14:00Z"\r\n'
        '    updated_at: "2021-03-02T09:14:00Z"\r\n',
        "",
    )
    assert expected != nhi
    assert (repo / NHI).read_bytes() == expected.encode()
    _, again = _report(repo, "--fix=all", "--rule", UNUSED)
    assert _by_rule(again, UNUSED) == []


def test_a_suppressed_setting_is_reported_as_a_decision_and_never_changed(
    tmp_path: Path,
) -> None:
    settings = SETTINGS_TEXT.replace(
        "default_workflow_permissions: write",
        f"default_workflow_permissions: write  # mendbot: ignore[{TOKEN_WRITE}]",
    )
    repo = _repo(tmp_path, {".github/workflows/ci.yml": CI})
    (repo / SETTINGS).write_text(settings)
    _, report = _report(repo, "--fix=all")
    assert _by_rule(report, TOKEN_WRITE) == []
    assert "default_workflow_permissions: write  # mendbot" in (repo / SETTINGS).read_text()


def test_a_deletion_bundle_records_the_inventory_digest(make_repo: Any, tmp_path: Path) -> None:
    repo = make_repo("app")
    _repo(repo.path, {".github/workflows/release.yml": RELEASE})
    repo.commit("inventory and workflows")
    inventory = (repo.path / NHI).read_bytes()
    out = tmp_path / "bundles"
    done = run_mendbot(
        "analyze", str(repo.path), "--rule", UNUSED, "--bundle-out", str(out), "--sign", "none",
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    [plan_path] = list(out.rglob("plan.json"))
    plan = json.loads(plan_path.read_text())
    assert plan["remediation"]["rules"] == [UNUSED]
    assert plan["remediation"]["risk"]["reversibility"] == "irreversible"
    assert plan["fixes"][0]["target"] == f"github-nhi:{REPOSITORY}:secret:OLD_DEPLOY_TOKEN"
    statement = json.loads((plan_path.parent / "statement.json").read_text())
    assert statement["predicate"]["inputs"] == [
        {
            "name": f"inventory:{NHI}",
            "uri": None,
            "digest": {"sha256": hashlib.sha256(inventory).hexdigest()},
        }
    ]
    assert (repo.path / NHI).read_bytes() == inventory  # the checkout is never modified


def test_mendbot_rules_lists_the_github_inventory_rules() -> None:
    done = run_mendbot("rules", "--format", "json")
    rows = {row["id"]: row for row in json.loads(done.stdout)}
    assert rows[UNUSED]["fix"] == "unsafe"
    assert rows[UNDEFINED]["fix"] == "report only"
    assert rows[WRITE_KEY]["fix"] == "report only"
    assert rows[TOKEN_WRITE]["fix"] == "unsafe"
    assert rows[APPROVE]["fix"] == "safe"
