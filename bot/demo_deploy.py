"""The demo's deploy stages: merge, deploy, a forced validation failure, compensation, the
revert pull request, a gate denying a new change to the frozen environment, the revert merging
and deploying, unfrozen.

Everything runs on the local forge, in this process, through the same functions the commands
use. A local repository has no runner: the workflow runs validation watches are recorded the way
a runner would report them (one passing, one failing on purpose).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from bot.deploy.job import ApplyOptions, Attempt, apply_changes, selected
from bot.deploy.plan import DeployPlan, config_at
from bot.deploy.record import verify_record
from bot.errors import MendbotError
from bot.forge.interface import PullRequest, PullState, WorkflowRun
from bot.forge.local import LocalForge
from bot.provenance.keys import generate
from bot.provenance.signing.signers import KeySigner
from bot.provenance.verification.trust import KeyTrust


class DemoDeployError(MendbotError):
    """A deploy stage of the demo did not behave as designed: a bug."""


def show_deploy(console: Console, target: Path, trust: KeyTrust, side: Path) -> None:
    """Stages 15 to 23 on the demo repository (after the gate stages)."""
    from bot import git
    from bot.cli.deploy import plan_deployment
    from bot.gate.run import GateOptions, evaluate
    from bot.propose.rollback import propose_rollback

    # Merges move main; with main checked out the work tree would look edited.
    git.run(target, "checkout", "-q", "--detach")
    forge = LocalForge(target, base="main")
    keys = generate(side / "deploy-keys")
    signer = KeySigner.from_file(keys.private)
    record_out = side / "deploy-records"
    deploy_trust = KeyTrust.from_file(keys.public)
    now = datetime.now(UTC)
    allowed = [
        pull.number
        for pull in forge.pulls(PullState.OPEN)
        if evaluate(forge, pull.number, GateOptions(trust=trust, now=now)).decision.outcome
        == "allow"
    ]
    staging = _pull_touching(forge, allowed, "ci.yml")
    production = _pull_touching(forge, allowed, "release.yml", "publish.yml", "legacy-deploy.yml")

    def deploy(sha: str, title: str) -> tuple[DeployPlan, list[Attempt]]:
        console.rule(title)
        plan = plan_deployment(forge, trust, sha, datetime.now(UTC))
        console.out(_render_plan(plan), highlight=False, end="")
        requested = plan.to_json()
        options = ApplyOptions(
            forge=forge,
            config=config_at(target, plan.parent),
            signer=signer,
            record_out=record_out,
            oidc_token=_no_token,
            now=lambda: datetime.now(UTC),
        )
        with signer:
            attempts = apply_changes(plan, selected(plan, requested, None, None), options)
        for attempt in attempts:
            console.print(
                f"{attempt.outcome}: {attempt.change.change} in {attempt.change.environment}",
                markup=False,
            )
            for reason in attempt.reasons:
                console.print(f"  {reason}", markup=False)
            if attempt.record is not None:
                verified = verify_record(attempt.record.read_bytes(), deploy_trust)
                state = "verifies" if verified.ok else "DOES NOT VERIFY"
                console.print(f"  signed record {attempt.record.name}: {state}", markup=False)
        return plan, attempts

    try:
        console.rule("15. the owners of the repository are declared on main (CODEOWNERS)")
        _commit_on_main(target, ".github/CODEOWNERS", b"* @paula\n", "Declare code owners")
        console.print("* @paula", markup=False)
        merged = _merge(console, forge, production, "16. merge the approved production change")
        plan, attempts = deploy(merged, "17. deploy: an unsafe change is not deployed by itself")
        if attempts or [c.action for c in plan.changes] != ["refuse"]:
            raise DemoDeployError("the unsafe production change was not refused; this is a bug")
        for reason in plan.changes[0].reasons:
            console.print(f"  {reason}", markup=False)

        merged = _merge(console, forge, staging, "18. merge the safe staging remediation")
        path = ".github/workflows/ci.yml"
        _runs(forge, target, merged, path, "failure")
        console.print(f"(forced: {path} now fails on the merge commit, passed before)")
        _expect(
            deploy(merged, "19. deploy: validation fails, compensate, freeze")[1], "compensated"
        )

        console.rule("20. a new change to staging is denied while it is frozen")
        human = _human_change(forge, target, path)
        run = evaluate(forge, human, GateOptions(trust=trust, now=datetime.now(UTC)))
        console.print(f"#{human}: {run.decision.outcome}: {run.decision.results[0].message}")

        console.rule("21. the propose identity opens the exact revert; a code owner approves")
        request = forge.dispatches()[0]
        payload = request["client_payload"]
        rollback = propose_rollback(forge, payload["sha"], payload["environment"], "CI failed")
        forge.handled(request["id"])
        console.print(f"#{rollback.number} on {rollback.branch}", markup=False)
        forge.review(rollback.number, "paula", "APPROVED")
        run = evaluate(forge, rollback.number, GateOptions(trust=trust, now=datetime.now(UTC)))
        console.print(f"#{rollback.number}: {run.decision.outcome}", markup=False)
        reverted = _merge(console, forge, rollback.number, "22. merge the revert")
        _runs(forge, target, reverted, path, "success")
        _expect(deploy(reverted, "23. deploy the revert: it resolves the failure")[1], "applied")
        run = evaluate(forge, human, GateOptions(trust=trust, now=datetime.now(UTC)))
        frozen = run.record["context"]["environment"]["frozen"]
        console.print(f"staging frozen: {str(frozen).lower()}", markup=False)
        show_aws_scope(console, datetime.now(UTC))
    finally:
        keys.private.unlink(missing_ok=True)


def show_aws_scope(console: Console, now: datetime) -> None:
    """Stage 24: the credentials an IAM key deactivation would be granted (the demo has no AWS
    account: this is the session policy ``deploy apply`` sends with AssumeRoleWithWebIdentity,
    generated and checked by the same code)."""
    from bot.config import DeploySettings
    from bot.deploy.applier import Target
    from bot.deploy.session_policy import check_session_policy, session_end, session_policy

    console.rule("24. an IAM key deactivation would get: one user, three actions, 15 minutes")
    key = {"user": "ci-publisher", "status": "Active", "last_used": {"date": "2026-05-02"}}
    target = Target(
        kind="aws-iam-access-key",
        environment="production",
        objects=("AKIAIOSFODNN7EXAMPLE",),
        pre_image={"AKIAIOSFODNN7EXAMPLE": key},
        desired={"AKIAIOSFODNN7EXAMPLE": {**key, "status": "Inactive"}},
        location={"account": "123456789012"},
        source=".mendbot/desired/aws-iam-access-key/123456789012.yml",
    )
    minutes = DeploySettings().session_minutes
    ends = session_end(now, minutes)
    policy = session_policy(target, partition="aws", not_after=ends)
    check_session_policy(
        policy, resources=["arn:aws:iam::123456789012:user/ci-publisher"], not_after=ends
    )
    console.print(f"DurationSeconds={minutes * 60} (ends {ends:%H:%M:%SZ})", markup=False)
    console.print(f"Policy ({len(policy)} of 2048 characters): {policy}", markup=False)


def _no_token(audience: str) -> str:
    raise DemoDeployError(f"the demo deploys only workflows; no OIDC token for {audience}")


def _render_plan(plan: DeployPlan) -> str:
    lines = [f"merge {plan.sha[:12]}: gate {plan.gate.outcome} ({plan.gate.summary})"]
    lines += [f"nothing is deployed: {problem}" for problem in plan.problems]
    for change in plan.changes:
        objects = ", ".join(change.target.objects) if change.target else change.source
        lines.append(f"{change.action} {change.environment} {change.kind}: {objects}")
    return "\n".join(lines) + "\n"


def _pull_touching(forge: LocalForge, numbers: list[int], *names: str) -> int:
    for number in numbers:
        pull = forge.get(number)
        if any(name in pull.branch or name in pull.title for name in names):
            return number
    raise DemoDeployError(f"no allowed demo pull request touches {', '.join(names)}")


def _merge(console: Console, forge: LocalForge, number: int, title: str) -> str:
    console.rule(title)
    sha = forge.merge(number, "squash")
    console.print(f"#{number} merged as {sha[:12]}", markup=False)
    return sha


def _workflow_of(target: Path, sha: str) -> str:
    from bot import git

    out = git.run(target, "diff", "--name-only", f"{sha}^1", sha, "--", ".github/workflows")
    return out.decode().split()[0]


def _runs(forge: LocalForge, target: Path, sha: str, path: str, conclusion: str) -> None:
    """What a runner would report: ``path`` passed on the parent and ends ``conclusion`` on
    ``sha``."""
    from bot import git

    parent = git.rev_parse(target, f"{sha}^1")
    base = len(forge.workflow_runs(parent)) + len(forge.workflow_runs(sha)) + 100
    number = int(sha[:6], 16) + base
    forge.record_run(WorkflowRun(number, path, parent, "push", "completed", "success"))
    forge.record_run(WorkflowRun(number + 1, path, sha, "push", "completed", conclusion))


#: A person of the demo (not the bot).
_ADA = {
    "GIT_AUTHOR_NAME": "ada",
    "GIT_AUTHOR_EMAIL": "ada@example.com",
    "GIT_COMMITTER_NAME": "ada",
    "GIT_COMMITTER_EMAIL": "ada@example.com",
}


def _commit_file(target: Path, tip: str, path: str, content: bytes, message: str) -> str:
    """A commit by Ada on ``tip`` setting ``path`` to ``content`` (never the work tree)."""
    from bot import git

    blob = git.run(target, "hash-object", "-w", "--stdin", stdin=content).decode().strip()
    index = {"GIT_INDEX_FILE": str(target / ".git" / "mendbot-demo" / "ada.index"), **_ADA}
    git.run(target, "read-tree", tip, env=index)
    git.run(target, "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=index)
    tree = git.run(target, "write-tree", env=index).decode().strip()
    out = git.run(target, "commit-tree", tree, "-p", tip, "-m", message, env=_ADA)
    return out.decode().strip()


def _commit_on_main(target: Path, path: str, content: bytes, message: str) -> None:
    from bot import git

    tip = git.rev_parse(target, "main")
    head = _commit_file(target, tip, path, content, message)
    git.run(target, "update-ref", "refs/heads/main", head, tip)


def _human_change(forge: LocalForge, target: Path, path: str) -> int:
    """Ada's own pull request changing ``path`` (not a remediation)."""
    from bot import git

    tip = git.rev_parse(target, "main")
    blob = git.run(target, "rev-parse", f"{tip}:{path}").decode().strip()
    text = git.read_blobs(target, [blob])[blob] + b"# tuned by hand\n"
    head = _commit_file(target, tip, path, text, "Tune CI")
    forge.push("ada/tune-ci", head, None)
    pull = forge.open(
        PullRequest(0, "Tune CI", "", "ada/tune-ci", "main", head, tip, "0" * 64, author="ada")
    )
    return pull.number


def _expect(attempts: list[Attempt], outcome: str) -> None:
    if [a.outcome for a in attempts] != [outcome]:
        got = ", ".join(a.outcome for a in attempts) or "nothing"
        raise DemoDeployError(f"the demo expected one {outcome} deployment, got {got}")
