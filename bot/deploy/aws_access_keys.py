"""The ``aws-iam-access-key`` applier: sets IAM access keys ``Active`` or ``Inactive``.

Desired state: ``.mendbot/desired/aws-iam-access-key/<account>.yml``
(:class:`~bot.desired.AwsIamAccessKeys`). A change may only flip a key's ``status``; a
key added or removed, or moved to another user, is refused before any credentials are asked for
(deleting a key is irreversible: :mod:`bot.deploy.aws_key_deletion` does it, with its own role).

* ``connect``: a session policy for exactly the target's users (checked), then
  ``AssumeRoleWithWebIdentity`` (:mod:`bot.deploy.aws_credentials`).
* ``snapshot``: per key, its status under the named user (``ListAccessKeys``) and its last use
  (``GetAccessKeyLastUsed``).
* ``precheck``: drift, so nothing is applied blindly: the key must still exist under the named
  user, have the status the analysis saw, and not have been used after the use the analysis saw
  (a key in use since must not be switched off).
* ``apply``: ``UpdateAccessKey`` to the desired status.
* ``validate``: the status reads back; a deactivated key is then watched for
  ``deploy.observation_hours`` by later scheduled runs.
* ``observe`` (``mendbot deploy observe``, with a fresh session of the same scope): a
  deactivated key used after the deployment started (``GetAccessKeyLastUsed``) is a regression;
  a key no longer as the change set it is drift (reported, never set again); no use is
  ``not-observable`` while the window is open and ``passed`` once it has closed.
* ``compensate``: ``UpdateAccessKey`` back to the snapshot's status, read back.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

from bot.deploy.applier import (
    Applier,
    DeployContext,
    Grant,
    Observation,
    State,
    Target,
    Validation,
    Verdict,
    Watch,
)
from bot.deploy.aws_credentials import AwsGrant, assume_role, scrub, short_change
from bot.deploy.session_policy import (
    APPLIER_ACTIONS,
    check_session_policy,
    session_end,
    session_policy,
    target_user_arns,
)
from bot.errors import MendbotError
from bot.risk import Reversibility

KIND = "aws-iam-access-key"
STATUSES = ("Active", "Inactive")
#: Errors AWS answers before a request is acted on (authentication, authorization): a write
#: refused with one of these changed nothing, so there is nothing to restore.
REFUSED_UNACTED = frozenset(
    {
        "AccessDenied",
        "ExpiredToken",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
    }
)


class AccessKeyTargetError(MendbotError):
    """A change this applier does not make (anything but a status flip): nothing is applied."""

    exit_code = 2


class AwsCallError(MendbotError):
    """An IAM call failed; the message carries AWS's error code and message."""

    exit_code = 1

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        """AWS's error code, None when no answer came back (the call may have acted)."""


