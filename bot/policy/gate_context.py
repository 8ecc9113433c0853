"""The gate's context: one JSON document, its schema, its digest and the ``change`` builder."""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

import rfc8785
from pydantic import BaseModel, ConfigDict

from bot.risk import (
    WORST_BLAST_RADIUS,
    WORST_DISPOSITION,
    WORST_REVERSIBILITY,
    BlastRadius,
    Disposition,
    Ownership,
    Reversibility,
    worst,
)

#: Environment name of a path that no ``environments`` glob in the configuration matches.
UNMAPPED_ENVIRONMENT = "unmapped"

ReviewState = Literal["APPROVED", "CHANGES_REQUESTED", "DISMISSED"]


class _Part(BaseModel):
    # NOTE(policy): no defaults anywhere: a missing context field is an error, never a guess.
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class PathOwners(_Part):
    """The owners of one touched path (the last matching CODEOWNERS line, as on GitHub)."""

    path: str
    users: tuple[str, ...]
    teams: tuple[str, ...]


class CodeOwners(_Part):
    """Code owners of the touched paths (from CODEOWNERS on the default branch)."""

    users: tuple[str, ...]
    """Logins that own at least one touched path."""
    teams: tuple[str, ...]
    """Team slugs (without the organisation) that own at least one touched path."""
    by_path: tuple[PathOwners, ...]
    """Owners path by path (paths no line covers are left out). An approval requirement from
    code owners is met only when every path listed here has an approval from one of its own
    owners: owning one file of a change does not make someone an owner of the rest."""


class Change(_Part):
    """What the pull request changes and how risky it is."""

    environment: str
    """The most sensitive environment touched (first in configuration order), or ``unmapped``."""
    environments: tuple[str, ...]
    """Every environment touched, in configuration order (``unmapped`` last)."""
    paths: tuple[str, ...]
    """Repository-relative paths the PR changes, sorted."""
    disposition: Disposition
    """``unsafe`` when any fix may change behaviour."""
    reversibility: Reversibility
    """The least reversible fix in the change."""
    blast_radius: BlastRadius
    """The widest blast radius of any fix in the change."""
    rules: tuple[str, ...]
    """Rule ids of the remediation; empty for a PR that is not a remediation."""
    ownership: Ownership
    """``unknown`` when the change touches a non-human identity nobody answers for (as
    attested), or when nothing attested vouches for the change; ``known`` otherwise — for an
    attested change that touches no such identity (a workflow edit) the owners are the
    repository's own, listed in ``code_owners``."""
    second_order: bool
    """The change touches an identity an agentic workflow of the repository uses (an AI agent
    or a token-minting step could act with it), as attested; true when nothing attested
    vouches for the change."""
    code_owners: CodeOwners
    """Owners of the touched paths; approvals ``from.codeOwners`` match these."""


class Provenance(_Part):
    """What the attestation says and whether it checks out."""

    verified: bool
    """The attestation's signature verified against the trusted identity."""
    source: Literal["detector", "rules-engine", "human-override"]
    """Who produced the change, as attested."""
    matches_pr: bool
    """The PR's change set equals the attested change set (no extra commits or files)."""


class PullRequest(_Part):
    """The pull request the gate decides on."""

    number: int
    author: str
    """Login of the PR author."""
    head_sha: str
    """The commit the decision is for; only approvals on it count."""
    labels: tuple[str, ...]
    is_revert: bool
    """The PR reverts earlier commits."""
    reverts_bot_change: bool
    """The PR is an exact inverse (its own change and its merge result) of a merged, attested
    mendbot remediation commit."""
    contributors: tuple[str, ...]
    """Logins of the people who authored or committed a commit of the PR (as the forge ties
    commits to accounts; verified bot commits and the PR author are left out). With
    ``preventSelfApproval`` their approvals do not count, like the author's: pushing a commit
    and approving it is one person's decision."""
    contributors_known: bool
    """Every commit of the PR is a verified bot commit or tied to accounts. When false, someone
    pushed a commit no account is tied to (an unlinked e-mail, or the bot's identity without
    its signature), so any reviewer may have made it: with ``preventSelfApproval`` no approval
    counts, unless ``last_push_approval_required``."""
    last_push_approval_required: bool
    """The forge itself refuses to merge until the most recent push is approved by someone
    other than who pushed it (GitHub: a branch ruleset's ``require_last_push_approval``), and
    that guards every commit tied to no account: false when such a commit is not the head, since
    only the head is sure to be part of the most recent push."""


