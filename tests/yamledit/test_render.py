"""Rendering values: what each text reads back as is checked once, apart from the file being
edited, whose parse must stay remembered for the edit's next steps."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.yamledit import render
from bot.yamledit.document import YamlDocument


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The texts actually parsed (not served from memory) while the test runs."""
    render._read_text.cache_clear()
    seen: list[str] = []
    parse = YamlDocument._parse

    def counting(cls: type[YamlDocument], text: str) -> YamlDocument:
        seen.append(text)
        return parse.__func__(cls, text)  # type: ignore[attr-defined]

    monkeypatch.setattr(YamlDocument, "_parse", classmethod(counting))
    yield seen


def test_rendering_keeps_the_edited_file_remembered(parses: list[str]) -> None:
    workflow = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
    YamlDocument.parse(workflow)
    for index in range(20):  # more than the recent parses remembered
        assert render.scalar(f"value {index}") == f"value {index}"
    parses.clear()
    YamlDocument.parse(workflow)
    assert parses == []


@pytest.mark.parametrize(
    ("value", "written"),
    [("read", "read"), ("true", "'true'"), ("1", "'1'"), ("a: b", "'a: b'"), ("", "''")],
)
def test_each_text_is_read_back_once(parses: list[str], value: str, written: str) -> None:
    assert render.scalar(value) == written
    first = len(parses)
    assert render.scalar(value) == written
    assert len(parses) == first
