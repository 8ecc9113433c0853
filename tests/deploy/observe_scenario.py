"""A desired-state remediation merged on the local forge and deployed, ready for
``mendbot deploy observe``: one signed remediation changes one desired-state file, is proposed,
allowed by the shipped policies, merged (squash) and applied by real ``mendbot deploy plan`` and
``apply`` processes; :meth:`Deployed.observe` then runs ``mendbot deploy observe`` as the
scheduled job does, trusting the deploy identity's key for the records."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from deploy_scenario import DEPLOY_NOW, DEPLOY_TIME
from gate_scenario import (
    CODEOWNERS,
    SHIPPED_POLICIES,
    TEAMS,
    propose_allow_merge,
    sign_bundle,
)

from bot.forge.local import LocalForge
from bot.models import Confidence, Finding, Fix, Location, Remediation, Severity
from bot.provenance.signing.bundle_writer import BundleRequest
from bot.risk import BlastRadius, Disposition, Reversibility
from clirun import run_mendbot
from keyfiles import write_keys

SUFFIX = ".deploy.sigstore.json"


def at(hours: float) -> str:
    """``--now`` this many hours after the deploy job ran."""
    return (DEPLOY_NOW + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Deployed:
    """The merged change, its forge, the keys, and everything the commands printed."""

    repo: Any
    forge: LocalForge
    sha: str
    analysis_pub: Path
    deploy_key: Path
    deploy_pub: Path
    records: Path
    token: Path | None = None
    outputs: list[str] = field(default_factory=list)

    def mendbot(self, *args: str) -> CompletedProcess[str]:
        done = run_mendbot(*args)
        assert "Traceback" not in done.stderr, done.stderr
        self.outputs += [done.stdout, done.stderr]
        return done

    def deploy(self) -> CompletedProcess[str]:
        """``mendbot deploy plan`` then ``apply`` of the merge commit into :attr:`records`."""
        trust = ["--repo", str(self.repo.path), "--base", "main"]
        trust += ["--verify-key", str(self.analysis_pub)]
        plan = self.records.parent / "plan.json"
        planned = self.mendbot(
            "deploy", "plan", "--sha", self.sha, *trust, "--now", DEPLOY_TIME, "--out", str(plan)
        )
        assert planned.returncode == 0, planned.stdout + planned.stderr
        return self.mendbot(
            "deploy", "apply", "--plan", str(plan), *trust, *self._signing(),
            "--record-out", str(self.records), "--now", DEPLOY_TIME,
        )  # fmt: skip

    def observe(self, now: str, *extra: str) -> CompletedProcess[str]:
        """``mendbot deploy observe`` of :attr:`records` (follow-ups written there too)."""
        return self.mendbot(
            "deploy", "observe", "--records", str(self.records),
            "--repo", str(self.repo.path), "--base", "main",
            "--verify-key", str(self.deploy_pub), *self._signing(),
            "--record-out", str(self.records), "--now", now, *extra,
        )  # fmt: skip

    def verify(self, record: Path) -> CompletedProcess[str]:
        return self.mendbot(
            "deploy", "verify-record", str(record), "--verify-key", str(self.deploy_pub)
        )

    def record_files(self) -> list[Path]:
        return sorted(self.records.rglob(f"*{SUFFIX}"))

    def follow_ups(self) -> list[Path]:
        """The follow-up records, oldest first."""
        found = [path for path in self.record_files() if "-observed" in path.name]
        return sorted(found, key=lambda path: (predicate(path)["timeStarted"], path.name))

    def texts(self) -> list[str]:
        """Every output and record written (checked for secrets)."""
        return [*self.outputs, *(path.read_text() for path in self.record_files())]

    def _signing(self) -> list[str]:
        signing = ["--sign", "key", "--signing-key", str(self.deploy_key)]
        if self.token is not None:
            signing += ["--oidc-token-file", str(self.token)]
        return signing


def predicate(record: Path) -> dict[str, Any]:
    """The predicate of a signed record on disk."""
    payload = json.loads(record.read_text())["dsseEnvelope"]["payload"]
    found: dict[str, Any] = json.loads(base64.b64decode(payload))["predicate"]
    return found


def merge_desired_change(
    make_repo: Any,
    signing_key: Any,
    tmp_path: Path,
    *,
    source: str,
    before: bytes,
    after: bytes,
    mendbot_yml: str,
    rule: str,
    title: str,
) -> Deployed:
    """``source`` committed as ``before`` on main, then the signed remediation writing
    ``after`` proposed, allowed by the gate and merged with the forge's merge button."""
    repo = make_repo("observed")
    shutil.copytree(SHIPPED_POLICIES, repo.path / "policies")
    repo.write(".github/mendbot.yml", mendbot_yml)
    repo.write(".github/CODEOWNERS", CODEOWNERS)
    repo.write(source, before)
    repo.commit("desired state as observed")
    forge = LocalForge(repo.path, base="main")
    forge.set_teams(TEAMS)
    repo.git("remote", "add", "origin", forge.repository_uri)
    finding = Finding(
        rule=rule,
        title=title,
        severity=Severity.MEDIUM,
        confidence=Confidence.HIGH,
        location=Location(path=source, line=1, column=1),
        message=title,
    )
    fix = Fix(
        finding=finding.id,
        rule=rule,
        path=source,
        title=title,
        disposition=Disposition.SAFE,
        reversibility=Reversibility.REVERSIBLE,
        blast_radius=BlastRadius.SERVICE,
        patches=(),
    )
    fingerprint = hashlib.sha256(after).hexdigest()
    remediation = Remediation(
        id=f"{rule}/{fingerprint[:8]}",
        fingerprint=fingerprint,
        title=title,
        rules=(rule,),
        paths=(source,),
        fixes=(fix,),
        disposition=Disposition.SAFE,
        reversibility=Reversibility.REVERSIBLE,
        blast_radius=BlastRadius.SERVICE,
    )
    request = BundleRequest(remediation=remediation, findings=[finding], files={source: after})
    bundle = sign_bundle(repo, signing_key, request, tmp_path / "bundles")
    merge_sha = propose_allow_merge(forge, bundle, signing_key)
    _, analysis_pub = write_keys(tmp_path / "keys", "analysis", signing_key)
    deploy_key, deploy_pub = write_keys(
        tmp_path / "keys", "deploy", ec.generate_private_key(ec.SECP256R1())
    )
    return Deployed(
        repo, forge, merge_sha, analysis_pub, deploy_key, deploy_pub, tmp_path / "records"
    )
