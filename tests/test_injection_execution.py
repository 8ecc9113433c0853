"""Every script gha-template-injection rewrites, run under its real shell.

For each golden case (``tests/rules/gha-template-injection/*``) and each step whose script the
fix changed:

* **benign values**: the original script with the values pasted in literally (what GitHub
  does) and the rewritten script with the values in its environment print the same and exit
  the same;
* **hostile values** (``$(touch pwned)``, backticks, quotes, newlines, ``'; rm -rf ~; '``):
  the rewritten script creates no ``pwned`` file and leaves ``$HOME`` alone, while at least
  one of them does run in the original (so the test demonstrates a real hole).

POSIX scripts run under bash (``shell: sh`` under dash); github-script code runs under Node.js
with stand-ins for ``core``/``github``/``context``. PowerShell is not installed on these
machines and cannot be fetched, so rewritten PowerShell is checked with the tree-sitter
PowerShell grammar instead: it must parse without error (``$env:TOOL merge`` does not).
Commands the scripts call that the machine lacks are stand-ins that print their arguments
joined by one space, as ``echo`` would.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.knowledge.contexts import BUILT_IN_VARIABLES
from bot.workflow.template_scan import expressions
from bot.yamledit.document import SourceText, YamlDocument
from testpaths import RULE_CASES

RULE = "gha-template-injection"
#: Actions whose ``script``/``inlineScript`` input is PowerShell.
POWERSHELL_ACTIONS = ("amadevus/pwsh-script@", "azure/powershell@")
CASES = sorted(p.parent for p in (RULE_CASES / "gha-template-injection").glob("*/input.yml"))
BENIGN = ["v1.2.3", "a.txt b.txt", "feature/login-42"]
HOSTILE = [
    "$(touch pwned)",
    "`touch pwned`",
    '"; touch pwned; echo "',
    "'; touch pwned; '",
    "x\ntouch pwned\n",
    "'; rm -rf ~; '",
    "a; touch pwned #",
    # JavaScript (github-script): break out of a string literal or a template literal.
    "'; require('fs').writeFileSync('pwned', ''); '",
    "${require('fs').writeFileSync('pwned', '')}",
    # Code strings: Python, Node.js, Ruby and Perl string literals.
    '"); __import__("os").system("touch pwned"); print("',
    "'); require('fs').writeFileSync('pwned', ''); ('",
    "#{system(%q{touch pwned})}",
    "@{[system(q{touch pwned})]}",
]
#: Values of contexts the rule trusts and leaves in place (``github.sha``, ``secrets.*``).
TRUSTED_VALUE = "0123abcd"


def _load(path: Path) -> dict[str, Any]:
    text = SourceText.from_text(path.read_text(encoding="utf-8")).body
    data = YamlDocument.parse(text).data()
    assert isinstance(data, dict)
    return data


@dataclass(frozen=True)
class Rewrite:
    """One step whose script the fix changed."""

    case: Path
    label: str
    language: str
    """``bash``, ``sh``, ``pwsh`` or ``javascript``."""
    before: str
    after: str
    env: dict[str, str]
    """The step's environment after the fix: name → the text written there."""
    literals: dict[str, str]
    """``env.NAME`` → its literal value where the workflow declares one."""


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    flat: list[dict[str, Any]] = []
    for step in job.get("steps") or []:
        flat.extend(step["parallel"] if "parallel" in step else [step])
    return flat


def _shell(step: dict[str, Any], job: dict[str, Any]) -> str:
    shell = step.get("shell")
    if shell:
        return str(shell).split()[0]
    runs_on = str(job.get("runs-on", ""))
    return "pwsh" if "windows" in runs_on else "bash"


