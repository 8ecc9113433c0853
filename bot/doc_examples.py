"""Console examples in the documentation, produced by running the real commands.

A fenced ``console`` block preceded by ``<!-- example: NAME -->`` is the output of the example
``NAME`` below: each command runs in a fresh folder prepared for it, through the ``mendbot`` of
this checkout, and the block shows ``$ command`` followed by what it printed (standard output and
standard error, as a terminal would interleave them at the end of each command). ``python -m
bot.docsgen`` rewrites the blocks and ``--check`` fails when one has drifted, so an example in the
docs is always what a user would see.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

#: Where the bundled example repository lives in a checkout.
_SOURCE_ROOT = Path(__file__).resolve().parent.parent
_INSECURE_REPO = _SOURCE_ROOT / "examples" / "insecure-repo"
_POLICIES = _SOURCE_ROOT / "policies"

MARKER = re.compile(
    r"^(?P<indent>[ \t]*)<!-- example: (?P<name>[\w.-]+) -->\n"
    r"(?P=indent)```console\n(?P<body>.*?)^(?P=indent)```$",
    re.MULTILINE | re.DOTALL,
)

_ONE_FILE_REPO = {
    ".github/workflows/legacy-deploy.yml": """\
on: workflow_dispatch
env:
  ACTIONS_ALLOW_UNSECURE_COMMANDS: true   # TODO: remove once set-env is gone
jobs:
  deploy:
    runs-on: ubuntu-latest
    permissions:
      contents: read
    steps:
      - run: echo "::set-env name=VERSION::$(cat VERSION)"
""",
}

_CONFIG_TYPO = {
    ".github/mendbot.yml": """\
rules:
  gha-insecure-commands:
    severty: high
""",
    **_ONE_FILE_REPO,
}


@dataclass(frozen=True)
class Example:
    """Commands run in a fresh folder; their output is the documentation block."""

    commands: Sequence[str]
    insecure_repo: bool = False
    """Start from a copy of ``examples/insecure-repo``, committed on ``main``."""
    policies: bool = False
    """Add a copy of the shipped ``policies/``."""
    files: Mapping[str, str] = field(default_factory=dict)
    """Further files to write (path → text)."""


EXAMPLES: dict[str, Example] = {
    "readme-analyze": Example(
        insecure_repo=True,
        commands=[
            "mendbot analyze . --rule gha-persist-credentials --rule gha-insecure-commands",
        ],
    ),
    "readme-fix": Example(
        insecure_repo=True,
        commands=[
            "mendbot analyze . --rule gha-persist-credentials --fix | tail -n 1",
            "git diff",
        ],
    ),
    "cli-text": Example(files=_ONE_FILE_REPO, commands=["mendbot analyze ."]),
    "configuration-error": Example(files=_CONFIG_TYPO, commands=["mendbot analyze .", "echo $?"]),
    "policy-init": Example(commands=["mendbot policy init", "mendbot policy init"]),
    "policy-lint": Example(
        policies=True,
        commands=[
            "mendbot policy lint",
            "sed -i 's/^      message:/      mesage:/' policies/production-approval.yaml",
            "mendbot policy lint policies",
            "echo $?",
        ],
    ),
    "policies-lint": Example(policies=True, commands=["mendbot policy lint"]),
}


def _environment(shim: Path) -> dict[str, str]:
    """A reproducible environment: fixed git identity and dates, no user configuration, and
    ``mendbot`` resolving to this checkout."""
    keep = {k: v for k, v in os.environ.items() if k in {"HOME", "LANG", "LC_ALL", "TMPDIR"}}
    return keep | {
        "PATH": f"{shim}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(_SOURCE_ROOT),
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Ada Maintainer",
        "GIT_AUTHOR_EMAIL": "ada@example.com",
        "GIT_COMMITTER_NAME": "Ada Maintainer",
        "GIT_COMMITTER_EMAIL": "ada@example.com",
        "GIT_AUTHOR_DATE": "2026-01-05T09:00:00Z",
        "GIT_COMMITTER_DATE": "2026-01-05T09:00:00Z",
        "NO_COLOR": "1",
    }


def _prepare(example: Example, folder: Path, env: Mapping[str, str]) -> None:
    if example.insecure_repo:
        shutil.copytree(_INSECURE_REPO, folder, dirs_exist_ok=True)
    if example.policies:
        shutil.copytree(_POLICIES, folder / "policies")
    for name, text in example.files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    if example.insecure_repo:
        for command in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "init"]):
            subprocess.run(["git", *command], cwd=folder, env=env, check=True)


def run(example: Example) -> str:
    """The block's text: each command after ``$ ``, then its output."""
    with tempfile.TemporaryDirectory(prefix="mendbot-doc-") as scratch:
        root = Path(scratch)
        shim, folder = root / "bin", root / "work"
        shim.mkdir()
        folder.mkdir()
        launcher = shim / "mendbot"
        launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m bot "$@"\n')
        launcher.chmod(0o755)
        env = _environment(shim)
        _prepare(example, folder, env)
        lines: list[str] = []
        status = 0
        for command in example.commands:
            # `(exit N)` hands the previous command's status to `echo $?`.
            done = subprocess.run(
                ["bash", "-c", f"(exit {status}); {command}"],
                cwd=folder,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                check=False,
            )
            status = done.returncode
            lines.append(f"$ {command}\n")
            lines.append(done.stdout.replace(str(folder), "."))
    text = "".join(lines)
    return text if text.endswith("\n") else text + "\n"


def render_file(text: str, produce: Mapping[str, str] | None = None) -> str:
    """``text`` with every example block replaced by a fresh run (or by ``produce[name]``).

    Raises :class:`KeyError` naming an unknown example.
    """

    def replace(match: re.Match[str]) -> str:
        name, indent = match["name"], match["indent"]
        if name not in EXAMPLES:
            raise KeyError(f"unknown example {name!r}; known: {', '.join(sorted(EXAMPLES))}")
        body = produce[name] if produce is not None else run(EXAMPLES[name])
        indented = "".join(
            f"{indent}{line}" if line.strip() else line for line in body.splitlines(keepends=True)
        )
        return f"{indent}<!-- example: {name} -->\n{indent}```console\n{indented}{indent}```"

    return MARKER.sub(replace, text)
