"""GitHub Actions expressions (``${{ … }}``) parsed into a tree with source spans.

Used by the condition rules (spoofable bot checks, cache toggles, dangerous triggers):
:func:`parse` turns an expression into a small tree whose every node knows its ``[start, end)``
span in the text it was parsed from, so a rule can rewrite one context reference in place and
leave the rest of the condition byte for byte. Context names are compared case-insensitively,
as GitHub does; index syntax (``github['actor']``) and dot syntax give the same path.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<number>-?(?:0x[0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?))
  | (?P<name>[A-Za-z_][A-Za-z0-9_-]*)
  | (?P<op>==|!=|<=|>=|&&|\|\||[<>!()\[\].,*])
    """,
    re.VERBOSE,
)

_FENCED = re.compile(r"^\s*\$\{\{(?P<inner>.*)\}\}\s*$", re.DOTALL)


class ExpressionError(ValueError):
    """The text is not an expression this parser understands."""


@dataclass(frozen=True)
class Node:
    """An expression node and its span in the parsed text."""

    start: int
    end: int


@dataclass(frozen=True)
class Literal(Node):
    """``'text'``, a number, ``true``/``false`` or ``null``."""

    value: str | float | bool | None


@dataclass(frozen=True)
class Context(Node):
    """A context reference such as ``github.event.pull_request.user.login``.

    ``parts`` are lower-cased; ``*`` stands for a ``.*`` filter and ``?`` for an index that
    is itself an expression.
    """

    parts: tuple[str, ...]
    base: Call | None = field(default=None, compare=False)
    """The call whose result is indexed (``fromJSON(x)`` of ``fromJSON(x).key``, whose
    ``parts`` are ``("<call>", "key")``); None for a plain context."""

    @property
    def path(self) -> str:
        """The dotted, lower-cased path (``github.actor``)."""
        return ".".join(self.parts)


