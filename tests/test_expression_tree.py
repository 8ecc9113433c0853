"""The expression parser the condition rules share: spans, paths, and three-valued evaluation."""

from __future__ import annotations

import pytest

from bot.workflow import expression_tree as expr


def test_context_paths_ignore_case_and_index_syntax() -> None:
    tree = expr.parse("github['ACTOR'] == 'x' && GitHub.Event.pull_request.labels.*.name")
    assert [c.path for c in expr.contexts(tree)] == [
        "github.actor",
        "github.event.pull_request.labels.*.name",
    ]


def test_spans_point_into_the_source_text() -> None:
    text = "contains(fromJSON('[\"a[bot]\"]'), github.actor) || a.b"
    spans = [text[c.start : c.end] for c in expr.contexts(expr.parse(text))]
    assert spans == ["github.actor", "a.b"]


@pytest.mark.parametrize(
    ("value", "offset"),
    [("${{ github.actor == 'x' }}", 3), ("github.actor == 'x'", 0), ("  ${{a}}  ", 5)],
)
def test_conditions_are_bare_or_wholly_fenced(value: str, offset: int) -> None:
    parsed = expr.parse_condition(value)
    assert parsed is not None
    assert parsed[1] == offset


@pytest.mark.parametrize("value", ["x ${{ a }}", "${{ a }} ${{ b }}", "a ==", "a = b", "f(a"])
def test_other_shapes_are_not_conditions(value: str) -> None:
    assert expr.parse_condition(value) is None


def test_literals() -> None:
    tree = expr.parse("'it''s' == 0x10 || null || 1.5e1 || true")
    values = [n.value for n in expr.walk(tree) if isinstance(n, expr.Literal)]
    assert values == ["it's", 16.0, None, 15.0, True]


TAG = ({"github.event_name": "push", "github.ref_type": "tag"}, {"github.ref": "refs/tags/"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("startsWith(github.ref, 'refs/tags/')", True),
        ("!startsWith(github.ref, 'refs/tags/v')", expr.UNKNOWN),
        ("startsWith(github.ref, 'refs/heads/')", False),
        ("github.ref == 'refs/heads/main'", False),
        ("github.ref != 'refs/heads/main'", True),
        ("github.event_name == 'PUSH' && github.ref_type == 'tag'", True),
        ("matrix.cache", expr.UNKNOWN),
        ("matrix.cache && false", False),
        ("matrix.cache || true", True),
        ("'1' == 1", True),
        # GitHub's && and || give an operand, not a boolean.
        ("github.event_name || 'none'", "push"),
        ("inputs.sha || ''", expr.UNKNOWN),
        ("inputs.sha || 'none'", True),  # truthy, whichever operand it is
        ("github.event_name == 'schedule' && 'observe' || github.ref_type", "tag"),
        ("github.ref_type == 'tag' && 'release' || 'build'", "release"),
        ("'' || 0", 0),
        ("0 && matrix.cache", 0),
    ],
)
def test_three_valued_evaluation(text: str, expected: object) -> None:
    assert expr.evaluate(expr.parse(text), *TAG) == expected


def test_a_member_of_a_call_result_keeps_the_call() -> None:
    node = expr.parse("fromJSON(secrets.CREDS).db.password")
    assert isinstance(node, expr.Context)
    assert node.parts == ("<call>", "db", "password")
    assert isinstance(node.base, expr.Call)
    assert node.base.name == "fromjson"
    args = [a.parts for a in node.base.args if isinstance(a, expr.Context)]
    assert args == [("secrets", "creds")]
    assert expr.parse("secrets.CREDS") == expr.Context(0, 13, ("secrets", "creds"))


def test_a_remembered_expression_parses_the_same_every_time() -> None:
    """Trees of recent texts are shared between rules and fix rounds: asking again gives an
    equal tree, and a text the parser rejects is rejected again with the same message."""
    text = "github.event.issue.title == 'x' || startsWith(github.ref, 'refs/tags/')"
    assert expr.parse(text) == expr.parse(text)
    messages = []
    for _ in range(2):
        with pytest.raises(expr.ExpressionError) as caught:
            expr.parse("github.actor == 'x' $")
        messages.append(str(caught.value))
    assert messages[0] == messages[1]
    assert "unexpected character '$'" in messages[0]
