"""How to reference an environment variable at a given place in a script, per shell.

:func:`shell_reference` turns what :mod:`~bot.workflow.posix_shell` and
:mod:`~bot.workflow.pwsh_shell` say about a place into the text that reads ``$name``
there with the same meaning, or ``Reference(None, why)`` when no such text exists (code
strings, backticks, arithmetic, quoted heredocs, environment files, cmd): mendbot then reports
without a fix rather than hide the hole. :func:`javascript_reference` does the same for
``actions/github-script``.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.workflow.posix_shell import (
    POSIX_SHELLS,
    PWSH_SHELLS,
    Quote,
    environment_file,
    environment_file_advice,
    posix_place,
)
from bot.workflow.pwsh_shell import pwsh_place

#: Why an expression that names the command is reported, never rewritten.
COMMAND_POSITION = (
    "the value is the command itself (the program, or the program and its arguments): "
    "whoever sets it chooses what runs, and no variable can change that while keeping the "
    "step working. Choose the command from a fixed list in the script and pass only data "
    "through env:, by hand"
)


def shell_name(shell: str | None, runs_on: list[str]) -> str:
    """The program a ``run:`` step uses: its ``shell:`` (first word, basename), else the
    runner's default (``pwsh`` on Windows labels, ``bash`` elsewhere)."""
    if shell:
        first = shell.strip().split()[0] if shell.strip() else ""
        return first.rsplit("/", 1)[-1].lower()
    if any("windows" in label.lower() for label in runs_on):
        return "pwsh"
    return "bash"


@dataclass(frozen=True)
class Reference:
    """The text that reads a variable at a place, or why there is none."""

    text: str | None
    why: str | None = None
    span: tuple[int, int] | None = None
    """What ``text`` replaces when more than the expression (a whole string literal)."""
    code: tuple[str, str] | None = None
    """(language, program) when the place is inside code another program runs."""


def posix_reference(script: str, start: int, end: int, name: str) -> Reference:
    """Text that replaces ``script[start:end]`` (an expression) in a POSIX shell script."""
    where = posix_place(script, start)
    if where.quote is None:
        return Reference(None, f"the expression is {where.why}; fix by hand")
    target = environment_file(script, start)
    if target is not None:
        return Reference(None, environment_file_advice(target))
    if where.code is not None:
        language, program = where.code
        return Reference(
            None,
            f"the value is spliced into {language} code that `{program}` runs: a shell "
            f"variable there would still be code. Read the value inside the {language} code "
            f"({_READ_ENV.get(language, 'from the environment')}) by hand",
            code=where.code,
        )
    if where.quote is Quote.NONE and where.command_position:
        return Reference(None, COMMAND_POSITION)
    if where.quote is Quote.SINGLE:
        return Reference(f"'\"${{{name}}}\"'")  # close ', expand in "", reopen '
    if where.quote in (Quote.DOUBLE, Quote.HEREDOC):
        return Reference(f"${{{name}}}")
    if where.in_list:
        # The author relies on the value being split into words (`for f in …`). An unquoted
        # expansion is split on IFS and globbed like the pasted text was, never parsed as code.
        return Reference(f"${{{name}}}")
    return Reference(f'"${{{name}}}"')


_READ_ENV = {
    "Python": 'os.environ["NAME"]',
    "JavaScript": "process.env.NAME",
    "Ruby": 'ENV["NAME"]',
    "Perl": "$ENV{NAME}",
    "PHP": 'getenv("NAME")',
    "shell": 'a quoted "$NAME" inside single quotes',
    "PowerShell": "$env:NAME",
}


def pwsh_reference(script: str, start: int, end: int, name: str) -> Reference:
    """Text that replaces ``script[start:end]`` in a PowerShell script."""
    where = pwsh_place(script, start)
    if where.quote is None:
        return Reference(None, f"{where.why}; fix by hand")
    target = environment_file(script, start)
    if target is not None:
        return Reference(None, environment_file_advice(target))
    following = script[end : end + 1]
    if where.quote is Quote.DOUBLE:
        braced = following.isalnum() or following in "_:?"
        return Reference(f"${{env:{name}}}" if braced else f"$env:{name}")
    if where.command_position:
        return Reference(None, COMMAND_POSITION)
    if where.glued or (following and not following.isspace() and following not in ");,|"):
        return Reference(None, "the expression is glued to other text in a PowerShell bareword")
    return Reference(f"$env:{name}")


def reference(
    shell: str, script: str, offset: int, name: str, end: int | None = None
) -> str | None:
    """Text that reads environment variable ``name`` at ``offset`` of ``script``; None when
    mendbot cannot say safely (see :func:`shell_reference` for why)."""
    stop = end if end is not None else offset
    return shell_reference(shell, script, offset, stop, name).text


