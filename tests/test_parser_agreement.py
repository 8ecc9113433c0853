"""libyaml (fast path) and ruamel's pure parser (error path) must see the same documents."""

from __future__ import annotations

import pytest

from bot.yamledit import document
from testpaths import CORPUS

FILES = sorted(p for p in CORPUS.rglob("*.y*ml") if p.is_file())


def _key(event: object) -> tuple[object, ...]:
    style = getattr(event, "style", None) or None
    empty = getattr(event, "value", None) == "" and style is None
    marks = (None, None) if empty else (event.start_mark.index, event.end_mark.index)  # type: ignore[attr-defined]
    return (
        type(event).__name__,
        *marks,
        getattr(event, "value", None),
        style,
        getattr(event, "anchor", None),
        getattr(event, "tag", None),
        getattr(event, "implicit", None),
        getattr(event, "flow_style", None),
    )


@pytest.mark.skipif(document._CParser is None, reason="libyaml extension not installed")
def test_libyaml_and_pure_parser_agree_on_the_corpus() -> None:
    compared = 0
    for path in FILES:
        text = document.SourceText.from_text(path.read_text(encoding="utf-8")).body
        try:
            pure = list(document._PARSER.parse(text))
        except Exception:  # noqa: S112 - invalid files: the fallback handles them
            continue
        fast = document._events(text)
        assert [_key(e) for e in fast] == [_key(e) for e in pure], path
        compared += 1
    assert compared > 200


def test_errors_come_from_the_pure_parser() -> None:
    with pytest.raises(document.YamlParseError) as caught:
        document.YamlDocument.parse("a: [1,\n")
    assert caught.value.line is not None
