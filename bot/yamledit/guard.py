"""The invariants every splice must keep: only the target changed, and no comment was lost."""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

from bot.yamledit.document import (
    YamlDocument,
    format_route,
    normalise,
    strict_equal,
    to_data,
)
from bot.yamledit.ops import Add, Append, Remove, Replace, RewriteFragment, SetComment
from bot.yamledit.splice import Splice


class GuardError(Exception):
    """A splice broke an invariant; the message names which one."""


def _container(data: Any, route: tuple[Any, ...]) -> Any:
    for key in route:
        data = data[key]
    return data


def expected_after(
    documents: list[Any], operation: Replace | Add | Remove | Append | SetComment | RewriteFragment
) -> list[Any]:
    """What the documents must be after ``operation``, computed on plain data."""
    result = copy.deepcopy(documents)
    doc = operation.document
    route = operation.route
    if isinstance(operation, SetComment):
        return result
    if isinstance(operation, RewriteFragment):
        parent = _container(result[doc], route[:-1]) if route else None
        value = result[doc] if parent is None else parent[route[-1]]
        rewritten = value.replace(operation.fragment, operation.replacement, 1)
        if parent is None:
            result[doc] = rewritten
        else:
            parent[route[-1]] = rewritten
        return result
    if isinstance(operation, Replace):
        if not route:
            result[doc] = normalise(operation.value)
        else:
            _container(result[doc], route[:-1])[route[-1]] = normalise(operation.value)
    elif isinstance(operation, Add):
        if not route:
            target = result[doc]
        else:
            parent = _container(result[doc], route[:-1])
            if parent[route[-1]] is None:
                parent[route[-1]] = {}
            target = parent[route[-1]]
        target[operation.key] = normalise(operation.value)
    elif isinstance(operation, Remove):
        del _container(result[doc], route[:-1])[route[-1]]
    else:
        _container(result[doc], route).append(normalise(operation.value))
    return result


def check(
    before: YamlDocument,
    after: YamlDocument,
    expected: list[Any],
    operation: Replace | Add | Remove | Append | SetComment | RewriteFragment,
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
