"""The invariants every splice must keep: only the target changed, and no comment was lost."""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Sequence
from typing import Any

from bot.yamledit.document import Route, YamlDocument, format_route, normalise, strict_equal
from bot.yamledit.ops import Add, Append, Remove, Replace, RewriteFragment, SetComment
from bot.yamledit.splice import Splice


class GuardError(Exception):
    """A splice broke an invariant; the message names which one."""


Primitive = Replace | Add | Remove | Append | SetComment | RewriteFragment


def expected_after(documents: list[Any], operation: Primitive) -> list[Any]:
    """What the documents must be after ``operation``, computed on plain data."""
    return expected_after_all(documents, [operation])


def expected_after_all(documents: list[Any], operations: Sequence[Primitive]) -> list[Any]:
    """What the documents must be after ``operations`` in order, computed on plain data.

    ``documents`` is never changed. The result shares every part no operation reaches with
    it: only the mappings and sequences on an operation's route are copied (once each), which
    keeps the cost of an edit proportional to its route rather than to the whole file.
    """
    result = list(documents)
    owned: dict[int, Any] = {}
    for operation in operations:
        _apply_to_data(result, operation, owned)
    return result


def _writable(result: list[Any], document: int, route: Route, owned: dict[int, Any]) -> Any:
    """The value at ``route`` of ``result[document]``, with it and every mapping or sequence
    above it copied the first time an operation goes there (``owned`` keeps the copies, by
    identity, alive for as long as the computation runs)."""

    def own(value: Any) -> Any:
        if not isinstance(value, dict | list) or id(value) in owned:
            return value
        copied = dict(value) if isinstance(value, dict) else list(value)
        owned[id(copied)] = copied
        return copied

    node = result[document] = own(result[document])
    for key in route:
        child = own(node[key])
        node[key] = child
        node = child
    return node


def _apply_to_data(result: list[Any], operation: Primitive, owned: dict[int, Any]) -> None:
    doc = operation.document
    route = operation.route
    if isinstance(operation, SetComment):
        return
    if isinstance(operation, RewriteFragment):
        parent = _writable(result, doc, route[:-1], owned) if route else None
        value = result[doc] if parent is None else parent[route[-1]]
        rewritten = value.replace(operation.fragment, operation.replacement, 1)
        if parent is None:
            result[doc] = rewritten
        else:
            parent[route[-1]] = rewritten
        return
    if isinstance(operation, Replace):
        if not route:
            result[doc] = normalise(operation.value)
        else:
            _writable(result, doc, route[:-1], owned)[route[-1]] = normalise(operation.value)
    elif isinstance(operation, Add):
        if route:
            parent = _writable(result, doc, route[:-1], owned)
            if parent[route[-1]] is None:
                parent[route[-1]] = {}
        _writable(result, doc, route, owned)[operation.key] = normalise(operation.value)
    elif isinstance(operation, Remove):
        del _writable(result, doc, route[:-1], owned)[route[-1]]
    else:
        _writable(result, doc, route, owned).append(normalise(operation.value))


def check(
    before: YamlDocument,
    after: YamlDocument,
    expected: list[Any],
    operation: Primitive,
    edit: Splice,
) -> None:
    """Raise :class:`GuardError` unless ``after`` is exactly ``expected`` with comments kept."""
    check_together(before, after, expected, [operation], [edit])


def check_together(
    before: YamlDocument,
    after: YamlDocument,
    expected: list[Any],
    operations: Sequence[Primitive],
    edits: Sequence[Splice],
) -> None:
    """:func:`check` for several splices made at once: ``after`` must be exactly ``expected``
    (every operation's effect and nothing else), keep every comment outside the spliced
    ranges, and carry each comment an operation sets on its value's line.

    ``edits`` are sorted by position and do not overlap.
    """
    actual = after.roots_data()
    if not strict_equal(actual, expected):
        routes = ", ".join(format_route(operation.route) for operation in operations[:3])
        more = f" and {len(operations) - 3} more" if len(operations) > 3 else ""
        raise GuardError(f"the edit would change more than {routes}{more}; refused")
    starts = [edit.start for edit in edits]

    def spliced(index: int) -> bool:
        at = bisect.bisect_right(starts, index) - 1
        return at >= 0 and index < edits[at].end

    kept = Counter(text for start, text in before.comments() if not spliced(start))
    now = Counter(text for _, text in after.comments())
    lost = kept - now
    if lost:
        raise GuardError(f"the edit would drop the comment {next(iter(lost))!r}; refused")
    for operation in operations:
        if isinstance(operation, SetComment) and operation.comment:
            node = after.resolve(operation.route, operation.document)
            line = after.line_of(after.content_end(node))
            if after.comment_on_line(line) != f"# {operation.comment}":
                raise GuardError("the comment did not land on the value's line; refused")
