"""What the gate says: the commit status, the label, the sticky comment and the decision record.

Text that comes from the pull request (paths, labels, logins) is shown inside code spans with
backticks removed (:mod:`bot.markdown`), so it cannot add mentions, links or markup to the bot's
comment.
"""

from __future__ import annotations

from typing import Any

from bot import __version__
from bot.forge.interface import CommitState, PullInfo
from bot.gate.build import BaseFiles, Gathered
from bot.markdown import code as code
from bot.markdown import plain as plain
from bot.policy.decide import Decision, Outcome
from bot.protocol import GATE_LABEL_ALLOWED, GATE_LABEL_BLOCKED, GATE_LABEL_NEEDS_APPROVAL

#: The sticky comment's topic.
TOPIC = "gate"
#: Version of the decision record's JSON shape.
RECORD_VERSION = 1

STATUS_STATES: dict[Outcome, CommitState] = {
    "allow": "success",
    "require_approval": "pending",
    "deny": "failure",
}
LABELS: dict[Outcome, str] = {
    "allow": GATE_LABEL_ALLOWED,
    "require_approval": GATE_LABEL_NEEDS_APPROVAL,
    "deny": GATE_LABEL_BLOCKED,
}
_HEADINGS: dict[Outcome, str] = {
    "allow": "allowed",
    "require_approval": "waiting for approval",
    "deny": "blocked",
}
_STATUS_LIMIT = 140


def status_description(decision: Decision) -> str:
    """One line for the commit status (GitHub keeps 140 characters)."""
    if decision.outcome == "allow":
        text = "allowed" + (" (auto-merge eligible)" if decision.auto_merge else "")
    elif decision.outcome == "require_approval" and decision.missing_approvals:
        text = "needs " + decision.missing_approvals[0].describe()
    else:
        strongest = decision.results[0] if decision.results else None
        prefix = "blocked" if decision.outcome == "deny" else "needs approval"
        text = prefix + (f": {strongest.policy}: {strongest.message}" if strongest else "")
    return plain(text, _STATUS_LIMIT)


def comment(
    pull: PullInfo,
    base: BaseFiles | None,
    gathered: Gathered | None,
    decision: Decision,
    extra: list[str],
) -> str:
    """The sticky comment: the outcome, each contributing validation, the approvals still
    needed and who may give them, and the facts behind the decision.

    It holds nothing that changes between runs that decide the same way (no clock, no context
    digest), so a rerun (e.g. the scheduled one) does not edit it; the decision record has those.
    """
    lines = [f"### mendbot policy gate: {_HEADINGS[decision.outcome]}", ""]
    source = (
        f", policies read from the default branch {code(base.branch)} at {code(base.commit[:12])}"
        if base is not None
        else ""
    )
    lines.append(
        f"Decision for head {code(pull.head_sha[:12])} into {code(pull.base_ref)}{source}."
    )
    lines.append("")
    if decision.results:
        lines += ["| Action | Policy | Validation | Message |", "|---|---|---|---|"]
        for result in decision.results:
            waived = f" (waived by exception {result.excepted_by})" if result.excepted_by else ""
            # Messages can quote paths and values from the pull request: shown as code.
            message = code(result.message).replace("|", "\\|")
            lines.append(
                f"| {result.action} | {code(result.policy)} | {code(result.validation)} "
                f"| {message}{waived} |"
            )
        lines.append("")
    if decision.missing_approvals:
        lines.append("**Approvals still needed** (only approvals of the head commit count):")
        lines.append("")
        lines += [f"- {code(m.policy)}: {code(m.describe())}" for m in decision.missing_approvals]
        lines.append("")
    if decision.outcome == "allow":
        lines.append(
            "Every matched policy allows this change"
            + (" and it is eligible for auto-merge." if decision.auto_merge else ".")
        )
        lines.append("")
    lines += extra
    if gathered is not None:
        lines += _facts(gathered)
    matched = ", ".join(f"{p.name} ({p.outcome})" for p in decision.policies)
    lines += ["<details><summary>Policies</summary>", "", f"- results: {matched or 'none'}"]
    if base is not None:
        lines.append(f"- policy digest: {code(base.policies.digest)}")
    lines += [
        f"- engine: {decision.engine}, mendbot {__version__}",
        "",
        "</details>",
        "",
        "The gate re-evaluates on every push, review and label change.",
    ]
    return "\n".join(lines)


