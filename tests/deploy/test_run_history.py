"""What counts as a workflow newly failing after a settings change: the runs of the default
branch's commits after the merge against those on the merge and before, on a real repository
and the local forge's recorded runs (as a runner would report them)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.deploy.applier import Verdict
from bot.deploy.run_history import newly_failing, read_history
from bot.forge.interface import WorkflowRun
from bot.forge.local import LocalForge

CI = ".github/workflows/ci.yml"
LINT = ".github/workflows/lint.yml"


@pytest.fixture
def history(make_repo: Any) -> tuple[LocalForge, list[str]]:
    """``main`` with four commits: the one before the merge, the merge, two after it."""
    repo = make_repo("history")
    commits = []
    for name in ("before", "merge", "after-1", "after-2"):
        repo.write(f"{name}.txt", name)
        commits.append(repo.commit(name))
    return LocalForge(repo.path, base="main"), commits


def _run(forge: LocalForge, number: int, sha: str, conclusion: str | None, path: str = CI):
    status = "completed" if conclusion else "in_progress"
    forge.record_run(WorkflowRun(number, path, sha, "push", status, conclusion))


def test_a_workflow_failing_since_where_it_passed_before_is_newly_failing(history) -> None:
    forge, (before, merge, after_1, after_2) = history
    _run(forge, 1, before, "success")
    _run(forge, 2, merge, "success")
    _run(forge, 3, after_1, "success")
    _run(forge, 4, after_2, "failure")  # the newest completed run since decides
    _run(forge, 5, before, "failure", LINT)
    _run(forge, 6, after_2, "failure", LINT)  # failing before the change too

    found = newly_failing(read_history(forge, merge))

    assert found.verdict is Verdict.FAILED
    assert found.checks == (
        f"{CI} (push) run 4 on {after_2[:12]}: failure where run 2 before the change "
        "succeeded: newly failing",
        f"{LINT} (push) run 6 on {after_2[:12]}: failure, as run 5 before the change "
        "(failure): not newly failing",
    )


def test_cancelled_or_unfinished_runs_since_say_nothing(history) -> None:
    forge, (_, merge, after_1, after_2) = history
    _run(forge, 1, merge, "success")
    _run(forge, 2, after_1, "cancelled")
    _run(forge, 3, after_2, None)

    found = newly_failing(read_history(forge, merge))

    assert found.verdict is Verdict.PASSED
    assert found.checks == (f"{CI} (push) run 2 on {after_1[:12]}: cancelled",)


def test_no_run_since_the_change_is_not_observable(history) -> None:
    forge, (_, merge, _, _) = history
    _run(forge, 1, merge, "success")

    found = newly_failing(read_history(forge, merge))

    assert found.verdict is Verdict.NOT_OBSERVABLE
    assert found.checks == ("no workflow run has completed on main since the change",)
