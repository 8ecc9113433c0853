"""The risk vocabulary every identity shares: disposition, reversibility, blast radius and the
ownership of what a change touches.

One home, no dependencies: the analysis classifies fixes with it, the plan and the attestation
record it, the gate's policy context and the deploy job read it. Each enum lists its values from
the least to the most sensitive, and :func:`worst` picks the most sensitive one, so "the worst
of the fixes" means the same everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum, unique
from typing import TypeVar


@unique
class Disposition(StrEnum):
    """Whether a fix preserves behaviour (``safe``) or may change it (``unsafe``)."""

    SAFE = "safe"
    UNSAFE = "unsafe"


@unique
class Reversibility(StrEnum):
    """How a change can be undone once deployed."""

    REVERSIBLE = "reversible"
    REVERSIBLE_WITH_SNAPSHOT = "reversible-with-snapshot"
    IRREVERSIBLE = "irreversible"


@unique
class BlastRadius(StrEnum):
    """How far the effects of a change reach."""

    FILE = "file"
    SERVICE = "service"
    ENVIRONMENT = "environment"
    ORGANIZATION = "organization"


@unique
class Ownership(StrEnum):
    """Whether someone answers for the object a change touches (a non-human identity's
    owner); a fix that touches no such object has none."""

    KNOWN = "known"
    UNKNOWN = "unknown"


Risk = TypeVar("Risk", Disposition, Reversibility, BlastRadius, Ownership)


def worst(values: Iterable[Risk], *, default: Risk) -> Risk:
    """The most sensitive of ``values`` (declaration order ranks them), ``default`` when there
    are none. Give the most sensitive value as ``default`` wherever nothing known must mean
    "assume the worst" (a change with no attested fixes)."""
    order = list(type(default))
    return max(values, key=order.index, default=default)


#: What a change that no attestation vouches for counts as: unsafe, irreversible, org-wide.
WORST_DISPOSITION = Disposition.UNSAFE
WORST_REVERSIBILITY = Reversibility.IRREVERSIBLE
WORST_BLAST_RADIUS = BlastRadius.ORGANIZATION
