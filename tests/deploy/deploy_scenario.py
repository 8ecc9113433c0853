"""A merged remediation on the local forge, ready for ``mendbot deploy``.

Builds on :mod:`gate_scenario`: the two persist-credentials remediations are proposed, the
staging one (safe, allowed by the shipped policies) is merged with the forge's merge button, and
the keys are on disk: the analysis identity's public key (whom attestations must be signed by)
and the deploy identity's own signing key (for deploy records), never the same key.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from gate_scenario import NOW, Scenario, local_scenario

from bot.forge.local import LocalForge
from bot.gate.run import GateOptions, evaluate
from keyfiles import write_keys

#: When the deploy job runs: an hour after the gate allowed the merge.
DEPLOY_NOW = NOW + timedelta(hours=1)
DEPLOY_TIME = DEPLOY_NOW.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Deployable:
    """The scenario, its forge, the merge commit and the key files."""

    scenario: Scenario
    forge: LocalForge
    merge_sha: str
    analysis_pub: Path
    deploy_key: Path
    deploy_pub: Path

    @property
    def path(self) -> Path:
        return self.scenario.path

    @property
    def forge_dir(self) -> Path:
        """Where the local forge keeps its records (``<git-common-dir>/mendbot``)."""
        common = self.scenario.repo.git("rev-parse", "--path-format=absolute", "--git-common-dir")
        return Path(common.strip()) / "mendbot"

    def trust_args(self) -> list[str]:
        return ["--repo", str(self.path), "--base", "main", "--verify-key", str(self.analysis_pub)]

    def rollback_args(self, *which: str) -> list[str]:
        """``mendbot propose`` opening rollbacks: ``--rollback-requests`` (default) or ``which``
        (``--rollback SHA --env NAME``)."""
        return ["propose", *(which or ("--rollback-requests",)), *self.trust_args()]

    def plan_args(self, out: Path, sha: str | None = None) -> list[str]:
        return [
            "deploy",
            "plan",
            "--sha",
            sha or self.merge_sha,
            *self.trust_args(),
            "--now",
            DEPLOY_TIME,
            "--out",
            str(out),
        ]

    def apply_args(self, plan: Path, records: Path, *extra: str) -> list[str]:
        return [
            "deploy",
            "apply",
            "--plan",
            str(plan),
            *self.trust_args(),
            "--sign",
            "key",
            "--signing-key",
            str(self.deploy_key),
            "--record-out",
            str(records),
            "--now",
            DEPLOY_TIME,
            *extra,
        ]


def merged_staging(
    bench, signing_key, tmp_path: Path, before_merge: Callable[[Any], None] | None = None
) -> Deployable:
    """Propose both remediations, let the gate allow the staging one, merge it (squash);
    ``before_merge(repo)`` runs on main first (e.g. to commit a policy)."""
    scenario, forge = local_scenario(bench, signing_key)
    if before_merge is not None:
        scenario.repo.git("checkout", "-q", "main")
        before_merge(scenario.repo)
    number = scenario.pulls["staging"]
    run = evaluate(forge, number, GateOptions(trust=scenario.trust, now=NOW))
    assert run.decision.outcome == "allow", run.decision
    merge_sha = forge.merge(number, "squash")
    _, analysis_pub = write_keys(tmp_path / "keys", "analysis", signing_key)
    deploy_key, deploy_pub = write_keys(
        tmp_path / "keys", "deploy", ec.generate_private_key(ec.SECP256R1())
    )
    return Deployable(scenario, forge, merge_sha, analysis_pub, deploy_key, deploy_pub)


def read_plan(path: Path) -> dict:
    return json.loads(path.read_text())


def frozen(path: Path, deployments, now=DEPLOY_NOW) -> set[str]:
    """The environments the gate sees frozen by ``deployments`` of the repository at ``path``,
    when it trusts no signer (only whole-commit reverts resolve a failure)."""
    from bot.config import Config
    from bot.gate.build import commit_reverts, deploy_time_bound
    from bot.gate.deploy_freeze import frozen_by_deployments

    return frozen_by_deployments(
        deployments,
        reverts=lambda resolver, failed: commit_reverts(path, resolver, failed, lambda *_: None),
        now=now,
        stale_after=deploy_time_bound(Config()),
    )
