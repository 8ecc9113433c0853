"""Apply operations to YAML text by splicing, guarding every single splice.

After each splice the text is re-parsed and its documents compared with what the operation
means on plain data (:mod:`bot.yamledit.guard`): if anything other than the target changed, or
a comment vanished, the whole group of operations is refused with an :class:`Unfixable` reason
and the input text is returned untouched.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.yamledit import guard, splice
from bot.yamledit.document import (
    RouteError,
    SourceText,
    YamlDocument,
    YamlParseError,
    format_route,
    normalise,
    strict_equal,
    to_data,
)
from bot.yamledit.fragment import rewrite_fragment
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
from bot.yamledit.render import RenderError

Primitive = Replace | Add | Remove | Append | SetComment | RewriteFragment


@dataclass(frozen=True)
class Unfixable:
    """A fix that could not be applied safely, and why; the text was left unchanged."""

    reason: str


@dataclass(frozen=True)
class Edited:
    """The text after applying every operation (``changed`` is False for a no-op)."""

    text: str
    changed: bool


def apply_operations(text: str, operations: Iterable[Operation]) -> Edited | Unfixable:
    """Apply ``operations`` in order to raw ``text`` (BOM and CRLF are kept).

    All or nothing: the first operation that cannot be applied safely makes the result an
    :class:`Unfixable` and none of the operations take effect.
    """
    try:
        source = SourceText.from_text(text)
    except YamlParseError as exc:
        return Unfixable(str(exc))
    body = source.body
    ambiguous = _ambiguous_breaks(body)
    for operation in operations:
        if ambiguous:
            return Unfixable(
                f"{operation.op} at {format_route(operation.route)}: the file contains "
                f"{ambiguous}, {_WHY_AMBIGUOUS}; fix this by hand"
            )
        try:
            for primitive in _primitives(body, operation):
                body = _apply_one(body, primitive)
            written = _ambiguous_breaks(body)
            if written:
                raise splice.EditError(f"the edit would write {written}, {_WHY_AMBIGUOUS}")
        except (splice.EditError, RouteError, guard.GuardError, RenderError) as exc:
            return Unfixable(f"{operation.op} at {format_route(operation.route)}: {exc}")
        except YamlParseError as exc:
            return Unfixable(f"the file does not parse: {exc}")
    changed = body != source.body
    return Edited(source.restore(body) if changed else text, changed)


_AMBIGUOUS_BREAKS = {"\x85": "NEL", "\u2028": "LINE SEPARATOR", "\u2029": "PARAGRAPH SEPARATOR"}


_WHY_AMBIGUOUS = "a line break for YAML 1.1 parsers but not for YAML 1.2 ones"


def _ambiguous_breaks(body: str) -> str | None:
    """The U+0085/U+2028/U+2029 characters in ``body`` (None if none): edits are refused.

    YAML 1.1 parsers (libyaml and ruamel.yaml among them) read these as line breaks, YAML 1.2
    parsers as ordinary characters: ``a: 1 # x<U+2028>b: 2`` has a key ``b`` for one and only
    a comment for the other, and the engine's lines and comments (split at ``\\n``) would
    disagree with the parser it checks edits with.
    """
    found = [f"U+{ord(ch):04X} ({name})" for ch, name in _AMBIGUOUS_BREAKS.items() if ch in body]
    return ", ".join(found) or None


def _primitives(body: str, operation: Operation) -> list[Primitive]:
    if not isinstance(operation, MergeInto):
        return [operation]
    doc = YamlDocument.parse(body)
    _check_version(doc)
    target = doc.lookup((*operation.route, operation.key), operation.document)
    if target is None:
        return [
            Add(
                route=operation.route,
                document=operation.document,
                key=operation.key,
                value=operation.value,
                before=operation.before,
            )
        ]
    current = to_data(target)
    if current is None:
        current = {}
    if not isinstance(current, dict):
        raise splice.EditError(
            f"{format_route((*operation.route, operation.key))} is not a mapping"
        )
    route = (*operation.route, operation.key)
    ops: list[Primitive] = []
    for key, value in operation.value.items():
        if key not in current:
            ops.append(Add(route=route, document=operation.document, key=key, value=value))
        elif not strict_equal(current[key], normalise(value)):
            ops.append(Replace(route=(*route, key), document=operation.document, value=value))
    return ops


def _apply_one(body: str, operation: Primitive) -> str:
    doc = YamlDocument.parse(body)
    before = [to_data(root) for root in doc.roots]
    _check_version(doc)
    edit = _plan(doc, operation)
    if edit is None:
        return body
    expected = guard.expected_after(before, operation)
    new_body = edit.apply(body)
    try:
        after_doc = YamlDocument.parse(new_body)
    except YamlParseError as exc:
        raise guard.GuardError(f"the edited text would not parse ({exc})") from None
    guard.check(doc, after_doc, expected, operation, edit)
    return new_body


def _check_version(doc: YamlDocument) -> None:
    """Refuse streams that declare a YAML version other than 1.2.

    Values are read and written under YAML 1.2's core schema; under a ``%YAML 1.1`` directive
    a reader takes plain ``on``, ``yes``, ``off`` or ``010`` for booleans and octals, so text
    the guard accepts could mean something else to the file's consumers, and even "already
    holds" could be wrong (``[yes]`` is not ``["yes"]`` there).
    """
    for version in doc.versions:
        if version is not None and version != (1, 2):
            raise splice.EditError(
                f"the file declares %YAML {version[0]}.{version[1]}; "
                "mendbot only edits YAML 1.2, fix this by hand"
            )


def _plan(doc: YamlDocument, operation: Primitive) -> splice.Splice | None:
    if isinstance(operation, Replace):
        return splice.replace(doc, operation)
    if isinstance(operation, Add):
        return splice.add(doc, operation)
    if isinstance(operation, Remove):
        return splice.remove(doc, operation)
    if isinstance(operation, Append):
        return splice.append(doc, operation)
    if isinstance(operation, RewriteFragment):
        return rewrite_fragment(doc, operation)
    return splice.set_comment(doc, operation)
