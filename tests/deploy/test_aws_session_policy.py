"""The session policy of an AWS change: generated from the target's exact objects, and the
exact-scope checker that stands between it and STS. Every shape the checker rejects has a test,
and the generated policy passes it (a checker rejecting everything would fail here too)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from bot.config import DeploySettings
from bot.deploy.applier import Target
from bot.deploy.aws_credentials import session_name
from bot.deploy.desired import as_state, parse_desired
from bot.deploy.session_policy import (
    APPLIER_ACTIONS,
    MAX_POLICY_CHARS,
    SessionPolicyError,
    check_session_policy,
    render,
    session_end,
    session_policy,
    target_users,
)

ACCOUNT = "123456789012"
START = datetime(2026, 12, 7, 10, 0, 7, 123456, tzinfo=UTC)
END = session_end(START, 15)
VICTIM = f"arn:aws:iam::{ACCOUNT}:user/victim"


def _target(*users: str) -> Target:
    keys = {f"AKIA{index:016d}": user for index, user in enumerate(users)}
    pre = {key: {"user": user, "status": "Active"} for key, user in keys.items()}
    desired = {key: {"user": user, "status": "Inactive"} for key, user in keys.items()}
    return Target(
        "aws-iam-access-key",
        "production",
        tuple(keys),
        pre,
        desired,
        {"account": ACCOUNT},
        f".mendbot/desired/aws-iam-access-key/{ACCOUNT}.yml",
    )


def _good() -> dict[str, Any]:
    return json.loads(session_policy(_target("victim"), partition="aws", not_after=END))


def _check(policy: dict[str, Any] | str, resources: set[str] | None = None) -> None:
    text = policy if isinstance(policy, str) else render(policy)
    check_session_policy(text, resources=resources or {VICTIM}, not_after=END)


def test_the_generated_policy_names_exactly_the_users_actions_and_end() -> None:
    policy = _good()
    assert policy == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "MendbotChange",
                "Effect": "Allow",
                "Action": list(APPLIER_ACTIONS),
                "Resource": [VICTIM],
                "Condition": {"DateLessThan": {"aws:CurrentTime": "2026-12-07T10:15:07Z"}},
            }
        ],
    }
    _check(policy)


def test_several_keys_of_two_users_give_each_user_once() -> None:
    target = _target("victim", "victim", "build-bot")
    assert target_users(target) == ("build-bot", "victim")
    text = session_policy(target, partition="aws-cn", not_after=END, sid="Chg rem-1!")
    policy = json.loads(text)
    assert policy["Statement"][0]["Sid"] == "Chgrem1"
    assert policy["Statement"][0]["Resource"] == [
        f"arn:aws-cn:iam::{ACCOUNT}:user/build-bot",
        f"arn:aws-cn:iam::{ACCOUNT}:user/victim",
    ]
    check_session_policy(
        text,
        resources={f"arn:aws-cn:iam::{ACCOUNT}:user/{u}" for u in ("victim", "build-bot")},
        not_after=END,
    )
    assert len(text) < 400


def test_a_target_without_account_or_user_gets_no_policy() -> None:
    no_account = Target("aws-iam-access-key", "production", ("AKIA1",), {}, {}, {})
    with pytest.raises(SessionPolicyError, match="names no IAM user or no account"):
        session_policy(no_account, partition="aws", not_after=END)


def test_too_many_users_for_2048_characters_is_refused() -> None:
    target = _target(*(f"service-account-number-{n:03d}" for n in range(40)))
    text = session_policy(target, partition="aws", not_after=END)
    assert len(text) > MAX_POLICY_CHARS
    with pytest.raises(SessionPolicyError, match=r"characters, AWS allows 2048") as caught:
        check_session_policy(
            text, resources=set(json.loads(text)["Statement"][0]["Resource"]), not_after=END
        )
    assert caught.value.exit_code == 2


def _statement(**changes: Any) -> dict[str, Any]:
    policy = _good()
    statement = policy["Statement"][0]
    for name, value in changes.items():
        if value is None:
            statement.pop(name)
        else:
            statement[name] = value
    return policy


REJECTED = {
    "wildcard action": (_statement(Action=["iam:*"]), "wildcard action iam:\\*"),
    "wildcard inside an action": (
        _statement(Action=["iam:*AccessKey*"]),
        "wildcard action",
    ),
    "single-character wildcard action": (
        _statement(Action=["iam:UpdateAccessKe?"]),
        "wildcard action",
    ),
    "an action the applier never calls": (
        _statement(Action=[*APPLIER_ACTIONS, "iam:DeleteAccessKey"]),
        "action iam:DeleteAccessKey is not one the applier calls",
    ),
    "another service": (_statement(Action="s3:GetObject"), "s3:GetObject is not one"),
    "no action": (_statement(Action=None), "no Action"),
    "resource star": (_statement(Resource="*"), r"wildcard resource \*"),
    "every user": (
        _statement(Resource=[f"arn:aws:iam::{ACCOUNT}:user/*"]),
        "wildcard resource",
    ),
    "single-character wildcard user": (
        _statement(Resource=[f"arn:aws:iam::{ACCOUNT}:user/victi?"]),
        "wildcard resource",
    ),
    "a bystander user": (
        _statement(Resource=[VICTIM, f"arn:aws:iam::{ACCOUNT}:user/bystander"]),
        "user/bystander is not a user the change names",
    ),
    "the same user in another account": (
        _statement(Resource=["arn:aws:iam::999999999999:user/victim"]),
        "999999999999:user/victim is not a user",
    ),
    "a role instead of the user": (
        _statement(Resource=[f"arn:aws:iam::{ACCOUNT}:role/victim"]),
        "role/victim is not a user",
    ),
    "no resource": (_statement(Resource=None), "no Resource"),
    "NotResource": (_statement(NotResource=["x"]), "unexpected NotResource"),
    "NotAction": (_statement(NotAction=["iam:DeleteAccessKey"]), "unexpected NotAction"),
    "Principal": (_statement(Principal="*"), "unexpected Principal"),
    "Deny effect": (_statement(Effect="Deny"), "Effect must be Allow"),
    "no time bound": (_statement(Condition=None), "the only Condition must be DateLessThan"),
    "a time bound on another key": (
        _statement(Condition={"DateLessThan": {"aws:EpochTime": "1"}}),
        "the only Condition must be",
    ),
    "an extra condition": (
        _statement(
            Condition={
                "DateLessThan": {"aws:CurrentTime": "2026-12-07T10:15:07Z"},
                "Bool": {"aws:SecureTransport": "true"},
            }
        ),
        "the only Condition must be",
    ),
    "DateGreaterThan instead": (
        _statement(Condition={"DateGreaterThan": {"aws:CurrentTime": "2026-12-07T10:15:07Z"}}),
        "the only Condition must be",
    ),
    "a time bound after the session": (
        _statement(Condition={"DateLessThan": {"aws:CurrentTime": "2026-12-07T10:15:08Z"}}),
        "after the session's end 2026-12-07T10:15:07Z",
    ),
    "a time bound without zone": (
        _statement(Condition={"DateLessThan": {"aws:CurrentTime": "2026-12-07T10:15:00"}}),
        "has no time zone",
    ),
    "a time bound that is no time": (
        _statement(Condition={"DateLessThan": {"aws:CurrentTime": "soon"}}),
        "is not an ISO-8601 time",
    ),
    "a time bound that is a number": (
        _statement(Condition={"DateLessThan": {"aws:CurrentTime": 1765100000}}),
        "the only Condition must be",
    ),
    "a statement that is not an object": (
        {"Version": "2012-10-17", "Statement": ["Allow everything"]},
        "statement 0 is not an object",
    ),
    "a second statement widening the first": (
        {
            "Version": "2012-10-17",
            "Statement": [
                _good()["Statement"][0],
                {**_good()["Statement"][0], "Resource": "*"},
            ],
        },
        r"statement 1: wildcard resource \*",
    ),
    "an empty statement list": ({"Version": "2012-10-17", "Statement": []}, "non-empty list"),
    "a statement object instead of a list": (
        {"Version": "2012-10-17", "Statement": _good()["Statement"][0]},
        "non-empty list",
    ),
    "an old policy version": (
        {"Version": "2008-10-17", "Statement": _good()["Statement"]},
        "Version must be 2012-10-17",
    ),
    "an extra top-level key": ({**_good(), "Id": "x"}, "exactly Version and Statement"),
    "no version": ({"Statement": _good()["Statement"]}, "exactly Version and Statement"),
    "not JSON": ("{'Version': '2012-10-17'}", "not JSON"),
    "a JSON list": ("[]", "exactly Version and Statement"),
    "too long": (render(_good()) + " " * MAX_POLICY_CHARS, "AWS allows 2048"),
}


@pytest.mark.parametrize("shape", sorted(REJECTED))
def test_the_checker_rejects(shape: str) -> None:
    policy, why = REJECTED[shape]
    with pytest.raises(SessionPolicyError, match=why) as caught:
        _check(policy)
    assert caught.value.exit_code == 2
    assert "not exactly the change's scope" in str(caught.value)


def test_a_user_of_the_change_left_out_is_rejected() -> None:
    both = {VICTIM, f"arn:aws:iam::{ACCOUNT}:user/build-bot"}
    with pytest.raises(SessionPolicyError, match=r"no statement covers .*user/build-bot"):
        _check(_good(), both)


def test_actions_are_compared_as_iam_does_without_case() -> None:
    _check(_statement(Action=[a.lower() for a in APPLIER_ACTIONS]))
    _check(_statement(Action="iam:ListAccessKeys"))
    _check(_statement(Condition={"DateLessThan": {"aws:CurrentTime": "2026-12-07T10:10:00Z"}}))


def test_the_session_end_is_whole_seconds_after_the_session_length() -> None:
    assert session_end(START, 15) == datetime(2026, 12, 7, 10, 15, 7, tzinfo=UTC)
    assert session_end(START, 60) - session_end(START, 15) == timedelta(minutes=45)


@pytest.mark.parametrize(
    ("change", "environment", "name"),
    [
        (
            "nhi-aws-unused-access-key/build-bot-1a2b3c4d",
            "production",
            "mendbot-1a2b3c4d-production",
        ),
        (
            "revert:nhi-aws-unused-access-key/build-bot-1a2b3c4d",
            "production",
            "mendbot-revert-1a2b3c4d-production",
        ),
        ("hand made change!", "prod env", "mendbot-made-change-prod-env"),
        ("x/y-1a2b3c4d", "e" * 80, "mendbot-1a2b3c4d-" + "e" * 47),
    ],
)
def test_session_names_name_the_change_as_sts_allows(
    change: str, environment: str, name: str
) -> None:
    made = session_name(change, environment)
    assert made == name
    assert re.fullmatch(r"[\w+=,.@-]{2,64}", made)


def _block(page: str, language: str, containing: str) -> str:
    blocks = page.split(f"```{language}\n")[1:]
    return next(b.split("```", 1)[0] for b in blocks if containing in b)


def test_the_documented_desired_state_and_session_policy_are_what_the_code_accepts() -> None:
    page = (Path(__file__).parents[2] / "docs" / "deploy.md").read_text(encoding="utf-8")
    section = page.split("## AWS: IAM access keys", 1)[1]
    desired = _block(section, "yaml", "kind: aws-iam-access-key")
    parsed = parse_desired(f".mendbot/desired/aws-iam-access-key/{ACCOUNT}.yml", desired.encode())
    assert as_state(parsed)["keys"][0]["status"] == "Inactive"
    example = _block(section, "json", '"Version"')
    check_session_policy(
        example.replace("\n", ""),
        resources={f"arn:aws:iam::{ACCOUNT}:user/build-bot"},
        not_after=datetime(2026, 12, 7, 10, 15, tzinfo=UTC),
    )
    config = _block(section, "yaml", "aws_role_arn")
    settings = DeploySettings.model_validate(YAML(typ="safe").load(config)["deploy"])
    assert settings.environments["production"].aws_role_arn is not None
