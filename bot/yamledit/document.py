"""Parse YAML text into a position-aware node tree, without ever re-serialising it.

The tree is built from ruamel.yaml's *events* (not its round-trip objects) so every node knows
its exact character span in the text, its style, its anchor, and whether it is an alias
occurrence. Offsets are indexes into the normalised text (BOM removed, CRLF turned into LF);
:class:`SourceText` converts back on output, so byte versus character offsets never get mixed.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)
from ruamel.yaml.nodes import ScalarNode

BOM = "\ufeff"

#: Upper bound on the nodes visited when expanding aliases into plain data ("billion laughs").
MAX_EXPANDED_NODES = 200_000

Key = str | int
Route = tuple[Key, ...]


class YamlParseError(Exception):
    """The text is not YAML mendbot can edit; ``line``/``column`` are 1-based when known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column

    def __str__(self) -> str:
        if self.line is None:
            return self.message
        return f"{self.line}:{self.column}: {self.message}"


@dataclass(frozen=True)
class SourceText:
    """Text split into its editable body and the framing that must survive edits.

    ``body`` has no BOM and only ``\\n`` line breaks; :meth:`restore` puts back the BOM and the
    original line breaks.
    """

    body: str
    bom: bool
    crlf: bool

    @classmethod
    def from_text(cls, text: str) -> SourceText:
        """Normalise ``text``; raises :class:`YamlParseError` on mixed or bare-CR line breaks."""
        bom = text.startswith(BOM)
        if bom:
            text = text[1:]
        crlf_count = text.count("\r\n")
        lone_cr = text.count("\r") - crlf_count
        if lone_cr:
            raise YamlParseError("bare carriage returns (\\r) as line breaks are not supported")
        if crlf_count:
            if text.count("\n") != crlf_count:
                raise YamlParseError(
                    "mixed CRLF and LF line endings; normalise the file's line endings first"
                )
            text = text.replace("\r\n", "\n")
        return cls(body=text, bom=bom, crlf=bool(crlf_count))

    def restore(self, body: str) -> str:
        """Return ``body`` with this text's BOM and line-break style."""
        if self.crlf:
            body = body.replace("\n", "\r\n")
        return (BOM if self.bom else "") + body


@dataclass(eq=False)
class Node:
    """A parsed YAML node and its span ``[start, end)`` in the normalised text."""

    start: int
    end: int
    line: int
    column: int
    anchor: str | None
    tag: str | None


@dataclass(eq=False, slots=True)
class Scalar(Node):
    """A scalar; ``style`` is None (plain), ``'`` , ``"``, ``|`` or ``>``."""

    value: str = ""
    style: str | None = None
    implicit: tuple[bool, bool] = (True, False)


@dataclass(eq=False, slots=True)
class Mapping(Node):
    """A mapping in block or flow style, with its pairs in document order."""

    flow: bool = False
    pairs: list[tuple[Node, Node]] = field(default_factory=list)

    def get(self, key: str) -> tuple[Node, Node] | None:
        """The (key node, value node) pair whose key is the scalar ``key``, if any."""
        for knode, vnode in self.pairs:
            if isinstance(knode, Scalar) and knode.value == key:
                return knode, vnode
        return None


@dataclass(eq=False, slots=True)
class Sequence(Node):
    """A sequence in block or flow style."""

    flow: bool = False
    items: list[Node] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class Alias(Node):
    """An alias occurrence ``*name``; ``target`` is the anchored node it refers to."""

    target: Node | None = None


class RouteError(Exception):
    """A route does not lead to a node that can be edited; the message says why."""


_RESOLVER = YAML(typ="rt").resolver
# The pure safe parser: the round-trip parser inserts comment markers (\x07) into folded
# scalars, and building a YAML() per file costs a plug-in search on disk.
_PARSER = YAML(typ="safe", pure=True)

try:  # libyaml through ruamel.yaml.clib: the same events, about twenty times faster
    import ruamel.yaml.cyaml as _cyaml

    _CParser: Any = getattr(_cyaml, "CParser", None)
except ImportError:  # pragma: no cover - exercised where the C extension is unavailable
    _CParser = None


def _events(text: str) -> list[Event]:
    """All parser events of ``text``: libyaml when available, else the pure parser.

    Anything libyaml rejects is parsed again by the pure parser, whose error messages and
    marks are the ones users see; the two agree on events for valid input (tested).
    """
    if _CParser is not None:
        parser = _CParser(text)
        try:
            # get_event() returns None once the stream has ended.
            events: list[Event] = list(iter(parser.get_event, None))
            return events
        except YAMLError:
            pass
        finally:
            parser.dispose()
    return list(_PARSER.parse(text))