def shell_reference(shell: str, script: str, start: int, end: int, name: str) -> Reference:
    """Text that replaces the expression ``script[start:end]`` to read ``$name`` in ``shell``."""
    if shell in POSIX_SHELLS:
        return posix_reference(script, start, end, name)
    if shell in PWSH_SHELLS:
        return pwsh_reference(script, start, end, name)
    if shell == "cmd":
        # cmd.exe expands %VAR% *before* parsing the line, so a variable would not make the
        # value data there: cmd scripts are reported, never rewritten.
        return Reference(None, "cmd.exe expands %VAR% before parsing, so env: would not help")
    return Reference(None, f"mendbot does not rewrite {shell} scripts; pass the value by hand")


def javascript_reference(
    script: str, start: int, end: int, name: str
) -> tuple[int, int, str] | None:
    """For ``actions/github-script``: the span to replace and ``process.env.NAME`` text.

    A whole string literal ``'${{ x }}'`` becomes ``process.env.NAME``; an expression in the
    text of a template literal becomes ``${process.env.NAME}``; inside a longer ``'…'`` or
    ``"…"`` literal on one line, the literal becomes a parenthesised concatenation
    (``("doing: " + process.env.NAME + "")``), so whatever follows it (``.length``) still
    applies to the whole string. Where the expression sits is read from the start of the
    script (strings, template literals and their ``${…}``, comments). Anything else is None:
    bare, where the expression is pasted as *code* (``script: ${{ x }}`` or ``f(${{ x }})``)
    and a string from the environment would not do the same thing, or a script mendbot cannot
    read with certainty before it (a ``/`` that is not a comment: a division or a regular
    expression, which may hold a quote).
    """
    where = _javascript_literal_at(script, start)
    if where is None:
        return None
    quote, opened = where
    if quote == "`":
        return start, end, f"${{process.env.{name}}}"
    if opened == start - 1 and end < len(script) and script[end] == quote:
        return start - 1, end + 1, f"process.env.{name}"
    return _inside_quoted_literal(script, start, end, name, quote, opened)


def _javascript_literal_at(script: str, offset: int) -> tuple[str, int] | None:
    """The innermost literal holding ``script[offset]``: its quote (``'``, ``"`` or a
    backtick) and where it opened; None when ``offset`` is in code or not certainly known."""
    # Each entry: what is open (a quote, "{" or "${") and where it opened.
    open_: list[tuple[str, int]] = []
    index = 0
    while index < offset:
        kind = open_[-1][0] if open_ else ""
        char = script[index]
        if kind in ("'", '"', "`"):
            if char == "\\":
                index += 2
                continue
            if char == kind:
                open_.pop()
            elif kind == "`" and script.startswith("${", index):
                open_.append(("${", index))
                index += 1
            elif char == "\n" and kind != "`":
                return None  # a string that does not end on its line
        elif script.startswith("//", index):
            newline = script.find("\n", index)
            index = len(script) if newline == -1 else newline
            continue
        elif script.startswith("/*", index):
            closing = script.find("*/", index + 2)
            if closing == -1:
                return None
            index = closing + 2
            continue
        elif char == "/":
            return None  # a division or a regular expression (which may hold a quote)
        elif char in "'\"`":
            open_.append((char, index))
        elif char == "{":
            open_.append(("{", index))
        elif char == "}":
            if not open_:
                return None
            open_.pop()
        index += 1
    if index != offset or not open_ or open_[-1][0] not in ("'", '"', "`"):
        return None
    return open_[-1]


def _inside_quoted_literal(
    script: str, start: int, end: int, name: str, quote: str, opened: int
) -> tuple[int, int, str] | None:
    """The ``quote`` literal opened at ``opened`` around ``script[start:end]``, rewritten as a
    parenthesised concatenation with ``process.env.NAME``; None when it does not end on the
    line or holds another expression."""
    line_end = script.find("\n", end)
    line_end = len(script) if line_end == -1 else line_end
    index = end
    while index < line_end:
        char = script[index]
        if char == "\\":
            index += 2
            continue
        if char == quote:
            break
        index += 1
    else:
        return None  # the literal goes on past the line (a continuation): not read here
    head = script[opened:start]
    tail = script[end : index + 1]
    if "${{" in head or "${{" in tail:
        return None  # two expressions in one literal: left to a person
    if (len(head) - len(head.rstrip("\\"))) % 2:
        return None  # `"a \${{ x }}"`: the closing quote added after it would be escaped
    return opened, index + 1, f"({head}{quote} + process.env.{name} + {quote}{tail})"
