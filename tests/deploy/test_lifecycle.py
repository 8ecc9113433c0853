"""One change through one applier, in the fixed order, failing closed.

The applier here is a protocol fake: a small in-memory system of named switches with the same
failure modes as a real API (a read that fails, a write that fails, a write that silently does
not hold, a restore that fails). It records every call, so the tests check the order and that
nothing is written when nothing may be.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest

from bot.deploy.applier import (
    Applier,
    Authority,
    DeployContext,
    Grant,
    State,
    Target,
    Validation,
    Verdict,
)
from bot.deploy.appliers import UnknownKindError, applier_for
from bot.deploy.lifecycle import Outcome, deploy_change
from bot.risk import Reversibility

SECRET = "ghs_live_token_value"


class _Unrevocable(Grant):
    authority = Authority("none", "switches", "test", "2099-01-01T00:00:00Z", {})

    def revoke(self) -> None:
        return None


@dataclass
class Switches(Applier):
    """Named on/off switches; ``fail`` names the step that breaks (``snapshot``, ``apply``,
    ``compensate``), ``sticky`` makes an apply not hold, ``observable`` False makes validation
    unable to tell."""

    kind: ClassVar[str] = "switches"
    reversibility: ClassVar[Reversibility] = Reversibility.REVERSIBLE

    live: dict[str, Any]
    fail: str | None = None
    sticky: bool = False
    observable: bool = True
    calls: list[str] = field(default_factory=list)

    @classmethod
    def connect(cls, target: Target, context: DeployContext) -> tuple[Switches, Grant]:
        return cls(live=dict(target.pre_image)), _Unrevocable()

    def snapshot(self, target: Target) -> State:
        self.calls.append("snapshot")
        if self.fail == "snapshot":
            raise ConnectionError("the API did not answer")
        return {name: self.live[name] for name in target.objects}

    def precheck(self, target: Target, live: State) -> list[str]:
        self.calls.append("precheck")
        return [
            f"{name} is {live[name]!r}, the analysis saw {target.pre_image[name]!r}"
            for name in target.objects
            if live[name] != target.pre_image[name]
        ]

    def apply(self, target: Target) -> None:
        self.calls.append("apply")
        if self.fail == "apply":
            # Half applied, then the API fails: compensation must restore the first one too.
            first = target.objects[0]
            self.live[first] = target.desired[first]
            raise PermissionError(f"HTTP 403 with token {SECRET[:4]}…")
        if not self.sticky:
            self.live.update({name: target.desired[name] for name in target.objects})

    def validate(self, target: Target) -> Validation:
        self.calls.append("validate")
        if not self.observable:
            return Validation(Verdict.NOT_OBSERVABLE, ("no run of the workflow to watch yet",))
        held = all(self.live[name] == target.desired[name] for name in target.objects)
        return Validation(Verdict.PASSED if held else Verdict.FAILED, (f"reads back: {held}",))

    def compensate(self, target: Target, snapshot: State) -> None:
        self.calls.append("compensate")
        if self.fail == "compensate":
            raise TimeoutError("the restore timed out")
        self.live.update(snapshot)


def _target(**desired: Any) -> Target:
    return Target(
        kind="switches",
        environment="production",
        objects=tuple(desired),
        pre_image=dict.fromkeys(desired, True),
        desired=desired,
    )


def test_a_change_that_holds_is_applied_and_validated_in_order():
    system = Switches(live={"a": True, "b": True, "untouched": True})
    step = deploy_change(system, _target(a=False, b=False))
    assert step.outcome is Outcome.APPLIED
    assert system.calls == ["snapshot", "precheck", "apply", "validate"]
    assert step.before == {"a": True, "b": True}
    assert system.live == {"a": False, "b": False, "untouched": True}


def test_drift_applies_nothing():
    system = Switches(live={"a": False})
    step = deploy_change(system, _target(a=False))
    assert step.outcome is Outcome.DRIFT
    assert system.calls == ["snapshot", "precheck"]
    assert step.reasons == ("a is False, the analysis saw True",)


def test_a_live_state_that_cannot_be_read_applies_nothing():
    system = Switches(live={"a": True}, fail="snapshot")
    step = deploy_change(system, _target(a=False))
    assert (step.outcome, step.before, system.calls) == (Outcome.FAILED, None, ["snapshot"])
    assert system.live == {"a": True}
    assert "ConnectionError" in step.reasons[0]


def test_a_failed_apply_is_compensated_with_the_snapshot():
    system = Switches(live={"a": True, "b": True}, fail="apply")
    step = deploy_change(system, _target(a=False, b=False))
    assert step.outcome is Outcome.COMPENSATED
    assert system.calls == ["snapshot", "precheck", "apply", "compensate"]
    assert system.live == {"a": True, "b": True}
    assert SECRET not in " ".join(step.reasons)


def test_a_change_that_does_not_hold_is_compensated():
    system = Switches(live={"a": True}, sticky=True)
    step = deploy_change(system, _target(a=False))
    assert step.outcome is Outcome.COMPENSATED
    assert step.validation is not None and step.validation.verdict is Verdict.FAILED
    assert system.calls[-1] == "compensate"


def test_a_compensation_that_fails_is_reported_not_hidden():
    system = Switches(live={"a": True}, fail="compensate", sticky=True)
    step = deploy_change(system, _target(a=False))
    assert step.outcome is Outcome.COMPENSATION_FAILED
    assert any("TimeoutError" in reason for reason in step.reasons)


def test_nothing_observable_is_recorded_as_such_and_kept():
    system = Switches(live={"a": True}, observable=False)
    step = deploy_change(system, _target(a=False))
    assert step.outcome is Outcome.APPLIED
    assert step.validation is not None and step.validation.verdict is Verdict.NOT_OBSERVABLE
    assert "compensate" not in system.calls


def test_a_kind_without_an_applier_is_refused_by_name():
    with pytest.raises(UnknownKindError, match="'kubernetes-secret'"):
        applier_for("kubernetes-secret")


def test_a_precheck_that_cannot_decide_applies_nothing():
    class Undecided(Switches):
        def precheck(self, target: Target, live: State) -> list[str]:
            self.calls.append("precheck")
            raise ValueError("the owner tag is unreadable")

    system = Undecided(live={"a": True})
    step = deploy_change(system, _target(a=False))
    assert (step.outcome, system.calls) == (Outcome.FAILED, ["snapshot", "precheck"])
    assert system.live == {"a": True}