_STR_TAG = "tag:yaml.org,2002:str"


@functools.lru_cache(maxsize=65536)
def _resolve_plain(value: str, implicit: tuple[bool, bool]) -> str:
    # Workflows repeat the same keys and values (`runs-on`, `ubuntu-latest`): memoised.
    return str(_RESOLVER.resolve(ScalarNode, value, implicit))


class _TreeBuilder:
    """Builds :class:`Node` trees from a stream of ruamel.yaml events.

    Besides the trees it records what :class:`YamlDocument` would otherwise find by walking
    them again: every scalar (in event order), whether any alias occurs, how many nodes were
    built, and whether some mapping may repeat a key.
    """

    def __init__(self, events: Iterator[Event]) -> None:
        self.events = events
        self.anchors: dict[str, Node] = {}
        self.versions: list[tuple[int, int] | None] = []
        self.scalars: list[Scalar] = []
        self.nodes = 0
        self.aliases = False
        #: Some mapping has two scalar keys with the same text (possibly ``<<``): only then
        #: does the exact duplicate-key check need to walk the trees.
        self.maybe_duplicates = False

    def documents(self) -> list[Node]:
        docs: list[Node] = []
        for event in self.events:
            if isinstance(event, DocumentStartEvent):
                self.anchors = {}
                version = getattr(event, "version", None)
                self.versions.append((int(version[0]), int(version[1])) if version else None)
                docs.append(self._node(next(self.events)))
                end = next(self.events)
                assert isinstance(end, DocumentEndEvent)  # noqa: S101 - parser invariant
            elif isinstance(event, StreamStartEvent | StreamEndEvent):
                continue
        return docs

    def _node(self, event: Any) -> Node:
        # The hot loop of every parse: dispatch on the exact event class (held in a local,
        # which the type checker cannot narrow through, hence Any) and pass fields
        # positionally (Node's field order: start, end, line, column, anchor, tag).
        self.nodes += 1
        kind = type(event)
        mark = event.start_mark
        node: Node
        if kind is ScalarEvent:
            value = event.value
            implicit = event.implicit
            implicit = tuple(implicit) if implicit else (True, False)
            ctag = event.ctag
            tag = None if ctag is None else str(ctag)
            if not tag or tag == "!":
                tag = _resolve_plain(value, implicit) if implicit[0] else _STR_TAG
            scalar = Scalar(
                mark.index,
                event.end_mark.index,
                mark.line,
                mark.column,
                event.anchor,
                tag,
                value,
                event.style or None,  # libyaml says "" for plain
                implicit,
            )
            self.scalars.append(scalar)
            node = scalar
        elif kind is MappingStartEvent:
            mapping = Mapping(
                mark.index,
                event.end_mark.index,
                mark.line,
                mark.column,
                event.anchor,
                event.tag,
                bool(event.flow_style),
            )
            node = mapping
            pairs = mapping.pairs
            events = self.events
            build = self._node
            for key_event in events:
                if type(key_event) is MappingEndEvent:
                    mapping.end = key_event.end_mark.index
                    break
                key = build(key_event)
                pairs.append((key, build(next(events))))
            if len(pairs) > 1 and not self.maybe_duplicates:
                keys = [k.value for k, _ in pairs if isinstance(k, Scalar)]
                self.maybe_duplicates = len(set(keys)) != len(keys)
        elif kind is SequenceStartEvent:
            seq = Sequence(
                mark.index,
                event.end_mark.index,
                mark.line,
                mark.column,
                event.anchor,
                event.tag,
                bool(event.flow_style),
            )
            node = seq
            items = seq.items
            events = self.events
            build = self._node
            for item_event in events:
                if type(item_event) is SequenceEndEvent:
                    seq.end = item_event.end_mark.index
                    break
                items.append(build(item_event))
        elif kind is AliasEvent:
            self.aliases = True
            target = self.anchors.get(str(event.anchor))
            if target is None:
                raise YamlParseError(
                    f"undefined alias *{event.anchor}", mark.line + 1, mark.column + 1
                )
            return Alias(
                mark.index,
                event.end_mark.index,
                mark.line,
                mark.column,
                event.anchor,
                None,
                target,
            )
        else:
            raise YamlParseError(f"unexpected YAML event {type(event).__name__}")
        if node.anchor is not None:
            self.anchors[node.anchor] = node
        return node


