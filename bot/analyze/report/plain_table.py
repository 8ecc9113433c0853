"""A Rich table written without colour in time linear in its rows, byte for byte as Rich writes it.

Rich lays a table out in two passes over every cell and renders each cell through several
layers of segments: for a report of thousands of findings that costs more than the analysis.
Without colour (a report piped or written to a file) the table is plain text, and most of that
work can be skipped:

* the column widths depend only on the widest cell and the longest word of each column, so
  Rich computes them on the header and the few rows that hold those maxima;
* Rich renders the header and the frame on that small table;
* each row's cells are wrapped with Rich's own line breaking (:func:`rich._wrap.divide_line`)
  when every character is one cell wide, and with :meth:`rich.text.Text.wrap` otherwise.

:func:`render_plain` returns None whenever the console would add anything (colour, a table
wider than the console, a column squeezed to no text): the caller then prints the table
with Rich.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence

from rich._wrap import divide_line
from rich.box import Box
from rich.cells import cell_len, set_cell_size
from rich.console import Console
from rich.table import Column, Table
from rich.text import Text

#: Horizontal padding Rich puts on each side of a cell (``Table(padding=(0, 1))``).
_PAD = 1


#: Lines written at a time by :func:`plain_chunks`: a report of 70,000 findings is never held
#: whole as one string (nor copied on its way out).
CHUNK_LINES = 500


def render_plain(
    header_table: Table,
    rows: Sequence[Sequence[Text]],
    console: Console,
) -> str | None:
    """The text Rich would print for ``header_table`` holding ``rows``, or None when Rich must.

    ``header_table`` is the table with its columns and no rows yet (this fills it with the
    representative rows); its columns justify left and align to the top.
    """
    chunks = plain_chunks(header_table, rows, console)
    return None if chunks is None else "".join(chunks)


def plain_chunks(
    header_table: Table,
    rows: Sequence[Sequence[Text]],
    console: Console,
    lines: int = CHUNK_LINES,
) -> Iterator[str] | None:
    """:func:`render_plain` in pieces of about :data:`CHUNK_LINES` lines, or None when Rich must."""
    if console.color_system is not None or not rows:
        return None
    for row in _representatives(rows):
        header_table.add_row(*row)
    columns = header_table.columns
    if header_table.box is None or not header_table.show_edge:
        return None
    options = console.options
    # As Table.__rich_console__ measures: the console's width less the edges and dividers.
    inner = options.update_width(options.max_width - len(columns) - 1)
    widths = header_table._calculate_column_widths(console, inner)  # private: see the module doc
    if sum(widths) + len(widths) + 1 > console.width:
        return None
    if min(widths) <= 2 * _PAD:
        # Rich drops the padding of a column squeezed to nothing; such a table is rare
        # enough to leave to Rich.
        return None
    box = header_table.box.substitute(options, safe=console.safe_box)
    with console.capture() as capture:
        console.print(header_table)
    frame = capture.get().split("\n")
    head_rule = box.get_row(widths, "head", edge=True)
    if head_rule not in frame:
        return None
    head = frame[: frame.index(head_rule) + 1]
    return _chunks(head, _Rows(columns, widths, box, console), rows, box, widths, lines)


def _chunks(
    head: list[str],
    body: _Rows,
    rows: Sequence[Sequence[Text]],
    box: Box,
    widths: list[int],
    lines: int,
) -> Iterator[str]:
    separator = box.get_row(widths, "row", edge=True)
    out = head
    for index, row in enumerate(rows):
        last = index == len(rows) - 1
        out.extend(body.lines(row, last=last))
        if not last:
            out.append(separator)
        if len(out) >= lines:
            yield "\n".join(out) + "\n"
            out = []
    out.append(box.get_bottom(widths))
    yield "\n".join(out) + "\n"


def _representatives(rows: Sequence[Sequence[Text]]) -> list[Sequence[Text]]:
    """The rows holding, per column, the widest line and the longest word (Rich's measure of
    a text: its minimum is the longest word, its maximum the widest line)."""
    picked: set[int] = set()
    for column in range(len(rows[0])):
        measures = [_measure(row[column].plain) for row in rows]
        picked.add(max(range(len(rows)), key=lambda i: measures[i][0]))
        picked.add(max(range(len(rows)), key=lambda i: measures[i][1]))
    return [rows[i] for i in sorted(picked)]


def _measure(text: str) -> tuple[int, int]:
    """:meth:`rich.text.Text.__rich_measure__`: (longest word, widest line) in cells."""
    # Printable ASCII is one cell a character; a tab or a control character is not.
    width = len if text.isascii() and text.replace("\n", "").isprintable() else cell_len
    lines = text.splitlines()
    widest = max(width(line) for line in lines) if lines else 0
    words = text.split()
    return (max(width(word) for word in words) if words else widest), widest


class _Rows:
    """Renders body rows at fixed column widths; identical cells are wrapped once."""

    def __init__(
        self, columns: Sequence[Column], widths: Sequence[int], box: Box, console: Console
    ) -> None:
        self.columns = columns
        self.widths = widths
        self.console = console
        self.middle = (box.mid_left, box.mid_vertical, box.mid_right)
        self.foot = (box.foot_left, box.foot_vertical, box.foot_right)
        self.blank = [" " * width for width in widths]
        self._wrapped: dict[tuple[int, str], list[str]] = {}

    def lines(self, row: Sequence[Text], *, last: bool) -> list[str]:
        """The lines of ``row``, the last row of the table when ``last``."""
        cells = [self._cell(index, cell) for index, cell in enumerate(row)]
        left, divider, right = self.foot if last else self.middle
        if all(len(lines) == 1 for lines in cells):
            return [left + divider.join(lines[0] for lines in cells) + right]
        height = max(len(lines) for lines in cells)
        return [
            left
            + divider.join(
                lines[number] if number < len(lines) else blank
                for lines, blank in zip(cells, self.blank, strict=True)
            )
            + right
            for number in range(height)
        ]

    def _cell(self, index: int, cell: Text) -> list[str]:
        key = (index, cell.plain)
        found = self._wrapped.get(key)
        if found is None:
            width = self.widths[index] - 2 * _PAD
            pad = " " * _PAD
            found = [
                f"{pad}{line}{pad}"
                for line in _cell_lines(cell, self.columns[index], width, self.console)
            ]
            self._wrapped[key] = found
        return found


def _cell_lines(cell: Text, column: Column, width: int, console: Console) -> list[str]:
    """The lines of one cell, each exactly ``width`` cells wide (justify left)."""
    plain = cell.plain
    flat = plain.replace("\n", "")
    # Every character one cell wide: lengths are widths, as divide_line measures them.
    if not (flat.isascii() or cell_len(flat) == len(flat)) or not flat.isprintable():
        return _rich_cell_lines(cell, column, width, console)
    overflow = column.overflow
    lines: list[str] = []
    for line in plain.split("\n"):
        if column.no_wrap or len(line) <= width:
            pieces = [line]
        else:
            offsets = divide_line(line, width, fold=overflow == "fold")
            bounds = [0, *offsets, len(line)]
            pieces = [line[a:b] for a, b in itertools.pairwise(bounds)]
            pieces = [_rstrip_end(piece, width) for piece in pieces]
        for piece in pieces:
            if len(piece) > width:
                piece = piece[: width - 1] + "…" if overflow == "ellipsis" else piece[:width]
            lines.append(piece.ljust(width))
    return lines


def _rstrip_end(text: str, size: int) -> str:
    """:meth:`rich.text.Text.rstrip_end`: trailing whitespace beyond ``size`` removed."""
    excess = len(text) - size
    if excess <= 0:
        return text
    stripped = text.rstrip()
    return text[: len(text) - min(len(text) - len(stripped), excess)]


def _rich_cell_lines(cell: Text, column: Column, width: int, console: Console) -> list[str]:
    wrapped = cell.wrap(
        console,
        width,
        justify=column.justify,
        overflow=column.overflow,
        no_wrap=column.no_wrap,
    )
    return [set_cell_size(line.plain, width) for line in wrapped]
