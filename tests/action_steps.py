"""Run the steps of the composite ``action.yml`` the way a runner would, without a runner.

There is no GitHub Actions runner here, so this reads ``action.yml``, evaluates the
expressions its steps use (``inputs.*`` with their defaults, ``steps.<id>.outputs.*`` and the
few ``github.*`` values it reads; any other expression fails the test), and runs each ``run:``
with bash, with the step's ``env:`` and the runner's variables (``GITHUB_ACTION_PATH``,
``RUNNER_TEMP``, ``GITHUB_OUTPUT``, ``GITHUB_STEP_SUMMARY``). A ``uses:`` step (the cache) is
GitHub's own action: it is recorded, not run. Each step's ``$GITHUB_OUTPUT`` file is read the way
the runner reads it (``name=value`` lines and ``name<<DELIMITER`` blocks). The action's outputs
are evaluated from its ``outputs:`` section at the end.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
ACTION = ROOT / "action.yml"
_EXPRESSION = re.compile(r"\$\{\{\s*(?P<inner>.+?)\s*\}\}")


@dataclass
class ActionRun:
    """What one run of the action gave."""

    returncode: int
    outputs: dict[str, str]
    summary: str
    stdout: str
    stderr: str
    skipped_uses: list[str] = field(default_factory=list)
    """``uses:`` steps whose ``if:`` held (recorded, not run)."""
    output_files: dict[str, bytes] = field(default_factory=dict)
    """The bytes each step with an ``id`` wrote to its ``$GITHUB_OUTPUT``."""


def load_action() -> dict[str, Any]:
    """``action.yml`` as data."""
    data = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def parse_outputs(text: str) -> dict[str, str]:
    """The outputs a ``$GITHUB_OUTPUT`` file sets, read as the runner reads it: blank lines are
    skipped, ``name=value`` sets one line, ``name<<DELIMITER`` sets the lines up to the line
    ``DELIMITER``; a later entry for a name replaces the earlier one. Anything else fails, as
    the runner fails the step."""
    found: dict[str, str] = {}
    lines = iter(text.split("\n"))
    for line in lines:
        if not line:
            continue
        equals, heredoc = line.find("="), line.find("<<")
        if equals >= 0 and (heredoc < 0 or equals < heredoc):
            name, value = line[:equals], line[equals + 1 :]
        elif heredoc >= 0:
            name, delimiter = line[:heredoc], line[heredoc + 2 :]
            body: list[str] = []
            for part in lines:
                if part == delimiter:
                    break
                body.append(part)
            else:
                raise AssertionError(f"output {name}: no closing delimiter {delimiter!r}")
            value = "\n".join(body)
        else:
            raise AssertionError(f"not an output entry: {line!r}")
        assert name, f"an output without a name: {line!r}"
        found[name] = value
    return found


def run_action(
    inputs: dict[str, str],
    *,
    workspace: Path,
    runner_temp: Path,
    github: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
) -> ActionRun:
    """Run ``action.yml``'s steps in ``workspace`` with ``inputs``; ``github`` gives the
    ``github.*`` values the action reads (``token``, ``repository_id``,
    ``event.pull_request.number``), ``env`` the job's environment."""
    action = load_action()
    declared = action["inputs"]
    unknown = set(inputs) - set(declared)
    assert not unknown, f"not inputs of action.yml: {unknown}"
    context = {
        "token": "",
        "sha": "",
        "repository_id": "",
        "event.pull_request.number": "",
        **(github or {}),
    }
    step_outputs: dict[str, dict[str, str]] = {}
    runner_temp.mkdir(parents=True, exist_ok=True)
    summary = runner_temp / "step-summary.md"
    summary.touch()

    def evaluate(text: str) -> str:
        def one(match: re.Match[str]) -> str:
            inner = match["inner"]
            if inner.startswith("inputs."):
                name = inner.removeprefix("inputs.")
                value = inputs[name] if name in inputs else str(declared[name].get("default", ""))
                return evaluate(value)
            if found := re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", inner):
                return step_outputs.get(found[1], {}).get(found[2], "")
            if inner.startswith("github.") and inner.removeprefix("github.") in context:
                return context[inner.removeprefix("github.")]
            raise AssertionError(f"action.yml uses an expression the test cannot evaluate: {inner}")

        return _EXPRESSION.sub(one, text)

    def condition(text: str | None) -> bool:
        if text is None:
            return True
        found = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+) == '([^']*)'", text.strip())
        assert found, f"action.yml uses a condition the test cannot evaluate: {text}"
        return step_outputs.get(found[1], {}).get(found[2], "") == found[3]

    base = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", str(runner_temp)),
        "GITHUB_ACTION_PATH": str(ROOT),
        "RUNNER_TEMP": str(runner_temp),
        "RUNNER_OS": "Linux",
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_ACTIONS": "true",
        **(env or {}),
    }
    stdout, stderr, skipped, code = [], [], [], 0
    files: dict[str, bytes] = {}
    for index, step in enumerate(action["runs"]["steps"]):
        if not condition(step.get("if")):
            continue
        if "uses" in step:
            skipped.append(step["uses"])
            continue
        outputs = runner_temp / f"step-{index}-outputs"
        outputs.write_text("", encoding="utf-8")
        assert "${{" not in step["run"], "inputs must reach the script through env: only"
        step_env = {k: evaluate(str(v)) for k, v in (step.get("env") or {}).items()}
        done = subprocess.run(
            ["bash", "-e", "-c", step["run"]],
            cwd=workspace,
            env={**base, **step_env, "GITHUB_OUTPUT": str(outputs)},
            capture_output=True,
            text=True,
            check=False,
        )
        stdout.append(done.stdout)
        stderr.append(done.stderr)
        if "id" in step:
            written = outputs.read_bytes()
            files[step["id"]] = written
            step_outputs[step["id"]] = parse_outputs(written.decode("utf-8"))
        if done.returncode != 0:
            code = done.returncode
            break
    results = {name: evaluate(spec["value"]) for name, spec in action["outputs"].items()}
    return ActionRun(
        code,
        results,
        summary.read_text(encoding="utf-8"),
        "".join(stdout),
        "".join(stderr),
        skipped,
        files,
    )
