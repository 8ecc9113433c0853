"""The STS session policy of one AWS change: generated from its exact objects, then checked.

AWS grants a web-identity session the intersection of the role's policy (the capability ceiling,
``docs/examples/aws/mendbot-deploy-role-policy.json``) and the session policy sent with
``AssumeRoleWithWebIdentity``. :func:`session_policy` writes that session policy for one target:
the applier's three actions only, on the ARNs of the IAM users the target names only, until the
session ends (``DateLessThan aws:CurrentTime``). :func:`check_session_policy` then checks the
exact text that will be sent, so a generator bug cannot widen a session: no wildcard, no other
action, no other resource, the time bound present and not later than the session's end, and at
most 2,048 characters (AWS's limit). Both raise :class:`SessionPolicyError` before anything is
called.

IAM has no condition key for one access key id, so ``UpdateAccessKey`` is bounded to the user;
the applier's precheck checks the key id itself before it writes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.deploy.applier import Target
from bot.errors import MendbotError

#: What the ``aws-iam-access-key`` applier calls, and all a session may be allowed.
APPLIER_ACTIONS = ("iam:UpdateAccessKey", "iam:ListAccessKeys", "iam:GetAccessKeyLastUsed")
#: What the deleting applier calls: the delete and the reads of its precheck and validation.
DELETION_ACTIONS = ("iam:DeleteAccessKey", "iam:ListAccessKeys", "iam:GetAccessKeyLastUsed")
#: AWS's limit on the plaintext of a session policy.
MAX_POLICY_CHARS = 2048
POLICY_VERSION = "2012-10-17"
_STATEMENT_KEYS = {"Sid", "Effect", "Action", "Resource", "Condition"}


class SessionPolicyError(MendbotError):
    """A session policy that is not exactly the change's scope: nothing is called."""

    exit_code = 2
    advice = "this is a mendbot bug or a hand-made target; no credentials were requested"


def user_arn(partition: str, account: str, user: str, path: str = "/") -> str:
    """The ARN of IAM user ``user`` under ``path`` in ``account`` (IAM checks the path too:
    ``arn:aws:iam::111122223333:user/ci/etl``)."""
    return f"arn:{partition}:iam::{account}:user{path}{user}"


def target_users(target: Target) -> tuple[str, ...]:
    """The IAM users owning the target's keys, sorted."""
    return tuple(sorted({user for user, _ in _users_with_paths(target)}))


def target_user_arns(target: Target, *, partition: str, account: str) -> tuple[str, ...]:
    """The ARNs of the IAM users owning the target's keys, sorted: the only resources of the
    session."""
    return tuple(
        sorted(user_arn(partition, account, user, path) for user, path in _users_with_paths(target))
    )


def _users_with_paths(target: Target) -> set[tuple[str, str]]:
    users = set()
    for key_id in target.objects:
        for state in (target.pre_image.get(key_id), target.desired.get(key_id)):
            if isinstance(state, Mapping) and isinstance(state.get("user"), str):
                path = state.get("user_path")
                users.add((str(state["user"]), path if isinstance(path, str) else "/"))
    return users


def session_policy(
    target: Target,
    *,
    partition: str,
    not_after: datetime,
    sid: str = "MendbotChange",
    actions: tuple[str, ...] = APPLIER_ACTIONS,
) -> str:
    """The compact JSON session policy for ``target`` valid until ``not_after``; raises
    :class:`SessionPolicyError` when the target names no user or no account."""
    account = str(target.location.get("account", ""))
    users = target_users(target)
    if not users or not account:
        raise SessionPolicyError(
            f"{target.source or target.kind}: the change names no IAM user or no account, "
            "so no session can be scoped to it"
        )
    statement = {
        "Sid": "".join(ch for ch in sid if ch.isalnum()) or "MendbotChange",
        "Effect": "Allow",
        "Action": list(actions),
        "Resource": list(target_user_arns(target, partition=partition, account=account)),
        "Condition": {"DateLessThan": {"aws:CurrentTime": _iso(not_after)}},
    }
    return render({"Version": POLICY_VERSION, "Statement": [statement]})


def render(policy: Mapping[str, Any]) -> str:
    """The compact JSON AWS receives (its length is what the 2,048-character limit counts)."""
    return json.dumps(policy, separators=(",", ":"))


