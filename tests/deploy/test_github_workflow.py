"""The git-workflow applier through the deploy lifecycle, reading runs from the fake GitHub:
a regression against the parent's run fails validation, a success passes, runs still going at
the deadline and workflows with no run are not observable, and nothing is waited for in real
time (the clock and the sleep are the test's)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from deploy_github import REPO, Clock, context
from fakegithub import TOKEN, FakeGitHub

from bot.deploy.applier import Target, Verdict
from bot.deploy.appliers import applier_for
from bot.deploy.git_workflow import GitWorkflowApplier, WorkflowTargetError
from bot.deploy.lifecycle import Outcome, deploy_change
from bot.forge.github.forge import GitHubForge

CI = ".github/workflows/ci.yml"
LINT = ".github/workflows/lint.yml"

BEFORE = """\
name: ci
on: push
permissions: write-all
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: make test
"""


class Merge:
    """A repository whose last commit (the merge) changed two workflows, on the fake GitHub,
    with the deploy job's clone as the forge's work directory."""

    def __init__(self, github: FakeGitHub, make_repo, tmp_path: Path) -> None:
        source = make_repo("source")
        source.write(CI, BEFORE)
        source.write(LINT, BEFORE.replace("name: ci", "name: lint"))
        self.parent = source.commit("initial")
        source.write(CI, BEFORE.replace("write-all", "{}"))
        source.write(LINT, BEFORE.replace("name: ci", "name: lint").replace("write-all", "{}"))
        self.merge = source.commit("least privilege")
        github.add_repo(REPO, source.path)
        workdir = tmp_path / "work"
        subprocess.run(["git", "clone", "-q", str(source.path), str(workdir)], check=True)
        self.github = github
        self.source = source
        self.forge = GitHubForge(
            REPO, workdir, TOKEN, base_url=github.base_url, throttle=False, retry=0
        )
        self.clock = Clock()

    def blob(self, commit: str, path: str) -> str:
        return self.source.git("rev-parse", f"{commit}:{path}")

    def target(self, *paths: str) -> Target:
        paths = paths or (CI,)
        return Target(
            kind="git-workflow",
            environment="production",
            objects=paths,
            pre_image={p: self.blob(self.parent, p) for p in paths},
            desired={p: self.blob(self.merge, p) for p in paths},
        )

    def run(self, commit: str, path: str = CI, **fields) -> dict:
        return self.github.add_run(REPO, path, commit, **fields)

    def connect(self, target: Target, timeout_minutes: int = 30) -> GitWorkflowApplier:
        ctx = context(
            forge=self.forge,
            merge_sha=self.merge,
            parent_sha=self.parent,
            clock=self.clock,
            run_timeout_minutes=timeout_minutes,
        )
        applier, grant = applier_for("git-workflow").connect(target, ctx)
        assert isinstance(applier, GitWorkflowApplier)
        assert grant.authority.credential_type == "forge-read"
        assert grant.authority.principal == REPO
        applier.sleep = self.clock.sleep
        return applier


@pytest.fixture
def merged(github: FakeGitHub, make_repo, tmp_path: Path) -> Merge:
    return Merge(github, make_repo, tmp_path)


def test_a_run_failing_where_the_parent_passed_is_a_regression(merged):
    merged.run(merged.parent, conclusion="success")
    failing = merged.run(merged.merge, conclusion="failure")
    target = merged.target()

    step = deploy_change(merged.connect(target), target)

    assert step.validation is not None and step.validation.verdict is Verdict.FAILED
    assert step.validation.checks == (
        f"{CI} (push) run {failing['id']}: failure where the parent's run "
        f"{failing['id'] - 1} succeeded: regression",
    )
    # Nothing to restore: the record says the revert pull request is the compensation.
    assert step.outcome is Outcome.COMPENSATED
    assert step.reasons == ("validation failed", GitWorkflowApplier.compensation)
    assert "revert pull request" in step.reasons[1]
    assert merged.clock.slept == []


def test_runs_that_pass_validate_the_change(merged):
    merged.run(merged.parent, conclusion="success")
    merged.run(merged.parent, LINT, conclusion="failure")
    ok = merged.run(merged.merge, conclusion="success")
    lint = merged.run(merged.merge, LINT, conclusion="failure")  # failing before too
    target = merged.target(CI, LINT)

    step = deploy_change(merged.connect(target), target)

    assert step.outcome is Outcome.APPLIED
    assert step.before == target.desired
    assert step.validation is not None and step.validation.verdict is Verdict.PASSED
    assert step.validation.checks == (
        f"{CI} (push) run {ok['id']}: success",
        f"{LINT} (push) run {lint['id']}: failure, as the parent's run {lint['id'] - 2} "
        "(failure): not a regression",
    )


def test_runs_still_going_at_the_deadline_are_not_observable(merged):
    merged.run(merged.parent, conclusion="success")
    merged.run(merged.merge, status="in_progress")
    target = merged.target()

    step = deploy_change(merged.connect(target, timeout_minutes=2), target)

    assert step.outcome is Outcome.APPLIED
    assert step.validation is not None and step.validation.verdict is Verdict.NOT_OBSERVABLE
    assert step.validation.checks == (
        f"{CI}: still running on {merged.merge[:12]} after 2 minutes: not observable",
    )
    assert merged.clock.slept == [30.0, 30.0, 30.0, 30.0]  # bounded: 2 minutes, then stop


def test_a_run_finishing_while_polled_is_judged(merged):
    merged.run(merged.parent, conclusion="success")
    run = merged.run(merged.merge, status="queued")
    target = merged.target()
    applier = merged.connect(target)

    def finish(seconds: float) -> None:
        merged.clock.sleep(seconds)
        run.update(status="completed", conclusion="failure")

    applier.sleep = finish
    step = deploy_change(applier, target)

    assert step.validation is not None and step.validation.verdict is Verdict.FAILED
    assert merged.clock.slept == [30.0]


def test_a_workflow_without_any_run_is_not_observable(merged):
    merged.run(merged.merge, conclusion="success")  # ci ran; lint has no trigger for this push
    target = merged.target(CI, LINT)

    step = deploy_change(merged.connect(target), target)

    assert step.outcome is Outcome.APPLIED
    assert step.validation is not None and step.validation.verdict is Verdict.NOT_OBSERVABLE
    assert step.validation.checks[1] == (
        f"{LINT}: no run on {merged.merge[:12]} (no trigger fired for this commit): not observable"
    )
    assert merged.clock.slept == []  # a run that never comes is not waited for


def test_a_failure_with_no_parent_run_to_compare_is_not_observable(merged):
    merged.run(merged.merge, conclusion="failure")
    target = merged.target()

    step = deploy_change(merged.connect(target), target)

    assert step.validation is not None and step.validation.verdict is Verdict.NOT_OBSERVABLE
    assert "the parent has no run to compare with" in step.validation.checks[0]


def test_a_plan_that_does_not_match_the_commits_is_drift(merged):
    merged.run(merged.merge, conclusion="success")
    honest = merged.target()
    forged = Target(
        kind=honest.kind,
        environment=honest.environment,
        objects=honest.objects,
        pre_image=honest.pre_image,
        desired={CI: "0" * 40},
    )

    step = deploy_change(merged.connect(forged), forged)

    assert step.outcome is Outcome.DRIFT
    assert step.reasons == (
        f"{CI} at {merged.merge[:12]} is {honest.desired[CI]}, the plan says {'0' * 40}",
    )
    assert merged.github.requests == []  # not even the runs were read


def test_without_a_forge_or_with_other_files_nothing_connects(merged):
    target = merged.target()
    with pytest.raises(WorkflowTargetError, match="needs the forge"):
        GitWorkflowApplier.connect(target, context())
    other = Target("git-workflow", "production", ("src/app.py",), {}, {})
    with pytest.raises(WorkflowTargetError, match=r"workflow files only, not src/app\.py"):
        GitWorkflowApplier.connect(other, context(forge=merged.forge))


def test_runs_that_cannot_be_read_are_not_observable_not_a_failure(merged):
    merged.run(merged.parent, conclusion="success")
    merged.run(merged.merge, conclusion="success")
    target = merged.target()
    applier = merged.connect(target)
    merged.github.faults["actions/list-workflow-runs-for-repo"] = [503]

    step = deploy_change(applier, target)

    assert step.outcome is Outcome.APPLIED  # not reverted for a hiccup
    assert step.validation is not None and step.validation.verdict is Verdict.NOT_OBSERVABLE
    assert step.validation.checks[0].startswith("the workflow runs could not be read: ")
    assert "HTTP 503" in step.validation.checks[0]
