"""The guard catches a faulty splice: each test feeds it the text an engine bug would write.

The engine and the guard agree on every correct edit, so the engine's own tests cannot show
that the guard refuses anything. Here a real YAML text is parsed, a deliberately wrong splice
is made (what a rendering or position bug would produce), and the guard must refuse it with
the message that names the broken invariant.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bot.yamledit.document import YamlDocument, to_data
from bot.yamledit.engine import Edited, apply_operations
from bot.yamledit.guard import (
    GuardError,
    check,
    check_together,
    expected_after,
    expected_after_all,
)
from bot.yamledit.ops import Add, Append, Remove, Replace, RewriteFragment, SetComment
from bot.yamledit.splice import Splice

WORKFLOW = """\
on: push  # every branch
permissions:
  contents: read  # least privilege
jobs:
  build:
    timeout-minutes: 1
"""


def _guard(text: str, operation: Any, old: str, new: str, *, count: int = 1) -> None:
    """Run the guard on ``text`` with the splice that turns the first ``old`` into ``new``."""
    start = text.index(old)
    edit = Splice(start, start + len(old), new)
    before = YamlDocument.parse(text)
    expected = expected_after([to_data(root) for root in before.roots], operation)
    check(before, YamlDocument.parse(edit.apply(text)), expected, operation, edit)


def test_a_correct_splice_passes() -> None:
    _guard(WORKFLOW, Replace(route=("permissions", "contents"), value="none"), "read", "none")


def test_a_splice_that_changes_a_neighbour_is_refused() -> None:
    operation = Replace(route=("permissions", "contents"), value="none")
    faulty = "none  # least privilege\njobs:\n  build:\n    timeout-minutes: 2"
    with pytest.raises(GuardError, match=r"would change more than permissions\.contents"):
        _guard(
            WORKFLOW,
            operation,
            "read  # least privilege\njobs:\n  build:\n    timeout-minutes: 1",
            faulty,
        )


@pytest.mark.parametrize(
    ("written", "value"),
    [("true", 1), ("1", True), ("1.0", 1), ("'1'", 1)],
    ids=["true for 1", "1 for true", "1.0 for 1", "'1' for 1"],
)
def test_a_value_of_another_type_is_refused(written: str, value: Any) -> None:
    """`timeout-minutes: true` is not `1` although Python says ``True == 1``."""
    operation = Replace(route=("jobs", "build", "timeout-minutes"), value=value)
    with pytest.raises(GuardError, match="would change more than"):
        _guard(WORKFLOW, operation, "timeout-minutes: 1", f"timeout-minutes: {written}")


def test_a_splice_that_turns_a_later_comment_into_text_is_refused() -> None:
    """The value comes out right only because the comment on the next line became the
    content of a block scalar: the data matches, the comment is gone."""
    text = "a: 1\n  # keep me\nb: 2\n"
    operation = Replace(route=("a",), value="# keep me\n")
    with pytest.raises(GuardError, match="would drop the comment '# keep me'"):
        _guard(text, operation, "1", "|")


def test_a_comment_right_after_the_splice_that_becomes_text_is_refused() -> None:
    """The splice ends where the comment begins and swallows the blank before ``#``:
    ``3# note`` is a plain scalar, so the data matches and the comment is gone."""
    text = "a: 1 # note\n"
    operation = Replace(route=("a",), value="3# note")
    with pytest.raises(GuardError, match="would drop the comment '# note'"):
        _guard(text, operation, "1 ", "3")


def test_a_comment_inside_the_replaced_range_may_be_rewritten() -> None:
    """Only comments outside the spliced range must survive; the range is the edit's own."""
    text = "a: 1  # old note\nb: 2  # keep\n"
    _guard(text, Replace(route=("a",), value=3), "1  # old note", "3")


def test_a_comment_that_lands_on_another_line_is_refused() -> None:
    text = "a: 1\nb: 2\n"
    operation = SetComment(route=("a",), comment="pinned")
    with pytest.raises(GuardError, match="did not land on the value's line"):
        _guard(text, operation, "b: 2", "b: 2  # pinned")


