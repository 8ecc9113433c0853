"""``mendbot propose``: verified bundles become pull requests, idempotently, on any forge.

The propose job never re-derives a fix. For each bundle it builds the commit in a temporary
index (``git apply --cached`` of the attested ``patch.diff`` on the attested base commit, plus
the attestation file), runs the provenance verifier on *that commit*, and only then moves a
branch. A bundle that fails any step is refused with the reason and nothing is pushed for it; a
bundle the forge fails on (e.g. GitHub answers 422) is reported as ``failed`` and the other
bundles are still proposed.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum, unique
from pathlib import Path

from bot import git as gitcmd
from bot.config import ProposeSettings
from bot.errors import MendbotError
from bot.forge.interface import CommitAuthor, Forge, ForgeError, PullRequest, PullState
from bot.git import GitError
from bot.propose import pr_body as body
from bot.propose.candidate import BaseUnreadable, CandidateTrees, PatchRefused
from bot.protocol import bot_commit_env, decode_metadata
from bot.provenance.fix_anchor import FixIdentity
from bot.provenance.layout import (
    PATCH,
    REVERTED_NOTE,
    STATEMENT,
    committed_attestation_path,
    read,
    remediation_id,
)
from bot.provenance.revert_statement import revert_of
from bot.provenance.reverted import (
    RemediationCommits,
    fix_identities,
    reverted_fixes,
    reverted_remediations,
)
from bot.provenance.statement import Statement, StatementError, parse_statement
from bot.provenance.verification.bot_commits import attested_bot_commit
from bot.provenance.verification.trust import Trust, UnsafeAcceptUnsigned
from bot.provenance.verification.verifier import verify_bundle


@unique
class Status(StrEnum):
    """What happened to one bundle."""

    OPENED = "opened"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    IGNORED = "ignored"
    MERGED = "merged"
    REVERTED = "reverted"
    BLOCKED = "blocked"
    HELD = "held"
    REFUSED = "refused"
    FAILED = "failed"


@dataclass
class Outcome:
    """The result for one bundle folder."""

    bundle: Path
    """The bundle folder."""
    status: Status
    """What happened."""
    message: str
    """One line for people."""
    remediation_id: str | None = None
    """The remediation, when known."""
    number: int | None = None
    """The pull request, when there is one."""
    branch: str | None = None
    """The bot branch, when known."""
    failed_checks: list[str] = field(default_factory=list)
    """Verifier checks that failed (refused bundles)."""


class _Refused(Exception):
    def __init__(self, message: str, checks: list[str] | None = None) -> None:
        super().__init__(message)
        self.checks = checks or []


@dataclass
class _Budget:
    open_count: int
    new_this_hour: int


def propose(
    bundles: list[Path],
    forge: Forge,
    trust: Trust,
    settings: ProposeSettings | None = None,
    *,
    now: datetime | None = None,
    environments: Mapping[str, Sequence[str]] | None = None,
) -> list[Outcome]:
    """Propose every bundle on ``forge``; one :class:`Outcome` per bundle, in order.

    ``environments`` (``.github/mendbot.yml``'s) adds an ``env:<name>`` label per environment a
    remediation touches. Never raises for one bundle: a bad one is ``refused``, one the forge
    fails on is ``failed`` and the others are still proposed. Raises
    :class:`~bot.forge.interface.ForgeError` only when the forge cannot even list the bot's
    pull requests or name the base branch (then nothing is proposed or pushed).
    """
    with gitcmd.batched(), tempfile.TemporaryDirectory(prefix="mendbot-propose-") as scratch:
        trees = CandidateTrees(forge.workdir, Path(scratch))
        try:
            return _propose_all(bundles, forge, trust, trees, settings, now, environments)
        finally:
            trees.close()


def _propose_all(
    bundles: list[Path],
    forge: Forge,
    trust: Trust,
    trees: CandidateTrees,
    settings: ProposeSettings | None,
    now: datetime | None,
    environments: Mapping[str, Sequence[str]] | None,
) -> list[Outcome]:
    settings = settings or ProposeSettings()
    clock = now or datetime.now(UTC)
    base = forge.default_branch()  # a base that does not exist stops the run before any push
    reverted = _reverted(forge, base)
    # Per fix as well: a reverted fix inside a bundle made under another id (a step added
    # before it, a new fix beside it) is not proposed again either.
    remembered = reverted_fixes(
        forge.workdir,
        {rid: e for rid, e in reverted.items() if rid not in settings.allow_reverted},
    )
    # Only the bot's own pull requests on its own branches count against the limits.
    prefix = f"{settings.branch_prefix}/"
    budget = _Budget(
        open_count=sum(1 for p in forge.pulls(PullState.OPEN) if p.branch.startswith(prefix)),
        new_this_hour=forge.created_since(clock - timedelta(hours=1)),
    )
    outcomes = []
    for path in bundles:
        if (path / REVERTED_NOTE).exists():
            outcomes.append(_reverted_note(path, reverted, settings))
            continue
        try:
            candidate, proposal = _build_and_verify(
                path, trees, forge.workdir, forge.repository_uri, trust, clock
            )
        except _Refused as exc:
            outcomes.append(Outcome(path, Status.REFUSED, str(exc), failed_checks=exc.checks))
            continue
        branch = f"{settings.branch_prefix}/{proposal.remediation_id}"
        try:
            outcomes.append(
                _propose_one(
                    path,
                    candidate,
                    proposal,
                    branch,
                    forge,
                    _Run(settings, budget, clock, trust, reverted, remembered),
                    environments,
                )
            )
        except ForgeError as exc:
            message = exc.diagnostics().replace("\n", " ")
            outcomes.append(
                Outcome(path, Status.FAILED, message, proposal.remediation_id, branch=branch)
            )
    return outcomes


@dataclass(frozen=True)
class _Run:
    """What every bundle of one propose run shares."""

    settings: ProposeSettings
    budget: _Budget
    clock: datetime
    trust: Trust
    reverted: Mapping[str, RemediationCommits]
    """Remediations merged on the base branch and reverted since, by id."""
    reverted_fixes: Mapping[FixIdentity, RemediationCommits]
    """The fixes of those a person did not allow again, by identity."""


def _reverted_note(
    path: Path, reverted: Mapping[str, RemediationCommits], settings: ProposeSettings
) -> Outcome:
    """The outcome of a folder ``analyze --bundle-out`` wrote in place of the bundle of a
    reverted remediation. The note proposes nothing, so it is never trusted to: the base
    branch's history must show the revert, or the folder is refused."""
    rid = remediation_id(path.resolve().name)
    undone = reverted.get(rid) if rid is not None else None
    if rid is None or undone is None or rid in settings.allow_reverted:
        return Outcome(
            path,
            Status.REFUSED,
            f"{path} holds no bundle, only {REVERTED_NOTE}, but the base branch does not show "
            "that remediation as reverted (or it is allowed again): make a fresh bundle",
            rid,
        )
    return Outcome(path, Status.REVERTED, _not_again(rid, undone), rid)


def _not_again(rid: str, undone: RemediationCommits) -> str:
    """Why a reverted remediation is not proposed, and how to propose it again."""
    return (
        f"reverted in {(undone.reverted_in or '')[:12]} by {undone.reverted_by}: not "
        f"proposed again (list {rid} under propose.allow_reverted to propose it)"
    )


def _reverted_fix(
    repo: Path, proposal: body.Proposal, run: _Run
) -> tuple[FixIdentity, RemediationCommits] | None:
    """The first fix of ``proposal`` that belongs to a reverted remediation, if any."""
    if not run.reverted_fixes or revert_of(proposal.statement) is not None:
        return None
    for identity in fix_identities(repo, proposal.statement, proposal.base_sha):
        entry = run.reverted_fixes.get(identity)
        if entry is not None:
            return identity, entry
    return None


def _reverted(forge: Forge, base: str) -> dict[str, RemediationCommits]:
    """The remediations reverted on ``base``, read from its history in the checkout: from the
    forge's tip of ``base`` when the checkout has that commit, else from the checkout's own
    copy of the branch (``origin/<base>``, then ``HEAD``: a merge may land between checkout
    and propose). Raises :class:`~bot.forge.interface.ForgeError` when no history is there
    (a shallow clone): proposing without it could bring back what a person reverted."""
    tip = forge.branch_head(base)
    candidates = [c for c in (tip, f"refs/remotes/origin/{base}", base, "HEAD") if c]
    for candidate in candidates:
        try:
            if gitcmd.run(forge.workdir, "rev-parse", "--is-shallow-repository").strip() == b"true":
                break
            return reverted_remediations(forge.workdir, candidate)
        except GitError:
            continue
    raise ForgeError(
        f"cannot read the history of {base} in {forge.workdir}",
        advice="check out the whole history (actions/checkout with fetch-depth: 0)",
    )


def _made_by_bot(repo: Path, commit: CommitAuthor, run: _Run) -> bool:
    """Whether a commit on the bot's branch is the bot's own, so that replacing it loses no
    one's work: the bot's name and e-mail are not enough (anyone can write them), its
    attestation must verify against the trust this run verifies bundles with. With
    ``--allow-unsigned`` there is no signature to ask, and the e-mails decide (unsafe, as that
    mode says)."""
    if not commit.by_bot:
        return False
    if isinstance(run.trust, UnsafeAcceptUnsigned):
        return True
    return attested_bot_commit(repo, commit.sha, run.trust, run.clock)


def _propose_one(
    path: Path,
    candidate: str,
    proposal: body.Proposal,
    branch: str,
    forge: Forge,
    run: _Run,
    environments: Mapping[str, Sequence[str]] | None,
) -> Outcome:
    """Open, update or leave the pull request of one verified bundle; raises
    :class:`~bot.forge.interface.ForgeError` when the forge fails."""
    rid = proposal.remediation_id
    settings, budget, clock = run.settings, run.budget, run.clock

    def outcome(status: Status, message: str, number: int | None = None) -> Outcome:
        return Outcome(path, status, message, rid, number, branch)

    undone = run.reverted.get(rid)
    if undone is not None and rid not in settings.allow_reverted:
        return outcome(Status.REVERTED, _not_again(rid, undone))
    again = _reverted_fix(forge.workdir, proposal, run)
    if again is not None:
        identity, entry = again
        return outcome(
            Status.REVERTED,
            f"its {identity.describe()} was reverted with {entry.remediation_id}: "
            + _not_again(entry.remediation_id, entry),
        )
    existing = forge.find(proposal.fingerprint, branch)
    revert = revert_of(proposal.statement)
    if existing is None and revert is not None:
        other = _open_elsewhere(forge, proposal.fingerprint, branch)
        if other is not None:
            return outcome(
                Status.UNCHANGED,
                f"the revert of {revert.remediation_id} is already open as #{other.number} "
                f"({other.branch}): nothing opened",
                other.number,
            )
    if existing is not None and existing.state is PullState.CLOSED:
        forge.comment(existing.number, body.TOPIC_IGNORED, body.ignored_comment(proposal))
        return outcome(
            Status.IGNORED,
            f"#{existing.number} was closed unmerged: fingerprint ignored",
            existing.number,
        )
    if existing is not None and existing.state is PullState.MERGED:
        if undone is None:
            return outcome(Status.MERGED, f"#{existing.number} is already merged", existing.number)
        existing = None  # merged, reverted, and allowed again: a new pull request
    head = forge.branch_head(branch)
    if head is not None:
        foreign = [
            c.sha
            for c in forge.branch_commits(branch, proposal.base_sha)
            if not _made_by_bot(forge.workdir, c, run)
        ]
        if foreign:
            number = existing.number if existing is not None else None
            if number is not None:
                forge.comment(number, body.TOPIC_EDITED, body.edited_comment(foreign))
            return outcome(
                Status.BLOCKED,
                f"{branch} has {len(foreign)} commit(s) by someone else: updates stopped",
                number,
            )
    if (
        existing is not None
        and head is not None
        and head == existing.head_sha
        and _statement_digest(existing) == proposal.statement_digest
    ):
        # The pull request already carries this very statement: an attestation that differs
        # only in its signature bytes (re-signed, or malleated s -> n-s) changes nothing.
        candidate = head
    title, labels = body.title(proposal), body.labels(proposal, environments)
    text = body.render_body(
        proposal,
        branch,
        environments,
        _merged_by(forge, revert.remediation_id) if revert is not None else None,
    )
    if existing is not None:
        if (
            head == candidate
            and existing.head_sha == candidate
            and (existing.title, existing.body, existing.labels) == (title, text, labels)
        ):
            return outcome(Status.UNCHANGED, f"#{existing.number} is up to date", existing.number)
        if head != candidate:
            forge.push(branch, candidate, head)
        existing.title, existing.body, existing.labels = title, text, labels
        existing.head_sha, existing.base_sha = candidate, proposal.base_sha
        forge.update(existing)
        return outcome(Status.UPDATED, f"#{existing.number} updated", existing.number)
    # A revert turns a merged change around on a person's or the deploy job's request: the
    # limits on new proposals never hold it back.
    if revert is None and budget.open_count >= settings.max_open_prs:
        return outcome(
            Status.HELD,
            f"held back: {budget.open_count} open pull request(s), limit "
            f"propose.max_open_prs = {settings.max_open_prs}",
        )
    if revert is None and budget.new_this_hour >= settings.max_new_per_hour:
        return outcome(
            Status.HELD,
            f"held back: {budget.new_this_hour} pull request(s) opened in the last hour, limit "
            f"propose.max_new_per_hour = {settings.max_new_per_hour}",
        )
    if head != candidate:
        forge.push(branch, candidate, head)
    pull = forge.open(
        PullRequest(
            number=0,
            title=title,
            body=text,
            branch=branch,
            base=forge.default_branch(),
            head_sha=candidate,
            base_sha=proposal.base_sha,
            fingerprint=proposal.fingerprint,
            labels=labels,
            created_at=clock.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
    )
    budget.open_count += 1
    budget.new_this_hour += 1
    return outcome(Status.OPENED, f"opened #{pull.number}", pull.number)


def _open_elsewhere(forge: Forge, fingerprint: str, branch: str) -> PullRequest | None:
    """An open pull request of ``fingerprint`` on another branch than ``branch``: the revert
    ``mendbot revert`` opened without a bundle has the fingerprint of a signed revert of the
    same merge, and one revert pull request per merge is enough."""
    return next(
        (
            p
            for p in forge.pulls(PullState.OPEN)
            if p.fingerprint == fingerprint and p.branch != branch
        ),
        None,
    )


def _merged_by(forge: Forge, remediation: str) -> int | None:
    """The merged mendbot pull request of ``remediation``, if the forge knows it."""
    for pull in forge.pulls(PullState.MERGED):
        meta = decode_metadata(pull.body)
        if meta is not None and meta.get("remediation") == remediation:
            return pull.number
    return None


def _build_and_verify(
    path: Path, trees: CandidateTrees, repo: Path, repository: str, trust: Trust, clock: datetime
) -> tuple[str, body.Proposal]:
    """Build the candidate commit (dangling until pushed) and verify the bundle against it,
    and that it was made for ``repository``."""
    try:
        name, files = read(path)
    except MendbotError as exc:
        raise _Refused(str(exc)) from None
    base, rid = _unverified_base(files.statement, path)
    missing_base = _Refused(
        f"the attested base commit {base[:12]} is not in {repo}: fetch it, or make a fresh "
        "bundle on the current base"
    )
    if not gitcmd.is_object_id(base):
        raise missing_base
    # The verifier checks below that statement.json is the signed payload byte for byte.
    digest = hashlib.sha256(files.statement).hexdigest()
    signed = files.attestation is not None
    try:
        attestation_path = (
            committed_attestation_path(rid) if files.attestation is not None else None
        )
    except MendbotError as exc:
        raise _Refused(str(exc), ["statement"]) from None
    created = _unverified_created(files.statement)
    committed = (
        (attestation_path, files.attestation)
        if files.attestation is not None and attestation_path is not None
        else None
    )

    def message() -> bytes:
        # Rendered from the unverified statement; the commit is discarded unless the verifier
        # accepts the same bytes below.
        statement = _parse_unverified(files.statement, path)
        draft = body.Proposal(statement, None, digest, signed, attestation_path, name)
        return body.commit_message(draft).encode()

    try:
        # A fixed date makes the commit id a function of the bundle: reruns create nothing new.
        candidate = trees.commit(base, files.patch, committed, message, bot_commit_env(created))
    except BaseUnreadable:
        # Asked only now: a base that is there costs no git process of its own.
        if not gitcmd.has_commit(repo, base):
            raise missing_base from None
        raise _Refused(f"cannot read the attested base {base[:12]}") from None
    except PatchRefused as exc:
        raise _Refused(
            f"{PATCH} no longer applies on the attested base {base[:12]} ({exc}); the "
            "finding may be stale: make a fresh bundle"
        ) from None
    except GitError as exc:
        raise _Refused(f"cannot build the commit: {exc}") from None
    result = verify_bundle(
        path, repo=repo, head=candidate, base=base, trust=trust, now=clock, repository=repository
    )
    if not result.ok or result.statement is None:
        failed = [check.id for check in result.failures]
        details = "; ".join(f"{c.id}: {c.message}" for c in result.failures)
        raise _Refused(f"verification failed ({details})", failed)
    proposal = body.Proposal(
        result.statement, result.signer, digest, signed, attestation_path, name
    )
    return candidate, proposal


def _statement_digest(pull: PullRequest) -> str | None:
    """The statement digest the bot recorded in ``pull``'s metadata (None: none recorded)."""
    meta = decode_metadata(pull.body)
    digest = meta.get("statementDigest") if meta is not None else None
    return digest if isinstance(digest, str) else None


def _parse_unverified(raw: bytes, path: Path) -> Statement:
    try:
        return parse_statement(raw)
    except StatementError as exc:
        raise _Refused(f"{path / STATEMENT}: {exc}", ["statement"]) from None


def _unverified_base(raw: bytes, path: Path) -> tuple[str, str]:
    """Where to apply the patch (checked later by the verifier on the built commit)."""
    try:
        predicate = json.loads(raw)["predicate"]
        return str(predicate["base"]["gitCommit"]), str(predicate["remediation"]["id"])
    except (ValueError, KeyError, TypeError):
        raise _Refused(
            f"{path / STATEMENT} is not a remediation statement", ["statement"]
        ) from None


def _unverified_created(raw: bytes) -> str:
    try:
        return str(json.loads(raw)["predicate"]["createdOn"])
    except (ValueError, KeyError, TypeError):
        return "2000-01-01T00:00:00Z"


def render_outcomes(outcomes: list[Outcome]) -> str:
    """One line per bundle (refusals with their failed checks), then the held-back and failed
    summaries."""
    lines = []
    for o in outcomes:
        name = o.remediation_id or o.bundle.name
        lines.append(f"{o.status.value:<9} {name}: {o.message}")
    held = [o for o in outcomes if o.status is Status.HELD]
    if held:
        lines.append(f"{len(held)} remediation(s) held back by limits; rerun later to propose them")
    failed = [o for o in outcomes if o.status is Status.FAILED]
    if failed:
        lines.append(
            f"{len(failed)} remediation(s) failed on the forge (the others were proposed); "
            "rerun to retry them"
        )
    return "\n".join(lines) + "\n"


def outcomes_json(outcomes: list[Outcome]) -> str:
    """The outcomes as a JSON document ``{"outcomes": [...]}``, one entry per bundle, for
    scripts (the GitHub Action reads the pull request numbers from it)."""
    entries = [
        {
            "status": o.status.value,
            "remediation_id": o.remediation_id,
            "bundle": str(o.bundle),
            "message": o.message,
            "pull_request": o.number,
            "branch": o.branch,
            "failed_checks": o.failed_checks,
        }
        for o in outcomes
    ]
    return json.dumps({"outcomes": entries}, indent=2) + "\n"


def render_pulls(pulls: list[PullRequest]) -> str:
    """``#N [state] title (branch, labels)`` per pull request."""
    lines = [
        f"#{p.number} [{p.state.value}] {p.title}\n    {p.branch} -> {p.base} "
        f"at {p.head_sha[:12]}  labels: {', '.join(p.labels)}"
        for p in pulls
    ]
    return "\n".join(lines) + "\n" if lines else "(no pull requests)\n"
