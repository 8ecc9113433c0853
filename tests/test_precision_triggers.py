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
