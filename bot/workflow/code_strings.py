"""Read a value inside the code another program runs, instead of pasting it there.

``python3 -c 'print("${{ github.event.issue.title }}")'`` pastes the title into Python source:
an environment variable spliced into the same place would still be Python. When the
expression is a whole string literal of that code, the literal becomes a read of the
environment in that language (``__import__("os").environ["ISSUE_TITLE"]``,
``process.env.ISSUE_TITLE``, ``ENV["ISSUE_TITLE"]``, ``$ENV{ISSUE_TITLE}``), which is the same
string for every value and never code. A shell code string (``bash -c '…'``, ``eval '…'``)
in single quotes reaches the inner shell verbatim, so the inner shell's own reference is used.
Anything else (text around the expression inside the literal, f-strings, a shell code string
in double quotes, a pipe into an interpreter) stays report-only.
"""

from __future__ import annotations

from bot.workflow.posix_shell import Quote, posix_place
from bot.workflow.shell_quoting import Reference, posix_reference


def _environment_read(language: str, name: str, quote: str, shell_quote: Quote) -> str | None:
    """``language`` code that evaluates to environment variable ``name``, using ``quote`` for
    its own string literals; None for languages mendbot does not rewrite."""
    if language == "Python":
        return f"__import__({quote}os{quote}).environ[{quote}{name}{quote}]"
    if language == "JavaScript":
        return f"process.env.{name}"
    if language == "Ruby":
        return f"ENV[{quote}{name}{quote}]"
    if language == "Perl":
        # Inside shell double quotes `$` would be the shell's: escape it for the shell.
        return ("\\" if shell_quote is Quote.DOUBLE else "") + f"$ENV{{{name}}}"
    return None


def code_string_reference(script: str, start: int, end: int, name: str) -> Reference:
    """How to read ``name`` inside the code string that holds the expression
    ``script[start:end]`` of a POSIX shell script; ``Reference(None, why)`` when mendbot
    cannot."""
    where = posix_place(script, start)
    refused = posix_reference(script, start, end, name)
    if where.code is None or where.quote is None:
        return refused
    language, program = where.code
    if program.startswith("|"):
        return refused  # the code comes from standard input: no literal to rewrite
    if language == "shell":
        return _inner_shell(script, start, end, name, where.quote) or refused
    return _literal(script, start, end, name, language, where.quote) or refused


def _literal(
    script: str, start: int, end: int, name: str, language: str, shell_quote: Quote
) -> Reference | None:
    """The whole literal ``"${{ … }}"`` replaced by a read of the environment."""
    if start < 1 or end >= len(script):
        return None
    opening, closing = script[start - 1], script[end]
    # The literal's quote must be one the shell passes through as it is: " inside '…', and
    # ' inside "…" (an escaped \" would be the shell's business).
    wanted = {Quote.SINGLE: '"', Quote.DOUBLE: "'"}.get(shell_quote)
    if opening != closing or opening != wanted:
        return None
    before = script[start - 2] if start >= 2 else ""
    if before.isalnum() or before in ("_", opening, "\\"):
        return None  # a string prefix (f"…", r"…"), a triple quote or an escape
    if script[end + 1 : end + 2] == closing:
        return None
    text = _environment_read(language, name, opening, shell_quote)
    if text is None:
        return None
    return Reference(text, span=(start - 1, end + 1))


def _inner_shell(
    script: str, start: int, end: int, name: str, shell_quote: Quote
) -> Reference | None:
    """In ``bash -c '…'`` the inner shell reads the variable itself."""
    if shell_quote is not Quote.SINGLE:
        return None
    opening = script.rfind("'", 0, start)
    closing = script.find("'", end)
    if opening < 0 or closing < 0:
        return None
    if opening > 0 and not script[opening - 1].isspace():
        return None  # the code string is several quoted pieces glued together
    if (
        closing + 1 < len(script)
        and not script[closing + 1].isspace()
        and script[closing + 1] not in ";&|)"
    ):
        return None
    inner = script[opening + 1 : closing]
    inner_start, inner_end = start - opening - 1, end - opening - 1
    reference = posix_reference(inner, inner_start, inner_end, name)
    if reference.text is None or "'" in reference.text:
        return None  # the inner text must not close the outer single quotes
    return reference
