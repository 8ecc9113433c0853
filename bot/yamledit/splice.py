"""Turn one operation into one text splice at parsed positions.

Each function returns the :class:`Splice` to make, or None when the operation already holds.
Anything that cannot be spliced without guessing raises :class:`EditError` with the reason.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass

from bot.yamledit import render
from bot.yamledit.document import (
    Alias,
    Mapping,
    Node,
    Route,
    RouteError,
    Scalar,
    Sequence,
    YamlDocument,
    format_route,
    normalise,
    strict_equal,
    to_data,
)
from bot.yamledit.ops import Add, Append, Remove, Replace, SetComment


class EditError(Exception):
    """The operation cannot be applied safely; the message says why."""


@dataclass(frozen=True)
class Splice:
    """Replace ``text[start:end]`` with ``insert``."""

    start: int
    end: int
    insert: str

    def apply(self, text: str) -> str:
        """The text with this splice made."""
        return text[: self.start] + self.insert + text[self.end :]


def apply_all(text: str, edits: Iterable[Splice]) -> str:
    """The text with every splice made, in one pass.

    ``edits`` are sorted by position and pairwise apart (see :class:`SpanSet`); their offsets
    all refer to ``text``.
    """
    pieces: list[str] = []
    position = 0
    for edit in edits:
        pieces += (text[position : edit.start], edit.insert)
        position = edit.end
    pieces.append(text[position:])
    return "".join(pieces)


class SpanSet:
    """Splices that keep apart: none overlaps or touches another.

    Two insertions at one offset, or an insertion at the end of a replaced range, could be
    made in either order with different results, so they count as touching.
    """

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []

    def touches(self, edit: Splice) -> bool:
        """Whether ``edit`` overlaps or touches a splice of the set."""
        index = bisect.bisect_left(self._starts, edit.start)
        if index < len(self._starts) and self._starts[index] <= edit.end:
            return True
        return index > 0 and self._ends[index - 1] >= edit.start

    def add(self, edit: Splice) -> None:
        """Add ``edit``, which must not touch the set (see :meth:`touches`)."""
        index = bisect.bisect_left(self._starts, edit.start)
        self._starts.insert(index, edit.start)
        self._ends.insert(index, edit.end)


def _check_no_anchor(node: Node, what: str) -> None:
    if node.anchor is not None:
        raise EditError(f"{what} carries the anchor &{node.anchor}; edit it by hand")
    if node.tag and not node.tag.startswith("tag:yaml.org,2002:"):
        raise EditError(f"{what} has the explicit tag {node.tag}; edit it by hand")


def _colon_after(doc: YamlDocument, key: Node) -> int:
    """Index just past the ``:`` that follows a key node (only blanks may come between)."""
    pos = doc.after_colon(key)
    if pos == key.end:
        raise EditError("cannot locate the ':' after a key")
    return pos


def _child_indent(doc: YamlDocument, route: Route, document: int) -> int:
    """Column for entries of a new block mapping nested under the entry at ``route``."""
    key = doc.key_node(route, document)
    step = doc.indent_step()
    if key is not None:
        return key.column + step
    if route and isinstance(route[-1], int):
        item = doc.resolve(route, document)
        return item.column
    return 0


def replace(doc: YamlDocument, op: Replace) -> Splice | None:
    """Splice for :class:`Replace`."""
    node = doc.resolve(op.route, op.document)
    where = format_route(op.route)
    if strict_equal(to_data(node), normalise(op.value)):
        return None
    _check_no_anchor(node, where)
    if isinstance(op.value, dict | list):
        if isinstance(node, Mapping | Sequence) and node.flow:
            return Splice(node.start, node.end, render.flow(op.value))
        if isinstance(node, Scalar) and node.value != "" and node.style not in ("|", ">"):
            if not op.value:  # `write-all` → `{}`
                return Splice(node.start, node.end, render.flow(op.value))
            return _scalar_to_block(doc, op, node)
        if not (isinstance(node, Scalar) and node.value == "" and node.style is None):
            raise EditError(
                f"{where}: only scalars, empty values and flow collections can be replaced"
            )
        key = doc.key_node(op.route, op.document)
        if key is None:
            raise EditError(f"{where}: cannot place a block value here")
        colon = _colon_after(doc, key)
        indent = key.column + doc.indent_step()
        if isinstance(op.value, dict):
            body = "\n".join(
                render.block_entry(k, v, indent, doc.indent_step(), _seq_offset(doc))
                for k, v in op.value.items()
            )
        else:
            body = render.block_items(
                op.value, key.column + _seq_offset(doc), doc.indent_step(), _seq_offset(doc)
            )
        if not op.value:
            return Splice(colon, colon, " " + render.flow(op.value))
        eol = doc.line_end(colon)
        return Splice(eol, eol, "\n" + body)
    if not isinstance(node, Scalar):
        raise EditError(f"{where} is a collection; only scalars can be replaced in place")
    if node.style in ("|", ">"):
        return _replace_block_scalar(doc, node, op.value, where)
    text = render.scalar(op.value, node.style)
    if node.value == "" and node.style is None:
        key = doc.key_node(op.route, op.document)
        if key is None:
            raise EditError(f"{where}: cannot locate the empty value")
        colon = _colon_after(doc, key)
        return Splice(colon, colon, " " + text)
    return Splice(node.start, node.end, text)


def _replace_block_scalar(doc: YamlDocument, node: Scalar, value: object, where: str) -> Splice:
    """Replace a ``|``/``>`` scalar: strip its final newline by chomping (``|`` → ``|-``) when
    that is the whole change, otherwise write the one-line value in place of the block."""
    header_end = doc.line_end(node.start)
    header = doc.text[node.start : header_end].split("#", 1)[0].strip()
    if isinstance(value, str) and node.value == value + "\n" and not set(header) & {"+", "-"}:
        return Splice(node.start + 1, node.start + 1, "-")
    if isinstance(value, str) and "\n" in value:
        raise EditError(f"{where}: writing a multi-line block scalar is not supported")
    if doc.comment_on_line(doc.line_of(node.start)) is not None:
        raise EditError(f"{where}: the block scalar's header carries a comment; edit it by hand")
    return Splice(node.start, doc.content_end(node), render.scalar(value))


def _scalar_to_block(doc: YamlDocument, op: Replace, node: Scalar) -> Splice:
    """``key: scalar  # note`` → ``key:  # note`` followed by a block mapping or sequence."""
    key = doc.key_node(op.route, op.document)
    if key is None or node.style in ("|", ">"):
        raise EditError(f"{format_route(op.route)}: cannot place a block value here")
    colon = _colon_after(doc, key)
    if doc.line_of(node.start) != doc.line_of(colon):
        raise EditError(f"{format_route(op.route)}: the value is not on its key's line")
    eol = doc.line_end(node.end)
    tail = doc.text[node.end : eol]
    if tail.strip() and not tail.strip().startswith("#"):
        raise EditError(f"{format_route(op.route)} shares its line with other content")
    step, offset = doc.indent_step(), _seq_offset(doc)
    if isinstance(op.value, dict):
        body = "\n".join(
            render.block_entry(k, v, key.column + step, step, offset) for k, v in op.value.items()
        )
    else:
        body = render.block_items(list(op.value), key.column + offset, step, offset)
    return Splice(colon, eol, tail + "\n" + body)


