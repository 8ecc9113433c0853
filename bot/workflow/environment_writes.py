"""Writes to ``$GITHUB_ENV``/``$GITHUB_PATH`` in a ``run:`` script, and what they write.

A line of a script writes an environment file when it redirects into it (``>> $GITHUB_ENV``,
``>> "${GITHUB_ENV}"``; PowerShell ``>> $env:GITHUB_ENV``; cmd ``>> %GITHUB_ENV%``) or pipes
into a program that appends to it (``| tee -a "$GITHUB_ENV"``, ``| Out-File -Append
$env:GITHUB_ENV``, ``Add-Content``/``Set-Content``). What it writes is the text before the
redirection or the pipe, the body of a heredoc it starts, and, for a block closed on that
line (``} >> "$GITHUB_ENV"``, ``done >> …``), the lines of the block.

Each variable the written text expands is traced: an assignment earlier in the script (its
right-hand side, recursively), the step's ``env:`` and the runner's own variables
(:func:`~bot.workflow.injection_sources.variable_origin`), else unknown. A command substitution
is as trusted as the command: outsiders' text when it reads issues, the event or history,
trusted for a few programs whose output is fixed by the runner (``date``, ``git rev-parse``),
unknown for the rest. ``${{ … }}`` is left to ``gha-template-injection``.

The heredoc form with a random delimiter (``NAME<<$EOF`` where ``EOF`` comes from
``/dev/urandom``, ``openssl rand`` or ``uuidgen``) is safe: a value cannot end it, so the
writes inside it until the delimiter are not reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.knowledge.contexts import Provenance
from bot.workflow.injection_sources import command_origin, origin, variable_origin, worst
from bot.workflow.model import Step
from bot.workflow.template_scan import expressions

_POSIX_TARGET = r"""(?P<target>"?\$\{?(?P<file>GITHUB_ENV|GITHUB_PATH)\}?"?)"""
_POSIX_WRITE = re.compile(
    rf"(?P<how>(?<![<>&\d])>>?|\|\s*tee\b(?:\s+-{{1,2}}[A-Za-z-]+)*)\s*{_POSIX_TARGET}"
)
_PWSH_WRITE = re.compile(
    r"(?P<how>>>?|\|\s*(?:out-file|add-content|set-content|tee-object)\b[^|;\n]*?)\s*"
    r"(?P<target>(?:-\w+\s+)*\"?\$env:(?P<file>GITHUB_ENV|GITHUB_PATH)\"?)",
    re.IGNORECASE,
)
_CMD_WRITE = re.compile(r"(?P<how>>>?)\s*(?P<target>\"?%(?P<file>GITHUB_ENV|GITHUB_PATH)%\"?)")
_HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][\w-]*)\1")
_BLOCK_CLOSE = re.compile(r"^\s*(?:\}|\)|done|fi|esac)\s*$")
_POSIX_VARIABLE = re.compile(r"\$(?:\{(?P<braced>[A-Za-z_]\w*)[^}]*\}|(?P<bare>[A-Za-z_]\w*))")
_PWSH_VARIABLE = re.compile(r"\$(?:env:(?P<env>[A-Za-z_]\w*)|(?P<local>[A-Za-z_]\w*))", re.I)
_CMD_VARIABLE = re.compile(r"%(?P<name>[A-Za-z_]\w*)%")
_POSITIONAL = re.compile(r"\$(?:[0-9@*]|\{[0-9@*#]\})")
_SUBSTITUTION = re.compile(r"\$\((?P<inner>[^()]*(?:\([^()]*\)[^()]*)*)\)|`(?P<tick>[^`]*)`")
_ASSIGNMENT = re.compile(
    r"^\s*(?:export\s+|local\s+|readonly\s+|declare\s+(?:-\w+\s+)*)?"
    r"(?P<name>[A-Za-z_]\w*)=(?P<value>.*)$"
)
_READ_INTO = re.compile(r"\b(?:read|for|mapfile|readarray)\b(?P<rest>[^;|&\n]*)")
_RANDOM_SOURCE = re.compile(r"/dev/urandom|\bopenssl\s+rand\b|\buuidgen\b|/proc/sys/kernel/random")
#: Programs whose output the runner or the repository's own history fixes and that cannot
#: hold a newline an outsider chose: their output written to an environment file is data.
_FIXED_OUTPUT = re.compile(
    r"^\s*(?:date|uname|nproc|pwd|whoami|id|hostname|mktemp|dirname|basename|realpath"
    r"|git\s+rev-parse|git\s+describe|echo\s+\$\w+\s*\|\s*base64|dd\s+if=/dev/urandom"
    r"|openssl\s+rand|uuidgen|python3?\s+--version|node\s+--version|go\s+env)\b"
)
#: Programs that print their (literal) arguments.
_PRINTERS = re.compile(r"^\s*[{(]?\s*(?:echo|printf|:)\b")
#: The runner's and the operating system's own variables that mendbot does not map to a
#: context: set before the job starts, by nobody outside the repository.
_OS_VARIABLES = re.compile(
    r"^(?:HOME|PATH|PWD|USER|SHELL|TMPDIR|TEMP|TMP|LANG|RANDOM|RUNNER_\w+|ImageOS|ImageVersion"
    r"|JAVA_HOME\w*|GOPATH|GOROOT|ANDROID_\w+|CONDA|VCPKG_INSTALLATION_ROOT|AGENT_\w+)$",
    re.IGNORECASE,
)
_MAX_DEPTH = 8


@dataclass(frozen=True)
class EnvironmentWrite:
    """One line of a script that writes an environment file."""

    line: str
    """The line as written (no line break)."""
    offset: int
    """Where the line starts in the script."""
    file: str
    """``GITHUB_ENV`` or ``GITHUB_PATH``."""
    written: str
    """The text whose output is written: the command before the redirection or pipe, plus a
    heredoc body or the lines of the block the line closes."""
    origin: Provenance
    """The least trusted origin of what is written."""
    variable: str | None
    """The variable (or substitution) that origin comes from, for messages."""


def _lines(script: str) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    offset = 0
    for line in script.split("\n"):
        found.append((offset, line.rstrip("\r")))
        offset += len(line) + 1
    return found


def _blank_expressions(text: str) -> str:
    for found in expressions(text):
        text = text.replace(found.text, " " * len(found.text))
    return text


class _Tracer:
    """Traces the variables of one script of one step."""

    def __init__(self, step: Step, script: str, shell: str) -> None:
        self.step = step
        self.shell = shell
        self.lines = _lines(script)

    def assignment(self, name: str, before: int) -> str | None:
        """The right-hand side of the last assignment to ``name`` above line ``before``;
        ``""`` when a ``read``/``for`` sets it (unknown), None when the script never does."""
        for _, text in reversed(self.lines[:before]):
            if self.shell == "pwsh":
                found = re.match(rf"^\s*\${re.escape(name)}\s*=(?P<value>.*)$", text, re.I)
                if found:
                    return found["value"]
                continue
            match = _ASSIGNMENT.match(text)
            if match and match["name"] == name:
                return match["value"]
            reads = _READ_INTO.search(text)
            if reads and re.search(rf"\b{re.escape(name)}\b", reads["rest"]):
                return ""
        return None

    def origin_of_text(self, text: str, before: int, depth: int) -> tuple[Provenance, str | None]:
        """The origin of ``text`` (a command line or a value) written above line ``before``."""
        text = _blank_expressions(text)
        found: list[tuple[Provenance, str | None]] = []
        for match in _SUBSTITUTION.finditer(text):
            inner = match["inner"] if match["inner"] is not None else match["tick"]
            command = command_origin(inner)
            if command is Provenance.TRUSTED and not _FIXED_OUTPUT.match(inner):
                command = Provenance.UNKNOWN
            found.append((command, f"$({inner.strip()})"))
            found.append(self.origin_of_text(inner, before, depth + 1))
        outside = _SUBSTITUTION.sub(" ", text)
        found.extend(
            (self.variable(name, before, depth), f"${name}") for name in self._variables(outside)
        )
        if _POSITIONAL.search(outside):
            found.append((Provenance.UNKNOWN, "a script argument"))
        if not found:
            return Provenance.TRUSTED, None
        least = worst([o for o, _ in found])
        return least, next(v for o, v in found if o is least)

    def _variables(self, text: str) -> list[str]:
        if self.shell == "pwsh":
            return [m["env"] or m["local"] for m in _PWSH_VARIABLE.finditer(text)]
        if self.shell == "cmd":
            return [m["name"] for m in _CMD_VARIABLE.finditer(text)]
        return [m["braced"] or m["bare"] for m in _POSIX_VARIABLE.finditer(text)]

    def variable(self, name: str, before: int, depth: int) -> Provenance:
        """Where ``$name`` gets its value at line ``before``."""
        if depth > _MAX_DEPTH:
            return Provenance.UNKNOWN
        if name in ("?", "$", "#", "!") or name.startswith("GITHUB_OUTPUT"):
            return Provenance.TRUSTED
        assigned = self.assignment(name, before)
        if assigned == "":
            return Provenance.UNKNOWN
        if assigned is not None:
            if _RANDOM_SOURCE.search(assigned):
                return Provenance.TRUSTED
            index = max(i for i, (_, t) in enumerate(self.lines[:before]) if assigned in t)
            return self.origin_of_text(assigned, index, depth + 1)[0]
        declared = variable_origin(self.step, name)
        if declared is not None:
            return declared[1]
        if _OS_VARIABLES.match(name):
            return Provenance.TRUSTED
        # Set by an earlier step through $GITHUB_ENV, or by an action, or not at all.
        return origin(f"env.{name}", self.step)

    def random_delimiter(self, text: str, before: int) -> str | None:
        """The variable of a ``NAME<<$DELIMITER`` heredoc header in ``text`` whose value is
        random, or None."""
        header = re.search(r"<<\s*\"?\$\{?(?P<name>[A-Za-z_]\w*)\}?", text)
        if header is None:
            return None
        name = header["name"]
        same_line = re.search(rf"\b{re.escape(name)}=(?P<value>[^;]*)", text)
        value = same_line["value"] if same_line else self.assignment(name, before)
        return name if value and _RANDOM_SOURCE.search(value) else None


def _heredoc(command: str) -> re.Match[str] | None:
    """The heredoc ``command`` starts (``<<EOF``, ``<<'EOF'``), not a ``<<`` inside quotes
    (``echo "NAME<<EOF"`` writes a header, it reads no body)."""
    for match in _HEREDOC.finditer(command):
        before = command[: match.start()]
        if before.count('"') % 2 == 0 and before.count("'") % 2 == 0:
            return match
    return None


def _pattern(shell: str) -> re.Pattern[str]:
    return {"pwsh": _PWSH_WRITE, "cmd": _CMD_WRITE}.get(shell, _POSIX_WRITE)


def _written(tracer: _Tracer, index: int, command: str) -> tuple[str | None, int]:
    """What the write at line ``index`` writes (the command, a heredoc body, the lines of the
    block it closes), and the last line it reads; None for a quoted heredoc of literal text."""
    posix = tracer.shell not in ("pwsh", "cmd")
    heredoc = _heredoc(command) if posix else None
    if heredoc:
        body: list[str] = []
        last = index
        for _, text in tracer.lines[index + 1 :]:
            last = index + 1 + len(body)
            if text.strip() == heredoc.group(2):
                break
            body.append(text)
        if heredoc.group(1):  # a quoted delimiter: the body is literal
            head = command[: heredoc.start()]
            return (head if re.search(r"[$`]", head) else None), last
        return command[: heredoc.start()] + "\n".join(body), last
    if posix and _BLOCK_CLOSE.match(command):
        indent = len(command) - len(command.lstrip())
        block: list[str] = []
        for _, text in reversed(tracer.lines[:index]):
            block.insert(0, text)
            if text.strip() and len(text) - len(text.lstrip()) <= indent:
                break
        return "\n".join(block), index
    return command, index


def _origin(tracer: _Tracer, written: str, index: int) -> tuple[Provenance, str | None]:
    """The least trusted origin of ``written`` and what it comes from."""
    output = f"the output of `{written.strip()}`"
    printer = _PRINTERS.match(written) is not None
    if not re.search(r"[$`%]", _blank_expressions(written)):
        # Literal text: an `echo` of it is data; another program's output is not known.
        return (
            (Provenance.TRUSTED, None)
            if printer or not written.strip()
            else (
                Provenance.UNKNOWN,
                output,
            )
        )
    found, variable = tracer.origin_of_text(written, index, 0)
    if not printer and command_origin(written) is Provenance.OUTSIDE_TEXT:
        return Provenance.OUTSIDE_TEXT, output
    if found is Provenance.TRUSTED and not printer and not _FIXED_OUTPUT.match(written):
        return Provenance.UNKNOWN, output
    return found, variable


def environment_writes(step: Step, script: str, shell: str) -> list[EnvironmentWrite]:
    """The lines of ``script`` (run by ``shell``: ``bash``-like, ``pwsh`` or ``cmd``) that
    write an environment file with something that is not a literal or a random delimiter."""
    tracer = _Tracer(step, script, shell)
    pattern = _pattern(shell)
    writes: list[EnvironmentWrite] = []
    delimiter: str | None = None
    skip_until = -1
    for index, (offset, line) in enumerate(tracer.lines):
        if index <= skip_until:
            continue
        match = pattern.search(_blank_expressions(line))
        if match is None or line.lstrip().startswith("#"):
            continue
        command = line[: match.start()]
        written, skip_until = _written(tracer, index, command)
        if written is None:
            continue
        if delimiter is not None:
            # Inside a random-delimiter heredoc: values are data until the delimiter.
            if re.fullmatch(rf"\s*echo\s+\"?\$\{{?{delimiter}\}}?\"?\s*", command):
                delimiter = None
            continue
        header = tracer.random_delimiter(written, index)
        if header is not None and match["file"] == "GITHUB_ENV":
            closes = re.search(rf"echo\s+\"?\$\{{?{header}\}}?\"?\s*[;}}]", written)
            delimiter = None if closes else header
            continue
        found, variable = _origin(tracer, written, index)
        if found is not Provenance.TRUSTED:
            writes.append(EnvironmentWrite(line, offset, match["file"], written, found, variable))
    return writes