class Approval(_Part):
    """The latest review of one user (COMMENTED and PENDING reviews are left out)."""

    user: str
    teams: tuple[str, ...]
    """Teams of the reviewer, as team slugs."""
    at_sha: str
    """The commit the review was given on."""
    state: ReviewState


class Windows(_Part):
    """Freeze windows, computed outside CEL from the ``FreezeWindow`` documents and ``now``."""

    active: tuple[str, ...]
    """Names of the windows that are open now and apply to the change's environments."""
    deny_active: bool
    """A deny window is open now."""
    allow_required: bool
    """Some allow window applies to the change's environments but none of them is open."""


class EnvironmentState(_Part):
    """State of the target environment."""

    frozen: bool
    """Set after a failed deploy until its revert merges: an open rollback pull request exactly
    reverts a bot change that touched an environment this change touches."""


class GateContext(_Part):
    """The one document every policy expression sees, hashed into every decision."""

    change: Change
    provenance: Provenance
    pr: PullRequest
    approvals: tuple[Approval, ...]
    windows: Windows
    environment: EnvironmentState
    now: datetime
    """The decision time (RFC 3339, UTC); policies never read the clock."""

    def to_json(self) -> dict[str, Any]:
        """The plain JSON form policies evaluate against."""
        data: dict[str, Any] = self.model_dump(mode="json")
        return data


def context_schema() -> dict[str, Any]:
    """JSON Schema of the context, as committed in ``docs/policy-context.schema.json``."""
    schema = GateContext.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "mendbot policy context"
    return schema


def context_digest(context: Mapping[str, Any]) -> str:
    """``sha256:<hex>`` of the RFC 8785 canonical JSON of ``context``."""
    return "sha256:" + hashlib.sha256(rfc8785.dumps(dict(context))).hexdigest()


def environments_of(
    paths: Iterable[str], environments: Mapping[str, Sequence[str]]
) -> tuple[str, ...]:
    """Environments touched by ``paths``, in ``environments`` order, ``unmapped`` last.

    ``environments`` maps an environment name to path globs (``fnmatch`` syntax); a path belongs
    to every environment one of whose globs matches it.
    """
    touched: list[str] = []
    unmapped = False
    for path in paths:
        names = [
            name
            for name, globs in environments.items()
            if any(fnmatch.fnmatchcase(path, glob) for glob in globs)
        ]
        unmapped = unmapped or not names
        touched.extend(names)
    ordered = [name for name in environments if name in touched]
    if unmapped:
        ordered.append(UNMAPPED_ENVIRONMENT)
    return tuple(ordered)


def build_change(
    paths: Iterable[str],
    *,
    environments: Mapping[str, Sequence[str]],
    dispositions: Iterable[Disposition],
    reversibilities: Iterable[Reversibility],
    blast_radii: Iterable[BlastRadius],
    rules: Iterable[str],
    code_owners: CodeOwners | None = None,
    ownership: Ownership = Ownership.UNKNOWN,
    second_order: bool = True,
) -> Change:
    """Build ``change`` from the touched paths and the risk of the remediation's fixes.

    The most sensitive value wins: any ``unsafe`` fix makes the change unsafe, the least
    reversible fix sets the reversibility and the widest blast radius the blast radius. With no
    fixes (not a remediation) the change counts as unsafe, irreversible and organisation-wide.
    ``ownership`` and ``second_order`` default to the worst (``unknown``, true): give them only
    from a verified attestation that matches the change.
    """
    sorted_paths = tuple(sorted(set(paths)))
    touched = environments_of(sorted_paths, environments) or (UNMAPPED_ENVIRONMENT,)
    kinds = list(dispositions)
    revs = list(reversibilities)
    radii = list(blast_radii)
    return Change(
        environment=touched[0],
        environments=touched,
        paths=sorted_paths,
        disposition=worst(kinds, default=WORST_DISPOSITION),
        reversibility=worst(revs, default=WORST_REVERSIBILITY),
        blast_radius=worst(radii, default=WORST_BLAST_RADIUS),
        rules=tuple(sorted(set(rules))),
        ownership=ownership,
        second_order=second_order,
        code_owners=code_owners or CodeOwners(users=(), teams=(), by_path=()),
    )
