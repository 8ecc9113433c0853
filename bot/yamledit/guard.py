"""The invariants every splice must keep: only the target changed, and no comment was lost."""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

from bot.yamledit.document import YamlDocument, format_route, to_data
from bot.yamledit.ops import Add, Append, Remove, Replace, SetComment
from bot.yamledit.splice import Splice


class GuardError(Exception):
    """A splice broke an invariant; the message names which one."""


def strict_equal(a: Any, b: Any) -> bool:
    """Equality that also compares scalar types (``1``, ``1.0`` and ``true`` all differ)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(strict_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(strict_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _container(data: Any, route: tuple[Any, ...]) -> Any:
    for key in route:
        data = data[key]
    return data


def _normalise(value: Any) -> Any:
    """Plain data as the parser would return it (tuples become lists)."""
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(v) for v in value]
    return value


def expected_after(
    documents: list[Any], operation: Replace | Add | Remove | Append | SetComment
) -> list[Any]:
    """What the documents must be after ``operation``, computed on plain data."""
    result = copy.deepcopy(documents)
    doc = operation.document
    route = operation.route
    if isinstance(operation, SetComment):
        return result
    if isinstance(operation, Replace):
        if not route:
            result[doc] = _normalise(operation.value)
        else:
            _container(result[doc], route[:-1])[route[-1]] = _normalise(operation.value)
    elif isinstance(operation, Add):
        if not route:
            target = result[doc]
        else:
            parent = _container(result[doc], route[:-1])
            if parent[route[-1]] is None:
                parent[route[-1]] = {}
            target = parent[route[-1]]
        target[operation.key] = _normalise(operation.value)
    elif isinstance(operation, Remove):
        del _container(result[doc], route[:-1])[route[-1]]
    else:
        _container(result[doc], route).append(_normalise(operation.value))
    return result


def check(
    before: YamlDocument,
    after: YamlDocument,
    expected: list[Any],
    operation: Replace | Add | Remove | Append | SetComment,
    edit: Splice,
) -> None:
    """Raise :class:`GuardError` unless ``after`` is exactly ``expected`` with comments kept."""
    actual = [to_data(root) for root in after.roots]
    if not strict_equal(actual, expected):
        raise GuardError(
            f"the edit would change more than {format_route(operation.route)}; refused"
        )
    kept = Counter(text for start, text in before.comments() if not edit.start <= start < edit.end)
    now = Counter(text for _, text in after.comments())
    lost = kept - now
    if lost:
        raise GuardError(f"the edit would drop the comment {next(iter(lost))!r}; refused")
    if isinstance(operation, SetComment) and operation.comment:
        node = after.resolve(operation.route, operation.document)
        line = after.line_of(after.content_end(node))
        if after.comment_on_line(line) != f"# {operation.comment}":
            raise GuardError("the comment did not land on the value's line; refused")
