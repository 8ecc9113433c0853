"""The ``git-workflow`` applier: workflow files are the system itself, so the merge is the apply.

``snapshot`` reads the blobs of the touched workflows at the merge commit and ``precheck``
checks them (and the parent's) against the target: a plan built from other commits is drift.
``apply`` does nothing, by design: the merge already changed what runs, and this applier holds
nothing that could change it again (its authority is the forge, read only). ``validate`` watches
the runs of the touched workflows on the merge commit and compares each with the parent's run of
the same workflow and event:

* a completed run that did not succeed where the parent's succeeded is a regression: FAILED;
* runs still queued or in progress are polled until ``deploy.run_timeout_minutes``, then
  NOT_OBSERVABLE (the clock and the sleep are injectable, so tests never wait);
* a workflow with no run on the merge commit (no push trigger, path filters) is NOT_OBSERVABLE,
  recorded with a line saying so, and never waited for;
* runs that cannot be read (the forge is down) are NOT_OBSERVABLE too: they say nothing about
  the change, and a failure would revert a merged fix for a hiccup;
* PASSED only when every touched workflow was observed and none regressed.

``observe`` (``mendbot deploy observe``, for a change recorded ``not-observable``) reads the runs
once, without waiting: a run that has finished since is judged as above; one still running, or
no run at all, stays ``not-observable`` until the observation window closes.

``compensate`` cannot undo a merge and changes nothing: the compensation of a workflow change is
the revert pull request the deploy job has the propose identity open.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar, Self

from bot import git
from bot.deploy.applier import (
    Applier,
    Authority,
    DeployContext,
    Grant,
    Observation,
    State,
    Target,
    Validation,
    Verdict,
    Watch,
)
from bot.deploy.run_history import GOOD, SILENT
from bot.errors import MendbotError
from bot.forge.interface import DeployForge, ForgeError, WorkflowRun
from bot.risk import Reversibility


class WorkflowTargetError(MendbotError):
    """A git-workflow target this applier cannot watch: nothing was recorded as applied."""

    exit_code = 2


class _ForgeRead(Grant):
    """The forge the deploy job already holds, used read only; nothing to revoke."""

    def __init__(self, authority: Authority) -> None:
        self.authority = authority

    def revoke(self) -> None:
        """Nothing to end: the job's own forge token is not this applier's."""


@dataclass(frozen=True)
class _Verdict:
    """What one workflow's runs say."""

    verdict: Verdict
    check: str