def _facts(gathered: Gathered) -> list[str]:
    context = gathered.context
    change, provenance = context.change, context.provenance
    state = "verified" if provenance.verified else "not verified"
    match = "matches the pull request" if provenance.matches_pr else "does not match the PR"
    lines = [f"**Provenance:** {state}, source {provenance.source}, {match}.", ""]
    if gathered.attestation.notes:
        lines += [f"- {code(note)}" for note in gathered.attestation.notes]
        lines.append("")
    rules = ", ".join(code(r) for r in change.rules) or "none (not a remediation)"
    lines += [
        f"**Change:** environment {code(change.environment)}, {change.disposition}, "
        f"{change.reversibility}, blast radius {change.blast_radius}; rules {rules}; "
        f"{len(change.paths)} path(s).",
        "",
    ]
    if gathered.ignored_reviewers:
        names = ", ".join(code(user) for user in gathered.ignored_reviewers)
        lines += [f"**Not counted:** reviews by {names} (no write access to the repository).", ""]
    if gathered.unidentified_commits:
        shas = ", ".join(code(sha[:12]) for sha in gathered.unidentified_commits[:5])
        more = ", ..." if len(gathered.unidentified_commits) > 5 else ""
        guard = (
            "the base branch's ruleset requires approval of the most recent push by someone "
            "else, so approvals still count"
            if context.pr.last_push_approval_required
            else "approvals that exclude the pull request's contributors count for nothing until "
            "they are pushed again under an identity tied to an account"
        )
        lines += [
            f"**Contributors unknown:** commit(s) {shas}{more} are neither verified bot commits "
            f"nor tied to an account; {guard}.",
            "",
        ]
    if context.pr.is_revert:
        what = "a mendbot change" if context.pr.reverts_bot_change else "a commit"
        lines += [f"**Revert** of {what}" + _reverted(gathered) + ".", ""]
    if context.windows.active or context.environment.frozen:
        active = ", ".join(code(w) for w in context.windows.active) or "none"
        lines += [
            f"**Windows:** active {active}; environment frozen: "
            f"{'yes' if context.environment.frozen else 'no'}.",
            "",
        ]
    return lines


def _reverted(gathered: Gathered) -> str:
    commit = gathered.revert.reverted
    return f" ({code(commit[:12])})" if commit else ""


def record(
    gathered: Gathered | None,
    decision: Decision,
    *,
    number: int,
    context: dict[str, Any] | None,
    policy_digest: str | None,
    policy_source: str | None,
    reported: list[str],
) -> dict[str, Any]:
    """The decision record: enough to recompute and audit the decision later."""
    return {
        "version": RECORD_VERSION,
        "generator": {"name": "mendbot", "version": __version__},
        "pr": number,
        "head_sha": gathered.pull.head_sha if gathered else None,
        "base_sha": gathered.pull.base_sha if gathered else None,
        "decision": decision.outcome,
        "auto_merge": decision.auto_merge,
        "context_digest": decision.context_digest,
        "policy_digest": policy_digest,
        "policy_source": policy_source,
        "engine": decision.engine,
        "result": decision.to_json(),
        "context": context,
        "attestation": (
            {
                "paths": list(gathered.attestation.paths),
                "checks": [
                    {"id": c.id, "status": str(c.status), "message": c.message}
                    for c in gathered.attestation.checks
                ],
                "notes": list(gathered.attestation.notes),
            }
            if gathered
            else None
        ),
        "reported": reported,
    }
