"""Render a verification result: one line per check, advice under each failure; or JSON."""

from __future__ import annotations

import json
from typing import Any

from bot.provenance.verification.result import Status, VerificationResult

_MARK = {Status.PASSED: "ok  ", Status.FAILED: "FAIL", Status.SKIPPED: "skip"}


def render_text(result: VerificationResult) -> str:
    """Every check, failures with what to do, then a one-line verdict."""
    width = max((len(c.id) for c in result.checks), default=0)
    lines = []
    for check in result.checks:
        lines.append(f"{_MARK[check.status]}  {check.id:<{width}}  {check.message}")
        if check.failed and check.advice:
            lines.append(f"{'':<{width + 8}}what to do: {check.advice}")
    failures = result.failures
    statement = result.statement
    if result.ok and statement is not None:
        remediation = statement.predicate.remediation
        lines.append(
            f"verified: {remediation.id} (source {result.source}, base "
            f"{statement.predicate.base.git_commit[:12]}, {len(statement.predicate.changes)} "
            "change(s))"
        )
    else:
        lines.append(f"NOT verified: {len(failures)} check(s) failed")
    return "\n".join(lines) + "\n"


def render_json(result: VerificationResult) -> str:
    """The result as JSON: ``ok``, ``source``, ``signer``, ``remediation`` and ``checks``."""
    signer = result.signer
    statement = result.statement
    document: dict[str, Any] = {
        "ok": result.ok,
        "source": result.source,
        "signer": None
        if signer is None
        else {
            "kind": signer.kind.value,
            "identity": signer.identity,
            "issuer": signer.issuer,
            "keyHint": signer.key_hint,
            "signedAt": signer.signed_at,
        },
        "remediation": None
        if statement is None
        else statement.predicate.remediation.model_dump(mode="json", by_alias=True),
        "checks": [
            {"id": c.id, "status": c.status.value, "message": c.message, "advice": c.advice}
            for c in result.checks
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