def _seq_offset(doc: YamlDocument) -> int:
    offset = doc.sequence_offset()
    return doc.indent_step() if offset is None else offset


def written_style(doc: YamlDocument) -> tuple[int, int, str]:
    """The style the splices of ``doc`` write new text in, as read from ``doc``: the
    indentation step of nested mappings, the offset of block sequences under their key and
    the gap before a trailing comment."""
    return doc.indent_step(), _seq_offset(doc), doc.comment_gap()


def add(doc: YamlDocument, op: Add) -> Splice | None:
    """Splice for :class:`Add`."""
    node = doc.resolve(op.route, op.document)
    where = format_route(op.route)
    if isinstance(node, Scalar) and node.value == "" and node.style is None:
        return replace(doc, Replace(route=op.route, document=op.document, value={op.key: op.value}))
    if not isinstance(node, Mapping):
        raise EditError(f"{where} is not a mapping")
    existing = node.get(op.key)
    if existing is not None:
        if strict_equal(to_data(existing[1]), normalise(op.value)):
            return None
        raise EditError(f"{format_route((*op.route, op.key))} already exists with another value")
    step = doc.indent_step()
    anchor = None
    if op.before is not None:
        anchor = node.get(op.before)
        if anchor is None:
            raise EditError(f"{where} has no key {op.before!r} to insert before")
    if node.flow:
        entry = f"{render.scalar(op.key)}: {render.flow(op.value)}"
        if not node.pairs:
            return Splice(node.start + 1, node.end - 1, entry)
        last_key, last_value = node.pairs[-1]
        if isinstance(last_value, Scalar) and last_value.start == last_value.end:
            # `{b: }`: the empty value's mark is not reliable; and `b:,` would read as key "b:"
            last_end = doc.after_colon(last_key)
            sep = " , " if doc.text[last_end - 1] == ":" else ", "
            return Splice(last_end, last_end, sep + entry)
        last_end = doc.content_end(last_value)
        return Splice(last_end, last_end, f", {entry}")
    if not node.pairs:
        raise EditError(f"{where}: empty block mapping")
    first_key = node.pairs[0][0]
    indent = first_key.column
    entry = render.block_entry(op.key, op.value, indent, step, _seq_offset(doc))
    if anchor is not None:
        return _insert_before(doc, anchor[0], entry, where)
    last_value = node.pairs[-1][1]
    if isinstance(last_value, Alias):
        end = last_value.end
    else:
        end = doc.content_end(last_value)
        if last_value.start == end:  # empty value: end of the key's line
            end = _colon_after(doc, node.pairs[-1][0])
    eol = doc.line_end(end)
    return Splice(eol, eol, "\n" + entry)


