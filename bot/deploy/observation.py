"""One later re-check of a change applied earlier: observe → compensate on a regression.

The counterpart of :func:`bot.deploy.lifecycle.deploy_change` for validations that need time
(``mendbot deploy observe``), with the same fail-closed order: an observation that cannot be
made changes nothing (FAILED, watched again next time); drift — the live objects are no longer
what the change set — is reported and never overwritten (a person changed them); a regression
is compensated at once with the snapshot of the first record, exactly as applying would have.
"""

from __future__ import annotations

from bot.deploy.applier import Applier, State, Target, Verdict, Watch
from bot.deploy.lifecycle import Outcome, Step, compensate_step, error_text


def observe_change(applier: Applier, target: Target, watch: Watch, snapshot: State) -> Step:
    """Re-check ``target`` through ``applier`` (see the module docstring); ``snapshot`` is the
    state before the change, from its first record. Never raises."""
    try:
        observation = applier.observe(target, watch)
    except Exception as exc:  # NOTE(deploy): nothing observed, nothing changed (fail closed).
        return Step(Outcome.FAILED, snapshot, reasons=(f"cannot observe: {error_text(exc)}",))
    validation = observation.validation
    if validation.verdict is Verdict.FAILED:
        return compensate_step(applier, target, snapshot, validation, "a later check failed")
    if observation.drift:
        return Step(Outcome.DRIFT, snapshot, validation, observation.drift)
    return Step(Outcome.APPLIED, snapshot, validation)


def is_final(step: Step, watch: Watch) -> bool:
    """Whether nothing is left to observe after ``step``: a regression handled, drift, a pass
    for good, or the window closed. A failure to observe is tried again."""
    if step.outcome is Outcome.FAILED:
        return False
    if step.outcome is not Outcome.APPLIED:
        return True
    passed = step.validation is not None and step.validation.verdict is Verdict.PASSED
    return passed or not watch.open
