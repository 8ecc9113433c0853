"""What every deleting applier shares (bot/deploy/deletion.py), on a deleter whose "live
system" is a set of names: validated as "no longer listed", never watched, never compensated."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar, Self

import pytest

from bot.deploy.applier import DeployContext, Grant, State, Target, Verdict, Watch
from bot.deploy.deletion import Deletion
from bot.errors import MendbotError
from bot.risk import Reversibility


class _Gone(MendbotError):
    pass


class _SetDeletion(Deletion):
    kind: ClassVar[str] = "names"
    compensation: ClassVar[str] = "none possible"

    def __init__(self, live: set[str]) -> None:
        self.live = live

    @classmethod
    def connect(cls, target: Target, context: DeployContext) -> tuple[Self, Grant]:
        raise NotImplementedError

    def snapshot(self, target: Target) -> State:
        return {name: {"listed": name in self.live} for name in target.objects}

    def precheck(self, target: Target, live: State) -> list[str]:
        return []

    def apply(self, target: Target) -> None:
        self.live -= set(target.objects)

    def label(self, target: Target, obj: str) -> str:
        return f"{obj} of the set"

    def still_listed(self, target: Target, obj: str) -> str | None:
        return " (still here)" if obj in self.live else None

    def not_compensable(self, target: Target) -> MendbotError:
        return _Gone(f"{', '.join(target.objects)}: {self.compensation}")


TARGET = Target(
    kind="names", environment="prod", objects=("a", "b"),
    pre_image={"a": {}, "b": {}}, desired={"a": None, "b": None}, deletion=True,
)  # fmt: skip


def test_a_deletion_is_irreversible_and_validated_as_no_longer_listed() -> None:
    deleter = _SetDeletion({"a", "b", "c"})
    assert deleter.reversibility is Reversibility.IRREVERSIBLE
    deleter.apply(TARGET)
    passed = deleter.validate(TARGET)
    assert passed.verdict is Verdict.PASSED
    assert passed.checks == (
        "a of the set is no longer listed: deleted",
        "b of the set is no longer listed: deleted",
    )


def test_one_object_still_listed_fails_the_validation_and_says_which() -> None:
    deleter = _SetDeletion({"b"})
    failed = deleter.validate(TARGET)
    assert failed.verdict is Verdict.FAILED
    assert failed.checks == (
        "a of the set is no longer listed: deleted",
        "b of the set is still listed (still here) after the delete",
    )


@pytest.mark.parametrize("verdict", list(Verdict))
def test_a_deletion_is_never_watched_and_never_compensated(verdict: Verdict) -> None:
    assert _SetDeletion.watches(TARGET, verdict) is False
    now = datetime(2026, 1, 1, tzinfo=UTC)
    observed = _SetDeletion(set()).observe(TARGET, Watch(now, now, now))
    assert observed.validation.verdict is Verdict.NOT_OBSERVABLE
    with pytest.raises(_Gone, match=r"^a, b: none possible$"):
        _SetDeletion(set()).compensate(TARGET, {})
