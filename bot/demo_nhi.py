"""The demo's last stages: an AWS account's abandoned access key, from the read-only inventory
to a deployed deactivation (stages 28 to 34; the loopback account is :mod:`bot.demo_aws`).

Each stage calls what the commands call: ``mendbot inventory aws`` (:func:`inventory_aws`),
``mendbot analyze --bundle-out``, ``mendbot propose``, ``mendbot gate``, ``mendbot deploy plan``
and ``apply``, on the demo repository and its local forge.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from bot import git
from bot.demo_aws import (
    ABANDONED_USER,
    ACCOUNT_CONFIG,
    DEPLOY_ROLE,
    INVENTORY,
    LIVE_USER,
    READER,
    REGION,
    Credentials,
    DemoAwsError,
    LoopbackAccount,
    chain_env,
    demo_oidc_token,
    environment,
    loopback_account,
    missing_packages,
    read_only_actions,
    read_only_policy,
    show_skipped,
)
from bot.provenance.verification.trust import KeyTrust

_CONFIG = ".github/mendbot.yml"


def show_aws_account(
    console: Console, target: Path, side: Path, key: Path, trust: KeyTrust
) -> None:
    """Stages 28 to 34 on the demo repository, signing with the analysis key ``key``; one
    line instead when moto or boto3 is not installed."""
    missing = missing_packages()
    if missing:
        show_skipped(console, missing)
        return
    with loopback_account() as account:
        _stages(console, account, target, side, key, trust)


def _stages(
    console: Console,
    account: LoopbackAccount,
    target: Path,
    side: Path,
    key: Path,
    trust: KeyTrust,
) -> None:
    console.rule("28. an AWS account (moto on loopback): one abandoned key, one live key")
    admin = account.client("iam", Credentials("demo-admin", "demo-admin"))
    abandoned = account.user_with_key(admin, ABANDONED_USER, "platform-team")
    live = account.user_with_key(admin, LIVE_USER, "platform-team")
    reader = account.user_with_key(admin, READER, "security-team")
    admin.put_user_policy(
        UserName=READER, PolicyName="mendbot-inventory", PolicyDocument=read_only_policy()
    )
    account.client("sts", live).get_caller_identity()  # the live key is in use
    console.print(f"{ABANDONED_USER}: {abandoned.key_id}, never used", markup=False)
    console.print(f"{LIVE_USER}: {live.key_id}, used just now", markup=False)
    console.print(
        f"{READER}: {reader.key_id}, allowed only {', '.join(read_only_actions())}", markup=False
    )

    console.rule(f"29. mendbot inventory aws --out {target}  (as {READER}, read-only)")
    from bot.inventory.run import inventory_aws

    git.run(target, "checkout", "-q", "--detach", "main")
    with environment(chain_env(account, reader)):
        run = inventory_aws(target, None, REGION, datetime.now(UTC))
    console.print(f"{run.path}: {run.keys} keys", markup=False)
    _commit_account(target)
    console.out(ACCOUNT_CONFIG, highlight=False)

    bundle = _analyse_and_attest(console, target, side, key)
    number = _propose_and_gate(console, target, bundle, trust)
    _deploy(console, account, target, side, trust, number)
    statuses = account.statuses(admin)
    console.rule("34. IAM after the deploy")
    for key_id, (user, status) in sorted(statuses.items(), key=lambda item: item[1]):
        console.print(f"{user}: {key_id} {status}", markup=False)
    changed = sorted(user for user, status in statuses.values() if status != "Active")
    if changed != [ABANDONED_USER]:
        raise DemoAwsError(f"the deploy deactivated the keys of {changed}; this is a bug")


def _commit_account(target: Path) -> None:
    """Commit the account's configuration and inventory on main (the work tree is main)."""
    from bot.demo import DemoRepo

    (target / _CONFIG).write_text(ACCOUNT_CONFIG, encoding="utf-8")
    repo = DemoRepo(target)
    repo.add(_CONFIG, INVENTORY)
    sha = repo.commit("Inventory the staging AWS account")
    git.run(target, "update-ref", "refs/heads/main", sha)


