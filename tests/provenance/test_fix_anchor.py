"""Fix anchors: the place of a fix named so that edits around it do not move it."""

from __future__ import annotations

import pytest

from bot.provenance.fix_anchor import anchor_at

WORKFLOW = """\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/checkout@v3
        with:
          repository: org/other
      - id: tests
        name: Tests
        run: make test
      - name: Lint
        run: make lint
      - run: echo done
"""

SHIFTED = WORKFLOW.replace(
    "    steps:\n", "    steps:\n      - run: echo hello\n      - uses: actions/setup-go@v5\n"
)


@pytest.mark.parametrize(
    ("line", "anchor"),
    [
        (3, "jobs/build"),
        (4, "jobs/build/runs-on"),
        (6, "jobs/build/steps/uses=actions/checkout#0"),
        (9, "jobs/build/steps/uses=actions/checkout#1"),
        (11, "jobs/build/steps/id=tests#0"),
        (14, "jobs/build/steps/name=Lint#0"),
    ],
)
def test_a_step_is_named_by_id_uses_or_name_with_an_ordinal(line: int, anchor: str) -> None:
    assert anchor_at(WORKFLOW, line) == anchor
    # Two steps inserted before the steps: their lines move by two, no anchor changes.
    assert anchor_at(SHIFTED, line + 2 if line > 5 else line) == anchor


def test_a_step_without_a_name_is_named_by_its_content() -> None:
    anchor = anchor_at(WORKFLOW, 15)
    assert anchor is not None and anchor.startswith("jobs/build/steps/item=")
    assert anchor_at(SHIFTED, 17) == anchor
    assert anchor_at(WORKFLOW.replace("echo done", "echo finished"), 15) != anchor


def test_crlf_and_a_byte_order_mark_do_not_change_anchors() -> None:
    framed = "\ufeff" + WORKFLOW.replace("\n", "\r\n")
    assert anchor_at(framed, 9) == "jobs/build/steps/uses=actions/checkout#1"


@pytest.mark.parametrize(("text", "line"), [("jobs: [unclosed\n", 1), (WORKFLOW, 99), ("", 1)])
def test_no_anchor_for_text_that_is_not_yaml_or_a_line_outside_it(text: str, line: int) -> None:
    assert anchor_at(text, line) is None
