"""What a position of a POSIX shell script is, read with the shell's own nesting.

:func:`posix_place` reads a script up to an offset keeping a stack of contexts (quotes inside
``$(…)`` inside quotes, heredocs, backticks, arithmetic, ``${…}``, comments) and says what the
place is: its quoting, the words of the command it belongs to, whether those words make it a
list the author relied on being split, or a string another program runs as code
(``python3 -c '…'``, ``bash -c "…"``, ``eval``, ``… | sh``). :func:`spliced_variables` finds the
shell variables such places expand, and :func:`environment_file` the lines that write
``$GITHUB_ENV``/``$GITHUB_PATH``.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum

from bot.workflow.template_scan import expressions

POSIX_SHELLS = frozenset({"bash", "sh", "zsh", "dash", "ksh"})
PWSH_SHELLS = frozenset({"pwsh", "powershell"})


class Quote(Enum):
    """The quoting state at a position of a shell script."""

    NONE = "none"
    SINGLE = "single"
    DOUBLE = "double"
    HEREDOC = "heredoc"
    """The body of an unquoted heredoc: expanded like double quotes, quotes are literal."""


#: Programs that run one of their arguments as code: the language, and the options whose
#: next word is that code. ``eval`` runs every argument.
_CODE_PROGRAMS: dict[str, tuple[str, frozenset[str]]] = {
    "python": ("Python", frozenset({"-c"})),
    "node": ("JavaScript", frozenset({"-e", "--eval", "-p", "--print"})),
    "ruby": ("Ruby", frozenset({"-e"})),
    "perl": ("Perl", frozenset({"-e", "-E"})),
    "php": ("PHP", frozenset({"-r"})),
    "shell": ("shell", frozenset({"-c"})),
    "pwsh": ("PowerShell", frozenset({"-c", "-command", "-encodedcommand", "-ec"})),
}
_WRAPPERS = frozenset({"sudo", "env", "exec", "command", "time", "nice", "nohup", "xargs"})
_RESERVED = frozenset({"if", "then", "else", "elif", "do", "while", "until", "!", "{", "}"})
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?\+?=")


def _program_kind(word: str) -> str | None:
    """``python`` for ``/usr/bin/python3.12``, ``shell`` for ``bash``; None for others."""
    base = word.rsplit("/", 1)[-1].lower()
    if re.fullmatch(r"(python|pypy)[\d.]*", base):
        return "python"
    if base in ("node", "nodejs"):
        return "node"
    if base in ("ruby", "perl", "php"):
        return base
    if base in POSIX_SHELLS:
        return "shell"
    if base in PWSH_SHELLS:
        return "pwsh"
    return None


def _is_code_flag(kind: str, word: str, flags: frozenset[str]) -> bool:
    if word.lower() in flags:
        return True
    # Clustered short options end with the code flag: ``bash -ec``, ``python -Bc``.
    short = [f[1] for f in flags if len(f) == 2]
    return (
        kind in ("shell", "python", "ruby", "perl")
        and re.fullmatch(r"-[A-Za-z]+", word) is not None
        and word[-1] in short
    )


def _command_words(words: list[str]) -> list[str]:
    """The words of a simple command without reserved words, assignments and wrappers."""
    rest = list(words)
    while rest and (rest[0] in _RESERVED or _ASSIGNMENT.match(rest[0])):
        rest.pop(0)
    while rest and rest[0].rsplit("/", 1)[-1] in _WRAPPERS:
        rest.pop(0)
        while rest and (rest[0].startswith("-") or _ASSIGNMENT.match(rest[0])):
            rest.pop(0)
    return rest


def code_language(words: list[str]) -> tuple[str, str] | None:
    """(language, program) when the word after ``words`` is code another program runs:
    ``["python3", "-c"]`` → ("Python", "python3 -c"); ``["eval", …]`` → ("shell", "eval")."""
    command = _command_words(words)
    if not command:
        return None
    if command[0] in ("eval", "source", "."):
        return ("shell", command[0]) if command[0] == "eval" else None
    kind = _program_kind(command[0])
    if kind is None or len(command) < 2:
        return None
    language, flags = _CODE_PROGRAMS[kind]
    last = command[-1]
    if _is_code_flag(kind, last, flags):
        return language, f"{command[0]} {last}"
    return None  # the words after the code are arguments: data


@dataclass(frozen=True)
class Place:
    """What a position of a POSIX shell script is."""

    quote: Quote | None
    """The quoting there; None inside a construct mendbot does not rewrite (see ``why``)."""
    why: str | None = None
    words: tuple[str, ...] = ()
    """The words of the enclosing simple command before the one at the position."""
    word: str = ""
    """The text of the word at the position, up to the position."""
    in_list: bool = False
    """A word list the shell splits on purpose: ``for x in …``, ``arr=(…)``, ``set -- …``."""
    code: tuple[str, str] | None = None
    """(language, program) when the position is inside a string another program runs."""

    @property
    def command_position(self) -> bool:
        """Whether the position starts the command name."""
        return not _command_words(list(self.words)) and not self.word


@dataclass
class _Frame:
    kind: str
    """``cmd`` (script, ``$(…)``), ``array``, ``bt`` (backticks), ``dq``, ``sq``, ``ansi``
    (``$'…'``), ``param`` (``${…}``) or ``arith`` (``$((…))``)."""
    words: list[str] = field(default_factory=list)
    word: str = ""
    depth: int = 0
    """Open parentheses inside the frame (subshells, arithmetic groups)."""

    def end_word(self) -> None:
        if self.word:
            self.words.append(self.word)
        self.word = ""

    def end_command(self) -> None:
        self.word = ""
        self.words = []


_COMMAND_FRAMES = ("cmd", "array", "bt")
_OPAQUE_FRAMES = {
    "bt": "inside backticks, whose quoting rules differ",
    "param": "inside a `${…}` parameter expansion",
    "arith": "in arithmetic, where bash runs `$(…)` hidden in an array subscript",
    "ansi": "inside a `$'…'` string",
}


@dataclass
class _Heredoc:
    delimiter: str
    quoted: bool
    strip_tabs: bool
    interpreter: str | None = None
    """The program the body feeds when it reads its program from standard input."""


class _PosixScanner:
    """Reads a POSIX shell script up to an offset, keeping a stack of nested contexts."""

    def __init__(self, script: str) -> None:
        self.script = script
        self.spans = {e.start: e.end for e in expressions(script)}

    def place(self, offset: int) -> Place:
        """What ``offset`` is (see :meth:`places`)."""
        return self.places([offset])[offset]

    def places(self, offsets: Iterable[int]) -> dict[int, Place]:
        """What each offset is, in one pass over the script; a value piped into an
        interpreter (``echo … | sh``) is code."""
        found = self._places(sorted(set(offsets)))
        for offset, where in found.items():
            if where.quote is not None and where.code is None:
                piped = piped_interpreter(self.script, offset)
                if piped is not None:
                    found[offset] = dataclasses.replace(where, code=piped)
        return found

    def _places(self, targets: list[int]) -> dict[int, Place]:  # one lexer: long by nature
        s = self.script
        found: dict[int, Place] = {}
        stack = [_Frame("cmd")]
        heredocs: list[_Heredoc] = []
        i = k = 0
        while True:
            while k < len(targets) and targets[k] <= i:
                target = targets[k]
                found[target] = (
                    self._describe(stack, s, target)
                    if target == i
                    else Place(None, "part of an escape or an operator")
                )
                k += 1
            if k == len(targets):
                return found
            if i >= len(s):
                break
            frame = stack[-1]
            command = next(f for f in reversed(stack) if f.kind in _COMMAND_FRAMES)
            end = self.spans.get(i)
            if end is not None:  # a ${{ … }}: GitHub pastes text here; treat it as word text
                command.word += s[i:end]
                i = end
                continue
            ch = s[i]
            two = s[i : i + 2]
            if frame.kind == "sq":
                if ch == "'":
                    stack.pop()
                command.word += ch
                i += 1
                continue
            if frame.kind in ("dq", "ansi") and ch == "\\":
                command.word += s[i : i + 2]
                i += 2
                continue
            if frame.kind == "ansi":
                if ch == "'":
                    stack.pop()
                i += 1
                continue
            if frame.kind == "param":
                if ch == "}":
                    stack.pop()
                elif two == "${":
                    stack.append(_Frame("param"))
                    i += 1
                i += 1
                continue
            if frame.kind == "arith":
                if ch == "(":
                    frame.depth += 1
                elif ch == ")":
                    if frame.depth == 0:
                        stack.pop()
                        i += 1 if two == "))" else 0
                    else:
                        frame.depth -= 1
                i += 1
                continue
            if frame.kind == "dq":
                command.word += ch
                if ch == '"':
                    stack.pop()
                elif s.startswith("$((", i):
                    stack.append(_Frame("arith"))
                    i += 2
                elif two == "$(":
                    stack.append(_Frame("cmd"))
                    i += 1
                elif two == "${":
                    stack.append(_Frame("param"))
                    i += 1
                elif ch == "`":
                    stack.append(_Frame("bt"))
                i += 1
                continue
            # A command frame: the script itself, $( … ), backticks or an array literal.
            if ch == "\\":
                if s[i + 1 : i + 2] != "\n":  # backslash-newline joins lines
                    frame.word += s[i : i + 2]
                i += 2
                continue
            if ch in "'\"" or two in ("$'", "$(", "${"):
                frame.word += ch  # quoted and substituted text is part of the word
            if ch == "'":
                stack.append(_Frame("sq"))
            elif two == "$'":
                stack.append(_Frame("ansi"))
                i += 1
            elif ch == '"':
                stack.append(_Frame("dq"))
            elif s.startswith("$((", i):
                stack.append(_Frame("arith"))
                i += 2
            elif two == "$(":
                stack.append(_Frame("cmd"))
                i += 1
            elif two == "${":
                stack.append(_Frame("param"))
                i += 1
            elif ch == "`":
                if frame.kind == "bt":
                    stack.pop()
                else:
                    stack.append(_Frame("bt"))
            elif ch == "#" and not frame.word:
                newline = s.find("\n", i)
                i = len(s) if newline < 0 else newline
                while k < len(targets) and targets[k] < i:
                    found[targets[k]] = Place(Quote.NONE)  # a comment: GitHub pastes here too
                    k += 1
                continue
            elif ch in " \t":
                frame.end_word()
            elif ch == "\n":
                frame.end_command()
                if heredocs:
                    i, k = self._heredoc_bodies(i + 1, heredocs, targets, k, found)
                    heredocs = []
                    continue
            elif ch in ";&|":
                frame.end_command()
            elif two == "((" and not frame.word and not _command_words(frame.words):
                stack.append(_Frame("arith"))
                i += 1
            elif ch == "(":
                if frame.word.endswith("="):
                    frame.word += ch
                    stack.append(_Frame("array"))
                else:
                    frame.end_command()
                    frame.depth += 1
            elif ch == ")":
                if frame.depth > 0:
                    frame.depth -= 1
                    frame.end_command()
                elif frame.kind == "array" or (frame.kind == "cmd" and len(stack) > 1):
                    stack.pop()
                    outer = next(f for f in reversed(stack) if f.kind in _COMMAND_FRAMES)
                    outer.word += ch
                else:
                    frame.end_command()  # a `case` pattern
            elif two == "<<" and s[i + 2 : i + 3] != "<":
                frame.end_word()
                i, heredoc = self._heredoc_start(i + 2)
                heredoc.interpreter = _stdin_interpreter(frame.words)
                heredocs.append(heredoc)
                continue
            else:
                frame.word += ch
            i += 1
        for target in targets[k:]:
            found[target] = self._describe(stack, s, target)
        return found

    def _heredoc_start(self, i: int) -> tuple[int, _Heredoc]:
        s = self.script
        strip = s[i : i + 1] == "-"
        i += 1 if strip else 0
        while s[i : i + 1] in (" ", "\t"):
            i += 1
        match = re.match(r"""(?:'([^']*)'|"([^"]*)"|\\?([^\s;&|<>()]+))""", s[i:])
        if match is None:
            return i, _Heredoc("", False, strip)
        word = match.group(1) if match.group(1) is not None else match.group(2)
        quoted = word is not None or match.group().startswith("\\")
        delimiter = word if word is not None else match.group(3).replace("'", "").replace('"', "")
        quoted = quoted or "'" in match.group() or '"' in match.group()
        return i + match.end(), _Heredoc(delimiter, quoted, strip)

    def _heredoc_bodies(
        self,
        start: int,
        heredocs: list[_Heredoc],
        targets: list[int],
        k: int,
        found: dict[int, Place],
    ) -> tuple[int, int]:
        """Skip the bodies that start at ``start``, describing the targets inside them;
        returns where the script goes on and the next target."""
        s = self.script
        pos = start
        for heredoc in heredocs:
            body_start = pos
            while pos <= len(s):
                newline = s.find("\n", pos)
                line_end = len(s) if newline < 0 else newline
                line = s[pos:line_end]
                closed = (line.lstrip("\t") if heredoc.strip_tabs else line) == heredoc.delimiter
                if closed or newline < 0:
                    body_end = pos if closed else len(s) + 1
                    while k < len(targets) and body_start <= targets[k] < body_end:
                        found[targets[k]] = self._heredoc_place(heredoc, targets[k])
                        k += 1
                    pos = line_end + 1 if closed else len(s) + 1
                    break
                pos = newline + 1
        return min(pos, len(s)), k

    def _heredoc_place(self, heredoc: _Heredoc, offset: int) -> Place:
        if heredoc.quoted:
            return Place(None, "in a quoted heredoc, which expands no variable")
        if heredoc.interpreter is not None:
            # the shell substitutes the variable, then the interpreter runs the text as code
            return Place(None, f"in a heredoc that `{heredoc.interpreter}` runs as code")
        line = self.script[self.script.rfind("\n", 0, offset) + 1 : offset]
        for start, end in sorted(self.spans.items()):
            line = line.replace(self.script[start:end], "")
        if "$(" in line or "`" in line or "${" in line:
            return Place(None, "inside a substitution in a heredoc")
        return Place(Quote.HEREDOC)

    @staticmethod
    def _describe(stack: list[_Frame], script: str, offset: int) -> Place:
        for frame in stack:
            if frame.kind in _OPAQUE_FRAMES:
                return Place(None, _OPAQUE_FRAMES[frame.kind])
        command = next(f for f in reversed(stack) if f.kind in _COMMAND_FRAMES)
        words = _command_words(command.words)
        if words[:1] == ["let"] or (
            words[:1] == ["[["] and _arithmetic_test(words, script, offset)
        ):
            return Place(None, f"inside `{words[0]}`, which evaluates arithmetic")
        code = None
        for frame in stack:
            if frame.kind in _COMMAND_FRAMES:
                code = code or code_language(frame.words)
        innermost = stack[-1].kind
        quote = {"sq": Quote.SINGLE, "dq": Quote.DOUBLE}.get(innermost, Quote.NONE)
        in_list = innermost == "array" or (
            quote is Quote.NONE
            and (
                (len(words) >= 3 and words[0] in ("for", "select") and words[2] == "in")
                or words[:2] == ["set", "--"]
            )
        )
        return Place(quote, None, tuple(command.words), command.word, in_list, code)


