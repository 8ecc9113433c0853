"""Whether the workflows of the default branch are newly failing since a change was deployed.

A change outside git (a repository setting) shows its effect on the workflow runs that follow
it. The forge lists runs by commit only, so "before" and "since" are read along the default
branch's first-parent history: the runs on the merge commit and the commits before it are
*before* (the merge commit's own runs started with the merge, before the deploy job acted);
the runs on the commits after it are *since*. A workflow (file and event) is **newly failing**
when its newest completed run since the change failed where its newest completed run before
succeeded; a failure that was already there, or a run a person or a newer run cancelled, says
nothing about the change.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot import git
from bot.deploy.applier import Validation, Verdict
from bot.forge.interface import DeployForge, ForgeError, WorkflowRun
from bot.git import GitError

#: Conclusions that count as the workflow working.
GOOD = frozenset({"success", "neutral", "skipped"})
#: Conclusions that tell nothing about the change (a person or a newer run stopped it).
SILENT = frozenset({"cancelled", "stale"})
#: How many first-parent commits are read on each side of the merge commit.
LOOKBACK = 20


@dataclass(frozen=True)
class RunHistory:
    """The newest completed run of each workflow (file, event) before and since a change."""

    branch: str
    before: dict[tuple[str, str], WorkflowRun]
    since: dict[tuple[str, str], WorkflowRun]


def read_history(forge: DeployForge, merge_sha: str, lookback: int = LOOKBACK) -> RunHistory:
    """The runs around ``merge_sha`` on the default branch; raises :class:`ForgeError` when the
    history or the runs cannot be read."""
    branch, tip = forge.default_tip()
    try:
        after = _first_parents(forge, f"{merge_sha}..{tip}", lookback)
        upto = _first_parents(forge, merge_sha, lookback)
    except GitError as exc:
        raise ForgeError(f"the history of {branch} could not be read: {exc}") from None
    return RunHistory(branch, _newest_completed(forge, upto), _newest_completed(forge, after))


def newly_failing(history: RunHistory) -> Validation:
    """FAILED with one line per newly failing workflow; PASSED when runs completed since and
    none is newly failing; NOT_OBSERVABLE when no run completed since the change."""
    if not history.since:
        return Validation(
            Verdict.NOT_OBSERVABLE,
            (f"no workflow run has completed on {history.branch} since the change",),
        )
    checks, failed = [], False
    for (path, event), now in sorted(history.since.items()):
        before = history.before.get((path, event))
        where = f"{path} ({event}) run {now.id} on {now.head_sha[:12]}"
        if now.conclusion in GOOD or now.conclusion in SILENT:
            checks.append(f"{where}: {now.conclusion}")
        elif before is None:
            checks.append(f"{where}: {now.conclusion}, with no run before the change to compare")
        elif before.conclusion == "success":
            failed = True
            checks.append(
                f"{where}: {now.conclusion} where run {before.id} before the change succeeded: "
                "newly failing"
            )
        else:
            checks.append(
                f"{where}: {now.conclusion}, as run {before.id} before the change "
                f"({before.conclusion}): not newly failing"
            )
    return Validation(Verdict.FAILED if failed else Verdict.PASSED, tuple(checks))


def _first_parents(forge: DeployForge, revisions: str, lookback: int) -> list[str]:
    listed = git.run(
        forge.workdir, "rev-list", "--first-parent", f"--max-count={lookback}", revisions
    )
    return listed.decode().split()


def _newest_completed(forge: DeployForge, commits: list[str]) -> dict[tuple[str, str], WorkflowRun]:
    """Per (file, event), the newest completed run on ``commits`` (newest commit first)."""
    found: dict[tuple[str, str], WorkflowRun] = {}
    for sha in commits:
        for run in forge.workflow_runs(sha):  # newest first
            if run.status == "completed":
                found.setdefault((run.path, run.event), run)
    return found
