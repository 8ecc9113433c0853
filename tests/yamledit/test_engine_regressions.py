"""Regression tests for YAML patch engine bugs found by ``test_properties.py``."""

from __future__ import annotations

from bot.yamledit.document import YamlDocument
from bot.yamledit.engine import Edited, Unfixable, apply_operations
from bot.yamledit.ops import Add, Append, MergeInto, Remove, Replace, RewriteFragment, SetComment


def test_append_does_not_treat_true_as_equal_to_one() -> None:
    """Append(1) to [true] was a silent no-op because Python says 1 == True."""
    assert apply_operations("l: [true]\n", [Append(route=("l",), value=1)]) == Edited(
        "l: [true, 1]\n", True
    )


def test_add_does_not_treat_one_as_equal_to_true() -> None:
    """Add(a: true) over `a: 1` claimed the entry already held instead of a conflict."""
    result = apply_operations("a: 1\n", [Add(route=(), key="a", value=True)])
    assert isinstance(result, Unfixable)
    assert "already exists" in result.reason


def test_replace_compares_collection_items_strictly() -> None:
    """Replace([1]) over `[true]` (and 1 over 1.0 in a list) was a silent no-op."""
    assert apply_operations("a: [true]\n", [Replace(route=("a",), value=[1])]) == Edited(
        "a: [1]\n", True
    )
    assert apply_operations("a: [1.0]\n", [Replace(route=("a",), value=[1])]) == Edited(
        "a: [1]\n", True
    )


def test_merge_into_compares_tuples_as_lists() -> None:
    """A tuple value never equalled the parsed list, so re-applying an op edited again."""
    text = "j:\n  s:\n    p: [a]\n"
    assert apply_operations(text, [MergeInto(route=("j",), key="s", value={"p": ("a",)})]) == (
        Edited(text, False)
    )
    assert apply_operations("l: [[a]]\n", [Append(route=("l",), value=("a",))]) == Edited(
        "l: [[a]]\n", False
    )


def test_folded_scalars_read_without_fold_markers() -> None:
    """The round-trip parser left BEL (\\a) fold markers in the values of `>` scalars."""
    doc = YamlDocument.parse("a: >-\n  x\n\n  y\nb: >\n  p\n  q\n")
    assert doc.data() == {"a": "x\ny", "b": "p q\n"}


def test_block_scalar_header_comment_is_a_comment() -> None:
    """A comment after `|` was treated as scalar text: unseen by the guard and suppressions."""
    doc = YamlDocument.parse("run: |  # mendbot: ignore[x]\n  # not a comment\n  echo\n")
    assert [text for _, text in doc.comments()] == ["# mendbot: ignore[x]"]
    assert doc.comment_on_line(0) == "# mendbot: ignore[x]"
    assert doc.comment_on_line(1) is None


def test_hash_inside_quotes_does_not_hide_the_real_comment() -> None:
    """`"x #y"  # real`: the in-scalar match swallowed the line, so the comment was missed."""
    doc = YamlDocument.parse('a: "x #y"  # real\nb: [\'#\', "q #"] #c2\n')
    assert [text for _, text in doc.comments()] == ["# real", "#c2"]
    result = apply_operations('a: "x #y"  # real\n', [SetComment(route=("a",), comment="new")])
    assert result == Edited('a: "x #y"  # new\n', True)


def test_yaml_1_1_documents_are_refused() -> None:
    """Under %YAML 1.1 the engine wrote plain `on`/`yes`, which 1.1 readers take as booleans."""
    text = "%YAML 1.1\n---\nname: hello\n"
    for op in (
        Add(route=(), key="on", value=None),
        Replace(route=("name",), value="yes"),
    ):
        result = apply_operations(text, [op])
        assert isinstance(result, Unfixable)
        assert "%YAML 1.1" in result.reason
    # "already holds" is not trustworthy either: a 1.1 reader sees [true] here
    result = apply_operations("%YAML 1.1\n---\n- [yes]\n", [Replace(route=(0,), value=["yes"])])
    assert isinstance(result, Unfixable)
    # YAML 1.2 is edited as before
    assert apply_operations(
        "%YAML 1.2\n---\nname: hello\n", [Add(route=(), key="on", value=None)]
    ) == Edited("%YAML 1.2\n---\nname: hello\non: null\n", True)


def test_emptying_a_collection_keeps_comments_before_its_only_entry() -> None:
    """Removing the only item dropped the full-line comments between its key and the item."""
    result = apply_operations("name: hello\non:\n  # why\n  - hello\n", [Remove(route=("on", 0))])
    assert result == Edited("name: hello\non: []\n  # why\n", True)
    result = apply_operations(
        "on:  # keep\n  # why\n  push: x\nb: 1\n", [Remove(route=("on", "push"))]
    )
    assert result == Edited("on: {}  # keep\n  # why\nb: 1\n", True)


def test_emptying_an_anchored_collection_is_refused() -> None:
    """Emptying `on: &x  # keep` to `on: []` silently dropped the anchor and the comment."""
    result = apply_operations("on: &x  # keep\n  - a\nb: 1\n", [Remove(route=("on", 0))])
    assert isinstance(result, Unfixable)
    assert "anchor &x" in result.reason