def test_a_comment_with_more_text_than_asked_is_refused() -> None:
    text = "a: 1\n"
    operation = SetComment(route=("a",), comment="pinned")
    with pytest.raises(GuardError, match="did not land on the value's line"):
        _guard(text, operation, "1", "1  # pinned v4 by hand")


def test_rewrite_fragment_rewrites_the_first_occurrence_only() -> None:
    """The guard expects exactly one occurrence rewritten, as the engine writes it."""
    text = "run: echo a; echo b\n"
    op = RewriteFragment(route=("run",), fragment="echo", replacement="printf")
    result = apply_operations(text, [op])
    assert result == Edited("run: printf a; echo b\n", True)


def test_add_under_an_empty_value_creates_the_mapping() -> None:
    """``permissions:`` with no value is null; adding a key under it makes it a mapping."""
    result = apply_operations(
        "permissions:\non: push\n", [Add(route=("permissions",), key="contents", value="read")]
    )
    assert result == Edited("permissions:\n  contents: read\non: push\n", True)


def test_expected_data_follows_a_nested_route() -> None:
    """A rewrite and an add two levels deep land in their own mapping, not in a grandparent."""
    documents = [{"jobs": {"build": {"run": "echo a; echo a", "env": None}}}]
    rewrite = RewriteFragment(route=("jobs", "build", "run"), fragment="echo", replacement="printf")
    add = Add(route=("jobs", "build", "env"), key="TITLE", value="x")

    assert expected_after(documents, rewrite) == [
        {"jobs": {"build": {"run": "printf a; echo a", "env": None}}}
    ]
    assert expected_after(documents, add) == [
        {"jobs": {"build": {"run": "echo a; echo a", "env": {"TITLE": "x"}}}}
    ]


@pytest.mark.parametrize(
    ("keys", "named"),
    [("a", "a"), ("abcd", "a, b, c and 1 more")],
    ids=["one operation", "four operations"],
)
def test_the_refusal_names_the_first_three_routes_and_counts_the_rest(
    keys: str, named: str
) -> None:
    """Several splices checked together: the refusal names what they were meant to change."""
    text = "".join(f"{key}: 1\n" for key in keys) + "z: 1\n"
    operations = [Replace(route=(key,), value=2) for key in keys]
    edits = [Splice(text.index(f"{key}: 1") + 3, text.index(f"{key}: 1") + 4, "2") for key in keys]
    faulty = text.replace("1", "2")  # also changes z, which no operation names
    before = YamlDocument.parse(text)
    expected = [to_data(root) for root in YamlDocument.parse(text.replace("1", "2")).roots]
    expected[0]["z"] = 1

    with pytest.raises(GuardError) as refused:
        check_together(before, YamlDocument.parse(faulty), expected, operations, edits)

    assert str(refused.value) == f"the edit would change more than {named}; refused"


def test_the_expected_data_never_changes_the_parsed_data_it_starts_from() -> None:
    """The parsed data is shared by every edit of a text: what an edit must give is computed
    on copies of the parts it reaches, and operations after the first see the earlier ones."""
    doc = YamlDocument.parse(
        "a:\n  b:\n    c: 1\n    l: [1, 2]\n  e: x y\nn:\nkeep:\n  deep: [1, {k: v}]\n"
    )
    before = copy.deepcopy(doc.roots_data())
    expected = expected_after_all(
        doc.roots_data(),
        [
            Replace(route=("a", "b", "c"), value=2),
            Append(route=("a", "b", "l"), value=3),
            Add(route=("n",), key="m", value=[1]),
            Append(route=("n", "m"), value=2),
            Remove(route=("a", "b", "l", 0)),
            RewriteFragment(route=("a", "e"), fragment="y", replacement="z"),
            Add(route=(), key="top", value={"t": 1}),
        ],
    )
    assert doc.roots_data() == before
    assert expected == [
        {
            "a": {"b": {"c": 2, "l": [2, 3]}, "e": "x z"},
            "n": {"m": [1, 2]},
            "keep": {"deep": [1, {"k": "v"}]},
            "top": {"t": 1},
        }
    ]