class AwsAccessKeys(Applier):
    """Flips IAM access keys between ``Active`` and ``Inactive`` with a change-scoped session."""

    kind: ClassVar[str] = KIND
    reversibility: ClassVar[Reversibility] = Reversibility.REVERSIBLE

    def __init__(self, iam: Any, observation_hours: int, secrets: tuple[str, ...] = ()) -> None:
        self._iam = iam
        self._observation_hours = observation_hours
        self._secrets = secrets
        self._sent: list[str] | None = None
        """Keys ``apply`` sent an update for that may have acted (None before ``apply``)."""

    @classmethod
    def connect(cls, target: Target, context: DeployContext) -> tuple[Self, Grant]:
        """Check the target, generate and check its session policy, and assume the
        environment's role with it; raises :class:`~bot.errors.MendbotError` (nothing applied)
        when the target is not a status change or no credentials can be had."""
        check_target(target)
        return cls.with_session(target, context, APPLIER_ACTIONS, "aws_role_arn")

    @classmethod
    def with_session(
        cls,
        target: Target,
        context: DeployContext,
        actions: tuple[str, ...],
        role_setting: str,
    ) -> tuple[Self, Grant]:
        """An applier holding a session of the role ``deploy.environments.<env>.<role_setting>``
        narrowed to ``actions`` on the target's users until the session ends (the policy is
        checked before STS is asked); raises :class:`~bot.errors.MendbotError` otherwise."""
        account = str(target.location["account"])
        setting = f"deploy.environments.{context.environment}.{role_setting}"
        # The config schema guarantees the ARN's shape, arn:<partition>:iam::<account>:role/…;
        # a missing role is refused by assume_role, naming the setting.
        role = (getattr(context.settings, role_setting) or "arn:aws:iam::" + account).split(":")
        partition, role_account = role[1], role[4]
        if role_account != account:
            raise AccessKeyTargetError(
                f"{target.source or KIND}: the keys are in account {account}, "
                f"{setting} is a role of account {role_account}",
                advice="configure the deploy role of the keys' account for this environment",
            )
        not_after = session_end(context.now(), context.deploy.session_minutes)
        policy = session_policy(
            target,
            partition=partition,
            not_after=not_after,
            sid=f"Chg{short_change(context.change_id)}",
            actions=actions,
        )
        check_session_policy(
            policy,
            resources=set(target_user_arns(target, partition=partition, account=account)),
            not_after=not_after,
            actions=actions,
        )
        grant: AwsGrant = assume_role(context, policy, role_setting=role_setting)
        session = grant.session
        applier = cls(session.client("iam"), context.deploy.observation_hours, session.secrets())
        return applier, grant

    def snapshot(self, target: Target) -> State:
        """``key id -> {"user", "status", "created", "last_used"}`` as IAM reports it now;
        ``status`` None when the named user has no such key."""
        state: dict[str, Any] = {}
        for key_id in target.objects:
            user = _user(target, key_id)
            listed = self._call("ListAccessKeys", UserName=user)["AccessKeyMetadata"]
            found = next((key for key in listed if key["AccessKeyId"] == key_id), None)
            if found is None:
                state[key_id] = {"user": user, "status": None, "created": None, "last_used": None}
                continue
            used = self._call("GetAccessKeyLastUsed", AccessKeyId=key_id)
            state[key_id] = {
                "user": user,
                "status": found["Status"],
                "created": _iso(found.get("CreateDate")),
                "last_used": _last_used(used.get("AccessKeyLastUsed", {})),
            }
        return state

    def precheck(self, target: Target, live: State) -> list[str]:
        """One line per key that is not as the analysis saw it (gone, another status, used
        since); empty when applying is safe."""
        drift = []
        for key_id in target.objects:
            seen, now = target.pre_image[key_id], live[key_id]
            user = seen["user"]
            if now["status"] is None:
                drift.append(
                    f"{key_id} is not an access key of IAM user {user} any more (deleted, or "
                    "owned by another user): nothing was applied"
                )
                continue
            if now["status"] != seen["status"]:
                drift.append(
                    f"{key_id} of {user} is {now['status']}, the analysis saw {seen['status']}: "
                    "someone changed it since, nothing was applied"
                )
            used_then = _parse((seen.get("last_used") or {}).get("date"))
            used_now = _parse((now.get("last_used") or {}).get("date"))
            if used_now is not None and (used_then is None or used_now > used_then):
                where = now["last_used"]
                then = "no use" if used_then is None else f"its last use at {_iso(used_then)}"
                drift.append(
                    f"{key_id} of {user} was used at {_iso(used_now)} "
                    f"({where.get('service') or 'unknown service'}, "
                    f"{where.get('region') or 'unknown region'}), after the analysis saw "
                    f"{then}: "
                    "a key in use is not switched, nothing was applied"
                )
        return drift

    def apply(self, target: Target) -> None:
        """``UpdateAccessKey`` each key to its desired status, in order, stopping at the first
        failure; raises :class:`AwsCallError`."""
        self._sent = []
        for key_id in target.objects:
            self._sent.append(key_id)
            try:
                self._update(_user(target, key_id), key_id, target.desired[key_id]["status"])
            except AwsCallError as exc:
                if exc.code in REFUSED_UNACTED:
                    self._sent.remove(key_id)
                raise

    def validate(self, target: Target) -> Validation:
        """Whether every key reads back with its desired status (FAILED otherwise), with the
        observation window a deactivated key is then watched for."""
        checks, failed = [], False
        for key_id in target.objects:
            user, wanted = _user(target, key_id), target.desired[key_id]["status"]
            status = self._status(user, key_id)
            if status != wanted:
                failed = True
                checks.append(f"{key_id} of {user} reads back {status}, {wanted} was asked")
                continue
            checks.append(f"{key_id} of {user} reads back {status}")
            if wanted == "Inactive" and self._observation_hours:
                checks.append(
                    f"any use of {key_id} is watched for {self._observation_hours} hours "
                    "(deploy.observation_hours) by later scheduled runs; a use means the "
                    "deactivation broke something and is reverted"
                )
        return Validation(Verdict.FAILED if failed else Verdict.PASSED, tuple(checks))

    @classmethod
    def watches(cls, target: Target, verdict: Verdict) -> bool:
        """A change that deactivated a key and held is watched for the key's use."""
        return verdict is not Verdict.FAILED and any(
            isinstance(wanted := target.desired.get(key_id), Mapping)
            and wanted.get("status") == "Inactive"
            for key_id in target.objects
        )

    def observe(self, target: Target, watch: Watch) -> Observation:
        """Read each deactivated key's status and last use: a use after ``watch.applied_at``
        is a regression (FAILED); a status that is not the desired one is drift; otherwise
        NOT_OBSERVABLE while the window is open, PASSED once it has closed."""
        live = self.snapshot(target)
        since, until = _iso(watch.applied_at), _iso(watch.window_ends_at)
        checks: list[str] = []
        drift: list[str] = []
        used = False
        for key_id in target.objects:
            now, wanted = live[key_id], target.desired[key_id]["status"]
            user = now["user"]
            if wanted != "Inactive":
                checks.append(f"{key_id} of {user} was set {wanted}: nothing to watch")
                continue
            last = now.get("last_used") or {}
            used_at = _parse(last.get("date"))
            if used_at is not None and used_at > watch.applied_at.replace(microsecond=0):
                used = True
                checks.append(
                    f"{key_id} of {user} was used at {_iso(used_at)} "
                    f"({last.get('service') or 'unknown service'}, "
                    f"{last.get('region') or 'unknown region'}) after its deactivation at "
                    f"{since}: something still needs it, regression"
                )
            elif now["status"] != wanted:
                drift.append(
                    f"{key_id} of {user} is {now['status'] or 'deleted'}, the change set it "
                    f"{wanted} at {since}: changed outside mendbot since, not set again"
                )
            elif watch.open:
                checks.append(
                    f"{key_id} of {user}: no use since its deactivation at {since}; watched "
                    f"until {until}"
                )
            else:
                checks.append(
                    f"{key_id} of {user}: no use from its deactivation at {since} to the end "
                    f"of the observation window at {until}"
                )
        if used:
            verdict = Verdict.FAILED
        elif drift or watch.open:
            verdict = Verdict.NOT_OBSERVABLE
        else:
            verdict = Verdict.PASSED
        return Observation(Validation(verdict, tuple(checks + drift)), tuple(drift))

    def compensate(self, target: Target, snapshot: State) -> None:
        """Set each key ``apply`` may have changed back to its snapshot status and read it
        back (keys it never reached, or whose update AWS refused unread, are left alone);
        raises :class:`AwsCallError` when a key cannot be restored."""
        for key_id in target.objects if self._sent is None else self._sent:
            before = snapshot[key_id]
            if before["status"] is None:
                continue
            self._update(before["user"], key_id, before["status"])
            status = self._status(before["user"], key_id)
            if status != before["status"]:
                raise AwsCallError(
                    f"{key_id} of {before['user']} reads back {status} after restoring "
                    f"{before['status']}"
                )

    def _update(self, user: str, key_id: str, status: str) -> None:
        self._call("UpdateAccessKey", UserName=user, AccessKeyId=key_id, Status=status)

    def status(self, user: str, key_id: str) -> str | None:
        """The key's status under ``user`` (``ListAccessKeys``), None when not listed there."""
        return self._status(user, key_id)

    def call(self, operation: str, **parameters: str) -> Any:
        """One IAM call with this session (see :meth:`_call`)."""
        return self._call(operation, **parameters)

    def _status(self, user: str, key_id: str) -> str | None:
        listed = self._call("ListAccessKeys", UserName=user)["AccessKeyMetadata"]
        return next((str(k["Status"]) for k in listed if k["AccessKeyId"] == key_id), None)

    def _call(self, operation: str, **parameters: str) -> Any:
        """One IAM call; AWS's error becomes an :class:`AwsCallError` naming the operation,
        the code and the message, with the session's secrets scrubbed."""
        from botocore.exceptions import BotoCoreError, ClientError

        method = getattr(self._iam, _snake(operation))
        try:
            return method(**parameters)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code"))
            message = f"iam:{operation} failed: {code}: {error.get('Message')}"
            raise AwsCallError(scrub(message, *self._secrets), code=code) from None
        except BotoCoreError as exc:
            message = f"iam:{operation} could not be sent: {exc}"
            raise AwsCallError(scrub(message, *self._secrets)) from None