@functools.cache
def _fixed_by_cli(case: Path) -> Path:
    """``input.yml`` of ``case`` after ``mendbot analyze --fix=all``, the way a user runs it."""
    folder = Path(tempfile.mkdtemp(prefix="injection-"))
    shutil.copy(case / "input.yml", folder / "input.yml")
    subprocess.run(
        [sys.executable, "-m", "bot", "analyze", "--rule", RULE, "--fix=all", "input.yml"],
        cwd=folder,
        capture_output=True,
        check=False,
    )
    return folder / "input.yml"


def live(rewrite: Rewrite) -> Rewrite:
    """``rewrite`` with the script and environment the fixer writes today."""
    for current in rewrites(rewrite.case, _fixed_by_cli(rewrite.case)):
        if current.label == rewrite.label:
            return current
    pytest.fail(f"{rewrite.label}: the fixer no longer rewrites this script")


@functools.cache
def _reported_after_fix(case: Path) -> frozenset[tuple[str, int]]:
    """(job, step index) of every finding ``mendbot analyze`` reports on the fixed file, in the
    auditor's view (``untraced: everywhere``): the test pastes a hostile value into every
    expression, so every value mendbot cannot trace must count as one an attacker may set."""
    fixed = _fixed_by_cli(case)
    auditor = fixed.parent / "auditor.yml"
    auditor.write_text(f"rules:\n  {RULE}:\n    options:\n      untraced: everywhere\n")
    done = subprocess.run(
        [
            *(sys.executable, "-m", "bot", "analyze", "--rule", RULE, "--format", "json"),
            *("--config", auditor.name, fixed.name),
        ],
        cwd=fixed.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    routes = [f["route"] for f in json.loads(done.stdout)["findings"]]
    return frozenset((str(r[1]), int(r[3])) for r in routes if len(r) > 3)


def rewrites(case: Path, fixed: Path | None = None, *, changed_only: bool = True) -> list[Rewrite]:
    """Every script of ``case`` that the fix (``fixed``, else ``expected.yml``) changed (or,
    with ``changed_only=False``, every script with an expression)."""
    before, after = _load(case / "input.yml"), _load(fixed or case / "expected.yml")
    found: list[Rewrite] = []
    for job_id, job in before["jobs"].items():
        fixed_job = after["jobs"][job_id]
        for index, (old, new) in enumerate(zip(_steps(job), _steps(fixed_job), strict=True)):
            if "run" in old:
                language, old_script, new_script = _shell(old, job), old["run"], new["run"]
            elif str(old.get("uses", "")).lower().startswith(POWERSHELL_ACTIONS):
                key = next(k for k in old["with"] if k.lower() in ("script", "inlinescript"))
                language, old_script, new_script = "pwsh", old["with"][key], new["with"][key]
            elif "github-script" in str(old.get("uses", "")):
                language, old_script, new_script = (
                    "javascript",
                    old["with"]["script"],
                    new["with"]["script"],
                )
            else:
                continue
            if (old_script == new_script) if changed_only else "${{" not in old_script:
                continue
            scopes = [before.get("env") or {}, job.get("env") or {}, new.get("env") or {}]
            env = {str(k): str(v) for scope in scopes for k, v in scope.items()}
            literals = {k: v for k, v in env.items() if "${{" not in v}
            found.append(
                Rewrite(
                    case,
                    f"{case.name}:{job_id}[{index}]",
                    language,
                    old_script,
                    new_script,
                    env,
                    literals,
                )
            )
    return found


ALL = [r for case in CASES for r in rewrites(case)]


def _value(inner: str, rewrite: Rewrite, value: str) -> str:
    """What GitHub would paste for the expression ``inner``."""
    match = re.fullmatch(r"env\.(\w+)", inner.strip())
    if match and match[1] in rewrite.literals:
        return rewrite.literals[match[1]]
    if re.match(r"(github\.sha|secrets\.|github\.run_id|matrix\.)", inner.strip()):
        return TRUSTED_VALUE  # matrix values: the cases' matrices are written out literally
    if not re.search(r"\b(github|inputs|steps|env|needs)\.", inner.replace("'github.", "'")):
        return TRUSTED_VALUE  # a literal-only expression
    return value


def _paste(script: str, rewrite: Rewrite, value: str) -> str:
    """``script`` as GitHub runs it. Expressions the fix left in place (still reported, such
    as one inside backticks) get a benign value: this harness tests the rewritten ones."""
    left = {e.text for e in expressions(rewrite.after)}
    out, pos = [], 0
    for e in expressions(script):
        pasted = _value(e.inner, rewrite, BENIGN[0] if e.text in left else value)
        out += [script[pos : e.start], pasted]
        pos = e.end
    return "".join([*out, script[pos:]])


def _environment(rewrite: Rewrite, value: str, home: Path, bin_dir: Path) -> dict[str, str]:
    env = {"PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LC_ALL": "C"}
    for context, name in BUILT_IN_VARIABLES.items():
        env[name] = _value(context, rewrite, value)
    for name, text in rewrite.env.items():
        env[name] = _paste(text, rewrite, value)
    return env


def _stubs(script: str, cwd: Path, bin_dir: Path) -> None:
    """Stand-ins for commands the machine lacks: print the arguments like ``echo``."""
    bin_dir.mkdir(exist_ok=True)
    for word in set(re.findall(r"(?<![\w$/.-])(\./)?([A-Za-z][\w.-]*)", script)):
        local, name = word
        target = (cwd / name) if local else (bin_dir / name)
        if local or shutil.which(name) is None:
            target.write_text('#!/bin/sh\necho "$*"\n')
            target.chmod(target.stat().st_mode | stat.S_IXUSR)


def _require_interpreters(rewrite: Rewrite) -> None:
    """Skip a script that runs an interpreter this machine lacks (a stand-in would print the
    code instead of running it, so the comparison would mean nothing)."""
    for program in ("ruby", "php", "perl", "python3", "node"):
        script = rewrite.before + rewrite.after
        if re.search(rf"\b{program}\b", script) and shutil.which(program) is None:
            pytest.skip(f"{program} is not installed")


def _run(rewrite: Rewrite, script: str, value: str, where: Path) -> tuple[str, int]:
    cwd, home, bin_dir = where / "cwd", where / "home", where / "bin"
    for folder in (cwd, home):
        folder.mkdir(parents=True, exist_ok=True)
    (home / "canary").write_text("still here")
    _stubs(script, cwd, bin_dir)
    env = _environment(rewrite, value, home, bin_dir)
    if rewrite.language == "javascript":
        program = (
            "const core = {info: console.log, setOutput: console.log};"
            "const github = {}; const context = {};"
            f"(async () => {{\n{script}\n}})().catch(e => {{ console.log(String(e)); }});"
        )
        command = ["node", "-e", program]
    else:
        (where / "script.sh").write_text(script)
        shell = "dash" if rewrite.language == "sh" else "bash"
        flags = ["-e"] if shell == "dash" else ["--noprofile", "--norc", "-eo", "pipefail"]
        command = [shell, *flags, str(where / "script.sh")]
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=30, check=False
    )
    return done.stdout, done.returncode


