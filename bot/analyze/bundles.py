"""``mendbot analyze --bundle-out``: one signed remediation bundle per remediation.

The analysis side of provenance: for each planned remediation, regenerate its fixes alone on
the committed text (its rules only, to a fix-point, as ``mendbot demo`` does), check that the
analysed text *is* the committed blob at ``HEAD`` (bundles are diffs against commits), and hand
the post-images to :func:`bot.provenance.write_bundle`. Nothing is written to the checkout.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot import git
from bot.analyze.desired_state import is_desired_state
from bot.analyze.pipeline import Analysis, analyze
from bot.analyze.plan import group
from bot.analyze.reverted import RevertedHold
from bot.config import Config
from bot.models import FixMode, Remediation
from bot.provenance import run_context
from bot.provenance.errors import BaseMismatchError
from bot.provenance.layout import write_reverted_note
from bot.provenance.signing.bundle_writer import (
    BundleRequest,
    WrittenBundle,
    config_ref,
    write_bundle,
)
from bot.provenance.signing.signers import Signer
from bot.provenance.statement import ConfigRef, DigestSet, InputRef
from bot.resolvers.action_refs import RefResolver
from bot.resolvers.image_registries import RegistryResolver


@dataclass(frozen=True)
class Skipped:
    """A remediation that got no bundle, and why."""

    remediation_id: str
    reason: str


def bundle_remediations(
    analysis: Analysis,
    root: Path,
    config: Config,
    out: Path,
    signer: Signer,
    *,
    config_path: Path | None = None,
    refs: RefResolver | None = None,
    registry: RegistryResolver | None = None,
    env: Mapping[str, str] | None = None,
    now: datetime | None = None,
    rules_now: datetime | None = None,
    hold: RevertedHold | None = None,
) -> list[WrittenBundle | Skipped]:
    """Write a bundle under ``out`` for every remediation of ``analysis`` (of ``root``) but
    those ``hold`` holds back (reverted on the branch: skipped, their folder holding only the
    reason, see :func:`~bot.provenance.layout.write_reverted_note`).

    ``now`` is when the statements are made; ``rules_now`` the time the desired-state rules
    measured ages to in ``analysis`` (default: ``now``), so each remediation is regenerated
    as it was found. Raises :class:`~bot.provenance.errors.BaseMismatchError` when an analysed
    file differs from its blob at ``HEAD`` (or ``HEAD`` is not the commit the GitHub run was
    started for), and the provenance errors of :func:`bot.provenance.write_bundle`.
    """
    environment = os.environ if env is None else env
    repo = git.toplevel(root)
    prefix = git.prefix(root)
    base = git.rev_parse(repo, "HEAD")
    with signer:
        context = run_context.detect(repo, environment, signer.claims)
        if context.expected_commit and context.expected_commit != base:
            raise BaseMismatchError(
                f"HEAD is {base[:12]} but the run was started for {context.expected_commit[:12]}",
                advice="check out the commit the workflow was triggered for (GITHUB_SHA)",
            )
        run = _Run(
            analysis=analysis,
            root=root,
            repo=repo,
            prefix=prefix,
            base=base,
            config=config,
            refs=refs,
            registry=registry,
            signer=signer,
            context=context,
            config_digest=_config_ref(config_path, repo),
            out=out,
            created=now or datetime.now(UTC),
            rules_now=rules_now or now or datetime.now(UTC),
            hold=hold or RevertedHold(),
        )
        # Reverted fixes are left out before grouping: a fix added beside them is proposed
        # alone, and the reverted remediation's folder says why it has no bundle.
        reverted: list[WrittenBundle | Skipped] = []
        for rid, reason in run.hold.reasons().items():
            write_reverted_note(out, rid, reason)
            reverted.append(Skipped(rid, reason))
        kept = run.hold.kept(analysis.result.fixes)
        return reverted + [run.bundle(remediation) for remediation in group(kept)]


@dataclass(frozen=True)
class _Run:
    """What every remediation of one ``--bundle-out`` run shares."""

    analysis: Analysis
    root: Path
    repo: Path
    prefix: str
    base: str
    config: Config
    refs: RefResolver | None
    registry: RegistryResolver | None
    signer: Signer
    context: run_context.RunContext
    config_digest: ConfigRef | None
    out: Path
    created: datetime
    rules_now: datetime
    hold: RevertedHold

    def bundle(self, remediation: Remediation) -> WrittenBundle | Skipped:
        """Regenerate ``remediation`` alone on the committed text and write its bundle."""
        targets = [self.root / path for path in remediation.paths]
        fresh = analyze(
            targets,
            self.root,
            self.config,
            only_rules=remediation.rules,
            fix_mode=FixMode.ALL,
            refs=self.refs,
            registry=self.registry,
            now=self.rules_now,
            hold=self.hold or None,
        )
        if fresh.result.fix_limits:
            limit = fresh.result.fix_limits[0]
            return Skipped(
                remediation.id,
                f"fixing {limit.path} stopped after {limit.rounds} rounds with {limit.unfixed} "
                "fix(es) not tried, so the bundle would not hold the whole remediation",
            )
        files: dict[str, bytes | None] = {}
        for name, outcome in fresh.files.items():
            if outcome.fixed is None:
                continue
            path = self.prefix + name
            if self._committed(path) != outcome.original.encode("utf-8"):
                raise BaseMismatchError(
                    f"{path} differs from its committed version at {self.base[:12]}"
                )
            files[path] = outcome.fixed.encode("utf-8")
        if not files:
            return Skipped(remediation.id, "the fix could not be applied safely on its own")
        fixed_ids = {fix.finding for fix in remediation.fixes}
        findings = [f for f in self.analysis.result.findings if f.id in fixed_ids]
        return write_bundle(
            BundleRequest(
                remediation=remediation,
                findings=findings,
                files=files,
                inputs=self._telemetry(remediation),
            ),
            repo=self.repo,
            base=self.base,
            out=self.out,
            signer=self.signer,
            context=self.context,
            config=self.config_digest,
            created=self.created,
        )

    def _telemetry(self, remediation: Remediation) -> tuple[InputRef, ...]:
        """The inventory files (desired state observed by ``mendbot inventory``) the
        remediation's findings were judged on, by their committed digest: what the analysis
        saw, for a reviewer to compare with the account."""
        inputs = []
        for path in sorted(remediation.paths):
            committed = self._committed(self.prefix + path)
            if is_desired_state(path) and committed is not None:
                inputs.append(
                    InputRef(
                        name=f"inventory:{self.prefix + path}",
                        uri=None,
                        digest=DigestSet(sha256=hashlib.sha256(committed).hexdigest()),
                    )
                )
        return tuple(inputs)

    def _committed(self, path: str) -> bytes | None:
        found = git.blob_at(self.repo, self.base, path)
        if found is None:
            return None
        return git.read_blobs(self.repo, [found[1]])[found[1]]


def _config_ref(path: Path | None, repo: Path) -> ConfigRef | None:
    if path is None:
        return None
    try:
        name = path.resolve().relative_to(repo.resolve()).as_posix()
    except ValueError:
        name = path.name
    return config_ref(name, path.read_bytes())
