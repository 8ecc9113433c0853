"""The ``run:`` heuristics table (``run_commands.yml``) and a small shell-aware command splitter.

Scripts are split into simple commands (pipelines, ``&&``/``||``/``;`` lists, ``$( … )``,
``bash -c '…'``, line continuations; heredoc bodies are skipped), each command's leading
``VAR=value`` assignments and wrappers (``sudo``, ``env``, ``time``) are dropped, and the
result is matched against the table. Matching is data-driven: this module holds no knowledge
of particular programs beyond the wrappers.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from ruamel.yaml.error import YAMLError

from bot.knowledge.permissions import Grant, JobFact, KnowledgeBaseError, Scope
from bot.knowledge.yaml_loading import safe_load

_WRAPPERS = frozenset(
    {"sudo", "env", "time", "nohup", "exec", "command", "builtin", "xargs", "npx", "bunx", "pnpx"}
)
#: Two-word prefixes that run the rest of the line as a command.
_PREFIXES = (
    ("bundle", "exec"),
    ("poetry", "run"),
    ("uv", "run"),
    ("pipenv", "run"),
    ("npm", "exec"),
    ("pnpm", "exec"),
    ("pnpm", "dlx"),
    ("yarn", "dlx"),
    ("bun", "x"),
)
_SHELLS = frozenset({"bash", "sh", "zsh", "dash"})
#: Options of the wrappers and prefixes above that take the next word as their value
#: (`uv run --group docs mike …`, `npx -p pkg cmd`, `sudo -u user cmd`).
_PREFIX_VALUE_OPTIONS = frozenset(
    {
        "--group",
        "--only-group",
        "--extra",
        "--with",
        "--with-requirements",
        "--python",
        "-p",
        "--package",
        "--directory",
        "--project",
        "--env-file",
        "--index",
        "--from",
        "-u",
        "--user",
        "-g",
        "-C",
    }
)
#: Reserved words that may precede a command (``if git push; then …``): the command follows.
_KEYWORDS = frozenset({"if", "then", "else", "elif", "do", "while", "until", "!"})
_OPERATORS = frozenset({";", "&&", "||", "|", "&", "(", ")", "|&", ";;", "$", "`", "!"})
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\+?=")
_HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")


class _Schema(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CommandPattern(_Schema):
    """Which simple commands a table entry describes: a program, its leading positional words
    and the options it must (not) carry."""

    program: str | tuple[str, ...]
    args: tuple[str | tuple[str, ...], ...] = ()
    options_with_values: tuple[str, ...] = ()
    arg_contains: str | None = None
    with_option: str | tuple[str, ...] | None = None
    """An option that must be present (a list: any one of them)."""
    without_option: str | tuple[str, ...] | None = None
    """An option that must be absent (a list: none of them)."""

    def programs(self) -> tuple[str, ...]:
        """The command names this rule applies to."""
        return (self.program,) if isinstance(self.program, str) else self.program

    def matches(self, argv: list[str]) -> bool:
        """Whether the simple command ``argv`` (wrappers removed) is one this rule describes."""
        if not argv or argv[0].rsplit("/", 1)[-1] not in self.programs():
            return False
        words = argv[1:]
        positional = _positional(words, self.options_with_values)
        for slot, wanted in enumerate(self.args):
            choices = (wanted,) if isinstance(wanted, str) else wanted
            if slot >= len(positional) or positional[slot] not in choices:
                return False
        if self.arg_contains is not None and not any(self.arg_contains in w for w in words):
            return False
        if self.with_option is not None and not _has_option(words, self.with_option):
            return False
        return not (self.without_option is not None and _has_option(words, self.without_option))


class RunRule(CommandPattern):
    """One heuristic: which command it matches and what that command needs."""

    token: Literal["env", "git", "none"]
    token_env: tuple[str, ...] | None = None
    """Variables carrying the token for ``token: env`` (default: the table's ``gh_token_env``)."""
    grants: tuple[Grant, ...] = ()
    facts: tuple[JobFact, ...] = ()
    credential_options: tuple[str, ...] = ()
    """Options that hand the command a credential (``--token``): with one, its ``via: oidc``
    grants do not apply (it authenticates with the credential, not with OIDC)."""
    credential_env: tuple[str, ...] = ()
    """Environment variables that hand the command a credential (``CARGO_REGISTRY_TOKEN``;
    ``*`` matches any text); one set in the step, job, workflow or script likewise."""
    oidc_action: str | None = None
    """The action that exchanges the OIDC token for this command (``owner/repo``): its
    ``via: oidc`` grants apply only in a job that uses it."""

    def passes_credential(self, argv: list[str]) -> bool:
        """Whether ``argv`` passes one of :attr:`credential_options`."""
        words = argv[1:]
        return any(
            _has_option(words, option)
            or (
                len(option) == 2
                and any(w.startswith(option) and not w.startswith("--") for w in words)
            )
            for option in self.credential_options
        )


class RunTable(_Schema):
    """The whole table."""

    gh_token_env: tuple[str, ...]
    rules: tuple[RunRule, ...]
    inert: tuple[str, ...]
    """Commands that never use the token, even with it in their environment."""
    api_resources: dict[str, Scope] = Field(default_factory=dict)
    """``gh api repos/{o}/{r}/<resource>`` → the scope that resource needs."""

    def matching(self, argv: list[str]) -> list[RunRule]:
        """Every rule matching ``argv`` (a command can need several things)."""
        return [rule for rule in self.rules if rule.matches(argv)]

    def token_env(self, rule: RunRule) -> tuple[str, ...]:
        """The variables through which ``rule``'s command reads the token."""
        return rule.token_env if rule.token_env is not None else self.gh_token_env

    def is_inert(self, argv: list[str]) -> bool:
        """Whether the command is known never to use the token."""
        return bool(argv) and argv[0].rsplit("/", 1)[-1] in self.inert


def _has_option(words: list[str], option: str | tuple[str, ...]) -> bool:
    options = (option,) if isinstance(option, str) else option
    return any(w == o or w.startswith(o + "=") for w in words for o in options)


def _positional(words: list[str], with_values: tuple[str, ...]) -> list[str]:
    result: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
            continue
        if word.startswith(("-", "+")):  # options, and toolchain selectors (`cargo +nightly`)
            skip = word in with_values
            continue
        result.append(word)
    return result


@dataclass(frozen=True)
class ApiCall:
    """A ``gh api`` invocation: its HTTP method and endpoint path."""

    method: str
    endpoint: str

    def scope(self, table: RunTable) -> tuple[Scope, str] | None:
        """``(scope, level)`` the call needs; None when it cannot be derived."""
        path = self.endpoint.split("?", 1)[0].strip("/")
        parts = path.split("/")
        read = self.method in ("GET", "HEAD")
        if parts[0] != "repos":
            return ("contents", "none") if read and parts[0] != "graphql" else None
        if len(parts) < 4:
            return ("contents", "none") if read else None
        scope = table.api_resources.get(parts[3])
        if scope is None:
            return None
        return scope, "read" if read else "write"


_API_VALUE_OPTIONS = frozenset(
    {
        "-X",
        "--method",
        "-f",
        "-F",
        "--field",
        "--raw-field",
        "-H",
        "--header",
        "--input",
        "-q",
        "--jq",
        "-t",
        "--template",
        "--hostname",
        "-p",
        "--preview",
        "--cache",
    }
)
#: Spellings of "this repository" in an endpoint, all resolved before the request is made.
_REPOSITORY = re.compile(
    r"\$\{\{\s*github\.repository\s*\}\}|\$\{?GITHUB_REPOSITORY\}?|:owner/:repo"
)
_API_BODY_OPTIONS = frozenset({"-f", "-F", "--field", "--raw-field", "--input"})


def api_call(argv: list[str]) -> ApiCall | None:
    """Parse ``gh api …``; None for any other command or an endpoint that is not literal."""
    if len(argv) < 3 or argv[0].rsplit("/", 1)[-1] != "gh" or argv[1] != "api":
        return None
    method: str | None = None
    body = False
    endpoint: str | None = None
    words = argv[2:]
    index = 0
    while index < len(words):
        word = words[index]
        name, _, inline = word.partition("=") if word.startswith("--") else (word, "", "")
        if name in _API_VALUE_OPTIONS or (word[:2] in _API_VALUE_OPTIONS and len(word) > 2):
            short = word[:2] if not word.startswith("--") and len(word) > 2 else None
            value = inline or (word[2:] if short else None)
            if value is None:
                index += 1
                value = words[index] if index < len(words) else ""
            key = short or name
            if key in ("-X", "--method"):
                method = value.upper()
            if key in _API_BODY_OPTIONS:
                body = True
        elif not word.startswith("-") and endpoint is None:
            endpoint = word
        index += 1
    if endpoint is None:
        return None
    endpoint = _REPOSITORY.sub("{owner}/{repo}", endpoint)
    if "$" in endpoint:
        return None
    return ApiCall(method or ("POST" if body else "GET"), endpoint)


# -- splitting scripts ------------------------------------------------------------------------


def _logical_lines(script: str) -> Iterator[str]:
    """Lines with continuations joined, comments kept for shlex, heredoc bodies dropped."""
    lines = script.replace("\r\n", "\n").split("\n")
    index = 0
    buffer = ""
    while index < len(lines):
        line = lines[index]
        index += 1
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        line = buffer + line
        buffer = ""
        heredoc = _HEREDOC.search(line)
        yield line
        if heredoc:
            delimiter = heredoc.group(2)
            while index < len(lines) and lines[index].strip() != delimiter:
                if not heredoc.group(1):  # an unquoted delimiter: the body's $( … ) run
                    yield from _substitutions(lines[index])
                index += 1
            index += 1
    if buffer:
        yield buffer


def _substitutions(text: str) -> list[str]:
    """The scripts of the ``$( … )`` and `` `…` `` command substitutions in ``text``.

    shlex keeps a double-quoted ``"$(git push)"`` as one word, yet the shell runs it.
    """
    found: list[str] = []
    index = 0
    while index < len(text):
        if text.startswith("$(", index):
            depth, end = 1, index + 2
            while end < len(text) and depth:
                depth += {"(": 1, ")": -1}.get(text[end], 0)
                end += 1
            found.append(text[index + 2 : end - 1 if depth == 0 else end])
            index = end
        elif text[index] == "`":
            end = text.find("`", index + 1)
            end = len(text) if end < 0 else end
            found.append(text[index + 1 : end])
            index = end + 1
        else:
            index += 1
    return found


def _tokens(text: str) -> list[str] | None:
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|()`")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        return list(lexer)
    except ValueError:
        return None


_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}", re.DOTALL)


def _compact_expression(match: re.Match[str]) -> str:
    """``${{ github.repository }}`` → ``{owner}/{repo}``; other expressions lose their spaces so
    the runner's substitution does not split shell words."""
    inner = match.group(1)
    if inner == "github.repository":
        return "{owner}/{repo}"
    return "${{" + re.sub(r"\s+", "", inner) + "}}"


def split_commands(script: str, depth: int = 0) -> tuple[list[list[str]], bool]:
    """Split a shell script into simple commands.

    Returns the commands (each an argv with wrappers and assignments removed) and whether
    the whole script could be tokenised (False means some text was only split on spaces).
    """
    commands, complete = _split_once(script, depth)
    return [list(argv) for argv in commands], complete


@lru_cache(maxsize=4096)
def _split_once(script: str, depth: int) -> tuple[tuple[tuple[str, ...], ...], bool]:
    """:func:`split_commands`, computed once per script: several rules read the commands of
    each ``run:`` script, and fixing reads them again after every round (the lexer is the
    costliest part of detection)."""
    commands, complete = _split(script, depth)
    return tuple(tuple(argv) for argv in commands), complete


def _split(script: str, depth: int) -> tuple[list[list[str]], bool]:
    commands: list[list[str]] = []
    complete = True
    pending = ""
    script = _EXPRESSION.sub(_compact_expression, script)
    for line in _logical_lines(script):
        text = f"{pending}\n{line}" if pending else line
        tokens = _tokens(text)
        if tokens is None:
            pending = text  # an open quote continues on the next line
            continue
        pending = ""
        commands.extend(_commands_of(tokens, depth))
    if pending:
        complete = False
        commands.extend(_commands_of(pending.split(), depth))
    return commands, complete


def _commands_of(tokens: list[str], depth: int) -> list[list[str]]:
    result: list[list[str]] = []
    current: list[str] = []
    for token in [*tokens, ";"]:
        if token in _OPERATORS or set(token) <= set(";&|()`"):
            argv = _strip(current)
            if argv:
                result.extend(_unwrap(argv, depth))
            current = []
            continue
        if depth < 3:
            for inner in _substitutions(token):
                result.extend(split_commands(inner, depth + 1)[0])
        current.append(token)
    return result


def _strip(argv: list[str]) -> list[str]:
    words = [w for w in argv if w not in ("$", "{", "}")]
    while words and (
        _ASSIGNMENT.match(words[0]) or words[0].rstrip("$") == "" or words[0] in _KEYWORDS
    ):
        words = words[1:]
    changed = True
    while words and changed:
        changed = False
        if words[0] in _WRAPPERS:
            words = words[1:]
            changed = True
        elif tuple(words[:2]) in _PREFIXES:
            words = words[2:]
            changed = True
        while changed and words and (words[0].startswith("-") or _ASSIGNMENT.match(words[0])):
            takes_value = words[0] in _PREFIX_VALUE_OPTIONS
            words = words[2:] if takes_value else words[1:]
    return words


def _unwrap(argv: list[str], depth: int) -> list[list[str]]:
    if argv[0] in _SHELLS and len(argv) >= 3 and argv[1] == "-c" and depth < 3:
        inner, _ = split_commands(argv[2], depth + 1)
        return inner
    if argv[0] in ("eval", "trap") and len(argv) >= 2 and depth < 3:
        # `eval` runs its words as a script, `trap` its first argument when the signal fires
        script = " ".join(argv[1:]) if argv[0] == "eval" else argv[1]
        inner, _ = split_commands(script, depth + 1)
        return inner
    return [argv]


def parse_run_table(text: str, source: str = "run_commands.yml") -> RunTable:
    """Validate YAML ``text`` as a run table; raises :class:`KnowledgeBaseError`."""
    try:
        data = safe_load(text)
        return RunTable.model_validate(data)
    except (YAMLError, ValidationError) as exc:
        raise KnowledgeBaseError(f"{source}: {exc}") from None


@cache
def run_table() -> RunTable:
    """The bundled run-command table, parsed once per process."""
    text = resources.files("bot.knowledge").joinpath("run_commands.yml").read_text(encoding="utf-8")
    return parse_run_table(text)