def _pwned(where: Path) -> bool:
    return (where / "cwd" / "pwned").exists() or not (where / "home" / "canary").exists()


EXECUTABLE = [r for r in ALL if r.language in ("bash", "sh", "javascript")]
POWERSHELL = [r for r in ALL if r.language in ("pwsh", "powershell")]


def test_the_harness_sees_every_kind_of_rewrite() -> None:
    kinds = {r.language for r in ALL}
    assert {"bash", "pwsh", "javascript"} <= kinds
    assert len(EXECUTABLE) >= 15


@pytest.mark.parametrize("rewrite", EXECUTABLE, ids=lambda r: r.label)
@pytest.mark.parametrize("value", BENIGN)
def test_benign_values_behave_as_before(rewrite: Rewrite, value: str, tmp_path: Path) -> None:
    rewrite = live(rewrite)
    _require_interpreters(rewrite)
    if rewrite.language == "javascript" and shutil.which("node") is None:
        pytest.skip("Node.js is not installed")
    original = _run(rewrite, _paste(rewrite.before, rewrite, value), value, tmp_path / "a")
    fixed = _run(rewrite, _paste(rewrite.after, rewrite, value), value, tmp_path / "b")
    assert fixed == original


@pytest.mark.parametrize("rewrite", EXECUTABLE, ids=lambda r: r.label)
def test_hostile_values_run_nothing(rewrite: Rewrite, tmp_path: Path) -> None:
    rewrite = live(rewrite)
    _require_interpreters(rewrite)
    if rewrite.language == "javascript" and shutil.which("node") is None:
        pytest.skip("Node.js is not installed")
    holes = 0
    for n, value in enumerate(HOSTILE):
        original = tmp_path / f"original-{n}"
        _run(rewrite, _paste(rewrite.before, rewrite, value), value, original)
        holes += _pwned(original)
        fixed = tmp_path / f"fixed-{n}"
        _run(rewrite, _paste(rewrite.after, rewrite, value), value, fixed)
        assert not _pwned(fixed), f"{value!r} ran code in the rewritten script"
    trusted_only = all(
        _value(e.inner, rewrite, "") == TRUSTED_VALUE or e.inner.startswith("env.")
        for e in expressions(rewrite.before)
    )
    assert holes or trusted_only, "no hostile value ran code in the original: a weak case"