_NEWLINE = re.compile("\n")
_COMMENT_START = re.compile(r"(?:^|(?<=[ \t]))#", re.MULTILINE)


#: How many recently parsed texts :meth:`YamlDocument.parse` remembers.
_RECENT_PARSE_LIMIT = 8
_RECENT_PARSES: OrderedDict[tuple[type[YamlDocument], str], YamlDocument] = OrderedDict()


class YamlDocument:
    """A parsed YAML stream over normalised text, with positions, comments and plain data.

    Construct with :meth:`parse`; it raises :class:`YamlParseError` (with line and column) for
    anything that is not well-formed YAML, and for duplicate keys, which make edits ambiguous.
    """

    def __init__(
        self,
        text: str,
        roots: list[Node],
        versions: list[tuple[int, int] | None] | None = None,
        scalars: list[Scalar] | None = None,
        plain: bool = False,
    ) -> None:
        """``scalars`` (every scalar of ``roots``, in any order) spares a walk of the trees;
        ``plain`` promises that ``roots`` hold no alias and at most
        :data:`MAX_EXPANDED_NODES` nodes, so :meth:`data` needs no expansion budget."""
        self.text = text
        self.roots = roots
        #: Per document, the version its ``%YAML`` directive declares (None without one).
        #: Scalars are always resolved under YAML 1.2's core schema.
        self.versions = versions if versions is not None else [None] * len(roots)
        self._line_starts = [0] + [m.end() for m in _NEWLINE.finditer(text)]
        self._scalars = scalars
        self._plain = plain
        # Built on first use: only comment lookups need them, and most documents have none.
        self._spans: tuple[list[tuple[int, int]], list[int]] | None = None
        # Whole-document style facts, asked once per planned edit: computed once per parse.
        self._style: dict[str, Any] = {}
        # An edit's guard reads them for the text before and after the edit, and the text
        # after one edit is the text before the next: computed once per parse.
        self._comments: tuple[tuple[int, str], ...] | None = None
        self._roots_data: list[Any] | None = None

    def _scalar_spans(self) -> tuple[list[tuple[int, int]], list[int]]:
        """The content spans of all scalars, sorted, and their start indexes."""
        if self._spans is None:
            scalars: Iterator[Node] | list[Scalar] = (
                self._scalars if self._scalars is not None else self._walk_all()
            )
            spans = sorted(self._content_span(n) for n in scalars if isinstance(n, Scalar))
            self._spans = spans, [s for s, _ in spans]
        return self._spans

    def _content_span(self, node: Scalar) -> tuple[int, int]:
        """The span of a scalar's text; a block scalar's header line (``|-  # comment``) is
        not part of it, so a comment there counts as a comment."""
        if node.style in ("|", ">"):
            header_end = self.text.find("\n", node.start)
            if 0 <= header_end < node.end:
                return header_end + 1, node.end
        return node.start, node.end

    @classmethod
    def parse(cls, text: str, *, remember: bool = True) -> YamlDocument:
        """Parse normalised ``text`` (see :class:`SourceText`).

        The last few texts parsed are remembered: fixing a file parses each intermediate text
        in turn as the edit's result, as the workflow the rules re-check and as the next edit's
        input. A document is never changed after parsing, so sharing it is safe. With
        ``remember=False`` the text is parsed without looking there or being kept.
        """
        if not remember:
            return cls._parse(text)
        key = (cls, text)
        found = _RECENT_PARSES.get(key)
        if found is not None:
            _RECENT_PARSES.move_to_end(key)
            return found
        doc = cls._parse(text)
        _RECENT_PARSES[key] = doc
        if len(_RECENT_PARSES) > _RECENT_PARSE_LIMIT:
            _RECENT_PARSES.popitem(last=False)
        return doc

    @classmethod
    def _parse(cls, text: str) -> YamlDocument:
        try:
            # Materialised at once so the shared parser is never re-entered mid-stream.
            events = _events(text)
            builder = _TreeBuilder(iter(events))
            roots = builder.documents()
        except MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            problem = exc.problem or exc.context or "invalid YAML"
            if mark is None:
                raise YamlParseError(problem) from None
            raise YamlParseError(problem, mark.line + 1, mark.column + 1) from None
        except YAMLError as exc:
            raise YamlParseError(str(exc).strip()) from None
        doc = cls(
            text,
            roots,
            builder.versions,
            builder.scalars,
            plain=not builder.aliases and builder.nodes <= MAX_EXPANDED_NODES,
        )
        if builder.maybe_duplicates:
            doc._check_duplicate_keys()
        return doc

    # -- navigation --------------------------------------------------------------------------

    def _walk_all(self) -> Iterator[Node]:
        stack: list[Node] = list(self.roots)
        while stack:
            node = stack.pop()
            yield node
            if isinstance(node, Mapping):
                for k, v in node.pairs:
                    stack.extend((k, v))
            elif isinstance(node, Sequence):
                stack.extend(node.items)

    def _check_duplicate_keys(self) -> None:
        for node in self._walk_all():
            if isinstance(node, Mapping):
                seen: set[str] = set()
                for knode, _ in node.pairs:
                    if isinstance(knode, Scalar):
                        if knode.value in seen and knode.value != "<<":
                            raise YamlParseError(
                                f"duplicate key {knode.value!r}", knode.line + 1, knode.column + 1
                            )
                        seen.add(knode.value)

    def root(self, document: int = 0) -> Node | None:
        """The root node of the ``document``-th document, or None for an empty stream."""
        return self.roots[document] if document < len(self.roots) else None

    def lookup(self, route: Route, document: int = 0) -> Node | None:
        """The node at ``route`` following aliases (for reading), or None if absent."""
        node = self.root(document)
        for key in route:
            if isinstance(node, Alias):
                node = node.target
            if isinstance(node, Mapping) and isinstance(key, str):
                pair = node.get(key)
                node = pair[1] if pair else None
            elif isinstance(node, Sequence) and isinstance(key, int) and 0 <= key < len(node.items):
                node = node.items[key]
            else:
                return None
        return node

    def resolve(self, route: Route, document: int = 0) -> Node:
        """The node at ``route`` for editing.

        Raises :class:`RouteError` when the route is absent or passes through an alias: edits
        are never spliced relative to an alias, because they would land at the anchor and
        change every other place that uses it.
        """
        node = self.root(document)
        walked: list[Key] = []
        for key in route:
            if isinstance(node, Alias):
                raise RouteError(
                    f"{_fmt(tuple(walked))} is an alias (*{node.anchor}); "
                    "edit the anchored node or fix this by hand"
                )
            if isinstance(node, Mapping) and isinstance(key, str):
                pair = node.get(key)
                if pair is None:
                    raise RouteError(f"{_fmt((*walked, key))} does not exist")
                node = pair[1]
            elif isinstance(node, Sequence) and isinstance(key, int):
                if not 0 <= key < len(node.items):
                    raise RouteError(f"{_fmt((*walked, key))} does not exist")
                node = node.items[key]
            else:
                raise RouteError(f"{_fmt(tuple(walked))} is not a container for {key!r}")
            walked.append(key)
        if node is None:
            raise RouteError("the document is empty")
        if isinstance(node, Alias):
            raise RouteError(
                f"{_fmt(route)} is an alias (*{node.anchor}); edit the anchored node instead"
            )
        return node

    def key_node(self, route: Route, document: int = 0) -> Node | None:
        """The key node of the mapping entry at ``route`` (None for sequence items/root)."""
        if not route or not isinstance(route[-1], str):
            return None
        parent = self.lookup(route[:-1], document)
        if isinstance(parent, Alias):
            parent = parent.target
        if isinstance(parent, Mapping):
            pair = parent.get(route[-1])
            return pair[0] if pair else None
        return None

    # -- text geometry -----------------------------------------------------------------------

    def line_of(self, index: int) -> int:
        """0-based line number of a character index."""
        return bisect.bisect_right(self._line_starts, index) - 1

    def line_start(self, index: int) -> int:
        """Index of the first character of the line holding ``index``."""
        return self._line_starts[self.line_of(index)]

    def line_end(self, index: int) -> int:
        """Index of the newline ending the line holding ``index`` (or the text's end)."""
        pos = self.text.find("\n", index)
        return len(self.text) if pos < 0 else pos

    def content_end(self, node: Node) -> int:
        """Index just after the last character that belongs to ``node``'s own content.

        Block collections end at their last child's content (their parser end mark may lie
        beyond trailing comments); block scalars end at their last non-blank character. A
        mapping whose last value is empty ends at that entry's ``:``: the parser's mark for
        an empty value may lie at the next token, lines further on.
        """
        if isinstance(node, Mapping) and not node.flow and node.pairs:
            knode, vnode = node.pairs[-1]
            if isinstance(vnode, Scalar) and vnode.start == vnode.end:
                return self.after_colon(knode)
            return self.content_end(vnode)
        if isinstance(node, Sequence) and not node.flow and node.items:
            return self.content_end(node.items[-1])
        if isinstance(node, Scalar) and node.style in ("|", ">"):
            end = node.end
            while end > node.start and self.text[end - 1] in " \t\n":
                end -= 1
            return end
        return node.end

    def after_colon(self, key: Node) -> int:
        """Index just past the ``:`` that follows a block mapping key (``key.end`` if none)."""
        pos = self.text.find(":", key.end)
        if pos < 0 or self.text[key.end : pos].strip():
            return key.end
        return pos + 1

    def in_scalar(self, index: int) -> bool:
        """Whether ``index`` lies inside the span of some scalar."""
        spans, starts = self._scalar_spans()
        pos = bisect.bisect_right(starts, index) - 1
        return pos >= 0 and spans[pos][0] <= index < spans[pos][1]

    def _comments_between(self, start: int, end: int) -> Iterator[tuple[int, str]]:
        """Comments starting in ``[start, end)``.

        A ``#`` inside a scalar (``"a #b"``) is not a comment, but must not hide a real comment
        later on the same line, so candidates are examined one by one; a real comment runs to
        the end of its line.
        """
        pos = start
        while True:
            m = _COMMENT_START.search(self.text, pos, end)
            if m is None:
                return
            if self.in_scalar(m.start()):
                pos = m.start() + 1
                continue
            eol = self.line_end(m.start())
            yield m.start(), self.text[m.start() : eol]
            pos = eol + 1

    def comments(self) -> list[tuple[int, str]]:
        """Every comment as (start index, text including ``#``), in document order."""
        if self._comments is None:
            self._comments = tuple(self._comments_between(0, len(self.text)))
        return list(self._comments)

    def comment_on_line(self, line: int) -> str | None:
        """The comment on 0-based ``line``, if any."""
        if not 0 <= line < len(self._line_starts):
            return None
        start = self._line_starts[line]
        for _, text in self._comments_between(start, self.line_end(start)):
            return text
        return None

    def comment_gap(self) -> str:
        """The spaces this file most often puts before a trailing comment (default two)."""
        if "comment_gap" not in self._style:
            self._style["comment_gap"] = self._comment_gap()
        gap: str = self._style["comment_gap"]
        return gap

    def _comment_gap(self) -> str:
        counts: dict[str, int] = {}
        for start, _ in self.comments():
            line_start = self.line_start(start)
            before = self.text[line_start:start]
            if before.strip():
                gap = before[len(before.rstrip()) :]
                if gap in (" ", "  "):
                    counts[gap] = counts.get(gap, 0) + 1
        return max(counts, key=lambda g: (counts[g], len(g))) if counts else "  "

    def indent_step(self) -> int:
        """The indentation step this file uses for nested block mappings (default 2).

        Measured from each key to the first key of the block mapping nested under it, the
        way the engine writes a nested mapping (the key's column plus the step): an explicit
        key (``? k``) sits right of its mapping's column, and measuring from there keeps
        what the engine inserts reading back as the step it was written with, so an edit
        never changes the step a later edit is written with.
        """
        if "indent_step" not in self._style:
            self._style["indent_step"] = self._indent_step()
        step: int = self._style["indent_step"]
        return step

    def _indent_step(self) -> int:
        counts: dict[int, int] = {}
        for node in self._walk_all():
            if isinstance(node, Mapping) and not node.flow:
                for key, value in node.pairs:
                    if isinstance(value, Mapping) and not value.flow and value.pairs:
                        step = value.pairs[0][0].column - key.column
                        if step > 0:
                            counts[step] = counts.get(step, 0) + 1
        return max(counts, key=lambda s: counts[s]) if counts else 2

    def sequence_offset(self) -> int | None:
        """How far block sequences under a key are indented past it (None when unknown)."""
        if "sequence_offset" not in self._style:
            self._style["sequence_offset"] = self._sequence_offset()
        offset: int | None = self._style["sequence_offset"]
        return offset

    def _sequence_offset(self) -> int | None:
        for node in self._walk_all():
            if isinstance(node, Mapping) and not node.flow:
                for knode, value in node.pairs:
                    if isinstance(value, Sequence) and not value.flow and value.items:
                        return value.column - knode.column
        return None

    # -- plain data --------------------------------------------------------------------------

    def data(self, document: int = 0) -> Any:
        """Plain Python data of a document, expanding aliases up to :data:`MAX_EXPANDED_NODES`.

        Raises :class:`YamlParseError` when expansion exceeds the bound (an alias bomb).
        """
        root = self.root(document)
        if root is None:
            return None
        return _plain_data(root) if self._plain else to_data(root)

    def roots_data(self) -> list[Any]:
        """:func:`to_data` of every document, computed once per parse and shared: callers
        must not change it (copy it first, as :func:`bot.yamledit.guard.expected_after_all`
        does)."""
        if self._roots_data is None:
            self._roots_data = [to_data(root) for root in self.roots]
        return self._roots_data


