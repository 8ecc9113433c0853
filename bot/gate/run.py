"""The gate job: read the pull request, decide, and report once, on the head it decided on."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bot import git as gitcmd
from bot.errors import MendbotError, PolicyError
from bot.forge.interface import ForgeError, GateForge, PullInfo, PullState
from bot.gate import publish as report
from bot.gate.build import BaseFiles, Gathered, gather, load_base
from bot.policy.decide import Decision, decide, denial
from bot.policy.engine import DEFAULT_ENGINE
from bot.provenance.verification.trust import Trust
from bot.safe_files import write_text_atomically

#: Pseudo-policy name for problems with the gate's own inputs (policies, configuration, git).
SETUP = "<setup>"


@dataclass(frozen=True)
class GateOptions:
    """How to run the gate."""

    trust: Trust
    """Whom attestations must be signed by."""
    now: datetime
    """The decision time (policies never read the clock)."""
    report: bool = True
    """Post the status, label and comment (False: ``policy explain``)."""
    status_sha: str | None = None
    """Post the status on this commit instead of the head (a merge queue's ``merge_group``)."""
    target_url: str | None = None
    """Link of the commit status (the workflow run)."""


@dataclass
class GateRun:
    """What one run decided and did."""

    pull: PullInfo
    decision: Decision
    gathered: Gathered | None
    record: dict[str, Any] = field(default_factory=dict)
    reported: list[str] = field(default_factory=list)
    superseded: bool = False
    """The head moved while deciding: the decision was not reported (the old head keeps the
    ``pending`` of the start of the run; the run for the new head decides)."""


def _setup_denial(problem: str) -> Decision:
    """A deny for a problem with the gate's inputs; there is no context to digest."""
    return denial(SETUP, "inputs", problem, "sha256:" + "0" * 64, DEFAULT_ENGINE)


def _refuse_shared_head(forge: GateForge, pull: PullInfo) -> None:
    """Raise :class:`PolicyError` when another open pull request proposes the same head commit
    into another branch: the commit's one status cannot carry two decisions."""
    others = sorted(
        (number, base)
        for number, base in forge.open_pulls_at_head(pull.head_sha)
        if number != pull.number and base != pull.base_ref
    )
    if others:
        where = ", ".join(f"#{number} into {base}" for number, base in others)
        raise PolicyError(
            f"the head commit {pull.head_sha[:12]} is also proposed by {where}: a commit status "
            "belongs to the commit, so one status cannot answer for two target branches",
            advice="close the other pull request(s), or push a distinct commit for each branch",
        )


def evaluate(forge: GateForge, number: int, options: GateOptions) -> GateRun:
    """Read pull request ``number`` and decide on it; report when ``options.report``.

    Fails closed: unusable policies or configuration on the default branch, a pull request into
    a branch the gate does not guard, or a change git cannot describe give a ``deny`` naming the
    file and the problem. When reporting, the status goes
    to ``pending`` before anything is read, so an earlier ``success`` never outlives a run that
    fails half-way; a forge failure after that is reported as an ``error`` status (best effort)
    and raised as :class:`ForgeError`.
    """
    with gitcmd.batched():
        return _evaluate_open(forge, number, options)


def _evaluate_open(forge: GateForge, number: int, options: GateOptions) -> GateRun:
    pull = forge.pull_info(number)
    if pull.state is not PullState.OPEN:
        raise ForgeError(
            f"#{number} is {pull.state.value}: the gate decides only on open pull requests"
        )
    sha = options.status_sha or pull.head_sha
    if options.report:
        forge.set_status(sha, "pending", "deciding", options.target_url)
    try:
        return _evaluate(forge, pull, options)
    except ForgeError as exc:
        if options.report:
            _best_effort_error(forge, sha, f"could not decide: {exc}", options)
        raise


def _best_effort_error(forge: GateForge, sha: str, text: str, options: GateOptions) -> None:
    description = report.plain(text, 140)
    try:
        forge.set_status(sha, "error", description, options.target_url)
    except ForgeError:
        pass  # NOTE(gate): the status stays "pending" from the start of the run: still closed.


def _evaluate(forge: GateForge, pull: PullInfo, options: GateOptions) -> GateRun:
    forge.fetch(pull)
    gathered: Gathered | None = None
    base: BaseFiles | None = None
    branch, tip = forge.default_tip()
    try:
        base = load_base(forge.workdir, tip, branch)
        if not base.gates(pull.base_ref):
            raise PolicyError(
                f"pull requests into {pull.base_ref} are not gated: a commit status belongs to the "
                f"commit, so a branch with other rules must not be able to pass it",
                advice=f"target {branch}, or list the branch under gate.branches in "
                f".github/mendbot.yml on {branch} (on the local forge the default branch is "
                "--base, else origin/HEAD's branch, init.defaultBranch, main or master)",
            )
        _refuse_shared_head(forge, pull)
        gathered = gather(forge, pull, base, trust=options.trust, now=options.now)
    except ForgeError:
        raise
    except MendbotError as exc:
        problem = str(exc) + (f" ({exc.advice})" if exc.advice else "")
        decision = _setup_denial(problem)
    else:
        decision = decide(base.policies, gathered.context.to_json())
    run = GateRun(pull, decision, gathered)
    if options.report:
        _report(forge, run, base, options)
    context = gathered.context.to_json() if gathered else None
    run.record = report.record(
        gathered,
        decision,
        number=pull.number,
        context=context,
        policy_digest=base.policies.digest if base else None,
        policy_source=base.policy_source if base else None,
        reported=run.reported,
    )
    return run


def _report(forge: GateForge, run: GateRun, base: BaseFiles | None, options: GateOptions) -> None:
    """Status first (it is what branch protection reads), then the label and the comment.

    Auto-merge is requested while the status is still ``pending`` from the start of the run:
    GitHub refuses it on a pull request with nothing left to wait for.
    """
    now = forge.pull_info(run.pull.number)
    if now.head_sha != run.pull.head_sha:
        run.superseded = True
        run.reported.append(
            f"nothing reported: the head moved from {run.pull.head_sha[:12]} to "
            f"{now.head_sha[:12]} while deciding; the run for the new head decides"
        )
        return
    decision = run.decision
    extra: list[str] = []
    # In a merge queue the pull request is already on its way in: only the status is needed.
    queued = options.status_sha is not None
    if decision.auto_merge and not queued and base is not None and base.config.gate.auto_merge:
        method = base.config.gate.merge_method
        try:
            done = forge.enable_auto_merge(run.pull.number, run.pull.head_sha, method)
        except ForgeError as exc:
            done = f"auto-merge not enabled: {exc.diagnostics()}"
        run.reported.append(done)
        extra += [f"**Auto-merge:** {report.code(done)}", ""]
    sha = options.status_sha or run.pull.head_sha
    state = report.STATUS_STATES[decision.outcome]
    forge.set_status(sha, state, report.status_description(decision), options.target_url)
    run.reported.append(f"status mendbot/policy={state} on {sha[:12]}")
    label = report.LABELS[decision.outcome]
    forge.set_gate_label(run.pull.number, label)
    run.reported.append(f"label {label}")
    text = report.comment(run.pull, base, run.gathered, decision, extra)
    if forge.comment(run.pull.number, report.TOPIC, text):
        run.reported.append("comment updated")


def write_record(path: Path, record: dict[str, Any]) -> None:
    """Write the decision record atomically (a reader never sees half a file)."""
    write_text_atomically(path, json.dumps(record, indent=2, sort_keys=True) + "\n")


__all__ = ["SETUP", "GateOptions", "GateRun", "evaluate", "write_record"]
