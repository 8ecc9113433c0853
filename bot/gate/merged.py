"""The gate on a merge commit, at deploy time.

Approval happened before the merge; deployment happens now. Between the two a freeze window
may have opened, an environment may have frozen (a failed deployment, an open rollback), or the
policies may have changed. So the deploy job asks the gate to decide again on the merge commit
itself: the pull request that merged it, judged by the policies, configuration and CODEOWNERS
of the merge's **first parent** (the default branch before the change), with approvals bound
to the head that merged, at the time of deployment. The decision is posted as the
``mendbot/policy`` status on the merge commit (GitHub then refuses to create a deployment
unless it is ``success``).

Fails closed: a commit that is not on the default branch's first-parent history, that no pull
request merged, whose content is not exactly what that pull request merges (an evil merge
pushed by hand), or whose base files are unusable is denied, naming why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bot import git as gitcmd
from bot.errors import MendbotError, PolicyError
from bot.forge.interface import ForgeError, GateForge, PullInfo
from bot.gate import publish as report
from bot.gate.build import BaseFiles, Gathered, gather, load_base
from bot.gate.run import SETUP
from bot.policy.decide import Decision, decide, denial
from bot.policy.engine import DEFAULT_ENGINE
from bot.provenance.verification.trust import Trust

#: Approvals a policy must demand to count as "the stronger approvals".
STRONG_APPROVALS = 2
#: How far back the default branch's first-parent history is searched for the merge commit.
HISTORY_LIMIT = 1000


@dataclass(frozen=True)
class MergeDecision:
    """The gate's decision on one merge commit, now."""

    sha: str
    parent: str
    pull: PullInfo | None
    """The pull request that merged ``sha`` (None: none did)."""
    decision: Decision
    gathered: Gathered | None
    record: dict[str, Any]
    """The decision record (as ``mendbot gate --record-out`` writes it)."""
    reported: tuple[str, ...]

    @property
    def allowed(self) -> bool:
        """Whether the decision is ``allow``."""
        return self.decision.outcome == "allow"

    @property
    def strong_approvals(self) -> tuple[str, ...]:
        """The matched policies that demand two or more approvals (the stronger approvals an
        unsafe or irreversible change needs to be deployed), when the decision is ``allow``
        (so those approvals were given)."""
        if not self.allowed or self.gathered is None:
            return ()
        matched = {report.name for report in self.decision.policies if report.matched}
        return tuple(
            sorted(
                policy.metadata.name
                for policy in self.gathered.base.policies.policies
                if policy.metadata.name in matched
                and any(
                    v.approvals is not None and v.approvals.count >= STRONG_APPROVALS
                    for v in policy.spec.validations
                )
            )
        )


def on_first_parent_history(repo: Path, tip: str, sha: str) -> bool:
    """Whether ``sha`` is ``tip`` or one of its last :data:`HISTORY_LIMIT` first parents."""
    out = gitcmd.run(repo, "rev-list", "--first-parent", f"--max-count={HISTORY_LIMIT}", tip)
    return sha in out.decode().split()


def carries_exactly(repo: Path, sha: str, parent: str, head: str) -> bool:
    """Whether commit ``sha``'s tree is what merging ``head`` into ``parent`` (its first parent)
    gives: what the forge's merge, squash or rebase button commits. A commit pushed by hand
    that a forge records as merging a pull request may hold anything else (an evil merge)."""
    merged = gitcmd.merged_tree(repo, parent, head)
    tree = gitcmd.run(repo, "rev-parse", "--verify", f"{sha}^{{tree}}").decode().strip()
    return merged is not None and merged == tree


def decide_merged(
    forge: GateForge,
    sha: str,
    *,
    trust: Trust,
    now: datetime,
    report_status: bool = True,
    target_url: str | None = None,
) -> MergeDecision:
    """Decide on merge commit ``sha`` as described in the module docstring; post the status
    when ``report_status``. Raises :class:`ForgeError` only when the forge fails (the status
    then stays ``pending``: still closed)."""
    repo = forge.workdir
    sha = gitcmd.rev_parse(repo, sha)
    if report_status:
        forge.set_status(sha, "pending", "deciding again at deploy time", target_url)
    pull: PullInfo | None = None
    gathered: Gathered | None = None
    base: BaseFiles | None = None
    parent = sha
    try:
        branch, tip = forge.default_tip()
        if not on_first_parent_history(repo, tip, sha):
            raise PolicyError(
                f"{sha[:12]} is not on the first-parent history of the default branch {branch}",
                advice="only commits merged into the default branch are deployed",
            )
        parent = gitcmd.rev_parse(repo, f"{sha}^1")
        base = load_base(repo, parent, branch)
        pull = forge.merged_pull(sha)
        if pull is None:
            raise PolicyError(
                f"no pull request merged {sha[:12]}: nothing was reviewed or gated",
                advice="changes reach deployment only through a gated pull request",
            )
        forge.fetch(pull)
        if not carries_exactly(repo, sha, parent, pull.head_sha):
            raise PolicyError(
                f"{sha[:12]} does not hold what pull request #{pull.number} merges (its head "
                f"{pull.head_sha[:12]} onto {parent[:12]}): the decision on that pull request "
                "says nothing about this commit's content",
                advice="deploy only commits made by the forge's merge, squash or rebase button",
            )
        gathered = gather(forge, pull, base, trust=trust, now=now)
    except ForgeError:
        raise
    except MendbotError as exc:
        problem = str(exc) + (f" ({exc.advice})" if exc.advice else "")
        decision = denial(SETUP, "inputs", problem, "sha256:" + "0" * 64, DEFAULT_ENGINE)
    else:
        decision = decide(base.policies, gathered.context.to_json())
    reported: list[str] = []
    if report_status:
        state = report.STATUS_STATES[decision.outcome]
        forge.set_status(sha, state, report.status_description(decision), target_url)
        reported.append(f"status mendbot/policy={state} on {sha[:12]}")
    record = report.record(
        gathered,
        decision,
        number=pull.number if pull else 0,
        context=gathered.context.to_json() if gathered else None,
        policy_digest=base.policies.digest if base else None,
        policy_source=base.policy_source if base else None,
        reported=reported,
    )
    record["merge_sha"] = sha
    record["evaluated_at"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    return MergeDecision(sha, parent, pull, decision, gathered, record, tuple(reported))
