"""The text report's table is written without Rich's per-cell rendering when there is no
colour, and must print exactly the bytes Rich prints (Rich is the reference here)."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import example, given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.text import Text

from bot.analyze.report import text as text_report
from bot.analyze.report.plain_table import CHUNK_LINES, plain_chunks, render_plain
from bot.cli.app import cli
from clirun import run_mendbot
from testpaths import CORPUS

_WORDS = st.text(
    alphabet=st.sampled_from([*"abcXYZ019-_./:`${}()#'\" ", "é", "…", "中", "\t", "\n"]),
    max_size=60,
)
_CELL = st.lists(_WORDS, max_size=4).map(" ".join)


def _console(width: int) -> Console:
    return Console(file=io.StringIO(), width=width, highlight=False, markup=False, emoji=False)


def _rich_table(rows: list[tuple[Text, ...]]) -> object:
    table = text_report._empty_table()
    for row in rows:
        table.add_row(*row)
    return table


def _by_rich(rows: list[tuple[Text, ...]], width: int) -> str:
    console = _console(width)
    console.print(_rich_table(rows))
    assert isinstance(console.file, io.StringIO)
    return console.file.getvalue()


@settings(max_examples=150, deadline=None)
@example(  # no-wrap columns wide enough to squeeze the last two to nothing
    rows=[("x" * 69, "y" * 62, "finding", "fix")],
    width=140,
)
@given(
    rows=st.lists(st.tuples(_CELL, _CELL, _CELL, _CELL), min_size=1, max_size=6),
    width=st.integers(min_value=100, max_value=220),
)
def test_plain_table_prints_what_rich_prints(rows: list[tuple[str, ...]], width: int) -> None:
    texts = [tuple(Text(cell) for cell in row) for row in rows]
    fast = render_plain(text_report._empty_table(), texts, _console(width))
    reference = _by_rich(texts, width)
    # None means "let Rich print it": allowed, never a different text.
    assert fast is None or fast == reference
    # Written a few lines at a time, it is still the same text.
    chunks = plain_chunks(text_report._empty_table(), texts, _console(width), lines=3)
    assert (chunks is None) == (fast is None)
    assert chunks is None or "".join(chunks) == reference


def test_a_colour_console_is_left_to_rich() -> None:
    console = Console(file=io.StringIO(), width=140, force_terminal=True, color_system="standard")
    rows = [(Text("high"), Text("rule\npath:1:1"), Text("message"), Text("report only"))]
    assert render_plain(text_report._empty_table(), rows, console) is None


def test_the_corpus_report_written_by_the_command_is_byte_identical(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``mendbot analyze CORPUS -o report.txt`` writes what Rich's table writes (the same
    command with every row printed through Rich is the reference)."""
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    out = tmp_path / "report.txt"
    done = run_mendbot("analyze", str(corpus), "--offline", "-o", str(out))
    assert done.returncode == 3, done.stderr  # the corpus holds invalid files on purpose
    written = out.read_bytes()
    assert written.count(b"\n") > 2 * CHUNK_LINES  # written in several pieces

    monkeypatch.setattr(text_report, "plain_chunks", lambda *_: None)
    reference = tmp_path / "reference.txt"
    result = CliRunner().invoke(cli, ["analyze", str(corpus), "--offline", "-o", str(reference)])
    assert result.exit_code == 3, result.output
    assert written == reference.read_bytes()
