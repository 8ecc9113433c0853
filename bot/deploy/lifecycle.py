"""One change through one applier: snapshot → precheck → apply → validate → compensate.

The order is fixed here, not left to each applier, and it fails closed: drift applies nothing;
a failure to read the live state applies nothing; a failed apply or a failed validation is
compensated at once with the snapshot; a compensation that fails is reported as such (the
environment must be frozen and a person called). Every path ends in one :class:`Step` with the
before and after states and the reason, ready for the signed deploy record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum, unique

from bot.deploy.applier import Applier, State, Target, Validation, Verdict


@unique
class Outcome(StrEnum):
    """How one change ended (the deploy record's ``outcome``)."""

    APPLIED = "applied"
    """Applied, and validation passed or cannot observe anything yet."""
    DRIFT = "drift"
    """The live state is not what the analysis saw: nothing was applied."""
    FAILED = "failed"
    """The live state could not be read or checked (nothing was applied), or a deletion did
    not complete (nothing can be restored)."""
    COMPENSATED = "compensated"
    """Applying or validating failed and the snapshot was restored."""
    COMPENSATION_FAILED = "compensation-failed"
    """Applying or validating failed and the snapshot could not be restored."""


@dataclass(frozen=True)
class Step:
    """What happened to one target, for the deploy record."""

    outcome: Outcome
    before: State | None
    validation: Validation | None = None
    reasons: tuple[str, ...] = field(default_factory=tuple)


def deploy_change(applier: Applier, target: Target) -> Step:
    """Run ``target`` through ``applier`` in the fixed order (see the module docstring)."""
    try:
        before = applier.snapshot(target)
    except Exception as exc:  # NOTE(deploy): any read failure applies nothing (fail closed).
        return Step(
            Outcome.FAILED, None, reasons=(f"cannot read the live state: {error_text(exc)}",)
        )
    try:
        drift = applier.precheck(target, before)
    except Exception as exc:  # NOTE(deploy): a precheck that cannot decide applies nothing.
        return Step(Outcome.FAILED, before, reasons=(f"the precheck failed: {error_text(exc)}",))
    if drift:
        return Step(Outcome.DRIFT, before, reasons=tuple(drift))
    try:
        applier.apply(target)
        validation = applier.validate(target)
    except Exception as exc:  # NOTE(deploy): a half-applied change is compensated, never left.
        reason = f"apply failed: {error_text(exc)}"
        if target.deletion:
            return not_compensable(applier, target, before, None, reason)
        return compensate_step(applier, target, before, None, reason)
    if validation.verdict is Verdict.FAILED:
        if target.deletion:
            return not_compensable(applier, target, before, validation, "validation failed")
        return compensate_step(applier, target, before, validation, "validation failed")
    return Step(Outcome.APPLIED, before, validation)


def not_compensable(
    applier: Applier, target: Target, before: State, validation: Validation | None, reason: str
) -> Step:
    """A deletion that failed (``reason``): FAILED, saying why nothing is restored or
    reverted and what a person must look at."""
    return Step(
        Outcome.FAILED,
        before,
        validation,
        (
            reason,
            f"compensation: {applier.compensation}",
            f"check {', '.join(target.objects)} by hand: the deletion may have happened in part",
        ),
    )


def compensate_step(
    applier: Applier, target: Target, before: State, validation: Validation | None, reason: str
) -> Step:
    """Restore ``before`` after a failure (``reason``): COMPENSATED, or COMPENSATION_FAILED
    with why; never raises."""
    try:
        applier.compensate(target, before)
    except Exception as exc:  # NOTE(deploy): reported, so the job freezes and calls a person.
        return Step(
            Outcome.COMPENSATION_FAILED,
            before,
            validation,
            (reason, f"restoring the snapshot failed: {error_text(exc)}"),
        )
    return Step(Outcome.COMPENSATED, before, validation, (reason, applier.compensation))


def error_text(exc: Exception) -> str:
    """The exception's own message, never its arguments' reprs (which may hold credentials)."""
    return f"{type(exc).__name__}: {exc}"
