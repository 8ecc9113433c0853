"""Apply operations to YAML text by splicing, guarding every splice.

After each splice the text is re-parsed and its documents compared with what the operation
means on plain data (:mod:`bot.yamledit.guard`): if anything other than the target changed, or
a comment vanished, the whole group of operations is refused with an :class:`Unfixable` reason
and the input text is returned untouched.

:func:`apply_together` applies the operation groups of several fixes in one pass when it can
prove they do not interact, and guards the union of their splices the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.yamledit import guard, splice
from bot.yamledit.document import (
    Route,
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
from bot.yamledit.ops import Add, Append, MergeInto, Operation, Remove, Replace, RewriteFragment
from bot.yamledit.render import RenderError

Primitive = guard.Primitive


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
    return _expand(doc, operation)


def _expand(doc: YamlDocument, operation: Operation) -> list[Primitive]:
    """The primitives ``operation`` stands for on ``doc`` (only MergeInto is not one)."""
    if not isinstance(operation, MergeInto):
        return [operation]
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
    _check_version(doc)
    edit = _plan(doc, operation)
    if edit is None:
        return body
    expected = guard.expected_after(doc.roots_data(), operation)
    new_body = edit.apply(body)
    try:
        after_doc = YamlDocument.parse(new_body)
    except YamlParseError as exc:
        raise guard.GuardError(f"the edited text would not parse ({exc})") from None
    guard.check(doc, after_doc, expected, operation, edit)
    return new_body


@dataclass(frozen=True)
class Together:
    """The text after the first ``count`` operation groups, applied together in one pass."""

    text: str
    count: int


def apply_together(text: str, groups: Sequence[Sequence[Operation]]) -> Together | None:
    """Apply the longest leading run of ``groups`` that provably do not interact, in one pass.

    Each group is what :func:`apply_operations` would apply (one fix's operations). All groups
    are planned on the same parsed text, and a group joins the run only while

    * each of its operations plans to a splice (a refusal or an operation that already holds
      ends the run: :func:`apply_operations` must decide that group on its own);
    * no route of it is a prefix of, or equal to, a route of another group of the run (and
      it removes no sequence item, which would renumber the items after it), so the order of
      the groups cannot matter to the data;
    * no operation decides on a value (whether it already holds, what to write) that an
      earlier operation of the run changes, at, above or below its route: applied in turn
      it would decide on the changed value, planned together on the original one;
    * its splices neither overlap nor touch a splice of the run, so their order in the text
      is fixed;
    * after a splice that removes a comment or a line break, only splices that write nothing
      (deletions) may follow: the style new text is written in is read from what is there,
      and a deletion renders nothing.

    The union of the splices is then guarded like a single splice: the text must re-parse to
    exactly the data every operation means (applied in order to plain data), keep every
    comment outside the spliced ranges, put each comment where it was asked for, and read in
    the style the splices were written in (:func:`splice.written_style`). When that check
    fails, the first half of the run is tried, and so on down to two groups.

    Returns None when fewer than two leading groups can be applied together: the caller then
    applies the first group alone with :func:`apply_operations`. The result is the same text
    that applying the groups one after another would give.
    """
    try:
        source = SourceText.from_text(text)
        body = source.body
        if _ambiguous_breaks(body):
            return None
        doc = YamlDocument.parse(body)
        _check_version(doc)
    except (YamlParseError, splice.EditError):
        return None
    runs = _independent_run(doc, groups)
    count = len(runs)
    while count >= 2:
        planned = [edit for run in runs[:count] for edit in run]
        new_body = _guarded_union(doc, planned)
        if new_body is not None:
            return Together(source.restore(new_body), count)
        count //= 2
    return None


_Planned = tuple[Primitive, splice.Splice]


def _independent_run(
    doc: YamlDocument, groups: Sequence[Sequence[Operation]]
) -> list[list[_Planned]]:
    """The planned splices of the leading groups that are independent (see apply_together)."""
    routes = _RouteSet()
    changed = _RouteSet()  # the values the run's operations change, in order
    spans = splice.SpanSet()
    # Scalars only fragment rewrites of the run have gone to: more may follow (see _shares).
    fragments: set[tuple[int, Route]] = set()
    restyled = False  # a splice of the run removed a comment or a line break
    runs: list[list[_Planned]] = []
    for operations in groups:
        planned: list[_Planned] = []
        try:
            for operation in operations:
                shared = _shares(operation, fragments)
                # A MergeInto that already holds plans no splice, yet decides all the same.
                if not shared and changed.clashes((operation.document, _decided_at(operation))):
                    return runs
                for primitive in _expand(doc, operation):
                    where = (primitive.document, primitive.route)
                    if _renumbers(primitive) or (not shared and routes.clashes(where)):
                        return runs
                    edit = _plan(doc, primitive)
                    if edit is None:
                        return runs
                    reach = _with_blanks_around(doc.text, edit)
                    if spans.touches(reach) or (restyled and edit.insert):
                        return runs
                    spans.add(reach)
                    planned.append((primitive, edit))
                    changed.add((primitive.document, _decided_at(primitive)))
                    restyled = restyled or _changes_style(doc.text, edit)
        except (splice.EditError, RouteError, RenderError, YamlParseError):
            return runs
        if not planned:
            return runs
        # A group's own routes may nest (rewrite `run:`, then add `env:` beside it): its
        # operations belong to one fix, and their splices still keep apart.
        for primitive, _ in planned:
            routes.add((primitive.document, primitive.route))
        if all(isinstance(primitive, RewriteFragment) for primitive, _ in planned):
            fragments.update((primitive.document, primitive.route) for primitive, _ in planned)
        runs.append(planned)
    return runs


def _with_blanks_around(text: str, edit: splice.Splice) -> splice.Splice:
    """``edit``'s range widened over the spaces and tabs beside it, for the touch test: two
    splices with only blanks between them do not keep apart, since each decides which of those
    blanks it takes (a value written into ``env: ,`` and the entry after it removed) from the
    text it is planned on."""
    start, end = edit.start, edit.end
    while start > 0 and text[start - 1] in " \t":
        start -= 1
    while end < len(text) and text[end] in " \t":
        end += 1
    return splice.Splice(start, end, edit.insert)


def _shares(operation: Operation, fragments: set[tuple[int, Route]]) -> bool:
    """Whether ``operation`` may join a run whose earlier groups rewrote fragments of the same
    scalar: it rewrites a fragment too, and the scalar is in ``fragments``, the scalars a group
    of fragment rewrites alone took after every check (from then on any other operation at,
    above or below it clashes with its route, so only fragment rewrites reach it).

    Each rewrite replaces the first occurrence of its fragment. Planned on the original text,
    a later rewrite could pick another occurrence than it would after the earlier ones (an
    earlier replacement may create or remove one); its splice must keep apart from the others
    like any splice, and the guard of the union compares the scalar with the rewrites applied
    in order on plain data, so a run where the two differ is refused.
    """
    return (
        isinstance(operation, RewriteFragment)
        and (
            operation.document,
            operation.route,
        )
        in fragments
    )


def _decided_at(operation: Operation) -> Route:
    """The route of the value ``operation`` decides on and changes: the added key's for Add
    and MergeInto, the operation's own route for the others."""
    if isinstance(operation, Add | MergeInto):
        return (*operation.route, operation.key)
    return operation.route


def _changes_style(text: str, edit: splice.Splice) -> bool:
    """Whether ``edit`` removes a comment or a line break: the file's style (the gap before
    trailing comments, the indentation step) is read from what is there, so a later
    operation applied in turn might render differently: no splice may follow it in the run.
    Inserting never changes the style: what is inserted is rendered in the style already
    read, and reads back as that style (the step is measured from each key, as written)."""
    removed = text[edit.start : edit.end]
    return "#" in removed or "\n" in removed


def _renumbers(operation: Primitive) -> bool:
    """Whether ``operation`` removes a sequence item, shifting the indexes after it."""
    return (
        isinstance(operation, Remove)
        and bool(operation.route)
        and (isinstance(operation.route[-1], int))
    )


def _guarded_union(doc: YamlDocument, planned: Sequence[_Planned]) -> str | None:
    """The text with every planned splice made, or None when the guard refuses the union."""
    edits = sorted((edit for _, edit in planned), key=lambda edit: edit.start)
    new_body = splice.apply_all(doc.text, edits)
    if _ambiguous_breaks(new_body):
        return None
    operations = [operation for operation, _ in planned]
    expected = guard.expected_after_all(doc.roots_data(), operations)
    try:
        after = YamlDocument.parse(new_body)
        guard.check_together(doc, after, expected, operations, edits)
    except (YamlParseError, guard.GuardError):
        return None
    if splice.written_style(after) != splice.written_style(doc):
        # Applied in turn, a later group would be written in the style an earlier one left.
        # What the engine writes reads back in the style it was written in, so this is a net
        # for a rendering that does not (it also declines a run whose last group changes the
        # style, which would be harmless).
        return None
    return new_body


class _RouteSet:
    """Routes taken by a run; a route clashes with every route it is a prefix of, or extends."""

    def __init__(self) -> None:
        self._taken: set[tuple[int, Route]] = set()
        self._prefixes: set[tuple[int, Route]] = set()

    def clashes(self, where: tuple[int, Route]) -> bool:
        document, route = where
        if where in self._prefixes:
            return True
        return any((document, route[:size]) in self._taken for size in range(len(route) + 1))

    def add(self, where: tuple[int, Route]) -> None:
        document, route = where
        self._taken.add(where)
        self._prefixes.update((document, route[:size]) for size in range(len(route) + 1))


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