def _insert_before(doc: YamlDocument, key: Node, entry: str, where: str) -> Splice:
    """Insert ``entry`` (whole lines) above ``key`` and above the comment lines that describe
    it, so a key's own comments stay attached to it."""
    start = doc.line_start(key.start)
    if doc.text[start : key.start].strip():
        raise EditError(f"{where}: the key {key} shares its line with a '-'; cannot insert before")
    while start > 0:
        previous = doc.line_start(start - 1)
        line = doc.text[previous : start - 1]
        if not line.strip().startswith("#") or len(line) - len(line.lstrip()) != key.column:
            break
        start = previous
    return Splice(start, start, entry + "\n")


def append(doc: YamlDocument, op: Append) -> Splice | None:
    """Splice for :class:`Append`."""
    node = doc.resolve(op.route, op.document)
    where = format_route(op.route)
    if not isinstance(node, Sequence):
        raise EditError(f"{where} is not a sequence")
    wanted = normalise(op.value)
    if any(strict_equal(to_data(item), wanted) for item in node.items):
        return None
    if node.flow:
        if not node.items:
            return Splice(node.start + 1, node.end - 1, render.flow(op.value))
        last = node.items[-1]
        end = last.end if isinstance(last, Alias) else doc.content_end(last)
        return Splice(end, end, f", {render.flow(op.value)}")
    dash = _dash_of(doc, node.items[0])
    last = node.items[-1]
    end = last.end if isinstance(last, Alias) else doc.content_end(last)
    eol = doc.line_end(end)
    item = render.block_item(op.value, dash, doc.indent_step(), _seq_offset(doc))
    return Splice(eol, eol, "\n" + item)


def _dash_of(doc: YamlDocument, item: Node) -> int:
    """Column of the ``-`` that introduces a block sequence item."""
    pos = item.start - 1
    while pos >= 0 and doc.text[pos] in " \t\n":
        pos -= 1
    if pos < 0 or doc.text[pos] != "-":
        raise EditError("cannot locate the '-' of a sequence item")
    return pos - doc.line_start(pos)


def remove(doc: YamlDocument, op: Remove) -> Splice | None:
    """Splice for :class:`Remove`."""
    if not op.route:
        raise EditError("cannot remove the document root")
    try:
        parent = doc.resolve(op.route[:-1], op.document)
    except RouteError:
        if doc.lookup(op.route, op.document) is None:
            return None
        raise
    key = op.route[-1]
    where = format_route(op.route)
    if isinstance(parent, Mapping) and isinstance(key, str):
        pair = parent.get(key)
        if pair is None:
            return None
        index = parent.pairs.index(pair)
        knode, vnode = pair
        _check_no_anchor(vnode, where)
        if parent.flow:
            return _remove_flow(doc, [(k, v) for k, v in parent.pairs], index, parent)
        return _remove_block(doc, op, parent, knode, vnode, index)
    if isinstance(parent, Sequence) and isinstance(key, int):
        if not 0 <= key < len(parent.items):
            return None
        item = parent.items[key]
        _check_no_anchor(item, where)
        if parent.flow:
            return _remove_flow(doc, [(i, i) for i in parent.items], key, parent)
        dash = item.start - 1
        while dash >= 0 and doc.text[dash] in " \t\n":
            dash -= 1
        end = item.end if isinstance(item, Alias) else doc.content_end(item)
        if len(parent.items) == 1:
            return _empty_collection(doc, op.route[:-1], op.document, parent, "[]", dash)
        if doc.text[doc.line_start(dash) : dash].strip():
            raise EditError(f"{where}: the item shares its line with other content")
        return Splice(doc.line_start(dash), doc.line_end(end) + 1, "")
    raise EditError(f"{format_route(op.route[:-1])} has no entry {key!r}")


