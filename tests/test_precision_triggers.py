"""Trigger, credential and runner findings only where an outsider's code or text gets in.

Each false-positive class from the real corpus (issue 11) runs through ``mendbot analyze`` on
files on disk and is gone, while the counter-case that is a real hole stays reported.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from clirun import run_mendbot

#: `pull_request_target` without any checkout: a pinned action reads labels, nothing of the PR runs.
PRT_WITHOUT_CHECKOUT = """\
on:
  pull_request_target:
    types: [opened, labeled]
permissions: {}
jobs:
  triage:
    permissions:
      pull-requests: write
    runs-on: ubuntu-latest
    steps:
      - uses: actions/labeler@v5
      - uses: actions/github-script@v7
        with:
          script: |
            await github.rest.issues.createComment({...context.issue, body: "thanks"})
"""

#: The same trigger checking out the pull request's head and running its install scripts.
PRT_RUNS_THE_HEAD = """\
on: pull_request_target
permissions: {}
jobs:
  test:
    permissions:
      contents: read
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
          persist-credentials: false
      - run: npm install
"""

#: `workflow_run` publishing the triggering run's coverage report: the artifact is data.
WORKFLOW_RUN_DATA = """\
on:
  workflow_run:
    workflows: [CI]
    types: [completed]
permissions: {}
jobs:
  previews:
    permissions:
      statuses: write
    runs-on: ubuntu-latest
    steps:
      - run: pip install smokeshow
      - uses: actions/download-artifact@v4
        with:
          name: coverage-html
          path: htmlcov
          run-id: ${{ github.event.workflow_run.id }}
          github-token: ${{ github.token }}
      - run: smokeshow upload htmlcov
        env:
          SMOKESHOW_AUTH_KEY: ${{ secrets.SMOKESHOW_AUTH_KEY }}
"""

#: The same download, then a script from the artifact runs with a deploy key.
WORKFLOW_RUN_RUNS_IT = WORKFLOW_RUN_DATA.replace(
    "      - run: smokeshow upload htmlcov\n", "      - run: ./htmlcov/publish.sh\n"
)

#: Anyone who can comment starts a coding agent that holds the OpenAI key and a token.
COMMENT_TO_OPEN_AGENT = """\
on:
  issue_comment:
    types: [created]
permissions: {}
jobs:
  answer:
    permissions:
      issues: write
    runs-on: ubuntu-latest
    steps:
      - uses: openai/codex-action@v1
        env:
          GH_TOKEN: ${{ github.token }}
        with:
          openai-api-key: ${{ secrets.OPENAI_API_KEY }}
          allow-users: "*"
          prompt: Answer the latest comment.
"""

#: Kept on purpose: a release script mendbot cannot read is handed the job token.
EXPLICIT_TRUE_FOR_A_TOKEN_SCRIPT = """\
on: workflow_dispatch
permissions: {}
jobs:
  release-pr:
    permissions:
      contents: write
      pull-requests: write
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          persist-credentials: true
      - run: python scripts/prepare_release_pr.py
        env:
          GH_TOKEN: ${{ github.token }}
"""

#: A self-hosted runner only pushes to main start: pushers already run code there.
SELF_HOSTED_PUSH_ONLY = """\
on:
  push:
    branches: [main]
permissions: {}
jobs:
  build:
    permissions: {}
    runs-on: [self-hosted, linux]
    steps:
      - run: make