def _analyse_and_attest(console: Console, target: Path, side: Path, key: Path) -> Path:
    from bot.analyze.bundles import Skipped, bundle_remediations
    from bot.analyze.pipeline import analyze
    from bot.config import load_config
    from bot.detectors.rule_registry import rule_options
    from bot.provenance.signing.signers import KeySigner

    console.rule(f"30. mendbot analyze {INVENTORY} --bundle-out: the finding, attested")
    config = load_config(target / _CONFIG, rule_options())
    analysis = analyze([target / INVENTORY], target, config)
    for finding in analysis.result.findings:
        console.out(f"{finding.rule}: {finding.message}", highlight=False)
    outcomes = bundle_remediations(
        analysis, target, config, side / "aws-bundles", KeySigner.from_file(key), env={}
    )
    bundles = [o for o in outcomes if not isinstance(o, Skipped)]
    if len(bundles) != 1:
        raise DemoAwsError(f"the account gave {len(bundles)} bundles, not one; this is a bug")
    risk = bundles[0].statement.predicate.remediation.risk
    console.print(
        f"- {bundles[0].path.name}: {risk.disposition}, {risk.reversibility}, blast radius "
        f"{risk.blast_radius}, ownership {risk.ownership}, second-order "
        f"{str(risk.second_order).lower()}",
        markup=False,
    )
    return bundles[0].path


def _propose_and_gate(console: Console, target: Path, bundle: Path, trust: KeyTrust) -> int:
    from bot.config import load_config
    from bot.detectors.rule_registry import rule_options
    from bot.forge.local import LocalForge
    from bot.gate.run import GateOptions, evaluate
    from bot.policy.render import render_decision
    from bot.propose.job import propose, render_outcomes

    console.rule("31. propose: the deactivation becomes a pull request")
    forge = LocalForge(target, base="main")
    config = load_config(target / _CONFIG, rule_options())
    outcomes = propose([bundle], forge, trust, config.propose, environments=config.environments)
    console.out(render_outcomes(outcomes), highlight=False, end="")
    number = outcomes[0].number
    if number is None:
        raise DemoAwsError(f"the deactivation was not proposed: {outcomes[0].message}")
    console.rule(f"32. mendbot gate --pr {number}: the staging account's default policies")
    run = evaluate(forge, number, GateOptions(trust=trust, now=datetime.now(UTC)))
    console.out(render_decision(run.decision), highlight=False, end="")
    if not (run.decision.outcome == "allow" and run.decision.auto_merge):
        raise DemoAwsError("the staging key deactivation was not auto-merge eligible; a bug")
    return number


def _deploy(
    console: Console,
    account: LoopbackAccount,
    target: Path,
    side: Path,
    trust: KeyTrust,
    number: int,
) -> None:
    import json

    from bot.cli.deploy import plan_deployment
    from bot.deploy.job import ApplyOptions, apply_changes, selected
    from bot.deploy.plan import config_at
    from bot.deploy.record import verify_record
    from bot.forge.local import LocalForge
    from bot.provenance.keys import generate
    from bot.provenance.signing.signers import KeySigner

    forge = LocalForge(target, base="main")
    sha = forge.merge(number, "squash")
    console.rule(f"33. auto-merged as {sha[:12]}; deploy: OIDC token → {DEPLOY_ROLE} → one key")
    keys = generate(side / "aws-deploy-keys")
    try:
        signer = KeySigner.from_file(keys.private)
        with environment(chain_env(account, None)):
            plan = plan_deployment(forge, trust, sha, datetime.now(UTC))
            for change in plan.changes:
                objects = ", ".join(change.target.objects) if change.target else change.source
                console.print(
                    f"{change.action} {change.environment} {change.kind}: {objects}", markup=False
                )
            options = ApplyOptions(
                forge=forge,
                config=config_at(target, plan.parent),
                signer=signer,
                record_out=side / "aws-deploy-records",
                oidc_token=demo_oidc_token,
                now=lambda: datetime.now(UTC),
            )
            with signer:
                attempts = apply_changes(plan, selected(plan, plan.to_json(), None, None), options)
        if [a.outcome for a in attempts] != ["applied"]:
            got = ", ".join(f"{a.outcome} ({'; '.join(a.reasons)})" for a in attempts)
            raise DemoAwsError(f"the key deactivation was not applied: {got or 'nothing'}")
        record = attempts[0].record
        if record is None:
            raise DemoAwsError("the applied deactivation has no deploy record; this is a bug")
        verified = verify_record(record.read_bytes(), KeyTrust.from_file(keys.public))
        credential = verified.record.predicate.authority.credential if verified.record else None
        if not verified.ok or credential is None:
            raise DemoAwsError("the deploy record does not verify or names no session; a bug")
        console.print(f"applied: {attempts[0].change.change}", markup=False)
        console.print(
            f"session {credential.session_name} of {credential.principal}, "
            f"ends {credential.expires_at}",
            markup=False,
        )
        scope = json.dumps(credential.scope, separators=(",", ":"))
        console.out(f"session policy: {scope}", highlight=False)
        console.print(
            "(moto accepts any token and ignores session policies; mendbot's tests check both "
            "in front of moto)",
            markup=False,
        )
        console.print(f"signed record {record.name}: verifies", markup=False)
    finally:
        keys.private.unlink(missing_ok=True)