def test_add_after_a_nested_empty_value_at_the_end_of_the_file() -> None:
    """An empty value's parser mark lies at the next token: the entry landed after the EOF."""
    text = 'x:\n  "a: b":\n    "name":\n'
    assert apply_operations(text, [Add(route=("x",), key="name", value=None)]) == Edited(
        'x:\n  "a: b":\n    "name":\n  name: null\n', True
    )


def test_edits_next_to_a_nested_empty_value_stay_in_place() -> None:
    """Remove/Append after a nested empty value spliced past trailing comments (refused)."""
    assert apply_operations("a:\n  b:\n  # c\nz: 1\n", [Remove(route=("a",))]) == Edited(
        "  # c\nz: 1\n", True
    )
    assert apply_operations(
        "a:\n  - p:\n\n  # c\nz: 1\n", [Append(route=("a",), value=1)]
    ) == Edited("a:\n  - p:\n  - 1\n\n  # c\nz: 1\n", True)


def test_removing_the_last_flow_entry_keeps_the_previous_entrys_comment() -> None:
    """In a multi-line flow mapping the comment after the previous `,` was removed too."""
    text = '{\n  "a: b": hello,  # keep\n  name: hello}\n'
    assert apply_operations(text, [Remove(route=("name",))]) == Edited(
        '{\n  "a: b": hello,  # keep\n  }\n', True
    )


def test_removing_a_flow_entry_keeps_full_line_comments_before_the_next() -> None:
    """Removing a multi-line flow item also removed the comment line about the next item."""
    text = "x: [\n  a,  # ca\n  # about b\n  b,  # cb\n  c\n]\n"
    assert apply_operations(text, [Remove(route=("x", 0))]) == Edited(
        "x: [\n  # about b\n  b,  # cb\n  c\n]\n", True
    )
    assert apply_operations(text, [Remove(route=("x", 2))]) == Edited(
        "x: [\n  a,  # ca\n  # about b\n  b,  # cb\n]\n", True
    )


def test_add_to_a_flow_mapping_whose_last_value_is_empty() -> None:
    """`{a: 1, b: }` became `{a: 1, b:, k: 1 }` (key `b:`), so the guard refused the edit."""
    assert apply_operations("x: {a: 1, b: }\n", [Add(route=("x",), key="k", value=1)]) == (
        Edited("x: {a: 1, b: , k: 1 }\n", True)
    )


def test_add_before_a_missing_key_of_a_flow_mapping_is_refused() -> None:
    """`before` was not checked in flow mappings: a key that is not there passed silently."""
    text = "a: {x: 1, y: 2}\n"
    result = apply_operations(text, [Add(route=("a",), key="k", value=1, before="nope")])
    assert isinstance(result, Unfixable)
    assert "insert before" in result.reason
    # an existing `before` key: flow mappings still append at the end
    assert apply_operations(text, [Add(route=("a",), key="k", value=1, before="y")]) == Edited(
        "a: {x: 1, y: 2, k: 1}\n", True
    )


def test_rewrite_fragment_of_a_non_text_scalar_is_refused() -> None:
    """RewriteFragment on `42`/`true`/`null` crashed with AttributeError in the guard."""
    for text, route in (("[42]", (0,)), ("a: true\n", ("a",)), ("a: null\n", ("a",))):
        op = RewriteFragment(route=route, fragment="u", replacement="x")
        result = apply_operations(text, [op])
        assert isinstance(result, Unfixable)
        assert "not a text scalar" in result.reason


def test_rewrite_fragment_whose_replacement_contains_it_is_refused() -> None:
    """`h` → `<h>` was rewritten again on every application (never idempotent)."""
    op = RewriteFragment(route=(0,), fragment="h", replacement="<h>")
    result = apply_operations("- hello\n", [op])
    assert isinstance(result, Unfixable)
    assert "contains the fragment" in result.reason


def test_files_with_unicode_line_separators_are_refused() -> None:
    """`# x<U+2028>b: 2` is a comment to YAML 1.2 but a key `b` to libyaml: edits guessed."""
    text = "a: 1 # x\u2028b: 2\n"
    for op in (
        Replace(route=("b",), value=3),
        SetComment(route=("a",), comment="c"),
        Add(route=(), key="c", value=1),
    ):
        result = apply_operations(text, [op])
        assert isinstance(result, Unfixable)
        assert "U+2028" in result.reason
    assert apply_operations(text, []) == Edited(text, False)
    op = RewriteFragment(route=("a",), fragment="ll", replacement="\u2028")
    result = apply_operations("a: hello\n", [op])
    assert isinstance(result, Unfixable)
    assert "would write U+2028" in result.reason


def test_values_with_line_separators_or_a_bom_are_written_escaped() -> None:
    """`x<U+2028>y` and `<BOM>bom` were written raw (plain), readable differently by parsers."""
    for value, written in (
        ("x\u2028\U0001f600", 'a: "x\\L\U0001f600"\n'),
        ("x\x85y", 'a: "x\\Ny"\n'),
        ("\ufeffbom", 'a: "\\ufeffbom"\n'),
    ):
        result = apply_operations("a: 1\n", [Replace(route=("a",), value=value)])
        assert result == Edited(written, True)
        assert isinstance(result, Edited)
        assert YamlDocument.parse(result.text).data() == {"a": value}
