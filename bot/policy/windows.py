"""Freeze windows: cron start + duration in a time zone, computed in Python outside CEL."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.policy.gate_context import Windows

#: Longest window mendbot accepts; bounds the minute scan in :func:`window_open`.
MAX_DURATION = timedelta(days=14)

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")
_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day", 1, 31), ("month", 1, 12), ("weekday", 0, 7))


class ScheduleError(ValueError):
    """A cron schedule, duration or time zone is not valid."""


@dataclass(frozen=True)
class Cron:
    """A parsed five-field cron schedule (minute hour day-of-month month day-of-week).

    Fields take ``*``, numbers, ranges ``a-b``, steps ``*/n`` / ``a-b/n`` and lists. As in Vixie
    cron, when both day fields are restricted a day matches either; weekday 0 and 7 are Sunday.
    """

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    days_any: bool
    weekdays_any: bool

    @classmethod
    def parse(cls, text: str) -> Cron:
        """Parse ``text``; raises :class:`ScheduleError` naming the bad field."""
        parts = text.split()
        if len(parts) != len(_FIELDS):
            raise ScheduleError(f"cron schedule {text!r} needs 5 fields, has {len(parts)}")
        sets = [_field(part, *spec) for part, spec in zip(parts, _FIELDS, strict=True)]
        weekdays = frozenset(0 if d == 7 else d for d in sets[4])
        return cls(sets[0], sets[1], sets[2], sets[3], weekdays, parts[2] == "*", parts[4] == "*")

    def matches(self, local: datetime) -> bool:
        """Whether the wall-clock minute ``local`` is a firing time."""
        if local.minute not in self.minutes or local.hour not in self.hours:
            return False
        if local.month not in self.months:
            return False
        day_ok = local.day in self.days
        weekday_ok = (local.isoweekday() % 7) in self.weekdays
        if self.days_any or self.weekdays_any:
            return day_ok and weekday_ok
        return day_ok or weekday_ok


def _field(text: str, name: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        base, _, step_text = item.partition("/")
        try:
            step = int(step_text) if step_text else 1
            if base == "*":
                start, stop = low, high
            elif "-" in base:
                first, last = base.split("-", 1)
                start, stop = int(first), int(last)
            else:
                start = stop = int(base)
                if step_text:
                    stop = high
        except ValueError:
            raise ScheduleError(f"cron {name} field {text!r} is not valid") from None
        if step < 1 or not low <= start <= stop <= high:
            raise ScheduleError(f"cron {name} field {text!r} is out of range {low}-{high}")
        values.update(range(start, stop + 1, step))
    return frozenset(values)


def parse_duration(text: str) -> timedelta:
    """Parse ``2h``, ``1d12h``, ``90m``; raises :class:`ScheduleError` beyond 14 days or 0."""
    match = _DURATION.match(text.strip())
    if not text.strip() or match is None:
        raise ScheduleError(f"duration {text!r} is not like 1d12h30m")
    days, hours, minutes = (int(g) if g else 0 for g in match.groups())
    value = timedelta(days=days, hours=hours, minutes=minutes)
    if not timedelta(0) < value <= MAX_DURATION:
        raise ScheduleError(f"duration {text!r} must be more than 0 and at most 14d")
    return value


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; raises :class:`ScheduleError` when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"unknown time zone {name!r}") from None


def window_open(schedule: Cron, duration: timedelta, tz: ZoneInfo, now: datetime) -> bool:
    """Whether a window that starts at each firing of ``schedule`` and lasts ``duration`` is open.

    The scan walks real (UTC) minutes back from ``now`` and converts each to wall-clock time in
    ``tz``: a start inside a skipped DST hour never fires, a start in a repeated hour fires at
    both instants, and the duration is always elapsed real time.
    """
    if now.tzinfo is None:
        raise ScheduleError("now must carry a time zone")
    minute = now.astimezone(UTC).replace(second=0, microsecond=0)
    earliest = now - duration
    while minute > earliest:
        if schedule.matches(minute.astimezone(tz)):
            return True
        minute -= timedelta(minutes=1)
    return False


@dataclass(frozen=True)
class WindowSpec:
    """One named window, as loaded from a ``FreezeWindow`` document."""

    name: str
    kind: str
    """``deny`` (a freeze) or ``allow`` (changes only inside it)."""
    schedule: Cron
    duration: timedelta
    time_zone: ZoneInfo
    environments: tuple[str, ...]
    """Environments the window applies to; empty means all."""


def compute_windows(
    specs: Iterable[WindowSpec], environments: Sequence[str], now: datetime
) -> Windows:
    """The ``windows`` part of the context for a change touching ``environments`` at ``now``."""
    active: list[str] = []
    deny_active = False
    allow_applies = False
    allow_open = False
    for spec in specs:
        if spec.environments and not set(spec.environments) & set(environments):
            continue
        is_open = window_open(spec.schedule, spec.duration, spec.time_zone, now)
        if spec.kind == "allow":
            allow_applies = True
            allow_open = allow_open or is_open
        if is_open:
            active.append(spec.name)
            deny_active = deny_active or spec.kind == "deny"
    return Windows(
        active=tuple(sorted(active)),
        deny_active=deny_active,
        allow_required=allow_applies and not allow_open,
    )
