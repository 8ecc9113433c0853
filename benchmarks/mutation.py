"""Mutation testing of the modules that decide trust: how many small bugs do the tests catch?

This is a measurement, not a test: pytest does not collect it, and CI neither installs nor runs
it. Run it from the repository root with the project's virtual environment::

    .venv/bin/python benchmarks/mutation.py                      # every module in MODULES
    .venv/bin/python benchmarks/mutation.py bot/yamledit/guard.py --jobs 2
    .venv/bin/python benchmarks/mutation.py bot/gate/reverts.py --only 88,101   # some lines

Contract
--------
* A *mutant* is the module with one small change made on its syntax tree: a comparison flipped
  (``==``/``!=``, ``<``/``>=``, ``in``/``not in``, ``is``/``is not``), an ``if``/``while``
  condition negated, a ``not`` dropped, ``and``/``or`` swapped, a constant replaced (``True`` and
  ``False`` swapped, a number plus one, a string changed, ``None`` for a value), or a ``raise``,
  ``continue``/``break`` or call statement dropped. Docstrings, imports, decorators (such as
  ``@dataclass(frozen=True)``), type annotations and ``Literal[...]`` types, and
  the wording of messages (f-string text, strings in a ``raise``, any string of two or more
  words) are never mutated.
* Each mutant is written into a private copy of ``bot/`` put first on ``PYTHONPATH``, so the
  tests' child processes (``python -m bot``, the way the tests run the real command) load it
  too. Then the module's test selection (``MODULES``) runs with ``pytest -x`` under
  ``--timeout`` seconds: a failing run (or a timeout) *kills* the mutant, a passing run lets it
  *survive*.
* Before the mutants, the unmutated (re-serialised) module must pass its selection and a module
  that raises on import must fail it; otherwise the figure would mean nothing and the script
  stops.
* Printed: killed / total per module, then each survivor as ``path:line: what changed``. The exit
  code is 0 whatever the figure (it is a measurement).

mutmut 3 was tried first: its trampolines record which test reaches which function inside the
pytest process only, so code reached through ``python -m bot`` child processes (most CLI tests)
had no tests, and its statistics hook fails in a child whose working folder has no
``pyproject.toml``.
"""

from __future__ import annotations

import argparse
import ast
import copy
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_MERGE = "tests/provenance/test_verify_merge.py"
_TAMPER = "tests/provenance/test_tamper_matrix.py"
_PRODUCTION = "tests/provenance/test_production_bundles.py"
_BOT_COMMITS = "tests/provenance/test_bot_commits.py"

#: module -> the tests that drive it (narrow, so one mutant runs in seconds, not minutes), the
#: fastest first (``pytest -x`` stops at the first failure).
MODULES: dict[str, tuple[str, ...]] = {
    "bot/analyze/fix_writer.py": ("tests/test_disk_io.py",),
    "bot/gate/reverts.py": (
        "tests/provenance/test_change_comparison.py",
        "tests/gate/test_gate_attested_change.py",
    ),
    "bot/policy/decide.py": (
        "tests/policy/test_policy_decide.py",
        "tests/policy/test_default_policies.py",
    ),
    "bot/yamledit/guard.py": (
        "tests/yamledit/test_guard.py",
        "tests/yamledit/test_engine_regressions.py",
    ),
    "bot/provenance/verification/bot_commits.py": (_BOT_COMMITS,),
    "bot/provenance/verification/compare.py": (
        "tests/provenance/test_change_comparison.py",
        _MERGE,
        _TAMPER,
    ),
    "bot/provenance/verification/keyless.py": (_PRODUCTION, _TAMPER),
    "bot/provenance/verification/render.py": ("tests/provenance/test_cli_provenance.py", _TAMPER),
    "bot/provenance/verification/repository.py": (_MERGE, _TAMPER),
    "bot/provenance/verification/result.py": (_TAMPER, _PRODUCTION),
    "bot/provenance/verification/trust.py": (_BOT_COMMITS, "tests/provenance/test_statement.py"),
    "bot/provenance/verification/verifier.py": (_TAMPER, _PRODUCTION, _MERGE),
}