class GitWorkflowApplier(Applier):
    """Workflow files (``.github/workflows/*.yml``) changed by a merge."""

    kind: ClassVar[str] = "git-workflow"
    reversibility: ClassVar[Reversibility] = Reversibility.REVERSIBLE
    compensation: ClassVar[str] = (
        "nothing was restored here: a merge cannot be undone by the deploy job; the revert pull "
        "request is the compensation"
    )
    #: Seconds between two readings of the runs while some are still queued or in progress.
    poll_seconds: ClassVar[float] = 30.0

    def __init__(
        self,
        forge: DeployForge,
        context: DeployContext,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._forge = forge
        self._context = context
        self.sleep = sleep
        """How to wait between two readings (tests replace it with one that moves a clock)."""

    @classmethod
    def connect(cls, target: Target, context: DeployContext) -> tuple[Self, Grant]:
        """The context's forge, read only; raises :class:`WorkflowTargetError` without one or
        for a target that is not workflow files."""
        if context.forge is None:
            raise WorkflowTargetError(
                "a workflow change needs the forge to read its runs, and none was given",
                advice="run `mendbot deploy apply` with the forge the plan was made with",
            )
        outside = [p for p in target.objects if not p.startswith(".github/workflows/")]
        if outside or not target.objects:
            raise WorkflowTargetError(
                f"git-workflow targets name workflow files only, not {', '.join(outside) or '∅'}",
                advice="the plan lists the workflow paths a merge touched",
            )
        expires = context.now() + timedelta(minutes=context.deploy.run_timeout_minutes)
        authority = Authority(
            credential_type="forge-read",
            principal=context.repository,
            session_name=f"mendbot-{context.change_id}",
            expires_at=_utc(expires),
            scope={
                "repository": context.repository,
                "reads": ["workflow runs", "commits"],
                "workflows": list(target.objects),
            },
        )
        return cls(context.forge, context), _ForgeRead(authority)

    # -- the five steps ----------------------------------------------------------------------
    def snapshot(self, target: Target) -> State:
        """The blob of each touched workflow at the merge commit (None where it was deleted)."""
        return self._blobs(self._context.merge_sha, target.objects)

    def precheck(self, target: Target, live: State) -> list[str]:
        """Lines for every blob at the merge commit that is not the target's desired one, and
        every blob at the parent that is not its pre-image."""
        drift = [
            f"{path} at {self._context.merge_sha[:12]} is {live.get(path) or 'absent'}, the "
            f"plan says {target.desired.get(path) or 'absent'}"
            for path in target.objects
            if live.get(path) != target.desired.get(path)
        ]
        parent = self._blobs(self._context.parent_sha, target.objects)
        drift += [
            f"{path} at the parent {self._context.parent_sha[:12]} is "
            f"{parent.get(path) or 'absent'}, the plan says "
            f"{target.pre_image.get(path) or 'absent'}"
            for path in target.objects
            if parent.get(path) != target.pre_image.get(path)
        ]
        return drift

    def apply(self, target: Target) -> None:
        """Nothing: the merge is the apply, and this applier can change nothing."""

    def validate(self, target: Target) -> Validation:
        """Compare the runs on the merge commit with the parent's (see the module docstring)."""
        minutes = self._context.deploy.run_timeout_minutes
        return self._watch(target, self._context.now() + timedelta(minutes=minutes))

    def observe(self, target: Target, watch: Watch) -> Observation:
        """Read the runs once (no waiting) and judge them as :meth:`validate` does."""
        return Observation(self._watch(target, deadline=None))

    def _watch(self, target: Target, deadline: datetime | None) -> Validation:
        """Read the runs, polling until none is pending or ``deadline`` (None: read once)."""
        try:
            while True:
                runs = self._forge.workflow_runs(self._context.merge_sha)
                pending = [
                    path
                    for path in target.objects
                    if any(r.path == path and r.status != "completed" for r in runs)
                ]
                if not pending or deadline is None or self._context.now() >= deadline:
                    break
                self.sleep(self.poll_seconds)
            parent_runs = self._forge.workflow_runs(self._context.parent_sha)
        except ForgeError as exc:
            # NOTE(deploy): runs that cannot be read say nothing about the change; failing here
            # would revert a merged fix because the forge hiccuped.
            return Validation(
                Verdict.NOT_OBSERVABLE, (f"the workflow runs could not be read: {exc}",)
            )
        verdicts = [
            self._judge(path, [r for r in runs if r.path == path], parent_runs, pending, deadline)
            for path in target.objects
        ]
        if any(v.verdict is Verdict.FAILED for v in verdicts):
            overall = Verdict.FAILED
        elif any(v.verdict is Verdict.NOT_OBSERVABLE for v in verdicts):
            overall = Verdict.NOT_OBSERVABLE
        else:
            overall = Verdict.PASSED
        return Validation(overall, tuple(v.check for v in verdicts))

    def compensate(self, target: Target, snapshot: State) -> None:
        """Nothing: see :attr:`compensation`."""

    # -- helpers -----------------------------------------------------------------------------
    def _judge(
        self,
        path: str,
        runs: list[WorkflowRun],
        parent_runs: list[WorkflowRun],
        pending: list[str],
        deadline: datetime | None,
    ) -> _Verdict:
        merge = self._context.merge_sha[:12]
        if not runs:
            return _Verdict(
                Verdict.NOT_OBSERVABLE,
                f"{path}: no run on {merge} (no trigger fired for this commit): not observable",
            )
        if path in pending:
            minutes = self._context.deploy.run_timeout_minutes
            waited = f"after {minutes} minutes" if deadline is not None else "now"
            return _Verdict(
                Verdict.NOT_OBSERVABLE,
                f"{path}: still running on {merge} {waited}: not observable",
            )
        results = []
        for event in sorted({r.event for r in runs}):
            newest = next(r for r in runs if r.event == event)  # runs come newest first
            before = next(
                (
                    r
                    for r in parent_runs
                    if r.path == path and r.event == event and r.status == "completed"
                ),
                None,
            )
            results.append(self._compare(path, event, newest, before))
        for wanted in (Verdict.FAILED, Verdict.NOT_OBSERVABLE):
            for verdict in results:
                if verdict.verdict is wanted:
                    return verdict
        return results[0]

    def _compare(
        self, path: str, event: str, now: WorkflowRun, before: WorkflowRun | None
    ) -> _Verdict:
        where = f"{path} ({event}) run {now.id}"
        if now.conclusion in GOOD:
            return _Verdict(Verdict.PASSED, f"{where}: {now.conclusion}")
        if now.conclusion in SILENT:
            return _Verdict(Verdict.NOT_OBSERVABLE, f"{where}: {now.conclusion}: not observable")
        if before is None:
            return _Verdict(
                Verdict.NOT_OBSERVABLE,
                f"{where}: {now.conclusion}, and the parent has no run to compare with: not "
                "observable",
            )
        if before.conclusion == "success":
            return _Verdict(
                Verdict.FAILED,
                f"{where}: {now.conclusion} where the parent's run {before.id} succeeded: "
                "regression",
            )
        return _Verdict(
            Verdict.PASSED,
            f"{where}: {now.conclusion}, as the parent's run {before.id} ({before.conclusion}): "
            "not a regression",
        )

    def _blobs(self, commit: str, paths: tuple[str, ...]) -> dict[str, str | None]:
        found: dict[str, str | None] = {}
        for path in paths:
            entry = git.blob_at(self._forge.workdir, commit, path)
            found[path] = entry[1] if entry else None
        return found


def _utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