SCRIPTS = [r for case in CASES for r in rewrites(case, changed_only=False)]
EXECUTABLE_SCRIPTS = [r for r in SCRIPTS if r.language in ("bash", "sh", "javascript")]


@pytest.mark.parametrize("rewrite", EXECUTABLE_SCRIPTS, ids=lambda r: r.label)
def test_a_hole_left_open_is_still_reported(rewrite: Rewrite, tmp_path: Path) -> None:
    """After ``--fix=all``, any script that still runs a hostile value (pasted into every
    expression left, and into every variable the fix introduced) is still reported: a fix
    never hides a hole (the old rewrite of ``python3 -c '…'`` did)."""
    fixed = next(
        (
            r
            for r in rewrites(rewrite.case, _fixed_by_cli(rewrite.case), changed_only=False)
            if r.label == rewrite.label
        ),
        rewrite,
    )
    job, index = re.fullmatch(r".*:(.*)\[(\d+)\]", rewrite.label).groups()  # type: ignore[union-attr]
    reported = (job, int(index)) in _reported_after_fix(rewrite.case)
    everywhere = dataclasses.replace(fixed, after="")  # no expression is exempt
    for n, value in enumerate(HOSTILE):
        where = tmp_path / str(n)
        _run(everywhere, _paste(fixed.after, everywhere, value), value, where)
        assert reported or not _pwned(where), f"{value!r} runs code, and nothing is reported"


def _powershell_parser() -> Any:
    tree_sitter = pytest.importorskip("tree_sitter")
    grammar = pytest.importorskip("tree_sitter_powershell")
    return tree_sitter.Parser(tree_sitter.Language(grammar.language()))


def test_powershell_grammar_rejects_a_variable_as_command_name() -> None:
    parser = _powershell_parser()
    assert parser.parse(b"$env:TOOL merge --no-ff").root_node.has_error
    assert not parser.parse(b"& $env:TOOL merge --no-ff").root_node.has_error


@pytest.mark.parametrize("rewrite", POWERSHELL, ids=lambda r: r.label)
def test_rewritten_powershell_parses(rewrite: Rewrite) -> None:
    parser = _powershell_parser()
    rewrite = live(rewrite)
    pasted = _paste(rewrite.after, rewrite, "v1")
    assert not parser.parse(pasted.encode()).root_node.has_error, rewrite.after
