"""The GitHub Action (``action.yml``), run step by step with its documented inputs.

The first run installs mendbot for real from this checkout, as the action does on a runner
without a cached environment; the other tests reuse that environment the way a restored cache
is used (the install step then leaves it as it is).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from action_steps import ActionRun, run_action
from cryptography.hazmat.primitives import serialization
from fakegithub import TOKEN, FakeGitHub

from bot.protocol import decode_metadata
from bot.provenance.signing.signers import KeySigner
from keyfiles import write_keys

INJECTABLE = """\
on: issues
permissions: {}
jobs:
  triage:
    runs-on: ubuntu-latest
    steps:
      - run: echo "${{ github.event.issue.title }}"
"""


CLEAN = """\
on: push
permissions: {}
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: echo hello
"""


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """mendbot installed by the action itself into a fresh runner's temporary folder."""
    workspace = tmp_path_factory.mktemp("clean-workspace")
    (workspace / ".github" / "workflows").mkdir(parents=True)
    (workspace / ".github" / "workflows" / "ci.yml").write_text(CLEAN, encoding="utf-8")
    runner = tmp_path_factory.mktemp("first-runner")
    run = run_action({"command": "analyze"}, workspace=workspace, runner_temp=runner)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "mendbot, version" in run.stdout
    assert run.outputs["findings"] == "0"
    yield runner / "mendbot-venv"
    shutil.rmtree(runner, ignore_errors=True)


@pytest.fixture
def runner(installed: Path, tmp_path: Path) -> Path:
    """A runner's temporary folder where mendbot's environment was restored."""
    folder = tmp_path / "runner"
    folder.mkdir()
    (folder / "mendbot-venv").symlink_to(installed)
    return folder


def _workspace(tmp_path: Path, workflows: dict[str, str]) -> Path:
    root = tmp_path / "workspace"
    (root / ".github" / "workflows").mkdir(parents=True)
    for name, text in workflows.items():
        (root / ".github" / "workflows" / name).write_text(text, encoding="utf-8")
    return root


def test_analyze_annotates_writes_sarif_and_a_summary(tmp_path: Path, runner: Path) -> None:
    workspace = _workspace(tmp_path, {"triage.yml": INJECTABLE})
    run = run_action({"command": "analyze", "paths": "."}, workspace=workspace, runner_temp=runner)
    assert run.returncode == 0, run.stderr
    assert run.outputs["exit-code"] == "1"  # findings, but the step succeeds by default
    assert run.outputs["findings"] == "1"
    assert "::error file=.github/workflows/triage.yml,line=7" in run.stdout
    sarif = json.loads(Path(run.outputs["sarif"]).read_text(encoding="utf-8"))
    [result] = sarif["runs"][0]["results"]
    assert result["ruleId"] == "gha-template-injection"
    assert "### mendbot analyze: 1 finding(s)" in run.summary
    assert "gha-template-injection" in run.summary
    # The read-only analysis may restore a cached environment.
    assert [u.split("@")[0] for u in run.skipped_uses] == ["actions/cache"]


def test_fail_on_findings_fails_the_step(tmp_path: Path, runner: Path) -> None:
    workspace = _workspace(tmp_path, {"triage.yml": INJECTABLE})
    run = run_action(
        {"command": "analyze", "fail-on-findings": "true"}, workspace=workspace, runner_temp=runner
    )
    assert (run.returncode, run.outputs["exit-code"]) == (1, "1")


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"command": "fix"}, "input 'command' must be analyze, propose, gate, deploy or revert"),
        ({"command": "analyze", "cache": "yes"}, "input 'cache' must be auto or false"),
        ({"command": "analyze", "version": "--index-url=x"}, "input 'version' must be a release"),
        ({"command": "analyze", "python": "no-such-python"}, "input 'python': no interpreter"),
    ],
)
def test_bad_inputs_stop_before_anything_runs(
    tmp_path: Path, runner: Path, inputs: dict[str, str], message: str
) -> None:
    workspace = _workspace(tmp_path, {"triage.yml": INJECTABLE})
    run = run_action(inputs, workspace=workspace, runner_temp=runner)
    assert run.returncode == 2
    assert f"::error title=mendbot action::{message}" in run.stdout
    assert run.outputs["exit-code"] == ""  # mendbot never ran