#: Two words with a space between: a message or advice, whose wording is not mutated.
_PROSE = re.compile(r"\w\s+\w")

_FLIPPED_COMPARISON: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.GtE,
    ast.GtE: ast.Lt,
    ast.Gt: ast.LtE,
    ast.LtE: ast.Gt,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}


@dataclass(frozen=True)
class Mutant:
    """The ``index``-th mutation site of a module, at ``line``, described for a reader."""

    index: int
    line: int
    what: str


class _Mutator(ast.NodeTransformer):
    """Walks a module in a fixed order, counting mutation sites; changes site ``target`` only.

    With ``target`` = -1 nothing changes and :attr:`found` lists every site.
    """

    def __init__(self, target: int = -1) -> None:
        self.target = target
        self.found: list[Mutant] = []
        self._in_raise = False

    def _site(self, node: ast.AST, what: str) -> bool:
        """Record a site; whether it is the one to mutate."""
        self.found.append(Mutant(len(self.found), getattr(node, "lineno", 0), what))
        return len(self.found) - 1 == self.target

    # Never mutated: imports, docstrings and other bare strings, annotations.
    def visit_Import(self, node: ast.Import) -> ast.AST:
        return node

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST:
        return node

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        if isinstance(node.value, ast.Name) and node.value.id == "Literal":
            return node  # a type, wherever it is written
        return self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        if node.value is not None:
            node.value = self.visit(node.value)
        return node

    def visit_arguments(self, node: ast.arguments) -> ast.AST:
        node.defaults = [self.visit(d) for d in node.defaults]
        node.kw_defaults = [None if d is None else self.visit(d) for d in node.kw_defaults]
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node.args = self.visit(node.args)
        node.body = self._statements(node.body)
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        node.body = self._statements(node.body)
        return node

    def visit_Module(self, node: ast.Module) -> ast.AST:
        node.body = self._statements(node.body)
        return node

    def _statements(self, body: list[ast.stmt]) -> list[ast.stmt]:
        return [self.visit(statement) for statement in body]

    def generic_visit(self, node: ast.AST) -> ast.AST:
        for field, value in ast.iter_fields(node):
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                setattr(node, field, self._statements(value))
        # Statements are handled above; expressions and other children below.
        for field, value in ast.iter_fields(node):
            if isinstance(value, ast.AST):
                setattr(node, field, self.visit(value))
            elif isinstance(value, list) and not (value and isinstance(value[0], ast.stmt)):
                setattr(
                    node,
                    field,
                    [self.visit(v) if isinstance(v, ast.AST) else v for v in value],
                )
        return node

    # Statements dropped.
    def _dropped(self, node: ast.stmt, what: str) -> ast.stmt:
        if self._site(node, what):
            return ast.copy_location(ast.Pass(), node)
        return node

    def visit_Expr(self, node: ast.Expr) -> ast.AST:
        if isinstance(node.value, ast.Constant):
            return node
        if isinstance(node.value, ast.Call):
            self.generic_visit(node)
            return self._dropped(node, "call statement dropped")
        return self.generic_visit(node)

    def visit_Raise(self, node: ast.Raise) -> ast.AST:
        self._in_raise = True
        try:
            self.generic_visit(node)
        finally:
            self._in_raise = False
        return self._dropped(node, "raise dropped")

    def visit_Return(self, node: ast.Return) -> ast.AST:
        self.generic_visit(node)
        if node.value is not None and self._site(node, "returns None"):
            return ast.copy_location(ast.Return(value=ast.Constant(None)), node)
        return node

    def visit_Continue(self, node: ast.Continue) -> ast.AST:
        return self._dropped(node, "continue dropped")

    def visit_Break(self, node: ast.Break) -> ast.AST:
        return self._dropped(node, "break dropped")

    # Conditions.
    def _negated_test(self, node: ast.If | ast.While | ast.IfExp, kind: str) -> None:
        if self._site(node, f"{kind} condition negated"):
            node.test = ast.UnaryOp(op=ast.Not(), operand=node.test)

    def visit_If(self, node: ast.If) -> ast.AST:
        self.generic_visit(node)
        self._negated_test(node, "if")
        return node

    def visit_While(self, node: ast.While) -> ast.AST:
        self.generic_visit(node)
        self._negated_test(node, "while")
        return node

    def visit_IfExp(self, node: ast.IfExp) -> ast.AST:
        self.generic_visit(node)
        self._negated_test(node, "conditional expression")
        return node

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Not) and self._site(node, "`not` dropped"):
            return node.operand
        return node

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        self.generic_visit(node)
        what = "`and` became `or`" if isinstance(node.op, ast.And) else "`or` became `and`"
        if self._site(node, what):
            node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        return node

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        for position, op in enumerate(node.ops):
            flipped = _FLIPPED_COMPARISON.get(type(op))
            if flipped is not None and self._site(
                node, f"comparison {type(op).__name__} became {flipped.__name__}"
            ):
                node.ops[position] = flipped()
        return node

    # Constants.
    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        # Messages built with f-strings: their literal parts are not mutated, their values are.
        node.values = [
            self.visit(v) if isinstance(v, ast.FormattedValue) else v for v in node.values
        ]
        return node

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        node.value = self.visit(node.value)
        return node

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        value = node.value
        if isinstance(value, bool):
            if self._site(node, f"{value} became {not value}"):
                return ast.copy_location(ast.Constant(not value), node)
        elif isinstance(value, int | float):
            if self._site(node, f"{value!r} became {value + 1!r}"):
                return ast.copy_location(ast.Constant(value + 1), node)
        elif isinstance(value, str):
            # Wording (prose, or an exception's text) is not a decision; which error is raised
            # and which check fails are (those are mutated elsewhere).
            if (
                not self._in_raise
                and not _PROSE.search(value)
                and self._site(node, f"string {_short(value)} changed")
            ):
                return ast.copy_location(ast.Constant(f"XX{value}XX"), node)
        elif isinstance(value, bytes) and self._site(node, f"bytes {_short(value)} changed"):
            return ast.copy_location(ast.Constant(b"XX" + value + b"XX"), node)
        return node


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def mutants_of(source: str) -> list[Mutant]:
    """Every mutation site of ``source``, in a stable order."""
    mutator = _Mutator()
    mutator.visit(ast.parse(source))
    return mutator.found


