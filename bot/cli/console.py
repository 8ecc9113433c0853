"""What every command shares: consoles that print text literally, errors, exit codes.

Exit codes of every command: 0 done, 1 a finding, refusal or decision that needs a person,
2 usage or configuration error (nothing was done), 3 an error while working (the other inputs
were still processed).
"""

from __future__ import annotations

import sys
from typing import NoReturn

from rich.console import Console
from rich.text import Text

from bot.errors import MendbotError

EXIT_CLEAN = 0

EXIT_FINDINGS = 1

EXIT_USAGE = 2

EXIT_INPUT_ERRORS = 3


def make_console(stderr: bool = False) -> Console:
    """A console that prints strings literally: messages carry paths, keys and branch names
    that may look like Rich markup (``[/x]``) or emoji codes (``:x:``); style goes through
    :class:`~rich.text.Text` instead."""
    console = _literal_console(stderr=stderr, soft_wrap=False)
    if not console.is_terminal:
        if stderr:
            # One message, one line: logs and scripts grep for whole lines and long paths.
            return _literal_console(stderr=True, soft_wrap=True)
        # Piped reports are read in logs and CI consoles, which are wider than 80 columns.
        console = _literal_console(stderr=False, soft_wrap=False, width=140)
    return console


def _literal_console(*, stderr: bool, soft_wrap: bool, width: int | None = None) -> Console:
    return Console(
        stderr=stderr,
        soft_wrap=soft_wrap,
        width=width,
        highlight=False,
        markup=False,
        emoji=False,
    )


def fail(exc: MendbotError) -> NoReturn:
    report_error(exc)
    sys.exit(exc.exit_code)


def report_error(exc: MendbotError) -> None:
    print_error(exc.diagnostics())


def print_error(message: str) -> None:
    """``error: <message>`` on standard error, the message exactly as given."""
    make_console(stderr=True).print(Text.assemble(("error:", "red"), " ", message))
