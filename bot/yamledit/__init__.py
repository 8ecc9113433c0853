"""Format-preserving YAML editing: route-addressed operations applied by guarded splices.

Public surface: the operations (:mod:`bot.yamledit.ops`), :func:`apply_operations`, the result
values :class:`Edited` / :class:`Unfixable`, and :class:`YamlDocument` for reading positions.
"""

from bot.yamledit.document import (
    Route,
    SourceText,
    YamlDocument,
    YamlParseError,
    format_route,
)
from bot.yamledit.engine import Edited, Unfixable, apply_operations
from bot.yamledit.ops import (
    Add,
    Append,
    MergeInto,
    Operation,
    Remove,
    Replace,
    RewriteFragment,
    SetComment,
)

__all__ = [
    "Add",
    "Append",
    "Edited",
    "MergeInto",
    "Operation",
    "Remove",
    "Replace",
    "RewriteFragment",
    "Route",
    "SetComment",
    "SourceText",
    "Unfixable",
    "YamlDocument",
    "YamlParseError",
    "apply_operations",
    "format_route",
]