def check_target(target: Target) -> None:
    """Refuse anything but status flips of keys present before and after, under the same
    user, in a named account; raises :class:`AccessKeyTargetError`."""
    where = target.source or KIND
    if not target.objects:
        raise AccessKeyTargetError(f"{where}: the change names no access key")
    if not str(target.location.get("account", "")).isdigit():
        raise AccessKeyTargetError(f"{where}: the change names no AWS account")
    for key_id in target.objects:
        before, after = target.pre_image.get(key_id), target.desired.get(key_id)
        if not isinstance(before, Mapping) or not isinstance(after, Mapping):
            verb = "adds" if before is None else "removes"
            raise AccessKeyTargetError(
                f"{where}: the change {verb} access key {key_id}; only its status may change",
                advice=(
                    "deleting a key is irreversible and deploys only through the stronger "
                    "approvals; creating keys is never a remediation"
                ),
            )
        if (before.get("user"), before.get("user_path", "/")) != (
            after.get("user"),
            after.get("user_path", "/"),
        ):
            raise AccessKeyTargetError(
                f"{where}: {key_id} moves from user {before.get('user_path', '/')}"
                f"{before.get('user')} to {after.get('user_path', '/')}{after.get('user')}; "
                "only its status may change"
            )
        for state in (before, after):
            if state.get("status") not in STATUSES:
                raise AccessKeyTargetError(
                    f"{where}: {key_id}: status {state.get('status')!r} is not Active or Inactive"
                )


def _user(target: Target, key_id: str) -> str:
    return str(target.pre_image[key_id]["user"])


def _last_used(reported: Mapping[str, Any]) -> dict[str, str | None]:
    def known(value: Any) -> str | None:
        return None if value in (None, "", "N/A") else str(value)

    return {
        "date": _iso(reported.get("LastUsedDate")),
        "service": known(reported.get("ServiceName")),
        "region": known(reported.get("Region")),
    }


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 time as IAM or the desired-state file writes it, in whole seconds, UTC."""
    return _parse(value)


def iso_time(value: Any) -> str | None:
    """``value`` (a time or its text) as records write times; None for None."""
    return _iso(value)


def _parse(value: Any) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    # NOTE(deploy): whole seconds, as the desired-state file records them, so a time read
    # back with microseconds is not "newer" than the same time written down.
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).replace(microsecond=0)


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else _parse(value)
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _snake(operation: str) -> str:
    return "".join("_" + ch.lower() if ch.isupper() else ch for ch in operation).lstrip("_")