def mutated(source: str, index: int) -> str:
    """``source`` with mutation site ``index`` changed (and otherwise re-serialised)."""
    tree = _Mutator(index).visit(ast.parse(source))
    return ast.unparse(ast.fix_missing_locations(tree))


def unmutated(source: str) -> str:
    """``source`` re-serialised the way mutants are, without a change."""
    return ast.unparse(copy.deepcopy(ast.parse(source)))


@dataclass(frozen=True)
class Outcome:
    mutant: Mutant
    killed: bool
    seconds: float


class Sandbox:
    """A private copy of ``bot/`` whose ``module`` can be swapped for another text."""

    def __init__(self, module: str) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="mendbot-mutation-"))
        shutil.copytree(ROOT / "bot", self.folder / "bot", ignore=shutil.ignore_patterns("*.pyc"))
        self.target = self.folder / module

    def passes(self, text: str, tests: Sequence[str], timeout: float) -> bool:
        """Whether ``tests`` pass with ``text`` as the module (a timeout counts as failing)."""
        self.target.write_text(text, encoding="utf-8")
        for cache in self.target.parent.glob("__pycache__"):
            shutil.rmtree(cache, ignore_errors=True)
        command = [str(Path(sys.executable).parent / "pytest"), "-x", "-q", "-p"]
        command += ["no:cacheprovider", "--rootdir", str(ROOT), *(str(ROOT / t) for t in tests)]
        try:
            # Run from the copy: ``python -m bot`` puts its working folder first on sys.path.
            done = subprocess.run(
                command,
                cwd=self.folder,
                env=self._env(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return False
        return done.returncode == 0

    def loads_the_copy(self) -> bool:
        """Whether a child process started the way the tests start one imports this copy."""
        done = subprocess.run(
            [sys.executable, "-c", "import bot; print(bot.__file__)"],
            cwd=self.folder,
            env=self._env(),
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout.strip().startswith(str(self.folder))

    def _env(self) -> dict[str, str]:
        return dict(os.environ, PYTHONPATH=str(self.folder), PYTHONDONTWRITEBYTECODE="1")

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def run_module(
    module: str, *, jobs: int, timeout: float, only: set[int] | None
) -> list[Outcome] | None:
    """Run every mutant of ``module`` (or those on the ``only`` lines); None if the setup is
    broken (the unmutated module fails its tests, or a broken module passes them)."""
    tests = MODULES[module]
    source = (ROOT / module).read_text(encoding="utf-8")
    mutants = [m for m in mutants_of(source) if only is None or m.line in only]
    sandboxes = [Sandbox(module) for _ in range(max(1, jobs))]
    try:
        if not sandboxes[0].loads_the_copy():
            print(f"{module}: a child process does not load the mutated copy", file=sys.stderr)
            return None
        if not sandboxes[0].passes(unmutated(source), tests, timeout * 3):
            print(f"{module}: the tests fail on the unmutated module; no figure", file=sys.stderr)
            return None
        if sandboxes[0].passes('raise RuntimeError("mutation probe")\n', tests, timeout):
            print(f"{module}: the tests pass with a broken module; no figure", file=sys.stderr)
            return None
        free = list(sandboxes)

        def one(mutant: Mutant) -> Outcome:
            sandbox = free.pop()
            try:
                started = time.perf_counter()
                survived = sandbox.passes(mutated(source, mutant.index), tests, timeout)
                return Outcome(mutant, not survived, time.perf_counter() - started)
            finally:
                free.append(sandbox)

        outcomes: list[Outcome] = []
        with ThreadPoolExecutor(max_workers=len(sandboxes)) as pool:
            for outcome in pool.map(one, mutants):
                outcomes.append(outcome)
                mark = "killed" if outcome.killed else "SURVIVED"
                print(
                    f"  {module}:{outcome.mutant.line}: {outcome.mutant.what}: {mark} "
                    f"({outcome.seconds:.1f}s)",
                    flush=True,
                )
        return outcomes
    finally:
        for sandbox in sandboxes:
            sandbox.remove()


def _summary(results: dict[str, list[Outcome]]) -> Iterator[str]:
    yield "module | killed / total | %"
    for module, outcomes in results.items():
        killed = sum(o.killed for o in outcomes)
        share = 100 * killed / len(outcomes) if outcomes else 100.0
        yield f"{module} | {killed} / {len(outcomes)} | {share:.1f}"
    for module, outcomes in results.items():
        for outcome in outcomes:
            if not outcome.killed:
                yield f"survivor {module}:{outcome.mutant.line}: {outcome.mutant.what}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", default=[], metavar="MODULE", help=", ".join(MODULES))
    parser.add_argument("--jobs", type=int, default=1, help="mutants run at once (default 1)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per mutant run")
    parser.add_argument("--only", help="comma-separated line numbers: only mutants there")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    options = parser.parse_args(argv)
    only = {int(n) for n in options.only.split(",")} if options.only else None
    results: dict[str, list[Outcome]] = {}
    unknown = [m for m in options.modules if m not in MODULES]
    if unknown:
        parser.error(f"not in MODULES: {', '.join(unknown)}")
    for module in options.modules or MODULES:
        if options.list:
            for mutant in mutants_of((ROOT / module).read_text(encoding="utf-8")):
                print(f"{module}:{mutant.line}: {mutant.what}")
            continue
        print(f"{module}: running {', '.join(MODULES[module])}", flush=True)
        outcomes = run_module(module, jobs=options.jobs, timeout=options.timeout, only=only)
        if outcomes is not None:
            results[module] = outcomes
    if not options.list:
        for line in _summary(results):
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
