"""The pull request title, body and labels, rendered only from a *verified* statement.

Text from the statement that a repository's content shapes (paths, titles, ids) is rendered
inert (:mod:`bot.markdown`): on one line, inside code spans, so a hostile file name cannot add
mentions, links, HTML or lines of its own to the title, body or commit message.

The hidden metadata (:func:`bot.protocol.encode_metadata`) is always the body's last line:
:func:`bot.protocol.decode_metadata` reads it there and nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.markdown import code, code_cell, plain
from bot.policy.gate_context import UNMAPPED_ENVIRONMENT, environments_of
from bot.protocol import (
    BOT_LABEL,
    ENVIRONMENT_LABEL_PREFIX,
    REVERT_LABEL,
    RISK_LABEL_PREFIX,
    ROLLBACK_LABEL,
    TRAILER_ATTESTATION,
    TRAILER_FINGERPRINT,
    TRAILER_REMEDIATION,
    TRAILER_RULE,
    encode_metadata,
)
from bot.provenance.layout import committed_attestation_path
from bot.provenance.revert_statement import RevertOf, revert_of
from bot.provenance.statement import Statement
from bot.provenance.verification.result import Signer
from bot.risk import Ownership

#: Longest remediation title in a pull request title or commit subject.
_TITLE_LIMIT = 200

#: Sticky comment topics.
TOPIC_IGNORED = "ignored"
TOPIC_EDITED = "edited"


@dataclass(frozen=True)
class Proposal:
    """What one verified bundle proposes, with the commit that applies it."""

    statement: Statement
    """The verified statement (the only source of the pull request's text)."""
    signer: Signer | None
    """Who signed it (None when unsigned bundles were allowed)."""
    statement_digest: str
    """sha256 hex of the statement as signed (the attestation's payload): what identifies the
    attestation. Never the attestation file's digest: an ECDSA signature can be re-encoded
    (``s`` to ``n - s``) into other valid bytes for the same statement."""
    signed: bool
    """Whether an attestation is committed with the fix."""
    attestation_path: str | None
    """Where the attestation is committed."""
    bundle_name: str
    """The bundle folder's name."""

    @property
    def remediation_id(self) -> str:
        """``<group>/<slug>-<fp8>``."""
        return self.statement.predicate.remediation.id

    @property
    def fingerprint(self) -> str:
        """The remediation fingerprint."""
        return self.statement.predicate.remediation.fingerprint

    @property
    def base_sha(self) -> str:
        """The attested base commit."""
        return self.statement.predicate.base.git_commit


def risk_level(statement: Statement) -> str:
    """``low``/``medium``/``high``/``critical`` from disposition, reversibility, blast radius."""
    risk = statement.predicate.remediation.risk
    if risk.blast_radius.value == "organization":
        return "critical"
    if risk.reversibility.value == "irreversible" or risk.blast_radius.value == "environment":
        return "high"
    if (
        risk.disposition.value == "unsafe"
        or risk.reversibility.value != "reversible"
        or risk.blast_radius.value == "service"
    ):
        return "medium"
    return "low"


def title(proposal: Proposal) -> str:
    """``fix(security): <remediation title> [<fp8>]``, on one line; a revert's own title
    (``Revert "<subject>" (asked by …)``)."""
    info = proposal.statement.predicate.remediation
    if revert_of(proposal.statement) is not None:
        return plain(info.title, _TITLE_LIMIT)
    return f"fix(security): {plain(info.title, _TITLE_LIMIT)} [{info.fingerprint[:8]}]"


def labels(
    proposal: Proposal, environments: Mapping[str, Sequence[str]] | None = None
) -> list[str]:
    """``mendbot``, ``risk:<level>`` and one ``env:<name>`` per environment of
    ``.github/mendbot.yml`` the change touches (paths no environment maps get none); a revert
    also gets ``mendbot:revert``, and ``mendbot:rollback`` when the deploy job asked for it
    (source ``detector``)."""
    paths = [change.path for change in proposal.statement.predicate.changes]
    touched = environments_of(paths, environments or {})
    kind: list[str] = []
    if revert_of(proposal.statement) is not None:
        kind.append(REVERT_LABEL)
        if proposal.statement.predicate.remediation.source == "detector":
            kind.append(ROLLBACK_LABEL)
    return [
        BOT_LABEL,
        *kind,
        f"{RISK_LABEL_PREFIX}{risk_level(proposal.statement)}",
        *(f"{ENVIRONMENT_LABEL_PREFIX}{name}" for name in touched if name != UNMAPPED_ENVIRONMENT),
    ]


def commit_message(proposal: Proposal) -> str:
    """The commit message with the trailers that name the remediation; every value is on one
    line, so no text from the statement can add a trailer of its own."""
    info = proposal.statement.predicate.remediation
    subject = (
        plain(info.title, _TITLE_LIMIT)
        if revert_of(proposal.statement) is not None
        else f"fix({plain(info.rules[0])}): {plain(info.title, _TITLE_LIMIT)}"
    )
    lines = [
        subject,
        "",
        f"Applies the attested remediation {plain(info.id)} unchanged.",
        "",
        f"{TRAILER_REMEDIATION}: {plain(info.id)}",
        f"{TRAILER_RULE}: {plain(', '.join(info.rules))}",
        f"{TRAILER_FINGERPRINT}: sha256:{info.fingerprint}",
    ]
    if proposal.signed:
        lines.append(f"{TRAILER_ATTESTATION}: sha256:{proposal.statement_digest}")
    return "\n".join(lines) + "\n"


def _signer_text(signer: Signer | None) -> str:
    if signer is None or signer.kind.value == "unsigned":
        return "unsigned (accepted with --allow-unsigned: source human-override)"
    if signer.kind.value == "key":
        hint = f", key hint {signer.key_hint[:16]}…" if signer.key_hint else ""
        return f"local key (DSSE){hint}"
    return f"Sigstore keyless: {signer.identity} (issuer {signer.issuer})"


def _trust_options(signer: Signer | None) -> str:
    if signer is None or signer.kind.value == "unsigned":
        return "--allow-unsigned"
    if signer.kind.value == "key":
        return "--verify-key mendbot.pub"
    return f"--identity '{signer.identity}' --issuer '{signer.issuer}'"


def environments_text(proposal: Proposal, environments: Mapping[str, Sequence[str]] | None) -> str:
    """The environments the change touches, as ``.github/mendbot.yml`` maps its paths
    (``unmapped`` for paths no environment's globs match)."""
    paths = [change.path for change in proposal.statement.predicate.changes]
    return ", ".join(environments_of(paths, environments or {})) or UNMAPPED_ENVIRONMENT


def _revert_summary(revert: RevertOf, source: str, reverted_pull: int | None) -> list[str]:
    """The summary of a revert: what it turns around, where that was merged, who asked."""
    merged_by = f" (#{reverted_pull})" if reverted_pull is not None else ""
    asked = (
        "the deploy job (its deployment did not hold: a rollback)"
        if source == "detector"
        else "a person (source `human-override`)"
    )
    return [
        f"Reverts the remediation {code(revert.remediation_id)}, merged in "
        f"`{revert.merged_in}`{merged_by}, exactly: every path that change touched goes back to "
        "the commit before it, nothing else, its attestation "
        f"{code(committed_attestation_path(revert.remediation_id))} "
        f"(`sha256:{revert.attestation_sha256}`) included. Asked by {asked}; the signed "
        "statement below binds this inverse change to that merge and that attestation.",
        "",
        "Once this is merged the remediation counts as reverted: mendbot does not propose it "
        f"again (list {code(revert.remediation_id)} under `propose.allow_reverted` in "
        "`.github/mendbot.yml` to allow it).",
        "",
    ]


def render_body(
    proposal: Proposal,
    branch: str,
    environments: Mapping[str, Sequence[str]] | None = None,
    reverted_pull: int | None = None,
) -> str:
    """The Markdown body: summary, risk card, changes, provenance, behaviour, metadata.
    ``reverted_pull`` is the pull request that merged what a revert turns around, if known."""
    predicate = proposal.statement.predicate
    info = predicate.remediation
    risk = info.risk
    base = proposal.base_sha
    revert = revert_of(proposal.statement)
    lines = [
        "## Summary",
        "",
        f"{code(info.title)}: mendbot applies the attested remediation {code(info.id)} "
        f"(rules {', '.join(code(r) for r in info.rules)}) unchanged on base `{base[:12]}`.",
        "",
    ]
    if revert is not None:
        lines += _revert_summary(revert, info.source, reverted_pull)
    lines.extend(
        f"- {code(finding.rule_id)} ({code(finding.severity)}) {code(finding.title)} "
        f"— {code(f'{finding.path}:{finding.line}')}"
        for finding in predicate.findings
    )
    lines += [
        "",
        "## Risk",
        "",
        "| risk | disposition | reversibility | blast radius | environment |",
        "|---|---|---|---|---|",
        f"| **{risk_level(proposal.statement)}** | {risk.disposition.value} | "
        f"{risk.reversibility.value} | {risk.blast_radius.value} | "
        f"{environments_text(proposal, environments)} |",
        "",
        *_identity_lines(risk.ownership, risk.second_order),
        "## Changes",
        "",
        "| path | change |",
        "|---|---|",
    ]
    lines.extend(
        f"| {code_cell(change.path)} | {code_cell(change.op)} |" for change in predicate.changes
    )
    if proposal.attestation_path is not None:
        lines.append(f"| {code_cell(proposal.attestation_path)} | add (the attestation) |")
    digest = (
        f"statement `sha256:{proposal.statement_digest}`" if proposal.signed else "none (unsigned)"
    )
    lines += [
        "",
        "## Provenance",
        "",
        f"- attestation: {digest}",
        f"- signer: {_signer_text(proposal.signer)}",
        f"- generator: mendbot {code(predicate.generator.version)}, source {code(info.source)}",
        f"- expires: {predicate.expires_on}",
        "",
        "Verify locally (the same verifier the policy gate and the deploy job run):",
        "",
        "```console",
        f"git fetch origin {plain(branch)}",
        f"mendbot verify BUNDLE/{plain(proposal.bundle_name)} --repo . --head FETCH_HEAD "
        f"{_trust_options(proposal.signer)}",
        "```",
        "",
        "## How mendbot behaves",
        "",
        "- **Closing without merging ignores this fingerprint**: it is not proposed again. "
        "Reopen the pull request to undo.",
        "- **Rebase only on conflict**: the commit stays on the attested base while the patch "
        "still applies; a conflicting base needs a fresh analysis and bundle.",
        "- **Your commits win**: if anyone else pushes to this branch, mendbot stops updating it "
        "and says so once; it never force-pushes over human work.",
        "- mendbot never merges; the `mendbot/policy` check decides.",
        "",
        encode_metadata(
            {
                "remediation": info.id,
                "fingerprints": [info.fingerprint],
                "rules": list(info.rules),
                "baseSha": base,
                "statementDigest": proposal.statement_digest,
                "risk": risk_level(proposal.statement),
                **({"revert": revert.merged_in} if revert is not None else {}),
            }
        ),
        "",
    ]
    return "\n".join(lines)


def ignored_comment(proposal: Proposal) -> str:
    """The sticky comment on a pull request closed unmerged."""
    return (
        f"mendbot: this pull request was closed without merging, so fingerprint "
        f"`{proposal.fingerprint[:12]}` ({code(proposal.remediation_id)}) is **ignored** and "
        "will not be proposed again. To undo, reopen this pull request."
    )


def edited_comment(commits: list[str]) -> str:
    """The sticky comment on a branch that received someone else's commits."""
    shas = ", ".join(f"`{sha[:12]}`" for sha in commits)
    return (
        f"mendbot: this branch has commits by someone else ({shas}), so mendbot has **stopped "
        "updating it** and will never overwrite them. Close it and delete the branch to let "
        "mendbot propose the fix again."
    )


def _identity_lines(ownership: Ownership | None, second_order: bool) -> list[str]:
    """What the risk card says about the non-human identity the change touches, if any."""
    lines = []
    if ownership is not None:
        owner = "known" if ownership is Ownership.KNOWN else "**unknown** (nobody answers for it)"
        lines.append(f"- identity ownership: {owner}")
    if second_order:
        lines.append(
            "- **second-order**: an agentic workflow of this repository uses the identity this "
            "changes; a person must approve"
        )
    return [*lines, ""] if lines else []
