"""Splice for :class:`~bot.yamledit.ops.RewriteFragment`: replace text inside one scalar."""

from __future__ import annotations

from bot.yamledit.document import Scalar, YamlDocument, format_route, scalar_value
from bot.yamledit.ops import RewriteFragment
from bot.yamledit.splice import EditError, Splice


def _escaped(replacement: str, style: str | None) -> str:
    """``replacement`` as it must be written inside a scalar of ``style``."""
    if style == "'":
        return replacement.replace("'", "''")
    if style == '"':
        return replacement.replace("\\", "\\\\").replace('"', '\\"')
    return replacement


def rewrite_fragment(doc: YamlDocument, op: RewriteFragment) -> Splice | None:
    """Replace the first occurrence of ``op.fragment`` in the scalar at ``op.route``.

    Refused when the fragment is written differently in the file than in the value (escapes,
    folded lines), because the text position would then be a guess. Returns None when the
    fragment is gone and the replacement is present (already applied).
    """
    node = doc.resolve(op.route, op.document)
    where = format_route(op.route)
    if not isinstance(node, Scalar) or not isinstance(scalar_value(node), str):
        raise EditError(f"{where} is not a text scalar")
    if op.fragment in op.replacement:
        # after one application the fragment is still there: a second would rewrite again
        raise EditError(
            f"{where}: the replacement {op.replacement!r} contains the fragment "
            f"{op.fragment!r}, so whether it was already applied cannot be told"
        )
    if op.fragment not in node.value:
        if op.replacement in node.value:
            return None
        raise EditError(f"{where} does not contain {op.fragment!r}")
    source = doc.text[node.start : node.end]
    if source.count(op.fragment) != node.value.count(op.fragment):
        raise EditError(f"{where} writes {op.fragment!r} differently in the file than it reads")
    offset = node.start + source.index(op.fragment)
    return Splice(offset, offset + len(op.fragment), _escaped(op.replacement, node.style))