def _remove_flow(
    doc: YamlDocument, entries: list[tuple[Node, Node]], index: int, parent: Node
) -> Splice:
    """Remove one entry of a flow collection, keeping comments on other entries' lines.

    In a multi-line flow collection a comment after an entry's ``,`` belongs to that entry's
    line, and full-line comments to what follows them: only the removed entry's own lines go.
    """
    text = doc.text
    start_node, value = entries[index]
    start = start_node.start
    end = value.end if isinstance(value, Alias) else doc.content_end(value)
    stop = end  # past the entry and its own ',' if one follows on its line
    while stop < len(text) and text[stop] in " \t":
        stop += 1
    stop = stop + 1 if stop < len(text) and text[stop] == "," else end
    head = doc.line_start(start)
    own_line = not text[head:start].strip()
    if index + 1 < len(entries):
        following = entries[index + 1][0].start
        if stop == end or doc.line_end(stop) >= following:  # the next entry is on this line
            return Splice(start, following, "")
        return Splice(head if own_line else start, doc.line_end(stop) + 1, "")
    multiline = "\n" in text[parent.start : parent.end]
    if index > 0 and not multiline:
        prev = entries[index - 1][1]
        prev_end = prev.end if isinstance(prev, Alias) else doc.content_end(prev)
        return Splice(prev_end, end, "")  # `, last` (a trailing comma stays)
    if not multiline:
        return Splice(parent.start + 1, parent.end - 1, "")
    # the last entry of a multi-line collection: the previous ',' stays (a trailing comma is
    # valid YAML), so the previous entry keeps its line and its comment
    rest = text[stop : doc.line_end(stop)].strip()
    if own_line and (not rest or rest.startswith("#")):
        return Splice(head, min(doc.line_end(stop) + 1, len(text)), "")
    return Splice(start, stop, "")


def _remove_block(
    doc: YamlDocument, op: Remove, parent: Mapping, knode: Node, vnode: Node, index: int
) -> Splice:
    route, count = op.route, len(parent.pairs)
    end = vnode.end if isinstance(vnode, Alias) else doc.content_end(vnode)
    if vnode.start == end and isinstance(vnode, Scalar):
        end = _colon_after(doc, knode)
    line_start = doc.line_start(knode.start)
    shares_line = bool(doc.text[line_start : knode.start].strip())
    if count == 1:
        if shares_line:  # `- key: value` as the only entry of a sequence item
            return Splice(knode.start, doc.line_end(end), "{}")
        return _empty_collection(doc, route[:-1], op.document, parent, "{}", knode.start)
    if shares_line:
        if index != 0:
            raise EditError(f"{format_route(route)} shares its line with another entry")
        following = parent.pairs[1][0]
        between = doc.text[doc.line_end(end) : following.start]
        if "#" in between:
            raise EditError(f"{format_route(route)}: comments sit between it and the next key")
        return Splice(knode.start, following.start, "")
    return Splice(line_start, min(doc.line_end(end) + 1, len(doc.text)), "")


def _empty_collection(
    doc: YamlDocument, route: Route, document: int, node: Node, empty: str, entry: int
) -> Splice:
    """Replace the only entry of a block collection with ``{}``/``[]`` (keeps the type).

    ``entry`` is where the removed entry starts (its key or its ``-``). The comment on the
    key's line and the full-line comments between the key and the entry are not the entry's:
    they are kept, below the ``key: []`` line.
    """
    key = doc.key_node(route, document)
    if key is None:
        raise EditError(f"{format_route(route)}: cannot empty a top-level block collection")
    _check_no_anchor(node, format_route(route))
    colon = _colon_after(doc, key)
    end = doc.content_end(node)
    insert = " " + empty + _tail_comment(doc, colon)
    between = doc.text[doc.line_end(colon) + 1 : doc.line_start(entry)]
    if between.strip():
        insert += "\n" + between.rstrip("\n")
    return Splice(colon, doc.line_end(end), insert)


def _tail_comment(doc: YamlDocument, colon: int) -> str:
    comment = doc.comment_on_line(doc.line_of(colon))
    return f"  {comment}" if comment else ""


def set_comment(doc: YamlDocument, op: SetComment) -> Splice | None:
    """Splice for :class:`SetComment`."""
    node = doc.resolve(op.route, op.document)
    where = format_route(op.route)
    if isinstance(node, Mapping | Sequence) and not node.flow:
        raise EditError(f"{where} is a block collection; comment one of its entries instead")
    if isinstance(node, Scalar) and node.style in ("|", ">"):
        raise EditError(f"{where} is a block scalar; its line cannot carry a comment")
    end = doc.content_end(node)
    if isinstance(node, Scalar) and node.value == "" and node.style is None:
        key = doc.key_node(op.route, op.document)
        if key is None:
            raise EditError(f"{where}: cannot locate the empty value")
        end = _colon_after(doc, key)
    eol = doc.line_end(end)
    rest = doc.text[end:eol]
    wanted = f"# {op.comment}" if op.comment else ""
    stripped = rest.strip()
    if stripped and not stripped.startswith("#"):
        raise EditError(f"{where} shares its line with other content")
    if stripped == wanted:
        return None
    if stripped:
        gap = rest[: len(rest) - len(rest.lstrip())]
        return Splice(end, eol, (gap or doc.comment_gap()) + wanted if wanted else "")
    return Splice(end, eol, doc.comment_gap() + wanted if wanted else "")