"""


def _analyze(root: Path, rule: str, *args: str) -> tuple[int, list[dict[str, Any]]]:
    done = run_mendbot(
        "analyze", ".", "--offline", "--format", "json", "--rule", rule, *args, cwd=root
    )
    assert "Traceback" not in done.stderr, done.stderr
    findings: list[dict[str, Any]] = json.loads(done.stdout)["findings"]
    return done.returncode, findings


def test_pull_request_target_that_runs_nothing_of_the_pull_request_is_not_reported(
    workflows,
) -> None:
    root = workflows({"triage.yml": PRT_WITHOUT_CHECKOUT})
    assert _analyze(root, "gha-dangerous-triggers") == (0, [])


def test_pull_request_target_that_runs_the_head_stays_reported(workflows) -> None:
    root = workflows({"test.yml": PRT_RUNS_THE_HEAD})
    code, findings = _analyze(root, "gha-dangerous-triggers")
    assert code == 1
    assert [(f["line"], f["severity"]) for f in findings] == [(11, "high")]


def test_workflow_run_that_reads_the_artifact_as_data_is_not_reported(workflows) -> None:
    root = workflows({"previews.yml": WORKFLOW_RUN_DATA})
    assert _analyze(root, "gha-dangerous-triggers") == (0, [])


def test_workflow_run_that_runs_the_triggering_runs_artifact_is_reported(workflows) -> None:
    root = workflows({"previews.yml": WORKFLOW_RUN_RUNS_IT})
    code, findings = _analyze(root, "gha-dangerous-triggers")
    assert code == 1
    [finding] = findings
    assert (finding["line"], finding["severity"], finding["confidence"]) == (13, "high", "high")
    assert "runs `./htmlcov/publish.sh` from the artifact" in finding["message"]


def test_a_comment_that_reaches_an_agent_open_to_everyone_is_reported(workflows) -> None:
    root = workflows({"answer.yml": COMMENT_TO_OPEN_AGENT})
    code, findings = _analyze(root, "gha-dangerous-triggers")
    assert code == 1
    [finding] = findings
    assert (finding["line"], finding["severity"]) == (2, "high")
    assert "secrets.OPENAI_API_KEY" in finding["message"]
    assert "prompt injection" in finding["message"]


def test_an_agent_that_checks_who_triggered_it_is_not_reported(workflows) -> None:
    root = workflows(
        {"answer.yml": COMMENT_TO_OPEN_AGENT.replace('          allow-users: "*"\n', "")}
    )
    assert _analyze(root, "gha-dangerous-triggers") == (0, [])


def test_explicit_persist_credentials_for_a_script_given_a_token_is_left_alone(
    workflows,
) -> None:
    root = workflows({"release.yml": EXPLICIT_TRUE_FOR_A_TOKEN_SCRIPT})
    assert _analyze(root, "gha-persist-credentials", "--fix=all") == (0, [])
    written = (root / ".github/workflows/release.yml").read_text()
    assert written == EXPLICIT_TRUE_FOR_A_TOKEN_SCRIPT


def test_explicit_persist_credentials_for_a_script_without_a_token_stays_reported_low(
    workflows,
) -> None:
    text = EXPLICIT_TRUE_FOR_A_TOKEN_SCRIPT.replace(
        "        env:\n          GH_TOKEN: ${{ github.token }}\n", ""
    )
    root = workflows({"release.yml": text})
    code, findings = _analyze(root, "gha-persist-credentials", "--fix=all")
    assert code == 1
    assert [(f["severity"], f["fix"]) for f in findings] == [("low", None)]
    assert (root / ".github/workflows/release.yml").read_text() == text


def test_a_self_hosted_runner_only_pushers_start_is_not_reported(workflows) -> None:
    root = workflows({"build.yml": SELF_HOSTED_PUSH_ONLY})
    assert _analyze(root, "gha-self-hosted-runner") == (0, [])


def test_a_self_hosted_runner_pull_requests_start_stays_reported(workflows) -> None:
    text = SELF_HOSTED_PUSH_ONLY.replace("  push:\n    branches: [main]\n", "  pull_request:\n")
    root = workflows({"build.yml": text})
    code, findings = _analyze(root, "gha-self-hosted-runner")
    assert code == 1
    assert [f["line"] for f in findings] == [7]
    assert "`pull_request`, which outside contributors trigger" in findings[0]["message"]


# ---- false negatives an attack review found after the precision pass: each stays reported ----

UNTRACED_PR_CHECKOUT = """\
on: pull_request_target
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    permissions:
      contents: read
    steps:
      - uses: actions/checkout@v4
      - env:
          GH_TOKEN: ${{ github.token }}
          PR: ${{ github.event.pull_request.number }}
        run: |
          sha=$(gh api "repos/$GITHUB_REPOSITORY/pulls/$PR" --jq .head.sha)
          git fetch origin "$sha"
          git checkout "$sha"
          npm install
"""

UNTRACED_RUN_ARTIFACTS = """\
on:
  workflow_run:
    workflows: [ci]
    types: [completed]
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    permissions:
      contents: write
      actions: read
    steps:
      - uses: actions/checkout@v4
      - uses: actions/download-artifact@v4
        with:
          name: build
          run-id: ${{ github.event.workflow_run.id }}
          github-token: ${{ github.token }}
      - run: npm install
"""

COMMIT_MESSAGE_OUTPUT = """\
on:
  push:
    branches: [main]
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    permissions: {}
    steps:
      - uses: actions/checkout@v4
      - id: m
        run: echo "msg=$(git --no-pager log -1 --format=%s)" >> "$GITHUB_OUTPUT"
      - run: echo "${{ steps.m.outputs.msg }}"
"""

VENDOR_TOKEN_ONLY = """\
on: push
permissions: {}
env:
  SONAR_TOKEN: ${{ secrets.SONAR_TOKEN }}