_ARITHMETIC_OPERATOR = re.compile(r"-(?:eq|ne|lt|le|gt|ge)")


def _arithmetic_test(words: list[str], script: str, offset: int) -> bool:
    """Whether a ``[[ … ]]`` compares numbers: bash evaluates both operands of ``-eq`` & co.
    as arithmetic, where ``a[$(cmd)]`` runs ``cmd`` even from a quoted variable."""
    close = script.find("]]", offset)
    rest = script[offset : len(script) if close < 0 else close].split()
    return any(_ARITHMETIC_OPERATOR.fullmatch(w) for w in [*words, *rest])


_PIPED = re.compile(
    r"\|\s*(?:sudo\s+(?:-\S+\s+)*)?(?P<program>\S*?(?P<base>bash|sh|zsh|dash|ksh|python[\d.]*"
    r"|node|nodejs|ruby|perl|php|pwsh))(?:\s+-[A-Za-z]*)*\s*(?:$|[;&|)])"
)
_PIPED_LANGUAGE = {"node": "JavaScript", "nodejs": "JavaScript", "ruby": "Ruby", "perl": "Perl"}


def _stdin_interpreter(words: list[str]) -> str | None:
    """The command ``words`` (``python3 -``, ``sudo bash``) when it is an interpreter that reads
    its program from standard input, else None."""
    command = " ".join(words)
    return command if _PIPED.search(f"| {command}") is not None else None


