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

from bot.workflow.model import Job
from bot.yamledit.document import Route

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


_MATRIX_PATH = re.compile(
    r"^matrix(?P<path>(?:\.[A-Za-z_][\w-]*|\[\s*'[^']+'\s*\])+)$", re.IGNORECASE
)


def matrix_path(context: str) -> list[str] | None:
    """``["config", "os"]`` for ``matrix.config.os`` (or ``matrix['config'].os``); else None."""
    match = _MATRIX_PATH.match(context.strip())
    if match is None:
        return None
    return [p for p in re.split(r"\.|\[\s*'|'\s*\]", match["path"]) if p]


def _scalar(value: Any, path: list[str]) -> str | None:
    """The text ``value`` (a matrix entry) gives after walking ``path``; None when it is a
    list or mapping (``toJSON`` territory) or the walk leaves the data."""
    for part in path:
        if isinstance(value, str) and "${{" in value:
            return value  # computed at run time (``${{ fromJSON(…) }}``): so are its properties
        if not isinstance(value, dict):
            return None
        value = value.get(part, "")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if value is None:
        return ""
    return value if isinstance(value, str) else None


def _declared_key(job: Job, key: str) -> str:
    """The matrix key as the file spells it (expressions read ``matrix.Python`` as ``python``)."""
    strategy = job.data.get("strategy")
    matrix = strategy.get("matrix") if isinstance(strategy, dict) else None
    if not isinstance(matrix, dict):
        return key
    names = {str(k) for k in matrix}
    include = matrix.get("include")
    for entry in include if isinstance(include, list) else []:
        if isinstance(entry, dict):
            names.update(str(k) for k in entry)
    return next((n for n in sorted(names) if n.lower() == key.lower()), key)


def matrix_texts(job: Job, context: str) -> list[str] | None:
    """Every text ``${{ matrix.<path> }}`` can expand to in ``job``, when the matrix writes
    them all out literally; None when any is computed (an expression) or not a scalar."""
    path = matrix_path(context)
    if path is None:
        return None
    values = matrix_values(job, _declared_key(job, path[0]))
    if values is None:
        return None
    texts: list[str] = []
    for entry in values:
        text = _scalar(entry.value, path[1:])
        if text is None or "${{" in text:
            return None
        texts.append(text)
    if not texts:
        texts.append("")  # a key the matrix does not define expands to ''
    return texts


def _written_out(value: Any) -> bool:
    """Whether ``value`` (any matrix entry: scalar, list or mapping) holds no expression."""
    if isinstance(value, str):
        return "${{" not in value
    if isinstance(value, list):
        return all(_written_out(v) for v in value)
    if isinstance(value, dict):
        return all(_written_out(k) and _written_out(v) for k, v in value.items())
    return True


def _walk(value: Any, path: list[str]) -> Any:
    """What ``value`` gives after walking ``path``: a missing key, or a property of a scalar
    or list, expands to null (GitHub's own rule), which is as static as the data it left."""
    for part in path:
        if isinstance(value, str) and "${{" in value:
            return value  # computed at run time (``${{ fromJSON(…) }}``): so are its properties
        if not isinstance(value, dict):
            return None
        value = next((v for k, v in value.items() if str(k).lower() == part.lower()), None)
    return value


def matrix_is_static(job: Job, context: str) -> bool:
    """Whether every value ``matrix.<path>`` (or the whole ``matrix``) can take in ``job`` is
    written out in the file, whatever its text or shape (lists and mappings for ``toJSON``
    included): then the workflow's author chose it, and no event can change it."""
    if context.strip().lower() == "matrix":
        strategy = job.data.get("strategy")
        matrix = strategy.get("matrix") if isinstance(strategy, dict) else None
        return isinstance(matrix, dict) and _written_out(matrix)
    path = matrix_path(context)
    if path is None:
        return False
    values = matrix_values(job, _declared_key(job, path[0]))
    if values is None:
        return False
    return all(_written_out(_walk(entry.value, path[1:])) for entry in values)


_LABEL_EXPRESSION = re.compile(r"\$\{\{\s*(?P<inner>[^}]*?)\s*\}\}")


def runs_on_choices(job: Job) -> list[list[str]] | None:
    """Every label list ``runs-on`` can take, expanding ``${{ matrix.… }}`` over the values the
    matrix writes out (labels are expanded independently: a superset of the real choices);
    None when a label depends on anything else."""
    choices: list[list[str]] = [[]]
    for label in job.runs_on:
        variants = [label]
        for match in _LABEL_EXPRESSION.finditer(label):
            texts = matrix_texts(job, match["inner"])
            if texts is None:
                return None
            variants = [v.replace(match.group(), t, 1) for v in variants for t in texts]
        if "${{" in "".join(variants):
            return None
        choices = [[*c, v] for c in choices for v in dict.fromkeys(variants)]
    return choices