@dataclass(frozen=True)
class Call(Node):
    """A function call; ``name`` is lower-cased."""

    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Unary(Node):
    """``!operand``."""

    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    """``left <op> right`` for ``== != < <= > >= && ||``."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    start: int
    end: int


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise ExpressionError(f"unexpected character {text[pos]!r} at offset {pos}")
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(_Token(kind, match.group(), match.start(), match.end()))
        pos = match.end()
    return tokens


class _Parser:
    """Recursive descent over GitHub's precedence: ``||`` < ``&&`` < equality < comparison
    < ``!`` < member access."""

    _LEVELS: tuple[tuple[str, ...], ...] = (("||",), ("&&",), ("==", "!="), ("<", "<=", ">", ">="))

    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self, *texts: str) -> bool:
        return self.pos < len(self.tokens) and self.tokens[self.pos].text in texts

    def take(self) -> _Token:
        if self.pos >= len(self.tokens):
            raise ExpressionError("unexpected end of expression")
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def expect(self, text: str) -> _Token:
        token = self.take()
        if token.text != text:
            raise ExpressionError(f"expected {text!r}, found {token.text!r}")
        return token

    def parse(self) -> Node:
        node = self.binary(0)
        if self.pos != len(self.tokens):
            raise ExpressionError(f"unexpected {self.tokens[self.pos].text!r}")
        return node

    def binary(self, level: int) -> Node:
        if level == len(self._LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while self.peek(*self._LEVELS[level]):
            op = self.take().text
            right = self.binary(level + 1)
            left = Binary(left.start, right.end, op, left, right)
        return left

    def unary(self) -> Node:
        if self.peek("!"):
            bang = self.take()
            operand = self.unary()
            return Unary(bang.start, operand.end, operand)
        return self.postfix(self.primary())

    def primary(self) -> Node:
        token = self.take()
        if token.kind == "string":
            return Literal(token.start, token.end, token.text[1:-1].replace("''", "'"))
        if token.kind == "number":
            text = token.text.lower()
            if "0x" in text:
                value = float(int(text.replace("0x", ""), 16)) * (-1 if text[0] == "-" else 1)
            else:
                value = float(text)
            return Literal(token.start, token.end, value)
        if token.text == "(":
            inner = self.binary(0)
            close = self.expect(")")
            return _with_span(inner, token.start, close.end)
        if token.kind == "name":
            lowered = token.text.lower()
            if self.peek("("):
                self.take()
                args: list[Node] = []
                while not self.peek(")"):
                    args.append(self.binary(0))
                    if not self.peek(")"):
                        self.expect(",")
                close = self.expect(")")
                return Call(token.start, close.end, lowered, tuple(args))
            if lowered in ("true", "false"):
                return Literal(token.start, token.end, lowered == "true")
            if lowered == "null":
                return Literal(token.start, token.end, None)
            return Context(token.start, token.end, (lowered,))
        raise ExpressionError(f"unexpected {token.text!r}")

    def postfix(self, node: Node) -> Node:
        while self.peek(".", "["):
            if self.take().text == ".":
                part = self.take()
                if part.text == "*":
                    name = "*"
                elif part.kind == "name":
                    name = part.text.lower()
                else:
                    raise ExpressionError(f"unexpected {part.text!r} after '.'")
                node = _extend(node, name, part.end)
                continue
            if self.peek("*"):
                self.take()
                close = self.expect("]")
                node = _extend(node, "*", close.end)
                continue
            index = self.binary(0)
            close = self.expect("]")
            if isinstance(index, Literal) and isinstance(index.value, str):
                name = index.value.lower()
            elif isinstance(index, Literal) and isinstance(index.value, float):
                name = str(int(index.value))
            else:
                name = "?"
            node = _extend(node, name, close.end)
        return node


def _extend(node: Node, part: str, end: int) -> Node:
    if isinstance(node, Context):
        return Context(node.start, end, (*node.parts, part), node.base)
    # Member access on a call result (``fromJSON(x).key``): an opaque context that keeps the
    # call for the rules that look inside it.
    return Context(node.start, end, ("<call>", part), node if isinstance(node, Call) else None)


def _with_span(node: Node, start: int, end: int) -> Node:
    """``node`` re-spanned to include its parentheses (the children keep their own spans)."""
    if isinstance(node, Binary):
        return Binary(start, end, node.op, node.left, node.right)
    if isinstance(node, Unary):
        return Unary(start, end, node.operand)
    if isinstance(node, Call):
        return Call(start, end, node.name, node.args)
    if isinstance(node, Context):
        return Context(start, end, node.parts, node.base)
    if isinstance(node, Literal):
        return Literal(start, end, node.value)
    return node


def parse(text: str) -> Node:
    """Parse a bare expression (no ``${{ }}``); raises :class:`ExpressionError`.

    The trees of recent texts are shared: several rules read the same expressions, and
    fixing a file runs them again after each round. Trees are immutable, so sharing is safe.
    """
    parsed = _parsed(text)
    if isinstance(parsed, ExpressionError):
        raise ExpressionError(str(parsed))
    return parsed


@functools.lru_cache(maxsize=4096)
def _parsed(text: str) -> Node | ExpressionError:
    try:
        return _Parser(text).parse()
    except ExpressionError as exc:
        # Remembered too: a text the parser does not know is asked about as often.
        return exc


def parse_condition(value: str) -> tuple[Node, int] | None:
    """Parse an ``if:`` value: a bare expression or one wholly inside ``${{ … }}``.

    Returns the tree and the offset of the expression inside ``value`` (spans are relative to
    that offset), or None when ``value`` is not a single expression (text around a fence,
    several fences, or syntax this parser does not know).
    """
    match = _FENCED.match(value)
    if match is not None:
        inner, offset = match["inner"], match.start("inner")
        if "${{" in inner or "}}" in inner:
            return None
    elif "${{" in value:
        return None
    else:
        inner, offset = value, 0
    try:
        return parse(inner), offset
    except ExpressionError:
        return None


def fenced(text: str) -> str | None:
    """The bare expression of a value that is exactly one ``${{ … }}``, else None."""
    match = _FENCED.match(text)
    if match is None or "${{" in match["inner"] or "}}" in match["inner"]:
        return None
    return match["inner"]


def walk(node: Node) -> Iterator[Node]:
    """``node`` and every node below it, parents first."""
    yield node
    if isinstance(node, Call):
        for arg in node.args:
            yield from walk(arg)
    elif isinstance(node, Unary):
        yield from walk(node.operand)
    elif isinstance(node, Binary):
        yield from walk(node.left)
        yield from walk(node.right)


def contexts(node: Node) -> Iterator[Context]:
    """Every context reference in ``node``."""
    for child in walk(node):
        if isinstance(child, Context):
            yield child


# -- three-valued evaluation -----------------------------------------------------------------

Value = str | float | bool | None
"""A known value; an unknown one is :data:`UNKNOWN`."""


class Unknown:
    """The value of an expression that depends on something not known statically."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = Unknown()