def piped_interpreter(script: str, offset: int) -> tuple[str, str] | None:
    """(language, program) when the line at ``offset`` pipes into an interpreter that reads
    its program from standard input (``echo "…" | bash``); None otherwise."""
    end = script.find("\n", offset)
    rest = script[offset : len(script) if end < 0 else end]
    match = _PIPED.search(rest)
    if match is None:
        return None
    base = match["base"]
    language = (
        "shell"
        if base in POSIX_SHELLS
        else "Python"
        if base.startswith("python")
        else "PowerShell"
        if base == "pwsh"
        else _PIPED_LANGUAGE.get(base, base.upper())
    )
    return language, f"| {match['program']}"


@functools.lru_cache(maxsize=64)
def _expression_places(script: str) -> dict[int, Place]:
    """The place of every ``${{ … }}`` of ``script``, from one pass (rules ask per
    expression, often several times)."""
    scanner = _PosixScanner(script)
    return scanner.places(scanner.spans)


def posix_place(script: str, offset: int) -> Place:
    """What ``offset`` of a POSIX shell ``script`` is (see :class:`Place`)."""
    cached = _expression_places(script).get(offset)
    return cached if cached is not None else _PosixScanner(script).place(offset)


def posix_quote_state(script: str, offset: int) -> Quote | None:
    """The quote state at ``offset`` of a POSIX shell script; None inside constructs whose
    quoting mendbot does not rewrite."""
    return posix_place(script, offset).quote


