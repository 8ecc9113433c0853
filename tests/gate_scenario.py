"""A repository set up for the policy gate: environments, CODEOWNERS, teams, base-branch policies,
signed remediation bundles and their pull requests on a forge.

``ci.yml`` is mapped to staging and ``deploy.yml`` to production; the persist-credentials
remediation of each is proposed as one pull request. Policies are mendbot's shipped defaults,
copied from the repository's ``policies/`` folder into the scenario's base branch.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.config import ProposeSettings
from bot.forge.interface import Forge
from bot.forge.local import LocalForge
from bot.gate.run import GateOptions, evaluate
from bot.propose.job import propose
from bot.provenance import run_context
from bot.provenance.signing.bundle_writer import BundleRequest, write_bundle
from bot.provenance.signing.signers import KeySigner
from bot.provenance.verification.trust import KeyTrust

SHIPPED_POLICIES = Path(__file__).resolve().parents[1] / "policies"

MENDBOT_YML = """\
environments:
  production: [".github/workflows/deploy.yml"]
  staging: [".github/workflows/ci.yml"]
gate:
  auto_merge: {auto_merge}
"""

CODEOWNERS = """\
# Platform owns everything; Olivia owns the deploy workflow.
*                              @acme/platform
/.github/workflows/deploy.yml  @olivia
"""

#: Staging CI whose persist-credentials fix is safe (no later step uses git).
STAGING_CI = """\
name: ci
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: npm ci
      - run: npm test
"""

TEAMS = {"platform": ["paula"], "security": ["sam", "sue"]}

#: A Tuesday, outside every window the tests define; bundles are signed an hour before.
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
SIGNED = NOW - timedelta(hours=1)


@dataclass
class Scenario:
    """The repository, its trust, and the pull request number of each environment."""

    repo: object
    trust: KeyTrust
    bundles: dict[str, Path]
    pulls: dict[str, int] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return self.repo.path  # type: ignore[attr-defined, no-any-return]


def prepare_base(repo, *, auto_merge: bool = False) -> None:
    """Commit the gate's base-branch files (policies, configuration, CODEOWNERS) on main."""
    shutil.copytree(SHIPPED_POLICIES, repo.path / "policies")
    repo.write(".github/workflows/ci.yml", STAGING_CI)
    repo.write(".github/mendbot.yml", MENDBOT_YML.format(auto_merge=str(auto_merge).lower()))
    repo.write(".github/CODEOWNERS", CODEOWNERS)
    repo.commit("gate configuration")


def propose_all(bench, signing_key, forge: Forge, signed: datetime = SIGNED) -> Scenario:
    """Bundle, sign (at ``signed``) and propose the remediations; map ``staging`` and
    ``production`` to their pull request numbers."""
    bench.analyse_as(forge.repository_uri)
    bundles = bench.bundle(KeySigner(signing_key), now=signed)
    trust = KeyTrust(signing_key.public_key())
    outcomes = propose(
        list(bundles.values()),
        forge,
        trust,
        ProposeSettings(max_new_per_hour=10),
        now=signed + timedelta(minutes=5),
    )
    scenario = Scenario(bench.repo, trust, bundles)
    for outcome in outcomes:
        assert outcome.number is not None, outcome.message
        rid = outcome.remediation_id or ""
        scenario.pulls["staging" if "/ci-" in rid else "production"] = outcome.number
    return scenario


def local_scenario(
    bench, signing_key, *, auto_merge: bool = False, signed: datetime = SIGNED
) -> tuple[Scenario, LocalForge]:
    """The scenario on the local forge, with team memberships recorded."""
    prepare_base(bench.repo, auto_merge=auto_merge)
    forge = LocalForge(bench.repo.path, base="main")
    forge.set_teams(TEAMS)
    return propose_all(bench, signing_key, forge, signed), forge


ALLOW_ALL = """\
apiVersion: mendbot/v1
kind: GatePolicy
metadata: {name: allow-all}
spec:
  autoMerge: true
  validations:
    - expression: 'true'
      message: ok
"""


def loosen_policies(repo, branch: str, start: str = "main") -> None:
    """On a new ``branch`` from ``start``: every policy replaced by one that allows everything
    (what an attacker would like the gate to read), committed; ``main`` checked out again."""
    repo.git("checkout", "-q", "-b", branch, start)
    for path in (repo.path / "policies").iterdir():
        path.unlink()
    repo.write("policies/allow-all.yaml", ALLOW_ALL)
    repo.commit("allow everything")


def sign_bundle(repo: Any, signing_key: Any, request: BundleRequest, out: Path) -> Path:
    """``request`` signed with ``signing_key`` as the analysis would sign it; the bundle folder."""
    with KeySigner(signing_key) as signer:
        written = write_bundle(
            request,
            repo=repo.path,
            base=repo.head(),
            out=out,
            signer=signer,
            context=run_context.detect(repo.path, {}, signer.claims),
            config=None,
            created=SIGNED,
        )
    return written.path


def propose_allow_merge(
    forge: LocalForge, bundle: Path, signing_key: Any, approvers: tuple[str, ...] = ()
) -> str:
    """``bundle`` proposed, approved on its head by ``approvers``, allowed by the base branch's
    policies and merged with the forge's squash button; the merge commit."""
    trust = KeyTrust(signing_key.public_key())
    [outcome] = propose(
        [bundle], forge, trust, ProposeSettings(), now=SIGNED + timedelta(minutes=5)
    )
    assert outcome.number is not None, outcome.message
    for approver in approvers:
        forge.review(outcome.number, approver, "APPROVED")
    decided = evaluate(forge, outcome.number, GateOptions(trust=trust, now=NOW))
    assert decided.decision.outcome == "allow", decided.decision
    return forge.merge(outcome.number, "squash")
