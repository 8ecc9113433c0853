"""Every expression a workflow or action file holds, parsed, with the route of its value.

For rules that look at what an expression computes wherever it is written (``toJSON(secrets)``
in an ``env:``, a ``with:``, a job output): each ``${{ … }}`` of every string value, and the
bare expression of an ``if:`` (GitHub evaluates ``if:`` without a fence too). Keys are not
visited: GitHub never evaluates them. Expressions this parser does not understand are skipped
(the template rules report what they can of them).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bot.workflow.expression_tree import ExpressionError, Node, parse, parse_condition
from bot.workflow.model import Workflow
from bot.workflow.template_scan import expressions
from bot.yamledit.document import Route


@dataclass(frozen=True)
class ExpressionSite:
    """One parsed expression and where it is."""

    route: Route
    """The route of the string value holding it."""
    text: str
    """The expression as written, without the fence (``toJSON(secrets)``)."""
    tree: Node


def _strings(value: Any, route: Route) -> Iterator[tuple[Route, str]]:
    if isinstance(value, str):
        yield route, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*route, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*route, index))


def expression_sites(workflow: Workflow) -> Iterator[ExpressionSite]:
    """Every expression of ``workflow``, in document order."""
    for route, text in _strings(workflow.data, ()):
        if route and route[-1] == "if" and "${{" not in text:
            parsed = parse_condition(text)
            if parsed is not None:
                yield ExpressionSite(route, text.strip(), parsed[0])
            continue
        for found in expressions(text):
            try:
                tree = parse(found.inner)
            except ExpressionError:
                continue
            yield ExpressionSite(route, found.inner, tree)
