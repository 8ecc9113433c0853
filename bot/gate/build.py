"""Build the policy context of one pull request from what the forge and git say now.

Everything that decides is read from trusted places: the configuration, CODEOWNERS and the
policies from the **default branch**; the change set from git; risk and rules only from a
*verified* statement. The pull request's own files are read as data, never executed.
"""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from bot import git as gitcmd
from bot.config import DEFAULT_LOCATIONS, Config, parse_config
from bot.errors import MendbotError, PolicyError
from bot.forge.interface import GateForge, PullInfo, Review
from bot.gate import base_branch
from bot.gate.attestation import AttestationFacts, attested_own_paths, examine
from bot.gate.contributors import head_attested, who_contributed
from bot.gate.deploy_freeze import frozen_by_deployments
from bot.gate.owners import LOCATIONS as CODEOWNERS_LOCATIONS
from bot.gate.owners import code_owners
from bot.gate.reverts import RevertFacts, find_revert, reverts_commit
from bot.policy.gate_context import (
    UNMAPPED_ENVIRONMENT,
    Approval,
    EnvironmentState,
    GateContext,
    PullRequest,
    build_change,
    environments_of,
)
from bot.policy.schema import PolicySet, load_sources
from bot.policy.windows import compute_windows
from bot.protocol import GATE_LABELS, ROLLBACK_LABEL
from bot.provenance.changes import RawEntry, parse_raw, raw_diff
from bot.provenance.revert_statement import revert_of as reverted_by_statement
from bot.provenance.verification.trust import Trust
from bot.risk import BlastRadius, Disposition, Ownership, Reversibility

_COUNTED_STATES = ("APPROVED", "CHANGES_REQUESTED", "DISMISSED")


@dataclass(frozen=True)
class BaseFiles:
    """What the gate loaded from the default branch."""

    config: Config
    policies: PolicySet
    policy_source: str
    """``<commit>:<directory>``, for the record."""
    codeowners: str | None
    branch: str
    """The branch they were read from (the default branch)."""
    commit: str
    """Its commit."""

    def gates(self, base_ref: str) -> bool:
        """Whether pull requests into ``base_ref`` may be allowed (``gate.branches``, or the
        default branch alone)."""
        globs = self.config.gate.branches or (self.branch,)
        return any(fnmatch.fnmatchcase(base_ref, glob) for glob in globs)


@dataclass(frozen=True)
class Gathered:
    """The context and the evidence behind it."""

    pull: PullInfo
    context: GateContext
    base: BaseFiles
    attestation: AttestationFacts
    revert: RevertFacts
    ignored_reviewers: tuple[str, ...] = ()
    """Reviewers without write access, whose reviews do not count."""
    unidentified_commits: tuple[str, ...] = ()
    """Commits neither the bot's nor tied to accounts (``pr.contributors_known`` is false)."""


@functools.lru_cache(maxsize=8)
def load_base(repo: Path, base_sha: str, branch: str) -> BaseFiles:
    """Configuration, policies and CODEOWNERS from ``base_sha`` (the tip of ``branch``, the
    default branch); raises :class:`MendbotError` naming the file (``<sha12>:<path>``) and the
    problem when any of them is unusable.

    Read and parsed once per commit: a commit's files never change, so every pull request of
    one ``--all-open`` run shares one parse of the policies (an error is not remembered: each
    pull request is denied with it again).
    """
    short = base_sha[:12]
    found = base_branch.first_file(repo, base_sha, DEFAULT_LOCATIONS)
    if found is None:
        config = Config()
    else:
        path, raw = found
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PolicyError(f"{short}:{path}: not UTF-8 ({exc})") from None
        config = parse_config(text, f"{short}:{path}", None)
    directory = config.gate.policies.rstrip("/")
    files = base_branch.read_directory(repo, base_sha, directory)
    if not files:
        raise PolicyError(
            f"{short}:{directory}/ holds no policy files on the default branch {branch}, so "
            "nothing can allow a merge",
            advice="commit policies to the default branch (mendbot's defaults are in its "
            "repository's policies/ folder) or set gate.policies in .github/mendbot.yml",
        )
    policies = load_sources((name, f"{short}:{directory}/{name}", raw) for name, raw in files)
    owners = base_branch.first_file(repo, base_sha, CODEOWNERS_LOCATIONS)
    codeowners = owners[1].decode("utf-8", "replace") if owners else None
    return BaseFiles(config, policies, f"{base_sha}:{directory}", codeowners, branch, base_sha)


