"""Action versions (``v4``, ``v4.2.2``) against the advisory database's ranges
(``>= 4.0.0, < 4.2.3``).

Versions compare numerically part by part, missing parts counting as 0 (``v4`` is ``4.0.0``);
a version or range mendbot cannot read compares as "unknown", never as "safe" or "vulnerable".
"""

from __future__ import annotations

import re

_VERSION = re.compile(r"^v?(\d+(?:\.\d+)*)$")
_CONDITION = re.compile(r"^(>=|<=|>|<|=)?\s*(\S+)$")

Version = tuple[int, ...]


def parse_version(text: str) -> Version | None:
    """``v4.2.2`` → ``(4, 2, 2)``; None for anything but dotted numbers."""
    match = _VERSION.match(text.strip())
    if match is None:
        return None
    parts = [int(part) for part in match[1].split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def _compare(left: Version, right: Version) -> int:
    width = max(len(left), len(right))
    a = left + (0,) * (width - len(left))
    b = right + (0,) * (width - len(right))
    return (a > b) - (a < b)


def in_range(version: Version, vulnerable_range: str) -> bool | None:
    """Whether ``version`` is in ``vulnerable_range`` (every comma-separated condition holds);
    None when a condition cannot be read."""
    conditions = [part.strip() for part in vulnerable_range.split(",") if part.strip()]
    if not conditions:
        return None
    for condition in conditions:
        match = _CONDITION.match(condition)
        bound = parse_version(match[2]) if match else None
        if match is None or bound is None:
            return None
        order = _compare(version, bound)
        holds = {
            ">=": order >= 0,
            "<=": order <= 0,
            ">": order > 0,
            "<": order < 0,
            "=": order == 0,
            None: order == 0,
        }[match[1]]
        if not holds:
            return False
    return True


def same_major(left: Version, right: Version) -> bool:
    """Whether both versions have the same first number."""
    return left[:1] == right[:1]