jobs:
  a:
    runs-on: ubuntu-latest
    permissions:
      contents: write
    steps:
      - uses: actions/checkout@v4
        with:
          persist-credentials: true
      - uses: some-vendor/scan-action@v1
"""

DRY_RUN_FROM_A_VARIABLE = """\
on:
  push:
    branches: [main]
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    permissions:
      contents: read
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with:
          node-version: 20
          cache: npm
      - run: npm ci
      - run: npm publish --dry-run=${DRY:-false}
        env:
          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}
"""

ARTIFACTS_BY_GH_RUN_DOWNLOAD = """\
on:
  push:
    tags: ['v*']
permissions: {}
jobs:
  build:
    runs-on: ubuntu-latest
    permissions:
      contents: read
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-go@v5
        with:
          go-version: stable
      - uses: goreleaser/goreleaser-action@v6
        with:
          args: release --snapshot --clean
      - uses: actions/upload-artifact@v4
        with:
          name: binaries-${{ runner.os }}
          path: dist/
  release:
    needs: build
    runs-on: ubuntu-latest
    permissions:
      contents: write
    steps:
      - env:
          GH_TOKEN: ${{ github.token }}
        run: |
          gh run download ${{ github.run_id }} -R "$GITHUB_REPOSITORY" -p 'binaries-*' -D dist
          gh release create "$GITHUB_REF_NAME" dist/**/* -R "$GITHUB_REPOSITORY"
"""


def test_a_pull_request_head_fetched_through_a_computed_ref_and_run_is_reported(workflows):
    root = workflows({"prt.yml": UNTRACED_PR_CHECKOUT})
    code, findings = _analyze(root, "gha-dangerous-triggers")
    assert code == 1
    assert [(f["severity"], f["evidence"]) for f in findings] == [("medium", "git fetch")]
    assert "then runs `npm` in the same step" in findings[0]["message"]


def test_another_runs_artifacts_in_the_workspace_then_npm_install_is_reported(workflows):
    root = workflows({"wr.yml": UNTRACED_RUN_ARTIFACTS})
    code, findings = _analyze(root, "gha-dangerous-triggers")
    assert code == 1
    assert [f["severity"] for f in findings] == ["medium"]


def test_a_commit_message_read_with_git_options_is_not_trusted(workflows):
    root = workflows({"push.yml": COMMIT_MESSAGE_OUTPUT})
    code, findings = _analyze(root, "gha-template-injection")
    assert code == 1
    assert [f["evidence"] for f in findings] == ["${{ steps.m.outputs.msg }}"]


def test_another_services_token_does_not_excuse_an_explicit_persisted_credential(workflows):
    root = workflows({"push.yml": VENDOR_TOKEN_ONLY})
    code, findings = _analyze(root, "gha-persist-credentials")
    assert code == 1
    assert len(findings) == 1


def test_a_dry_run_flag_from_a_variable_still_publishes(workflows):
    root = workflows({"publish.yml": DRY_RUN_FROM_A_VARIABLE})
    code, findings = _analyze(root, "gha-cache-poisoning")
    assert code == 1
    assert [f["severity"] for f in findings] == ["high"]


def test_artifacts_a_release_job_fetches_with_gh_run_download_feed_the_release(workflows):
    root = workflows({"release.yml": ARTIFACTS_BY_GH_RUN_DOWNLOAD})
    code, findings = _analyze(root, "gha-cache-poisoning")
    assert code == 1
    assert [f["route"][1] for f in findings] == ["build"]


BASE_CHECKOUT_AND_OWN_FOLDER = """\
on:
  pull_request_target:
    types: [labeled]
  workflow_run:
    workflows: [Build Docs]
    types: [completed]
permissions: {}
jobs:
  deploy:
    runs-on: ubuntu-latest
    permissions:
      contents: read
    steps:
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.repository.default_branch }}
          persist-credentials: false
      - uses: actions/download-artifact@v4
        with:
          path: ./site/
          run-id: ${{ github.event.workflow_run.id }}
          github-token: ${{ github.token }}
      - run: uv run ./scripts/deploy_docs_status.py
"""


def test_the_base_branch_and_an_artifact_kept_in_its_own_folder_are_not_reported(workflows):
    """The counter-case of the two above (fastapi's docs deploy): the checkout names the default
    branch, and the other run's artifact lands in ./site/, which nothing runs from."""
    root = workflows({"deploy.yml": BASE_CHECKOUT_AND_OWN_FOLDER})
    assert _analyze(root, "gha-dangerous-triggers") == (0, [])