_SHELL_VARIABLE = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_]\w*)(?=[}:#%/^,@\[])|(?P<bare>[A-Za-z_]\w*))"
)


@dataclass(frozen=True)
class SplicedVariable:
    """A shell variable the shell expands into a string another program runs as code."""

    name: str
    text: str
    """The reference as written (``${ISSUE_TITLE}``)."""
    language: str
    program: str


def spliced_variables(script: str) -> list[SplicedVariable]:
    """Variables a POSIX ``script`` expands into code strings (``python3 -c "…$X…"``,
    ``eval "$X"``): the value becomes code again, whatever ``env:`` it came through."""
    scanner = _PosixScanner(script)
    found: list[SplicedVariable] = []
    matches = [
        m
        for m in _SHELL_VARIABLE.finditer(script)
        if not any(start <= m.start() < end for start, end in scanner.spans.items())
    ]
    places = scanner.places(m.start() for m in matches)
    for match in matches:
        where = places[match.start()]
        if where.quote not in (Quote.NONE, Quote.DOUBLE, Quote.HEREDOC):
            continue
        name = match["braced"] or match["bare"]
        text = match.group() + ("}" if match["braced"] else "")
        # A `$GITHUB_ENV` inside single quotes belongs to the text another shell runs
        # (`bash -c '… >> "$GITHUB_ENV"'`), not to the command this variable is expanded in.
        target = environment_file(script, match.start(), unquoted=True)
        if where.code is not None:
            found.append(SplicedVariable(name, text, *where.code))
        elif target is not None and name != target.strip("$"):
            found.append(SplicedVariable(name, text, ENVIRONMENT_FILE, target))
    return found