def check_session_policy(
    text: str,
    *,
    resources: Iterable[str],
    not_after: datetime,
    actions: tuple[str, ...] = APPLIER_ACTIONS,
) -> None:
    """Check that ``text`` grants exactly ``actions`` (the applier's) on exactly ``resources``
    and no later than ``not_after``; raises :class:`SessionPolicyError` saying what is wrong."""
    problems = _problems(text, frozenset(resources), not_after, actions)
    if problems:
        raise SessionPolicyError(
            "the generated session policy is not exactly the change's scope: " + "; ".join(problems)
        )


def _problems(
    text: str, resources: frozenset[str], not_after: datetime, actions: tuple[str, ...]
) -> list[str]:
    if len(text) > MAX_POLICY_CHARS:
        return [f"{len(text)} characters, AWS allows {MAX_POLICY_CHARS}"]
    try:
        policy = json.loads(text)
    except ValueError:
        return ["not JSON"]
    if not isinstance(policy, dict) or set(policy) != {"Version", "Statement"}:
        return ["the document must hold exactly Version and Statement"]
    if policy["Version"] != POLICY_VERSION:
        return [f"Version must be {POLICY_VERSION}"]
    statements = policy["Statement"]
    if not isinstance(statements, list) or not statements:
        return ["Statement must be a non-empty list"]
    problems: list[str] = []
    granted: set[str] = set()
    for index, statement in enumerate(statements):
        where = f"statement {index}"
        if not isinstance(statement, dict):
            problems.append(f"{where} is not an object")
            continue
        problems.extend(f"{where}: {p}" for p in _statement_problems(statement, resources, actions))
        problems.extend(f"{where}: {p}" for p in _time_problems(statement, not_after))
        granted.update(r for r in _strings(statement.get("Resource")) if r in resources)
    missing = sorted(resources - granted)
    if missing and not problems:
        problems.append(f"no statement covers {', '.join(missing)}")
    return problems


def _statement_problems(
    statement: dict[str, Any], resources: frozenset[str], applier_actions: tuple[str, ...]
) -> list[str]:
    problems = []
    extra = sorted(set(statement) - _STATEMENT_KEYS)
    if extra:
        problems.append(f"unexpected {', '.join(extra)} (only Allow on Action and Resource)")
    if statement.get("Effect") != "Allow":
        problems.append("Effect must be Allow")
    actions = _strings(statement.get("Action"))
    if not actions:
        problems.append("no Action")
    allowed = {action.lower() for action in applier_actions}
    for action in actions:
        if "*" in action or "?" in action:
            problems.append(f"wildcard action {action}")
        elif action.lower() not in allowed:
            problems.append(f"action {action} is not one the applier calls")
    named = _strings(statement.get("Resource"))
    if not named:
        problems.append("no Resource")
    for resource in named:
        if "*" in resource or "?" in resource:
            problems.append(f"wildcard resource {resource}")
        elif resource not in resources:
            problems.append(f"resource {resource} is not a user the change names")
    return problems


def _time_problems(statement: dict[str, Any], not_after: datetime) -> list[str]:
    condition = statement.get("Condition")
    bound = None
    if isinstance(condition, dict) and set(condition) == {"DateLessThan"}:
        dates = condition["DateLessThan"]
        if isinstance(dates, dict) and set(dates) == {"aws:CurrentTime"}:
            bound = dates["aws:CurrentTime"]
    if not isinstance(bound, str):
        return ["the only Condition must be DateLessThan aws:CurrentTime (the time bound)"]
    try:
        until = datetime.fromisoformat(bound.replace("Z", "+00:00"))
    except ValueError:
        return [f"aws:CurrentTime {bound!r} is not an ISO-8601 time"]
    if until.tzinfo is None:
        return [f"aws:CurrentTime {bound!r} has no time zone"]
    if until > not_after:
        return [f"the time bound {bound} is after the session's end {_iso(not_after)}"]
    return []


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(item) for item in value]
    return []


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def session_end(start: datetime, minutes: int) -> datetime:
    """When a session started at ``start`` for ``minutes`` ends (whole seconds, UTC)."""
    return (start + timedelta(minutes=minutes)).astimezone(UTC).replace(microsecond=0)