def latest_reviews(reviews: list[Review]) -> dict[str, Review]:
    """The latest APPROVED / CHANGES_REQUESTED / DISMISSED review of each user (COMMENTED and
    PENDING reviews neither count nor replace an earlier verdict)."""
    latest: dict[str, Review] = {}
    for review in reviews:
        if review.state in _COUNTED_STATES:
            latest[review.user] = review
    return latest


def referenced_teams(policies: PolicySet, owner_teams: tuple[str, ...]) -> list[str]:
    """Teams whose membership matters: approvers named in policies, plus code-owner teams."""
    teams = set(owner_teams)
    for policy in policies.policies:
        for validation in policy.spec.validations:
            if validation.approvals is not None:
                teams.update(validation.approvals.from_.teams)
    return sorted(teams)


def frozen_environments(
    forge: GateForge, rolled_back: Callable[[PullInfo], tuple[str, ...]]
) -> set[str]:
    """Environments frozen by open rollback pull requests: one labelled ``mendbot:rollback``
    freezes the environments of the paths ``rolled_back`` says it reverts (none unless it is an
    exact revert of a merged, attested bot change). Never from ``env:`` labels: a label alone
    freezes nothing, so no one can freeze an environment the rollback does not touch."""
    frozen: set[str] = set()
    for pull in forge.open_pulls_with_label(ROLLBACK_LABEL):
        frozen.update(rolled_back(pull))
    return frozen


def deploy_time_bound(config: Config) -> timedelta:
    """How long a deployment may stay unfinished before it counts as failed: its credentials'
    lifetime plus the wait for workflow runs, plus a quarter of an hour for the rest."""
    deploy = config.deploy
    return timedelta(minutes=deploy.session_minutes + deploy.run_timeout_minutes + 15)


def commit_reverts(
    repo: Path,
    resolver: str,
    failed: str,
    attested_paths: Callable[[bytes, str], tuple[str, ...] | None],
) -> bool:
    """Whether commit ``resolver``'s first-parent change exactly reverts commit ``failed``, as
    the gate recognises an exact revert in a pull request (:func:`reverts_commit`): all of
    ``failed``'s change turned around, or exactly the own paths of the one trusted remediation
    it merged (what ``mendbot revert`` makes of a release merge; ``attested_paths`` as for
    :func:`find_revert`). False when either cannot be read (fail closed: the freeze stays)."""
    try:
        mine = parse_raw(raw_diff(repo, f"{resolver}^1", resolver))
        parent = gitcmd.rev_parse(repo, f"{failed}^1")
        return reverts_commit(repo, mine, failed, parent, attested_paths) is not None
    except MendbotError:
        return False


def _single_commit(repo: Path, merge_base: str, head: str) -> bool:
    """Whether ``merge_base..head`` is exactly one commit, whose only parent is ``merge_base``."""
    chain = gitcmd.linear_history(repo, merge_base, head)
    if chain is not None:
        return len(chain) == 1 and chain[0].parents == (merge_base,)
    commits = gitcmd.run(repo, "rev-list", "--parents", f"{merge_base}..{head}").decode()
    lines = commits.split("\n")
    return len([line for line in lines if line]) == 1 and lines[0].split()[1:] == [merge_base]


def _changes(repo: Path, pull: PullInfo) -> tuple[str, list[RawEntry]]:
    """The merge base of ``pull`` and its change set from there to its head."""
    merge_base = gitcmd.merge_base(repo, pull.base_sha, pull.head_sha)
    if merge_base is None:
        raise gitcmd.GitError(
            f"#{pull.number}: {pull.head_sha[:12]} shares no history with the base "
            f"{pull.base_sha[:12]}",
            advice="open the pull request from a branch of this repository's history",
        )
    return merge_base, parse_raw(raw_diff(repo, merge_base, pull.head_sha))