def truthy(value: Value) -> bool:
    """GitHub's truthiness of a known value."""
    if isinstance(value, str):
        return value != ""
    if isinstance(value, float):
        return value != 0
    return bool(value)


def to_number(value: Value) -> float:
    """GitHub's conversion of a known value to a number (NaN when a string is not one)."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if value is None:
        return 0.0
    if isinstance(value, float):
        return value
    try:
        return float(value.strip() or "0")
    except ValueError:
        return float("nan")


def loose_equal(a: Value, b: Value) -> bool:
    """GitHub's loose equality: strings case-insensitively, mixed types as numbers."""
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    if type(a) is type(b):
        return a == b
    return to_number(a) == to_number(b)


def evaluate(
    node: Node, known: dict[str, Value], prefixes: dict[str, str] | None = None
) -> Value | Unknown:
    """Evaluate ``node`` where only the contexts in ``known`` have values.

    ``prefixes`` maps a context path to a lower-case prefix its value is known to start with
    (under a tag push ``github.ref`` starts with ``refs/tags/``), which decides ``startsWith``
    calls and equality with literals that lack the prefix. Anything else is :data:`UNKNOWN`,
    and unknowns propagate with three-valued (Kleene) logic. ``&&`` and ``||`` give the
    operand GitHub gives (``a || b`` is ``a`` when truthy, else ``b``); when only the result's
    truthiness is known (the left unknown, the right decisive) they give that boolean.
    """
    prefixes = prefixes or {}
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Context):
        return known.get(node.path, UNKNOWN)
    if isinstance(node, Unary):
        inner = evaluate(node.operand, known, prefixes)
        return UNKNOWN if isinstance(inner, Unknown) else not truthy(inner)
    if isinstance(node, Binary):
        return _evaluate_binary(node, known, prefixes)
    if isinstance(node, Call):
        return _evaluate_call(node, known, prefixes)
    return UNKNOWN


def _evaluate_binary(
    node: Binary, known: dict[str, Value], prefixes: dict[str, str]
) -> Value | Unknown:
    left = evaluate(node.left, known, prefixes)
    right = evaluate(node.right, known, prefixes)
    if node.op in ("&&", "||"):
        # GitHub returns an operand, not a boolean: `a || b` is a when a is truthy, else b
        # (`inputs.sha || github.sha`). With the left unknown only the truthiness may be.
        decisive = node.op == "||"
        if not isinstance(left, Unknown):
            return left if truthy(left) == decisive else right
        if not isinstance(right, Unknown) and truthy(right) == decisive:
            return decisive
        return UNKNOWN
    if node.op in ("==", "!="):
        if isinstance(left, Unknown) or isinstance(right, Unknown):
            if not _prefix_mismatch(node, prefixes):
                return UNKNOWN
            return node.op == "!="
        equal = loose_equal(left, right)
        return equal if node.op == "==" else not equal
    return UNKNOWN


def _prefix_mismatch(node: Binary, prefixes: dict[str, str]) -> bool:
    """Whether one side is a context with a known prefix that the other, a literal, lacks."""
    for ctx, lit in ((node.left, node.right), (node.right, node.left)):
        if isinstance(ctx, Context) and isinstance(lit, Literal) and isinstance(lit.value, str):
            prefix = prefixes.get(ctx.path)
            if prefix is not None and not lit.value.lower().startswith(prefix):
                return True
    return False


def _evaluate_call(
    node: Call, known: dict[str, Value], prefixes: dict[str, str]
) -> Value | Unknown:
    if node.name != "startswith" or len(node.args) != 2:
        return UNKNOWN
    subject, wanted = node.args
    if (
        isinstance(subject, Context)
        and isinstance(wanted, Literal)
        and isinstance(wanted.value, str)
        and subject.path in prefixes
    ):
        prefix, lowered = prefixes[subject.path], wanted.value.lower()
        if prefix.startswith(lowered):
            return True
        if not lowered.startswith(prefix):
            return False
    values = [evaluate(arg, known, prefixes) for arg in node.args]
    if isinstance(values[0], str) and isinstance(values[1], str):
        return values[0].lower().startswith(values[1].lower())
    return UNKNOWN
