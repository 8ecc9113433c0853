"""Error messages are printed exactly as written, on one line per message, in every command.

Messages carry text the user (or an attacker who names a file, a config key or a ref)
controls: Rich markup such as ``[/x]`` used to crash the printer (a ``MarkupError``
traceback and exit 1 where 2 or 3 is promised) and ``[red]x[/red]`` used to be rendered as
styling, hiding the text. Piped output used to be hard-wrapped at 140 columns, breaking long
paths in two. Each test runs the real command in a child process with piped output.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from clirun import run_mendbot as mendbot

WORKFLOW = """\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
"""


def _repo(root: Path, config: str | None = None) -> Path:
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github" / "workflows" / "ci.yml").write_text(WORKFLOW, encoding="utf-8")
    if config is not None:
        (root / ".github" / "mendbot.yml").write_text(config, encoding="utf-8")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "initial"]):
        subprocess.run([*git, *args], cwd=root, check=True)
    return root


def _assert_clean_error(done: subprocess.CompletedProcess[str], code: int) -> None:
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    assert "MarkupError" not in done.stderr


@pytest.mark.parametrize("command", [("analyze", "."), ("config", "check")])
def test_a_config_key_that_looks_like_markup_is_printed_literally(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    repo = _repo(tmp_path / "repo", 'rules:\n  "[/x]":\n    enabled: false\n')
    if command[0] == "config":
        command = (*command, ".github/mendbot.yml")
    done = mendbot(*command, cwd=repo)
    _assert_clean_error(done, 2)
    assert done.stderr.startswith(
        "error: .github/mendbot.yml:2:3: unknown rule '[/x]' under rules\n"
    ), done.stderr


def test_balanced_markup_and_emoji_codes_in_a_path_are_not_rendered(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    config = repo / "we[/x]ird[bold]" / "conf[red]x[/red]:warning:.yml"
    config.parent.mkdir(parents=True)
    config.write_text("rules: [\n", encoding="utf-8")
    done = mendbot("analyze", ".", "--config", str(config.relative_to(repo)), cwd=repo)
    _assert_clean_error(done, 2)
    assert done.stderr.startswith("error: we[/x]ird[bold]/conf[red]x[/red]:warning:.yml:2:1: "), (
        done.stderr
    )


def test_a_branch_name_that_looks_like_markup_is_printed_literally(tmp_path: Path) -> None:
    """A pull request proposed onto a mistyped base branch: propose names that branch."""
    repo = _repo(tmp_path / "repo")
    out = tmp_path / "bundles"
    made = mendbot("analyze", ".", "--offline", "--bundle-out", str(out), cwd=repo)
    assert made.returncode == 1, made.stderr
    bundles = [str(path) for path in sorted(out.iterdir())]
    proposed = mendbot("propose", "--base", "fix[/x][bold]", "--allow-unsigned", *bundles, cwd=repo)
    _assert_clean_error(proposed, 2)  # a base branch that does not exist stops the run
    assert proposed.stderr.startswith("error: the base branch 'fix[/x][bold]' does not exist in ")


def test_a_repository_path_that_looks_like_markup_is_printed_literally(tmp_path: Path) -> None:
    """The gate's setup errors go through the same printer."""
    missing = tmp_path / "re[/x]po[bold]"
    missing.mkdir(parents=True)
    done = mendbot("gate", "--pr", "1", "--repo", str(missing), "--allow-unsigned", cwd=tmp_path)
    _assert_clean_error(done, 2)
    assert "[/x]po[bold]" in done.stderr.splitlines()[0]


def test_a_300_character_path_stays_on_one_line_when_piped(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    deep = repo
    while len(str(deep)) < 300:
        deep = deep / ("d" * 40)
    config = deep / "mendbot.yml"
    config.parent.mkdir(parents=True)
    config.write_text("rules: [\n", encoding="utf-8")
    assert len(str(config)) > 300
    done = mendbot("analyze", ".", "--config", str(config), cwd=repo)
    _assert_clean_error(done, 2)
    first = done.stderr.splitlines()[0]
    assert first.startswith(f"error: {config}:2:1: "), done.stderr