def to_data(node: Node, budget: list[int] | None = None) -> Any:
    """Convert a node to plain data; raises :class:`YamlParseError` past the expansion budget."""
    if budget is None:
        budget = [MAX_EXPANDED_NODES]
    budget[0] -= 1
    if budget[0] < 0:
        raise YamlParseError(
            f"aliases expand to more than {MAX_EXPANDED_NODES} nodes (an alias bomb?)",
            node.line + 1,
            node.column + 1,
        )
    if isinstance(node, Alias):
        assert node.target is not None  # noqa: S101 - set by the builder
        return to_data(node.target, budget)
    if isinstance(node, Scalar):
        return scalar_value(node)
    if isinstance(node, Sequence):
        return [to_data(item, budget) for item in node.items]
    if isinstance(node, Mapping):
        result: dict[Any, Any] = {}
        for knode, vnode in node.pairs:
            result[_hashable(to_data(knode, budget))] = to_data(vnode, budget)
        return result
    raise TypeError(type(node))


def _plain_data(node: Node) -> Any:
    """:func:`to_data` of a tree without aliases whose size is within the budget."""
    if isinstance(node, Scalar):
        return node.value if node.tag == _STR_TAG else scalar_value(node)
    if isinstance(node, Mapping):
        result: dict[Any, Any] = {}
        for knode, vnode in node.pairs:
            key = _plain_data(knode)
            if isinstance(key, list | dict):
                key = _hashable(key)
            result[key] = _plain_data(vnode)
        return result
    if isinstance(node, Sequence):
        return [_plain_data(item) for item in node.items]
    return to_data(node)


