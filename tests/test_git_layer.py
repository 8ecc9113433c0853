"""bot/git.py: configuration passed to git through the environment adds to what is there."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

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
