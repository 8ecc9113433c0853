"""Format-preserving YAML editing: route-addressed operations applied by guarded splices.

Public surface: the operations (:mod:`bot.yamledit.ops`), :func:`apply_operations` and, for the
operation groups of several independent fixes, :func:`apply_together`; the result values
:class:`Edited` / :class:`Together` / :class:`Unfixable`, and :class:`YamlDocument` for reading
positions.
"""

from bot.yamledit.document import (
    Route,
    SourceText,
    YamlDocument,
    YamlParseError,
    format_route,
)
from bot.yamledit.engine import Edited, Together, Unfixable, apply_operations, apply_together
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
    "Together",
    "Unfixable",
    "YamlDocument",
    "YamlParseError",
    "apply_operations",
    "apply_together",
    "format_route",
]
