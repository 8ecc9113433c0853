"""The ``--now`` option's value: an RFC 3339 time, or the clock."""

from __future__ import annotations

from datetime import UTC, datetime

import click


def parse_now(text: str | None, param_hint: str = "--now") -> datetime:
    """The aware UTC time ``text`` names (``2026-12-07T12:00:00Z``; no zone means UTC), or
    the clock when it is None; raises :class:`click.BadParameter` for anything else."""
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not an RFC 3339 time (2026-12-07T12:00:00Z)", param_hint=param_hint
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
