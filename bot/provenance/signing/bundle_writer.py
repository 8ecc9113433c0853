"""Write one remediation bundle: patch, plan, statement, signature(s), in one folder.

The caller supplies the post-image bytes of every path the remediation changes; this module
makes the diff with git (:mod:`bot.provenance.signing.patch`), builds and serialises the
statement, has
the signer sign it (and the SLSA statement for keyless signing) and writes the folder
atomically (:mod:`bot.provenance.layout`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot import __version__
from bot.models import Finding, Remediation
from bot.provenance import layout
from bot.provenance.run_context import RunContext
from bot.provenance.signing.patch import make_patch
from bot.provenance.signing.signers import Signer, SignKind
from bot.provenance.signing.slsa import slsa_statement
from bot.provenance.statement import (
    DEFAULT_VALIDITY,
    REMEDIATION_ID,
    Base,
    ConfigRef,
    DigestSet,
    FindingRef,
    Generator,
    InputRef,
    RemediationInfo,
    Risk,
    Source,
    Statement,
    StatementError,
    build_statement,
    statement_bytes,
)


@dataclass(frozen=True)
class BundleRequest:
    """One remediation to bundle: what it is, what it resolves, and the new file contents."""

    remediation: Remediation
    findings: Sequence[Finding]
    files: Mapping[str, bytes | None]
    """Repository path → post-image bytes (None deletes the path)."""
    source: Source = "detector"
    inputs: Sequence[InputRef] = ()
    """Telemetry the findings were judged on (inventory files), by digest."""


@dataclass(frozen=True)
class WrittenBundle:
    """A bundle on disk and its statement."""

    path: Path
    statement: Statement
    signed: bool


def config_ref(path: str, content: bytes) -> ConfigRef:
    """The predicate's reference to the configuration file used."""
    return ConfigRef(path=path, digest=DigestSet(sha256=hashlib.sha256(content).hexdigest()))


def write_bundle(
    request: BundleRequest,
    *,
    repo: Path,
    base: str,
    out: Path,
    signer: Signer,
    context: RunContext,
    config: ConfigRef | None,
    created: datetime,
    validity: timedelta = DEFAULT_VALIDITY,
) -> WrittenBundle:
    """Make, sign and write the bundle of ``request`` under ``out``.

    ``signer`` must already be entered. Raises :class:`~bot.provenance.errors.ChangeError`,
    :class:`~bot.git.GitError`, :class:`~bot.provenance.errors.SigningError` or
    :class:`~bot.provenance.errors.BundleError`.
    """
    patch = make_patch(repo, base, request.files)
    statement = build_statement(
        changes=patch.changes,
        repository=context.repository,
        base=Base(ref=context.base_ref, git_commit=base),
        remediation=remediation_info(request.remediation, request.source),
        findings=finding_refs(request.findings, __version__),
        generator=Generator(
            name="mendbot", version=__version__, id=context.generator_id, config=config
        ),
        invocation=context.invocation,
        inputs=request.inputs,
        created=created,
        validity=validity,
    )
    payload = statement_bytes(statement)
    attestation = signer.sign(payload)
    slsa = (
        signer.sign(slsa_statement(statement, context))
        if signer.kind is SignKind.SIGSTORE
        else None
    )
    files = layout.BundleFiles(
        patch=patch.diff,
        plan=plan_bytes(request, base, context.base_ref, signer.kind),
        statement=payload,
        attestation=attestation,
        slsa=slsa,
    )
    path = layout.write(out, request.remediation.id, files)
    return WrittenBundle(path=path, statement=statement, signed=attestation is not None)


def plan_bytes(request: BundleRequest, base: str, ref: str | None, signing: SignKind) -> bytes:
    """``plan.json``: the remediation, its findings and fixes (YAML operations), its risk."""
    remediation = request.remediation
    document: dict[str, Any] = {
        "tool": {"name": "mendbot", "version": __version__},
        "base": {"gitCommit": base, "ref": ref},
        "signing": signing.value,
        "remediation": {
            "id": remediation.id,
            "fingerprint": remediation.fingerprint,
            "title": remediation.title,
            "source": request.source,
            "rules": list(remediation.rules),
            "paths": list(remediation.paths),
            "risk": {
                "disposition": remediation.disposition.value,
                "reversibility": remediation.reversibility.value,
                "blastRadius": remediation.blast_radius.value,
                **({"ownership": remediation.ownership.value} if remediation.ownership else {}),
                **({"secondOrder": True} if remediation.second_order else {}),
            },
        },
        "findings": [
            {"id": f.id, **f.model_dump(mode="json")}
            for f in sorted(request.findings, key=lambda f: (f.location.path, f.location.line))
        ],
        "fixes": [fix.model_dump(mode="json") for fix in remediation.fixes],
    }
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def remediation_info(remediation: Remediation, source: Source = "detector") -> RemediationInfo:
    """The predicate's ``remediation`` block for a planned remediation."""
    if not REMEDIATION_ID.match(remediation.id):
        raise StatementError(f"remediation id {remediation.id!r} is not `<group>/<slug>`")
    return RemediationInfo(
        id=remediation.id,
        fingerprint=remediation.fingerprint,
        title=remediation.title,
        source=source,
        rules=remediation.rules,
        risk=Risk(
            disposition=remediation.disposition,
            reversibility=remediation.reversibility,
            blast_radius=remediation.blast_radius,
            ownership=remediation.ownership,
            second_order=remediation.second_order,
        ),
    )


def finding_refs(findings: Iterable[Finding], rule_version: str) -> tuple[FindingRef, ...]:
    """The predicate's ``findings``, sorted by path, line and id."""
    return tuple(
        FindingRef(
            id=f.id,
            rule_id=f.rule,
            rule_version=rule_version,
            severity=f.severity.value,
            title=f.title,
            path=f.location.path,
            line=f.location.line,
        )
        for f in sorted(findings, key=lambda f: (f.location.path, f.location.line, f.id))
    )