@dataclass(frozen=True)
class _Risk:
    """What ``change`` says about risk, and which rules made the change."""

    dispositions: tuple[Disposition, ...] = ()
    reversibilities: tuple[Reversibility, ...] = ()
    blast_radii: tuple[BlastRadius, ...] = ()
    rules: tuple[str, ...] = ()
    ownership: Ownership = Ownership.UNKNOWN
    second_order: bool = True


_WORST = _Risk()
"""No fixes: ``build_change`` makes the change unsafe, irreversible and organisation-wide, of
unknown ownership and second-order."""


def _risk(facts: AttestationFacts, revert: RevertFacts) -> _Risk:
    """Risk and rules for ``change``, trusting the attestation only as far as it holds.

    * verified and matching the PR: the attested risk and rules; an attestation without
      ``ownership`` changes no non-human identity, so its owners are the repository's own
      (``known``), and one without ``secondOrder`` has none;
    * verified but not matching (someone changed the PR after it was attested): the attested
      rules (so path policies still see a remediation) with the worst risk, as for any human
      change — the attested risk describes a change that is no longer the one under review;
    * an exact revert of a merged, attested bot change: reversible, safe, one file each, owned
      and without second-order effects (it restores the reviewed state before it);
    * anything else: no rules, the worst risk.
    """
    statement = facts.statement
    if statement is not None and facts.provenance.verified:
        remediation = statement.predicate.remediation
        if facts.provenance.matches_pr:
            risk = remediation.risk
            return _Risk(
                (risk.disposition,),
                (risk.reversibility,),
                (risk.blast_radius,),
                remediation.rules,
                risk.ownership or Ownership.KNOWN,
                risk.second_order,
            )
        return _Risk(rules=remediation.rules)
    if revert.reverts_bot_change:
        return _Risk(
            (Disposition.SAFE,),
            (Reversibility.REVERSIBLE,),
            (BlastRadius.FILE,),
            ownership=Ownership.KNOWN,
            second_order=False,
        )
    return _WORST


def _changed(entries: list[RawEntry]) -> dict[str, str]:
    """``path -> add | delete | modify`` of a pull request's change."""
    ops = {"A": "add", "D": "delete"}
    return {entry.path: ops.get(entry.status, "modify") for entry in entries}


def _signed_revert_attestation(facts: AttestationFacts) -> str | None:
    """The path of the attestation a pull request adds when it verified as a signed revert
    (:mod:`bot.provenance.revert_statement`) and matches the pull request; None otherwise."""
    if facts.statement is None or not facts.provenance.matches_pr or len(facts.paths) != 1:
        return None
    return facts.paths[0] if reverted_by_statement(facts.statement) is not None else None


