"""bot/git.py: configuration passed to git through the environment adds to what is there."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from bot import git


def test_a_config_entry_is_added_after_the_callers_own_and_git_reads_both(tmp_path: Path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    callers = {**os.environ, "GIT_CONFIG_COUNT": "1"}
    callers |= {"GIT_CONFIG_KEY_0": "http.proxy", "GIT_CONFIG_VALUE_0": "http://proxy.test:3128"}
    env = git.with_git_config(callers, "http.extraHeader", "Authorization: basic c2VjcmV0")
    assert env["GIT_CONFIG_COUNT"] == "2"
    seen = git.run(tmp_path, "config", "--get-regexp", r"^http\.", env=env).decode()
    assert seen.splitlines() == [
        "http.proxy http://proxy.test:3128",
        "http.extraheader Authorization: basic c2VjcmV0",
    ]


def test_a_malformed_count_starts_afresh_instead_of_failing():
    env = git.with_git_config({"GIT_CONFIG_COUNT": "many"}, "a.b", "c")
    assert (env["GIT_CONFIG_COUNT"], env["GIT_CONFIG_KEY_0"], env["GIT_CONFIG_VALUE_0"]) == (
        "1",
        "a.b",
        "c",
    )


def test_a_failure_names_the_git_command_past_global_options(tmp_path: Path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    with pytest.raises(git.GitError) as raised:
        git.run(tmp_path, "-c", "core.quotePath=false", "rev-parse", "--verify", "nope")
    assert str(raised.value).startswith(f"git rev-parse failed in {tmp_path}")


def test_a_missing_repository_folder_is_named_not_taken_for_a_missing_git(tmp_path: Path):
    missing = tmp_path / "nowhere"
    with pytest.raises(git.GitError, match="does not exist") as raised:
        git.run(missing, "status")
    assert str(raised.value) == f"{missing} does not exist"
