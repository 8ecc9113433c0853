"""How to reference an environment variable at a given place in a script, per shell.

``reference(shell, script, offset, name)`` returns the text that reads ``$name`` at ``offset``
with the same meaning the place had (inside single quotes, double quotes or bare), or None
when mendbot cannot say safely (heredocs, PowerShell single quotes, cmd, Python scripts).
"""

from __future__ import annotations

import re
from enum import Enum

_POSIX_SHELLS = {"bash", "sh", "zsh", "dash", "ksh"}
_PWSH_SHELLS = {"pwsh", "powershell"}


class Quote(Enum):
    """The quoting state at a position of a shell script."""

    NONE = "none"
    SINGLE = "single"
    DOUBLE = "double"


def shell_name(shell: str | None, runs_on: list[str]) -> str:
    """The program a ``run:`` step uses: its ``shell:`` (first word, basename), else the
    runner's default (``pwsh`` on Windows labels, ``bash`` elsewhere)."""
    if shell:
        first = shell.strip().split()[0] if shell.strip() else ""
        return first.rsplit("/", 1)[-1].lower()
    if any("windows" in label.lower() for label in runs_on):
        return "pwsh"
    return "bash"


def _quote_state(script: str, offset: int, *, escape: str, posix: bool) -> Quote | None:
    """The quote state at ``offset``: single and double quotes, ``escape`` escaping the next
    character outside single quotes; for POSIX shells also comments and heredocs (None)."""
    state = Quote.NONE
    i = 0
    while i < offset:
        ch = script[i]
        if state is Quote.SINGLE:
            if ch == "'":
                state = Quote.NONE
        elif ch == escape:
            i += 1  # the next character is escaped (outside single quotes)
        elif state is Quote.DOUBLE:
            if ch == '"':
                state = Quote.NONE
        elif ch in "'\"":
            state = Quote.SINGLE if ch == "'" else Quote.DOUBLE
        elif posix and script.startswith("<<", i):
            return None
        elif posix and ch == "#" and (i == 0 or script[i - 1] in " \t\n;"):
            end = script.find("\n", i)
            if end < 0 or end >= offset:
                return Quote.NONE  # inside a comment: any form is inert
            i = end
            continue
        i += 1
    return state


def posix_quote_state(script: str, offset: int) -> Quote | None:
    """The quote state at ``offset`` of a POSIX shell script; None inside or after a heredoc
    (whose quoting rules differ) — mendbot then declines to rewrite."""
    return _quote_state(script, offset, escape="\\", posix=True)


def pwsh_quote_state(script: str, offset: int) -> Quote | None:
    """The quote state at ``offset`` of a PowerShell script (backtick escapes; here-strings
    make it None)."""
    if "@'" in script[:offset] or '@"' in script[:offset]:
        return None
    return _quote_state(script, offset, escape="`", posix=False)


def reference(shell: str, script: str, offset: int, name: str) -> str | None:
    """Text that reads environment variable ``name`` at ``offset`` of ``script``."""
    if shell in _POSIX_SHELLS:
        state = posix_quote_state(script, offset)
        if state is Quote.DOUBLE:
            return f"${{{name}}}"
        if state is Quote.NONE:
            return f'"${{{name}}}"'
        if state is Quote.SINGLE:
            return f"'\"${{{name}}}\"'"  # close ', expand in "", reopen '
        return None
    if shell in _PWSH_SHELLS:
        state = pwsh_quote_state(script, offset)
        if state in (Quote.NONE, Quote.DOUBLE):
            return f"$env:{name}"
        return None
    # cmd.exe expands %VAR% *before* parsing the line, so a variable would not make the
    # value data there: cmd scripts are reported, never rewritten.
    return None


_JS_LITERAL = re.compile(r"""(['"])\$\{\{[^\n]*?\}\}\1""")


def javascript_reference(
    script: str, start: int, end: int, name: str
) -> tuple[int, int, str] | None:
    """For ``actions/github-script``: the span to replace and ``process.env.NAME`` text.

    A whole string literal ``'${{ x }}'`` becomes ``process.env.NAME``; an expression inside a
    template literal becomes ``${process.env.NAME}``; a bare expression becomes
    ``process.env.NAME``. Anything else (inside a longer quoted string) is None.
    """
    before = script[:start]
    if (
        start > 0
        and end < len(script)
        and script[start - 1] == script[end]
        and script[end] in "'\""
    ):
        return start - 1, end + 1, f"process.env.{name}"
    if before.count("`") % 2 == 1:
        return start, end, f"${{process.env.{name}}}"
    line_before = before.rsplit("\n", 1)[-1]
    if line_before.count("'") % 2 == 0 and line_before.count('"') % 2 == 0:
        return start, end, f"process.env.{name}"
    return None