def gather(
    forge: GateForge, pull: PullInfo, base: BaseFiles, *, trust: Trust, now: datetime
) -> Gathered:
    """Build the context of ``pull`` (already fetched) at ``now``.

    Raises :class:`MendbotError` when git cannot describe the change (e.g. a submodule change);
    the caller turns that into a deny.
    """
    repo = forge.workdir
    merge_base, entries = _changes(repo, pull)
    changed = _changed(entries)

    def attestation_of(candidate: PullInfo, candidate_entries: list[RawEntry]) -> AttestationFacts:
        return examine(
            repo,
            head=candidate.head_sha,
            base_tip=candidate.base_sha,
            changed=_changed(candidate_entries),
            trust=trust,
            now=now,
            repository=forge.repository_uri,
        )

    facts = attestation_of(pull, entries)

    def revert_of(
        candidate: PullInfo, candidate_entries: list[RawEntry], attested: AttestationFacts
    ) -> RevertFacts:
        return find_revert(
            repo,
            base_tip=candidate.base_sha,
            head=candidate.head_sha,
            pr_entries=candidate_entries,
            attested_paths=lambda raw, commit: attested_own_paths(repo, raw, commit, trust, now),
            own_attestation=_signed_revert_attestation(attested),
        )

    def rolled_back(candidate: PullInfo) -> tuple[str, ...]:
        if not base.gates(candidate.base_ref):
            return ()  # a rollback into a branch the gate does not guard freezes nothing
        if candidate.number == pull.number:
            facts = revert
        else:

            def examined() -> RevertFacts:
                forge.fetch(candidate)
                candidate_entries = _changes(repo, candidate)[1]
                attested = attestation_of(candidate, candidate_entries)
                return revert_of(candidate, candidate_entries, attested)

            # Every decision of an --all-open run asks this of each open rollback: verify its
            # attestation once per run (the answer depends on commits, trust and time only).
            key = ("rollback", repo, candidate.head_sha, candidate.base_sha, id(trust), now)
            facts = gitcmd.remembered((*key, forge.repository_uri), examined)
        if not facts.reverts_bot_change:
            return ()
        return environments_of(facts.paths, base.config.environments) or (UNMAPPED_ENVIRONMENT,)

    revert = revert_of(pull, entries, facts)
    # The attestation the PR adds (and, for an exact revert of a bot change, the one it deletes)
    # is bookkeeping checked above, never behaviour: it decides no environment. Any other change
    # under .mendbot/attestations/ stays visible to policies.
    bookkeeping = set(facts.paths) | set(revert.attestations)
    paths = sorted(set(changed) - bookkeeping)
    owners = code_owners(base.codeowners, paths)
    risk = _risk(facts, revert)
    change = build_change(
        paths,
        environments=base.config.environments,
        dispositions=risk.dispositions,
        reversibilities=risk.reversibilities,
        blast_radii=risk.blast_radii,
        rules=risk.rules,
        code_owners=owners,
        ownership=risk.ownership,
        second_order=risk.second_order,
    )
    reviewed = latest_reviews(forge.reviews(pull.number))
    writers = forge.write_access(sorted(reviewed)) if reviewed else set()
    latest = {user: review for user, review in reviewed.items() if user in writers}
    teams = referenced_teams(base.policies, owners.teams)
    memberships = forge.team_memberships(sorted(latest), teams) if latest and teams else {}
    approvals = tuple(
        Approval(
            user=user,
            teams=memberships.get(user, ()),
            at_sha=review.commit_id,
            state=review.state,
        )
        for user, review in sorted(latest.items())
    )
    attested_base = facts.statement.predicate.base.git_commit if facts.statement else None
    head_is_bot = head_attested(
        repo, pull.head_sha, facts.provenance.matches_pr, attested_base, trust
    )
    # The exact revert of a bot change, in one commit claiming the bot's identity (what
    # `mendbot propose --rollback` pushes), holds nobody's content: every byte of it is the
    # reviewed state before that change. Whoever pushed it, it adds no contributor.
    bot_revert = revert.reverts_bot_change and _single_commit(repo, merge_base, pull.head_sha)
    people = who_contributed(
        repo,
        forge.commit_people(pull, merge_base),
        merge_base=merge_base,
        head=pull.head_sha,
        trust=trust,
        now=now,
        repository=forge.repository_uri,
        attested=(pull.head_sha,) if head_is_bot or bot_revert else (),
    )
    last_push_required = forge.last_push_approval_required(pull.base_ref)
    frozen_now = frozen_environments(forge, rolled_back) | frozen_by_deployments(
        forge.deployments(),
        reverts=lambda resolver, failed: commit_reverts(
            repo,
            resolver,
            failed,
            lambda raw, commit: attested_own_paths(repo, raw, commit, trust, now),
        ),
        now=now,
        stale_after=deploy_time_bound(base.config),
    )
    frozen = frozen_now & set(change.environments)
    windows = compute_windows(
        [window.compiled() for window in base.policies.windows], change.environments, now
    )
    context = GateContext(
        change=change,
        provenance=facts.provenance,
        pr=PullRequest(
            number=pull.number,
            author=pull.author,
            head_sha=pull.head_sha,
            # The gate's own labels are its output, never its input.
            labels=tuple(label for label in pull.labels if label not in GATE_LABELS),
            is_revert=revert.is_revert,
            reverts_bot_change=revert.reverts_bot_change,
            contributors=tuple(login for login in people.logins if login != pull.author),
            contributors_known=people.known,
            last_push_approval_required=last_push_required
            and people.last_push_covers(pull.head_sha),
        ),
        approvals=approvals,
        windows=windows,
        environment=EnvironmentState(frozen=bool(frozen)),
        now=now,
    )
    ignored = tuple(sorted(set(reviewed) - writers))
    return Gathered(pull, context, base, facts, revert, ignored, people.unidentified)
