"""What a position of a PowerShell script is: quotes, ``$(…)`` inside strings, statements."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.workflow.posix_shell import Quote, code_language
from bot.workflow.template_scan import expressions


@dataclass(frozen=True)
class PwshPlace:
    """What a position of a PowerShell script is."""

    quote: Quote | None
    why: str | None = None
    command_position: bool = False
    """Whether the position starts a statement, where a variable alone is not a command."""
    glued: bool = False
    """Whether unquoted text touches the position (``pre${{ x }}.txt``)."""


def pwsh_place(script: str, offset: int) -> PwshPlace:
    """What ``offset`` of a PowerShell script is: quotes (``''``/``""`` escapes, backtick
    escapes), ``$(…)`` inside strings, comments; here-strings and block comments are None."""
    before = script[:offset]
    if "@'" in before or '@"' in before or "<#" in before:
        return PwshPlace(None, "in a PowerShell here-string or block comment")
    spans = {e.start: e.end for e in expressions(script)}
    stack: list[list[int]] = [[0, 0]]  # frames: [kind, paren depth]; 0 cmd, 1 dq, 2 sq
    started = False  # the current statement has text
    i = 0
    while i < offset:
        kind = stack[-1][0]
        if i in spans:
            started = True
            i = spans[i]
            continue
        ch = script[i]
        if kind == 2:
            if ch == "'":
                stack.pop()
        elif ch == "`":
            i += 1
        elif kind == 1:
            if ch == '"':
                stack.pop()
            elif script.startswith("$(", i):
                stack.append([0, 0])
                started = False
                i += 1
        elif ch == "'":
            stack.append([2, 0])
            started = True
        elif ch == '"':
            stack.append([1, 0])
            started = True
        elif ch == "#" and (i == 0 or script[i - 1] in " \t\n;"):
            newline = script.find("\n", i)
            if newline < 0 or newline >= offset:
                return PwshPlace(Quote.NONE)
            i = newline
            continue
        elif ch == "(":
            stack[-1][1] += 1
            started = False
        elif ch == ")":
            if stack[-1][1] > 0:
                stack[-1][1] -= 1
            elif len(stack) > 1:
                stack.pop()
            started = True
        elif ch in "\n;|{}" or script.startswith(("&&", "||"), i):
            started = False
        elif ch not in " \t":
            started = True
        i += 1
    line = script[:offset].rsplit("\n", 1)[-1].lower()
    whole = line + script[offset:].split("\n", 1)[0].lower()
    if re.search(r"\b(invoke-expression|iex|invoke-command|start-process|\[scriptblock\])", whole):
        return PwshPlace(None, "the value is spliced into code that PowerShell runs")
    # Words are split on blanks only (a rough cut): any word after a code option counts as
    # code, which errs towards reporting without a fix.
    statement = line.split()
    code = next((c for k in range(1, len(statement)) if (c := code_language(statement[:k]))), None)
    if code is not None:
        return PwshPlace(None, f"the value is spliced into {code[0]} code that `{code[1]}` runs")
    kind = stack[-1][0]
    if kind == 2:
        return PwshPlace(None, "the expression is in a single-quoted PowerShell string")
    if kind == 1:
        return PwshPlace(Quote.DOUBLE)
    glued = offset > 0 and not script[offset - 1].isspace() and script[offset - 1] not in "(;,="
    return PwshPlace(Quote.NONE, None, not started, glued)
