"""CEL engines behind one small interface; every engine failure becomes :class:`CelError`."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

import cel

#: Top-level names an expression may use; anything else is an unknown identifier.
CONTEXT_ROOTS = frozenset(
    {"change", "provenance", "pr", "approvals", "windows", "environment", "now", "variables"}
)

#: Type names CEL lets an expression mention (``type(x) == int``).
_TYPE_NAMES = frozenset(
    {"int", "uint", "double", "bool", "string", "bytes", "list", "map", "null_type", "type"}
)

#: The documented function set: core CEL functions that both engines implement identically.
#: Timestamp accessors (``getHours`` ...) are left out: the Rust engine lacks them, and windows
#: are computed outside CEL anyway. Operators (``_+_``, ``!_``, ``@in`` ...) are always allowed.
FUNCTIONS = frozenset(
    {
        "size",
        "contains",
        "startsWith",
        "endsWith",
        "matches",
        "timestamp",
        "duration",
        "int",
        "uint",
        "double",
        "string",
        "bool",
        "bytes",
        "type",
    }
)

#: Macro variables (``list.all(x, ...)``) are bound locally; the Rust engine lists them too.
_MACRO_VARIABLE = re.compile(r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(\s*([A-Za-z_]\w*)\s*,")


class CelError(Exception):
    """An expression failed to compile or evaluate; the message names the cause."""


class Compiled(Protocol):
    """A compiled expression."""

    source: str


class PolicyEngine(Protocol):
    """A CEL implementation: compile once, bind the context once per decision, evaluate many
    expressions against it."""

    name: str

    def compile(self, expression: str) -> Compiled:
        """Compile ``expression``; raises :class:`CelError`."""
        ...

    def bind(self, activation: Mapping[str, Any]) -> Any:
        """Convert ``activation`` (plain JSON data plus ``now`` as a datetime) into the engine's
        own representation, once; the result is passed to :meth:`evaluate`."""
        ...

    def evaluate(self, program: Compiled, bound: Any, variables: Mapping[str, Any]) -> Any:
        """Evaluate ``program`` against ``bound`` (from :meth:`bind`) with ``variables`` visible
        as ``variables.<name>``, to a plain Python value (bool, int, str, list, dict, ...);
        raises :class:`CelError`."""
        ...


def evaluate_once(engine: PolicyEngine, expression: str, activation: Mapping[str, Any]) -> Any:
    """Compile and evaluate one expression against ``activation`` (no policy variables)."""
    return engine.evaluate(engine.compile(expression), engine.bind(activation), {})


@functools.lru_cache(maxsize=1024)
def unknown_identifiers(expression: str) -> tuple[str, ...]:
    """Top-level identifiers and functions of ``expression`` that mendbot does not define.

    Checked at compile time so a typo in a branch that is not evaluated still fails closed.
    Raises :class:`CelError` when the expression does not parse.
    """
    try:
        program = cel.compile(expression)
    except BaseException as exc:
        _reraise_interrupts(exc)
        raise CelError(f"compile error: {_first_line(exc)}") from None
    local = set(_MACRO_VARIABLE.findall(expression))
    variables = set(program.variables()) - CONTEXT_ROOTS - _TYPE_NAMES - local
    functions = {f for f in program.functions() if f[0].isalpha() and f not in FUNCTIONS}
    return tuple(sorted(variables | functions))


def _reraise_interrupts(exc: BaseException) -> None:
    """Re-raise Ctrl-C and exits; anything else (including a Rust panic, which PyO3 raises as a
    ``BaseException``) is an engine failure that must become a deny."""
    if isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit):
        raise exc


def _first_line(exc: BaseException) -> str:
    # NOTE(policy): cel-python's errors carry the whole activation in str(); keep the message.
    head = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
    text = head.strip() or type(exc).__name__
    line = text.splitlines()[0].split(" (in activation", 1)[0]
    return line if len(line) <= 300 else line[:297] + "..."


class _RustProgram:
    def __init__(self, source: str, program: Any) -> None:
        self.source = source
        self.program = program


class RustCel:
    """``common-expression-language`` (Rust ``cel`` crate via PyO3): the default engine."""

    name = "common-expression-language"

    def __init__(self) -> None:
        self._programs: dict[str, _RustProgram] = {}

    def compile(self, expression: str) -> _RustProgram:
        """Compile ``expression`` (cached: compiled programs are immutable); raises
        :class:`CelError`."""
        cached = self._programs.get(expression)
        if cached is not None:
            return cached
        try:
            program = _RustProgram(expression, cel.compile(expression))
        except BaseException as exc:  # NOTE(policy): any engine failure must fail closed.
            _reraise_interrupts(exc)
            raise CelError(f"compile error: {_first_line(exc)}") from None
        if len(self._programs) >= 4096:
            self._programs.clear()
        self._programs[expression] = program
        return program

    def bind(self, activation: Mapping[str, Any]) -> Any:
        """A ``cel.Context`` holding the activation, converted to CEL values once (converting
        the whole context on every ``execute`` cost ~90 % of a decision)."""
        context = cel.Context()
        try:
            for name, value in activation.items():
                context.add_variable(name, value)
        except BaseException as exc:  # NOTE(policy): any engine failure must fail closed.
            _reraise_interrupts(exc)
            raise CelError(f"cannot bind the context: {_first_line(exc)}") from None
        return context

    def evaluate(self, program: Compiled, bound: Any, variables: Mapping[str, Any]) -> Any:
        """Evaluate ``program``; raises :class:`CelError` on any engine error."""
        assert isinstance(program, _RustProgram)  # noqa: S101 - programming error, not input
        try:
            # Policies are evaluated one after the other, so resetting the one name that
            # differs between them is enough.
            bound.add_variable("variables", dict(variables))
            return program.program.execute(bound)
        except BaseException as exc:  # NOTE(policy): any engine failure must fail closed.
            _reraise_interrupts(exc)
            detail = _first_line(exc)
            if isinstance(exc, KeyError):
                detail = f"no such key: {detail}"
            raise CelError(f"evaluation error: {detail}") from None


class _PyProgram:
    def __init__(self, source: str, program: Any) -> None:
        self.source = source
        self.program = program


class CelPython:
    """``cel-python`` (pure Python, Cloud Custodian): the cross-check engine used in tests."""

    name = "cel-python"

    def __init__(self) -> None:
        # Imported here: cel-python is a test extra (the cross-check), not a runtime dependency.
        import celpy
        from celpy.adapter import json_to_cel

        self._celpy = celpy
        self._json_to_cel = json_to_cel
        self._env = celpy.Environment()

    def compile(self, expression: str) -> _PyProgram:
        """Compile ``expression``; raises :class:`CelError`."""
        try:
            ast = self._env.compile(expression)
            return _PyProgram(expression, self._env.program(ast))
        except BaseException as exc:  # NOTE(policy): any engine failure must fail closed.
            _reraise_interrupts(exc)
            raise CelError(f"compile error: {_first_line(exc)}") from None

    def bind(self, activation: Mapping[str, Any]) -> Any:
        """The activation converted to cel-python values."""
        return {key: self._convert(value) for key, value in activation.items()}

    def _convert(self, value: Any) -> Any:
        if isinstance(value, datetime):
            return self._celpy.celtypes.TimestampType(value)
        return self._json_to_cel(value)

    def evaluate(self, program: Compiled, bound: Any, variables: Mapping[str, Any]) -> Any:
        """Evaluate ``program``; raises :class:`CelError` on any engine error."""
        assert isinstance(program, _PyProgram)  # noqa: S101 - programming error, not input
        celtypes = self._celpy.celtypes
        converted = {**bound, "variables": self._convert(dict(variables))}
        try:
            result = program.program.evaluate(converted)
        except BaseException as exc:  # NOTE(policy): any engine failure must fail closed.
            _reraise_interrupts(exc)
            raise CelError(f"evaluation error: {_first_line(exc)}") from None
        if isinstance(result, Exception):
            raise CelError(f"evaluation error: {_first_line(result)}")
        return _native(result, celtypes)


def _native(value: Any, celtypes: Any) -> Any:
    """A cel-python value as the plain Python value the Rust engine would return."""
    if isinstance(value, celtypes.BoolType):
        return bool(value)
    if isinstance(value, celtypes.TimestampType):
        return datetime.fromisoformat(value.isoformat())
    if isinstance(value, celtypes.IntType | celtypes.UintType):
        return int(value)
    if isinstance(value, celtypes.DoubleType):
        return float(value)
    if isinstance(value, celtypes.StringType):
        return str(value)
    if isinstance(value, celtypes.ListType):
        return [_native(item, celtypes) for item in value]
    if isinstance(value, celtypes.MapType):
        return {_native(k, celtypes): _native(v, celtypes) for k, v in value.items()}
    return value


#: The engine the gate uses.
DEFAULT_ENGINE: PolicyEngine = RustCel()
