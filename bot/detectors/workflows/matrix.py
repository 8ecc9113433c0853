"""Static values of ``${{ matrix.<key> }}``: what a job's ``strategy.matrix`` can expand to.

Rules that skip expressions can still judge ``image: ${{ matrix.image }}`` or
``env: ${{ matrix.env }}`` when the matrix is written out in the file: every value the key
takes, from its own list and from ``include`` entries, each with the route where it is written.
``exclude`` is ignored (an excluded combination may still be included elsewhere; reporting a
value that ends up unused is the safe error).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.detectors.workflows.model import Job
from bot.yamledit import Route

_MATRIX_REFERENCE = re.compile(
    r"^\s*\$\{\{\s*matrix(?:\.(?P<dot>[A-Za-z_][\w-]*)|\[\s*'(?P<quoted>[^']+)'\s*\])\s*\}\}\s*$"
)


def matrix_key(value: Any) -> str | None:
    """``image`` for ``${{ matrix.image }}`` (or ``${{ matrix['image'] }}``); else None."""
    if not isinstance(value, str):
        return None
    match = _MATRIX_REFERENCE.match(value)
    if match is None:
        return None
    return match["dot"] or match["quoted"]


@dataclass(frozen=True)
class MatrixValue:
    """One value a matrix key takes, and where the file writes it."""

    value: Any
    route: Route


def dotted(route: Route) -> str:
    """``strategy.matrix.include[1].image``: a route as text, for evidence (never a line)."""
    text = ""
    for part in route:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def matrix_values(job: Job, key: str) -> list[MatrixValue] | None:
    """Every value ``matrix.<key>`` takes in ``job``; None when the matrix (or that key, or an
    ``include``) is computed at run time, so the values cannot be known."""
    strategy = job.data.get("strategy")
    if not isinstance(strategy, dict):
        return None
    matrix = strategy.get("matrix")
    if not isinstance(matrix, dict):
        return None
    base: Route = (*job.route, "strategy", "matrix")
    found: list[MatrixValue] = []
    if key in matrix and key not in ("include", "exclude"):
        values = matrix[key]
        if not isinstance(values, list):
            return None
        found.extend(MatrixValue(v, (*base, key, i)) for i, v in enumerate(values))
    include = matrix.get("include")
    if include is not None:
        if not isinstance(include, list):
            return None
        for i, entry in enumerate(include):
            if not isinstance(entry, dict):
                return None
            if key in entry:
                found.append(MatrixValue(entry[key], (*base, "include", i, key)))
    return found
