"""What every applier that deletes shares: the change is irreversible, so there is nothing to
watch afterwards and nothing to compensate with, and validation is "no longer listed".

A subclass says how to name an object (:meth:`Deletion.label`), whether it is still listed
(:meth:`Deletion.still_listed`) and which error a compensation attempt raises
(:meth:`Deletion.not_compensable`); the deploy job records that failure without asking for a
revert, since there is nothing to revert to.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

from bot.deploy.applier import Applier, Observation, State, Target, Validation, Verdict, Watch
from bot.errors import MendbotError
from bot.risk import Reversibility


class Deletion(Applier):
    """An applier whose ``apply`` deletes ``target.objects``."""

    reversibility: ClassVar[Reversibility] = Reversibility.IRREVERSIBLE

    @abstractmethod
    def label(self, target: Target, obj: str) -> str:
        """How the record names ``obj`` (``AKIA… of alice``, ``TOKEN of acme/app``)."""

    @abstractmethod
    def still_listed(self, target: Target, obj: str) -> str | None:
        """None when ``obj`` is gone; otherwise what still lists it, as a parenthesised detail
        (``" (Inactive)"``) or an empty string."""

    @abstractmethod
    def not_compensable(self, target: Target) -> MendbotError:
        """The error :meth:`compensate` raises, naming the objects and :attr:`compensation`."""

    def validate(self, target: Target) -> Validation:
        """Passed when no object is listed any more, FAILED otherwise; one line per object."""
        checks, failed = [], False
        for obj in target.objects:
            detail = self.still_listed(target, obj)
            if detail is None:
                checks.append(f"{self.label(target, obj)} is no longer listed: deleted")
            else:
                failed = True
                checks.append(f"{self.label(target, obj)} is still listed{detail} after the delete")
        return Validation(Verdict.FAILED if failed else Verdict.PASSED, tuple(checks))

    @classmethod
    def watches(cls, target: Target, verdict: Verdict) -> bool:
        """A deletion is never watched: there is nothing left to observe."""
        del target, verdict
        return False

    def observe(self, target: Target, watch: Watch) -> Observation:
        """Never called (:meth:`watches` is False): a deleted object has nothing to observe."""
        del target, watch
        return Observation(Validation(Verdict.NOT_OBSERVABLE, ("deleted objects are not watched",)))

    def compensate(self, target: Target, snapshot: State) -> None:
        """Raises :meth:`not_compensable`: what was deleted cannot be restored."""
        del snapshot
        raise self.not_compensable(target)
