"""Route-addressed YAML operations: fixes are data, applied later by one engine.

Every operation is idempotent: applying it to a document where it already holds is a no-op
(``Add`` of an existing equal key, ``Remove`` of an absent key, ``Append`` of an item already
present, ...). A route is a tuple of mapping keys and sequence indexes from a document's root.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.yamledit.document import Route

#: Values an operation may write: what YAML's core schema can express.
Value = Any


class _Op(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    route: Route
    """Where the operation applies, from the document root."""
    document: int = 0
    """Index of the document in a multi-document stream."""


class Replace(_Op):
    """Replace the value at ``route`` (a scalar, or an empty value) with ``value``.

    The original quoting style is kept when it can express the new value.
    """

    op: Literal["replace"] = "replace"
    value: Value


class Add(_Op):
    """Add ``key: value`` to the mapping at ``route``; an equal existing entry is a no-op.

    A differing existing entry is a conflict (use :class:`Replace`). An empty (null) value at
    ``route`` counts as an empty mapping.
    """

    op: Literal["add"] = "add"
    key: str
    value: Value
    before: str | None = None
    """Insert above this existing key (and its comment lines) instead of at the end.

    A ``before`` key that is not there is refused. In a flow mapping (``{a: 1}``) the entry
    is still appended at the end.
    """


class MergeInto(_Op):
    """Ensure the mapping at ``route`` holds ``key`` with at least the entries of ``value``.

    Missing entries are added, differing scalar entries replaced, other entries untouched.
    """

    op: Literal["merge_into"] = "merge_into"
    key: str
    value: dict[str, Value]
    before: str | None = None
    """When ``key`` is missing: insert it above this existing key instead of at the end."""


class Remove(_Op):
    """Remove the mapping entry or sequence item at ``route``; absent is a no-op."""

    op: Literal["remove"] = "remove"


class Append(_Op):
    """Append ``value`` to the sequence at ``route`` unless an equal item is already there."""

    op: Literal["append"] = "append"
    value: Value


class SetComment(_Op):
    """Set (or replace) the trailing comment on the line where the value at ``route`` ends."""

    op: Literal["set_comment"] = "set_comment"
    comment: str = Field(pattern=r"^[^\n\r]*$")


class RewriteFragment(_Op):
    """Replace the first occurrence of ``fragment`` inside the scalar at ``route``.

    For edits inside long scalars (a ``run:`` script) that must keep the rest byte for byte.
    Already applied (fragment gone, replacement present) is a no-op. A fragment that occurs
    ``k`` times needs ``k`` copies of the operation, and only that group is idempotent (one
    copy applied twice rewrites the second occurrence). A replacement that contains the
    fragment is refused: it could never tell that it was already applied.
    """

    op: Literal["rewrite_fragment"] = "rewrite_fragment"
    fragment: str = Field(min_length=1, pattern=r"^[^\n\r]*$")
    replacement: str = Field(pattern=r"^[^\n\r]*$")


Operation = Annotated[
    Replace | Add | MergeInto | Remove | Append | SetComment | RewriteFragment,
    Field(discriminator="op"),
]