def test_input_values_are_words_never_code(tmp_path: Path, runner: Path) -> None:
    """Every input reaches mendbot as separate words: nothing in them is run by a shell."""
    workspace = _workspace(tmp_path, {"triage.yml": INJECTABLE})
    hostile = "$(touch pwned-1) `touch pwned-2` ; touch pwned-3"
    run = run_action(
        {"command": "analyze", "paths": hostile, "args": hostile, "config": hostile},
        workspace=workspace,
        runner_temp=runner,
    )
    assert run.returncode == 2  # mendbot refuses the arguments
    assert not list(workspace.glob("pwned*")) and not list(runner.glob("pwned*"))


REPO = "octo/project"


def _propose(github: FakeGitHub, bench, signing_key, tmp_path: Path, runner: Path) -> ActionRun:
    bench.analyse_as(f"{github.origin}/{REPO}.git")
    signed = bench.bundle(KeySigner(signing_key))
    if REPO not in github.repos:
        github.add_repo(REPO, bench.repo.path)
    folder = bench.repo.path / "mendbot-bundles"
    for bundle in signed.values():
        if not (folder / bundle.name).exists():
            shutil.copytree(bundle, folder / bundle.name)
    key = tmp_path / "analysis.pub.pem"
    key.write_bytes(
        signing_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return run_action(
        {"command": "propose", "verify-key": str(key)},
        workspace=bench.repo.path,
        runner_temp=runner,
        github={"token": TOKEN},
        env={"GITHUB_API_URL": github.base_url, "GITHUB_REPOSITORY": REPO},
    )


def test_propose_opens_one_pull_request_per_bundle(
    github: FakeGitHub, bench, signing_key, tmp_path: Path, runner: Path
) -> None:
    run = _propose(github, bench, signing_key, tmp_path, runner)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.outputs["pull-requests"] == "1 2"
    assert sorted(github.repos[REPO].pulls) == [1, 2]
    assert run.summary.count("- opened ") == 2
    # A job that holds a write token never restores a cached environment.
    assert run.skipped_uses == []
    assert TOKEN not in run.stdout + run.stderr + run.summary
    again = _propose(github, bench, signing_key, tmp_path, runner)
    assert (again.returncode, again.outputs["pull-requests"]) == (0, "1 2")
    assert again.summary.count("- unchanged ") == 2


def test_propose_without_bundles_says_so(tmp_path: Path, runner: Path) -> None:
    workspace = _workspace(tmp_path, {"ci.yml": CLEAN})
    run = run_action({"command": "propose"}, workspace=workspace, runner_temp=runner)
    assert run.returncode == 0
    assert "No bundle under mendbot-bundles: nothing to propose." in run.stdout
    assert run.outputs["pull-requests"] == ""


def test_gate_without_a_pull_request_is_refused(tmp_path: Path, runner: Path) -> None:
    workspace = _workspace(tmp_path, {})
    run = run_action({"command": "gate"}, workspace=workspace, runner_temp=runner)
    assert (run.returncode, run.outputs["exit-code"]) == (2, "2")
    assert "no pull request: set input 'pr', or 'all-open: true'" in run.stdout


def test_revert_needs_a_target(tmp_path: Path, runner: Path) -> None:
    workspace = _workspace(tmp_path, {"ci.yml": CLEAN})
    run = run_action({"command": "revert"}, workspace=workspace, runner_temp=runner)
    assert (run.returncode, run.outputs["exit-code"]) == (2, "2")
    assert "input 'target' names the remediation to revert" in run.stdout


def test_revert_on_github_opens_the_exact_revert(
    github: FakeGitHub, bench, signing_key, tmp_path: Path, runner: Path
) -> None:
    """Propose, merge with GitHub's button, then revert through the action: the revert
    pull request turns the merged change around exactly."""
    proposed = _propose(github, bench, signing_key, tmp_path, runner)
    assert proposed.outputs["pull-requests"] == "1 2", proposed.stdout + proposed.stderr
    merged = github.merge_pull(REPO, 1)
    workspace = bench.repo.path
    bench.repo.git("fetch", "-q", str(github.repos[REPO].bare), "main")
    bench.repo.git("checkout", "-q", "-B", "main", "FETCH_HEAD")  # what actions/checkout does
    run = run_action(
        {"command": "revert", "target": "#1", "reason": "it broke the release"},
        workspace=workspace,
        runner_temp=runner,
        github={"token": TOKEN},
        env={"GITHUB_API_URL": github.base_url, "GITHUB_REPOSITORY": REPO, "GITHUB_ACTOR": "grace"},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.outputs["pull-requests"] == "3"
    pull = github.repos[REPO].pulls[3]
    assert "mendbot:revert" in pull.labels
    assert "Requested by `grace`: `it broke the release`" in pull.body
    head = github.sha(github.repos[REPO], f"refs/heads/{pull.head}")
    forward = github.git(github.repos[REPO], "diff", f"{merged}^1", merged)
    backward = github.git(github.repos[REPO], "diff", str(head), f"{head}^1")
    assert forward == backward


def test_signed_revert_through_the_action_sign_job_then_propose_job(
    github: FakeGitHub, bench, signing_key, tmp_path: Path, runner: Path
) -> None:
    """The two jobs of docs/examples/mendbot-revert.yml: `revert` with `bundle-out` signs and
    holds no token; `propose` opens the revert pull request from the verified bundle."""
    proposed = _propose(github, bench, signing_key, tmp_path, runner)
    assert proposed.outputs["pull-requests"] == "1 2", proposed.stdout + proposed.stderr
    merged = github.merge_pull(REPO, 1)
    rid = decode_metadata(github.repos[REPO].pulls[1].body)["remediation"]
    bench.repo.git("fetch", "-q", str(github.repos[REPO].bare), "main")
    bench.repo.git("checkout", "-q", "-B", "main", "FETCH_HEAD")
    private, _ = write_keys(tmp_path, "revert", signing_key)
    out = runner / "revert-bundle"
    signed = run_action(
        {
            "command": "revert",
            "target": rid,
            "reason": "it broke the release",
            "bundle-out": str(out),
            "sign": "key",
            "args": f"--signing-key {private}",
        },
        workspace=bench.repo.path,
        runner_temp=runner,
        env={
            "GITHUB_ACTOR": "grace",
            "GITHUB_SERVER_URL": github.origin,
            "GITHUB_REPOSITORY": REPO,
        },
    )
    assert signed.returncode == 0, signed.stdout + signed.stderr
    assert signed.outputs["bundles"] == str(out)
    assert sorted(github.repos[REPO].pulls) == [1, 2]  # signing opens nothing
    key = tmp_path / "analysis.pub.pem"
    opened = run_action(
        {"command": "propose", "bundles": str(out), "verify-key": str(key)},
        workspace=bench.repo.path,
        runner_temp=runner,
        github={"token": TOKEN},
        env={"GITHUB_API_URL": github.base_url, "GITHUB_REPOSITORY": REPO},
    )
    assert opened.returncode == 0, opened.summary + opened.stdout + opened.stderr
    assert opened.outputs["pull-requests"] == "3"
    pull = github.repos[REPO].pulls[3]
    assert "mendbot:revert" in pull.labels
    assert "asked by grace: it broke the release" in pull.title
    assert f"merged in `{merged}` (#1)" in pull.body


def test_a_rollback_needs_its_environment(tmp_path: Path, runner: Path) -> None:
    workspace = _workspace(tmp_path, {"ci.yml": CLEAN})
    run = run_action(
        {"command": "propose", "rollback-sha": "0" * 40}, workspace=workspace, runner_temp=runner
    )
    assert (run.returncode, run.outputs["exit-code"]) == (2, "2")
    assert "input 'rollback-sha' needs input 'environment'" in run.stdout


def test_deploy_observe_runs_mendbot_deploy_observe(tmp_path: Path, runner: Path) -> None:
    """`deploy-command: observe` reaches `mendbot deploy observe` (which wants its records)."""
    workspace = _workspace(tmp_path, {"ci.yml": CLEAN})
    run = run_action(
        {"command": "deploy", "deploy-command": "observe"}, workspace=workspace, runner_temp=runner
    )
    assert (run.returncode, run.outputs["exit-code"]) == (2, "2")
    assert "Missing option '--records'" in run.stdout + run.stderr
