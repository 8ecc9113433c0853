"""Untrusted text (paths, titles, messages) made inert before it reaches Markdown the bot writes.

A file name can hold backticks, line breaks, ``@mentions``, HTML and links; shown raw in a pull
request or comment it would render live, notify people, or forge the bot's hidden metadata on a
line of its own. Everything here keeps such text on one line and inside a code span.
"""

from __future__ import annotations

import re

#: Longest text shown in one code span (paths and error messages can be made long on purpose).
SPAN_LIMIT = 300
_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


def plain(text: str, limit: int = SPAN_LIMIT) -> str:
    """``text`` on one line: control characters (including CR and the Unicode line and
    paragraph separators, which Markdown treats as line breaks) become spaces; cut at ``limit``."""
    flat = _CONTROL.sub(" ", text)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def code(text: str, limit: int = SPAN_LIMIT) -> str:
    """``text`` as a Markdown code span that cannot break out of itself: no backticks, no line
    breaks of any kind, bounded length. Inside it, mentions, links and markup are inert."""
    return "`" + plain(text, limit).replace("`", "'") + "`"


def code_cell(text: str, limit: int = SPAN_LIMIT) -> str:
    """:func:`code` for a table cell: a ``|`` would end the cell even inside a code span."""
    return code(text, limit).replace("|", "\\|")
