"""The interface of an applier: how one kind of desired state reaches the system it describes.

A remediation changes a desired-state file in git (``.mendbot/desired/<kind>/…``); the applier
of that kind makes the live system match it, in five steps the deploy job calls in order
(:func:`bot.deploy.lifecycle.deploy_change`):

``snapshot`` reads the live state of exactly the target's objects (what compensation restores
and what the deploy record calls *before*); ``precheck`` compares it with the pre-image the
analysis saw (a difference is drift: nothing is applied); ``apply`` makes the change;
``validate`` says whether it holds (or that nothing can be observed yet); ``compensate``
restores the snapshot at once, with the credentials still valid.

Some validations need time: ``watches`` says whether a change applied earlier is re-checked
by ``mendbot deploy observe`` during its observation window, and ``observe`` re-checks it then,
with fresh credentials obtained through ``connect`` exactly as for applying
(:mod:`bot.deploy.observation`).

An applier holds only the credentials the deploy job obtained for this one change, and never
reads anything but its target's objects.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum, unique
from typing import Any, ClassVar, Self

from bot.config import DeployEnvironment, DeploySettings
from bot.forge.interface import DeployForge
from bot.risk import Reversibility

#: A JSON-compatible view of live state (what a deploy record stores as before/after).
State = Mapping[str, Any]


@dataclass(frozen=True)
class Target:
    """What one change asks of one kind: the objects it names (ids, ARNs, setting names), the
    state the analysis saw (``pre_image``) and the state git now asks for (``desired``)."""

    kind: str
    environment: str
    objects: tuple[str, ...]
    """The exact objects the change touches (key ids, setting names, workflow paths): the only
    ones the credentials are scoped to and the applier may write."""
    pre_image: State
    """``object -> state`` the analysis saw (the desired-state file at the merge's parent)."""
    desired: State
    """``object -> state`` git now asks for (the file at the merge commit)."""
    location: State = field(default_factory=dict)
    """Where the objects live, from the desired-state file: ``{"account": "123456789012"}``,
    ``{"repository": "owner/name"}``; for ``git-workflow`` empty (the context has the commits)."""
    source: str = ""
    """The desired-state file (or, for ``git-workflow``, empty)."""
    deletion: bool = False
    """True when git no longer lists ``objects`` (``desired`` maps each to None): the change
    deletes them, which cannot be undone; only a deleting applier
    (:data:`~bot.deploy.appliers.DELETERS`) takes such a target."""


@dataclass(frozen=True)
class Authority:
    """The credentials one change was applied with, as the deploy record shows them: everything
    needed to audit the scope, nothing that could be used (no token, no secret key)."""

    credential_type: str
    """``aws-sts-web-identity``, ``github-installation-token`` or ``forge-read``."""
    principal: str
    """The role ARN, the App installation, or the forge repository acted as."""
    session_name: str
    """The session name (visible in CloudTrail) or the token's description."""
    expires_at: str
    """ISO-8601 UTC expiry of the credentials."""
    scope: Mapping[str, Any]
    """The exact scope: the session policy document, or the token's repositories and
    permissions."""

    @property
    def scope_digest(self) -> str:
        """``sha256:<hex>`` of the canonical JSON of :attr:`scope`."""
        canonical = json.dumps(self.scope, sort_keys=True, separators=(",", ":")).encode()
        return "sha256:" + hashlib.sha256(canonical).hexdigest()


class Grant(ABC):
    """Credentials obtained for one change, revoked (or left to expire) when it is done."""

    authority: Authority

    @abstractmethod
    def revoke(self) -> None:
        """End the credentials early where the issuer allows it; never raises."""


@dataclass(frozen=True)
class DeployContext:
    """What an applier may know while it connects: the one change, the environment's settings,
    a way to get the job's OIDC token, and the forge (for workflow runs)."""

    change_id: str
    """The remediation's id (short, for session names)."""
    environment: str
    repository: str
    """``owner/name`` of the repository deployed from (GitHub), or its URL (local forge)."""
    merge_sha: str
    parent_sha: str
    """The merge commit's first parent: the state before the change."""
    deploy: DeploySettings
    settings: DeployEnvironment
    """``deploy.environments.<environment>`` (empty defaults when not configured)."""
    oidc_token: Callable[[str], str]
    """``audience -> JWT`` of this job; raises :class:`~bot.errors.MendbotError` when none can be
    had. The token is passed on to the issuer of credentials and never logged or stored."""
    forge: DeployForge | None
    now: Callable[[], datetime]


@unique
class Verdict(StrEnum):
    """What validation found."""

    PASSED = "passed"
    FAILED = "failed"
    NOT_OBSERVABLE = "not-observable"
    """Nothing can tell yet (no run to watch, an observation window still open): recorded,
    never counted as passed or failed."""


@dataclass(frozen=True)
class Validation:
    """A validation verdict, with one line per check a reviewer can follow."""

    verdict: Verdict
    checks: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Watch:
    """When a change applied earlier is re-checked: what ``observe`` may compare with."""

    applied_at: datetime
    """When the deployment started (its record's ``timeStarted``): any effect after it is the
    change's."""
    window_ends_at: datetime
    """``applied_at`` plus ``deploy.observation_hours``: no verdict is final before it unless
    the change is seen to fail or to pass for good."""
    now: datetime

    @property
    def open(self) -> bool:
        """Whether the observation window is still open."""
        return self.now < self.window_ends_at


@dataclass(frozen=True)
class Observation:
    """What a later re-check found: the validation, and the drift that stopped it (the live
    objects are no longer what the change set: someone changed them since; reported, never
    overwritten)."""

    validation: Validation
    drift: tuple[str, ...] = field(default_factory=tuple)


class Applier(ABC):
    """One kind of desired state (``kind``), applied to one target at a time."""

    kind: ClassVar[str]
    """The desired-state kind: the folder under ``.mendbot/desired/`` and the registry key."""
    reversibility: ClassVar[Reversibility]
    """The most this applier's changes can be undone; irreversible ones are never applied
    unless configuration and the gate's decision both allow it."""
    compensation: ClassVar[str] = "the snapshot was restored"
    """What a successful :meth:`compensate` did, as the deploy record says it."""

    @classmethod
    @abstractmethod
    def connect(cls, target: Target, context: DeployContext) -> tuple[Self, Grant]:
        """Obtain credentials scoped to exactly ``target.objects`` in ``context.environment``
        and return an applier holding them, with the grant (for the record and revocation);
        raises :class:`~bot.errors.MendbotError` when none can be had (nothing is applied)."""

    @abstractmethod
    def snapshot(self, target: Target) -> State:
        """The live state of exactly ``target.objects``; raises on any read failure."""

    @abstractmethod
    def precheck(self, target: Target, live: State) -> list[str]:
        """Why ``live`` is not the state the analysis saw (drift), one line each; empty when
        applying is safe."""

    @abstractmethod
    def apply(self, target: Target) -> None:
        """Make the live objects match ``target.desired``; raises on failure."""

    @abstractmethod
    def validate(self, target: Target) -> Validation:
        """Whether the change holds now."""

    @abstractmethod
    def compensate(self, target: Target, snapshot: State) -> None:
        """Restore ``snapshot`` (what :meth:`snapshot` returned before applying); raises when it
        cannot, and the deploy job then freezes the environment and asks for a person."""

    @classmethod
    def watches(cls, target: Target, verdict: Verdict) -> bool:
        """Whether a change applied with validation ``verdict`` is re-checked later by
        ``mendbot deploy observe``; by default only one that could not be observed yet."""
        del target
        return verdict is Verdict.NOT_OBSERVABLE

    def observe(self, target: Target, watch: Watch) -> Observation:
        """Re-check a change applied earlier (see :class:`Watch`): FAILED is a regression (the
        caller compensates with the first snapshot), PASSED is final, NOT_OBSERVABLE keeps it
        watched while the window is open. By default: :meth:`validate` again."""
        del watch
        return Observation(self.validate(target))
