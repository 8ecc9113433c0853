"""Where a fix applies, named so that the name survives edits around it.

The memory of reverts must recognise a reverted fix after the file changed around it: a step
inserted before it (``steps[0]`` becomes ``steps[1]``), a new job beside it. A finding's line
or YAML route moves with such edits; its *anchor* does not. The anchor of a line is the path of
mapping keys down to it, where a list item is named by what it is rather than where it is —
its ``id``, else its ``uses`` without the ref, else its ``name``, else its text — with an
ordinal among the items of that list named alike, and the path stops at the first list item
(a step is the object a workflow fix changes; what lies inside it belongs to it). A finding on
line 12 inside the second ``actions/checkout`` step of job ``build`` is anchored at
``jobs/build/steps/uses=actions/checkout#1``, whatever stands before it.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

from bot.yamledit.document import (
    Alias,
    Mapping,
    Node,
    Scalar,
    Sequence,
    SourceText,
    YamlDocument,
    YamlParseError,
)

#: The keys that name a list item, in order of preference (a step's ``id`` is unique in its job).
_NAMING_KEYS = ("id", "uses", "name")


class FixIdentity(NamedTuple):
    """A fix as the memory of reverts knows it: its rule, its file and its anchor."""

    rule: str
    path: str
    anchor: str

    def describe(self) -> str:
        """``rule`` fix in ``path`` at ``anchor``, for people."""
        return f"{self.rule} fix in {self.path} at {self.anchor or '(top level)'}"


def anchor_at(text: str, line: int) -> str | None:
    """The anchor of 1-based ``line`` of the YAML ``text`` (see the module docstring); None
    when the text is not YAML mendbot can parse or the line lies outside it."""
    try:
        doc = YamlDocument.parse(SourceText.from_text(text).body)
    except YamlParseError:
        return None
    node = doc.root()
    if node is None or not 1 <= line <= len(doc.text.splitlines()) + 1:
        return None
    wanted = line - 1
    parts: list[str] = []
    while True:
        if isinstance(node, Mapping):
            entry = _entry_holding(doc, node, wanted)
            if entry is None:
                break
            key, value = entry
            parts.append(_scalar_text(key))
            node = value
        elif isinstance(node, Sequence):
            for index, item in enumerate(node.items):
                if _first_line(doc, item) <= wanted <= _last_line(doc, item):
                    parts.append(_item_anchor(node.items, index))
                    break
            break
        else:
            break
    return "/".join(parts)


def _entry_holding(doc: YamlDocument, mapping: Mapping, line: int) -> tuple[Node, Node] | None:
    """The entry of ``mapping`` whose lines (key to end of value) hold ``line``."""
    for key, value in mapping.pairs:
        if _first_line(doc, key) <= line <= max(_last_line(doc, value), _first_line(doc, key)):
            return key, value
    return None


def _first_line(doc: YamlDocument, node: Node) -> int:
    return doc.line_of(node.start)


def _last_line(doc: YamlDocument, node: Node) -> int:
    end = doc.content_end(node)
    return doc.line_of(max(end - 1, node.start))


def _item_anchor(items: list[Node], index: int) -> str:
    """``<name>#<ordinal>``: the item's name and how many earlier items share it."""
    name = _item_name(items[index])
    ordinal = sum(1 for item in items[:index] if _item_name(item) == name)
    return f"{name}#{ordinal}"


def _item_name(item: Node) -> str:
    """What a list item is: a mapping by its first naming key, a scalar by its value, anything
    else by a digest of its text-free shape."""
    if isinstance(item, Alias) and item.target is not None:
        item = item.target
    if isinstance(item, Mapping):
        for key in _NAMING_KEYS:
            pair = item.get(key)
            if pair is not None and isinstance(pair[1], Scalar):
                value = pair[1].value
                if key == "uses":
                    value = value.split("@", 1)[0]
                return f"{key}={value}"
        return "item=" + _digest(
            ";".join(
                f"{_scalar_text(k)}={_scalar_text(v)}"
                for k, v in item.pairs
                if isinstance(v, Scalar)
            )
        )
    if isinstance(item, Scalar):
        return f"value={item.value}"
    return "item"


def _scalar_text(node: Node) -> str:
    return node.value if isinstance(node, Scalar) else "?"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]