#: The ``language`` of a :class:`SplicedVariable` written to ``$GITHUB_ENV``/``$GITHUB_PATH``.
ENVIRONMENT_FILE = "environment file"
_ENVIRONMENT_FILE = re.compile(r"\bGITHUB_(?:ENV|PATH)\b")


def environment_file(script: str, offset: int, *, unquoted: bool = False) -> str | None:
    """``$GITHUB_ENV`` (or ``$GITHUB_PATH``) when the line at ``offset`` writes to it: a
    newline in a value written there adds any variable (``BASH_ENV``, ``NODE_OPTIONS``) or
    path for the later steps, whether the value came through ``env:`` or not. With
    ``unquoted``, a name inside single quotes counts only when the text another program runs
    (``bash -c '… >> "$GITHUB_ENV"'``) receives the value at ``offset``: as an argument after
    it, or on its standard input through a pipe; an argument of the command before it
    (``rustup run "$T" bash -c '…'``) is not written there."""
    start = script.rfind("\n", 0, offset) + 1
    end = script.find("\n", offset)
    line = script[start : len(script) if end < 0 else end]
    for expression in expressions(line):
        line = line.replace(expression.text, " " * len(expression.text))
    for match in _ENVIRONMENT_FILE.finditer(line):
        if (
            unquoted
            and posix_place(script, start + match.start()).quote is Quote.SINGLE
            and not _feeds_inner_program(line, offset - start, match.start())
        ):
            continue
        return f"${match.group()}"
    return None


def _feeds_inner_program(line: str, value: int, inner: int) -> bool:
    """Whether the value at ``value`` in ``line`` reaches the program whose single-quoted code
    holds ``inner``: an argument after that code, or a command piped into it."""
    if value > inner:
        return True
    return re.search(r"(?<!\|)\|(?!\|)", line[value:inner]) is not None


def environment_file_advice(target: str) -> str:
    """Why a value written to ``target`` is reported without a fix, and what to do."""
    return (
        f"the value is written to `{target}`, where a newline in it adds any variable "
        "(`BASH_ENV`, `NODE_OPTIONS`) or path for the later steps, and an environment "
        "variable does not stop that: check the value (no newline) or write it with a "
        "random heredoc delimiter (`NAME<<EOF_$RANDOM`), by hand"
    )
