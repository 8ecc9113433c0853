"""Render new values as YAML text in the style of the place they are spliced into."""

from __future__ import annotations

import functools
import math
from typing import Any

from bot.yamledit.document import Scalar, YamlDocument, YamlParseError, scalar_value


class RenderError(ValueError):
    """The value cannot be written as YAML text (unsupported type)."""


def _parses_as(text: str, value: str) -> bool:
    return _read_text(text) == value


@functools.lru_cache(maxsize=4096)
def _read_text(text: str) -> str | None:
    """The string ``text`` reads as when written as a mapping's value, or None when it reads
    as anything else (or not at all). Fixes write the same values into many files (``read``,
    an action reference), so each is read once; and never through the recent-parse memory of
    :meth:`YamlDocument.parse`, where these snippets would push out the file being edited."""
    try:
        doc = YamlDocument.parse(f"k: {text}\n", remember=False)
    except YamlParseError:
        return None
    node = doc.lookup(("k",)) if doc.root() is not None else None
    if not isinstance(node, Scalar):
        return None
    read = scalar_value(node)
    return read if type(read) is str else None


def scalar(value: Any, style: str | None = None) -> str:
    """YAML text for a scalar, preferring ``style`` (None plain, ``'`` or ``"``) when exact."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise RenderError("non-finite floats are not written by mendbot")
        return repr(value)
    if not isinstance(value, str):
        raise RenderError(f"cannot write a {type(value).__name__} as a YAML scalar")
    candidates: list[str] = []
    single = "'" + value.replace("'", "''") + "'"
    double = double_quoted(value)
    if style == "'":
        candidates = [single, double]
    elif style == '"':
        candidates = [double, single]
    else:
        candidates = [value, single, double]
    for text in candidates:
        if not _BREAKS.intersection(text) and _parses_as(text, value):
            return text
    return double


#: Written only as escapes: line breaks, the characters YAML 1.1 parsers take for ones, and
#: the byte order mark.
_BREAKS = frozenset("\n\r\x85\u2028\u2029\ufeff")


def _printable(code: int) -> bool:
    """YAML's c-printable, minus NEL (a line break for YAML 1.1) and the BOM."""
    return (
        code in (0x09, 0x0A, 0x0D)
        or 0x20 <= code <= 0x7E
        or (0xA0 <= code <= 0xD7FF and code not in (0x2028, 0x2029))
        or (0xE000 <= code <= 0xFFFD and code != 0xFEFF)
        or code >= 0x10000
    )


def double_quoted(value: str) -> str:
    """``value`` as a double-quoted scalar that escapes only what must be (unlike JSON, astral
    characters stay whole: YAML has no surrogate pairs)."""
    out = ['"']
    for ch in value:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif not _printable(code):
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


_ESCAPES = {
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\x85": "\\N",
    "\u2028": "\\L",
    "\u2029": "\\P",
}


def flow(value: Any) -> str:
    """A value in flow style: ``{a: 1, b: [x, y]}``."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{scalar(k)}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    text = scalar(value)
    if any(c in text for c in ",[]{}") and not text.startswith(("'", '"')):
        return double_quoted(str(value))
    return text


def block_entry(key: str, value: Any, indent: int, step: int, seq_offset: int) -> str:
    """Lines for ``key: value`` at column ``indent``, without a trailing newline."""
    pad = " " * indent
    head = f"{pad}{scalar(key)}:"
    if isinstance(value, dict) and value:
        body = "\n".join(
            block_entry(k, v, indent + step, step, seq_offset) for k, v in value.items()
        )
        return f"{head}\n{body}"
    if isinstance(value, list | tuple) and value:
        return f"{head}\n{block_items(list(value), indent + seq_offset, step, seq_offset)}"
    if isinstance(value, dict | list | tuple):
        return f"{head} {flow(value)}"
    return f"{head} {scalar(value)}"  # block context: `{`, `,` and `[` need no quotes


def block_items(items: list[Any], indent: int, step: int, seq_offset: int) -> str:
    """Lines for sequence items whose dashes sit at column ``indent``."""
    return "\n".join(block_item(item, indent, step, seq_offset) for item in items)


def block_item(item: Any, indent: int, step: int, seq_offset: int) -> str:
    """One ``- item`` entry (a mapping item starts on the dash line)."""
    pad = " " * indent
    if isinstance(item, dict) and item:
        entries = [block_entry(k, v, indent + 2, step, seq_offset) for k, v in item.items()]
        first = entries[0][indent + 2 :]
        return "\n".join([f"{pad}- {first}", *entries[1:]])
    if isinstance(item, list | tuple) and item:
        return f"{pad}- {flow(list(item))}"
    if isinstance(item, dict | list | tuple):
        return f"{pad}- {flow(item)}"
    return f"{pad}- {scalar(item)}"