def normalise(value: Any) -> Any:
    """Plain data as the parser would return it (tuples become lists)."""
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalise(v) for v in value]
    return value


def strict_equal(a: Any, b: Any) -> bool:
    """Equality that also compares scalar types (``1``, ``1.0`` and ``true`` all differ).

    Python's ``==`` makes ``1 == 1.0 == True``; deciding "already holds" with it would turn a
    needed edit into a silent no-op. Compare plain data only (see :func:`normalise`).
    """
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(strict_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(strict_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((repr(k), _hashable(v)) for k, v in value.items()))
    return value


_INFINITIES = {".inf": float("inf"), "+.inf": float("inf"), "-.inf": float("-inf")}


def scalar_value(node: Scalar) -> Any:
    """The Python value of a scalar under the YAML 1.2 core schema.

    Values of other tags are kept as ``(tag, text)`` so that two documents compare equal exactly
    when their scalars would construct equal values.
    """
    tag, text = node.tag, node.value
    if tag == "tag:yaml.org,2002:str":
        return text
    if tag == "tag:yaml.org,2002:null":
        return None
    if tag == "tag:yaml.org,2002:bool":
        return text.lower() == "true"
    if tag == "tag:yaml.org,2002:int":
        try:
            return int(text.replace("_", ""), 0)
        except ValueError:
            return (tag, text)
    if tag == "tag:yaml.org,2002:float":
        lowered = text.lower()
        if lowered in _INFINITIES:
            return _INFINITIES[lowered]
        if lowered == ".nan":
            return ("nan",)
        try:
            return float(text.replace("_", ""))
        except ValueError:
            return (tag, text)
    return (tag, text)


def _fmt(route: Route) -> str:
    return format_route(route)


def format_route(route: Route) -> str:
    """Human-readable route: ``jobs.build.steps[0].with``; the empty route is ``<root>``."""
    if not route:
        return "<root>"
    out = ""
    for key in route:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else key)
    return out
