"""Exact evaluation of expressions made only of literals (``format('{0}', 'a')``, ``1 != 2``).

Unlike :func:`bot.workflow.expression_tree.evaluate` (three-valued, truthiness only), this
computes the value GitHub would compute, operator results included (``'' || 'b'`` is ``'b'``),
so the expression can be replaced by that value without changing what the workflow does. Only
functions whose result is a scalar are folded: ``fromJSON`` and ``toJSON`` are not (their
value is structured or formatted in ways a literal cannot always spell).
"""

from __future__ import annotations

import re

from bot.workflow import expression_tree as expr
from bot.workflow.template_scan import expressions

Value = expr.Value


class NotConstant(Exception):
    """The expression depends on a context, or uses a function this module does not fold."""


def fold(node: expr.Node) -> Value:
    """The value of ``node``; raises :class:`NotConstant` when it is not a constant."""
    if isinstance(node, expr.Literal):
        return node.value
    if isinstance(node, expr.Unary):
        return not expr.truthy(fold(node.operand))
    if isinstance(node, expr.Binary):
        return _binary(node)
    if isinstance(node, expr.Call):
        return _call(node)
    raise NotConstant(type(node).__name__)


def _binary(node: expr.Binary) -> Value:
    left = fold(node.left)
    if node.op == "&&":
        return fold(node.right) if expr.truthy(left) else left
    if node.op == "||":
        return left if expr.truthy(left) else fold(node.right)
    right = fold(node.right)
    if node.op in ("==", "!="):
        equal = expr.loose_equal(left, right)
        return equal if node.op == "==" else not equal
    if isinstance(left, str) and isinstance(right, str):
        a: str | float = left.lower()
        b: str | float = right.lower()
    else:
        a, b = expr.to_number(left), expr.to_number(right)
    comparisons = {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}  # type: ignore[operator]
    if node.op not in comparisons:
        raise NotConstant(node.op)
    return comparisons[node.op]


_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{(\d+)\}")


def _call(node: expr.Call) -> Value:
    args = [fold(arg) for arg in node.args]
    if node.name == "format" and args and isinstance(args[0], str):
        rest = [render(a) for a in args[1:]]

        def substitute(match: re.Match[str]) -> str:
            if match.group(1) is None:
                return match.group()[0]
            index = int(match.group(1))
            if index >= len(rest):
                raise NotConstant("format index out of range")
            return rest[index]

        return _PLACEHOLDER.sub(substitute, args[0])
    if node.name in ("startswith", "endswith", "contains") and len(args) == 2:
        subject, wanted = (render(a).lower() for a in args)
        if node.name == "startswith":
            return subject.startswith(wanted)
        if node.name == "endswith":
            return subject.endswith(wanted)
        return wanted in subject
    raise NotConstant(node.name)


def render(value: Value) -> str:
    """``value`` as the runner writes it into text (``true``, ``''`` for null, ``3``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return value


def literal(value: Value) -> str:
    """``value`` spelled as an expression literal (``'it''s'``, ``true``, ``null``, ``3``)."""
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if value is None:
        return "null"
    return render(value)


def constant_parts(node: expr.Node) -> list[expr.Node]:
    """The largest sub-expressions of ``node`` that are constants but not literals (an
    argument ``format('{0}', 'a')`` inside ``format('{0} {1}', github.x, …)``), outermost
    first; empty when ``node`` itself is constant (fold it whole) or nothing in it is."""
    found: list[expr.Node] = []

    def visit(child: expr.Node) -> None:
        if isinstance(child, expr.Literal | expr.Context):
            return
        try:
            value = fold(child)
        except NotConstant:
            for grandchild in _children(child):
                visit(grandchild)
            return
        if not isinstance(value, float) or value == value:  # NaN has no literal
            found.append(child)

    for child in _children(node):
        visit(child)
    return found


def _children(node: expr.Node) -> tuple[expr.Node, ...]:
    if isinstance(node, expr.Call):
        return node.args
    if isinstance(node, expr.Unary):
        return (node.operand,)
    if isinstance(node, expr.Binary):
        return (node.left, node.right)
    return ()


def substitute_constants(text: str) -> str:
    """``text`` with every constant ``${{ … }}`` replaced by what the runner writes for it, so
    that ``cu${{ '' }}rl`` reads as the ``curl`` it runs."""
    pieces: list[str] = []
    position = 0
    for found in expressions(text):
        try:
            value = render(fold(expr.parse(found.inner)))
        except (NotConstant, expr.ExpressionError):
            continue
        pieces.extend((text[position : found.start], value))
        position = found.end
    pieces.append(text[position:])
    return "".join(pieces)
