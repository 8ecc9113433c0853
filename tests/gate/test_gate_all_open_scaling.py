"""``mendbot gate --all-open`` on many pull requests: flat work per pull request, and the
caches that make it flat never serve stale inputs.

The gate reads the policies once per commit of the default branch and the local forge reads
every branch tip at once; these tests run the real command (a child process with a ``git`` shim
on ``PATH`` that counts the git processes it starts) and attack the caches: a policy change
on the default branch during a run, a pull request record replaced between two reads.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from gate_scenario import NOW, local_scenario, loosen_policies
from test_gate_local import _pub, gate, human_branch, open_human_pull

from bot.forge.interface import ForgeError
from bot.forge.local import LocalForge


def _git_shim(folder: Path, log: Path) -> dict[str, str]:
    """An environment whose ``git`` logs its arguments to ``log``, then runs the real git."""
    real = subprocess.run(["which", "git"], capture_output=True, text=True, check=True)
    folder.mkdir()
    shim = folder / "git"
    shim.write_text(f'#!/bin/sh\necho "$1" >> "{log}"\nexec {real.stdout.strip()} "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    return {**os.environ, "PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}


def _gate_all_open(scenario, key: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "gate", "--all-open", "--repo", str(scenario.path),
         "--base", "main", "--verify-key", str(key), "--now", NOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
         "--format", "json"],
        capture_output=True, text=True, check=False, env=env,
    )  # fmt: skip


@pytest.fixture
def staged(bench, signing_key):
    return local_scenario(bench, signing_key)


def _open_human_pulls(scenario, forge: LocalForge, count: int, start: int) -> None:
    for index in range(start, start + count):
        branch = f"human-{index}"
        human_branch(scenario.repo, branch, {f"notes/{index}.txt": f"{index}\n"}, f"note {index}")
        open_human_pull(forge, branch, f"note {index}", "ada")


def test_git_processes_per_pull_request_do_not_grow_with_the_open_pull_requests(
    staged, tmp_path
) -> None:
    scenario, forge = staged
    key = _pub(scenario, tmp_path)
    per_pull = []
    for size, extra in (("small", 2), ("large", 10)):
        _open_human_pulls(scenario, forge, extra, start=len(forge.open_pull_numbers()))
        log = tmp_path / f"{size}.log"
        done = _gate_all_open(scenario, key, _git_shim(tmp_path / f"shim-{size}", log))
        assert done.returncode == 1, done.stderr  # the human changes wait for approval
        decided = json.loads(done.stdout)
        assert len(decided) == len(forge.open_pull_numbers())
        calls = log.read_text().split()
        per_pull.append((len(calls) / len(decided), calls.count("rev-parse") / len(decided)))
    (small, small_rev_parse), (large, large_rev_parse) = per_pull
    assert large <= small + 0.5, (
        f"{small:.1f} git processes per pull request at 4, {large:.1f} at 14"
    )
    assert large_rev_parse <= small_rev_parse + 0.1


def test_a_policy_change_on_the_default_branch_applies_to_the_next_pull_request(
    staged,
) -> None:
    scenario, forge = staged
    staging = scenario.pulls["staging"]
    assert gate(forge, scenario, staging).decision.outcome == "allow"
    # Someone tightens the policies on main between two decisions of one process.
    scenario.repo.write(
        "policies/deny-all.yaml",
        "apiVersion: mendbot/v1\nkind: GatePolicy\nmetadata: {name: deny-all}\nspec:\n"
        "  validations:\n    - expression: 'false'\n      message: frozen by hand\n",
    )
    scenario.repo.commit("freeze everything")
    run = gate(forge, scenario, staging)
    assert run.decision.outcome == "deny"
    assert "frozen by hand" in json.dumps(run.record)


def test_a_loosened_policy_branch_is_never_read_from_the_cache(staged) -> None:
    scenario, forge = staged
    production = scenario.pulls["production"]
    before = gate(forge, scenario, production).decision.outcome
    loosen_policies(scenario.repo, "loose")
    assert gate(forge, scenario, production).decision.outcome == before == "require_approval"


def test_a_record_replaced_between_two_reads_is_read_again(staged) -> None:
    scenario, forge = staged
    number = scenario.pulls["staging"]
    assert forge.get(number).labels  # read (and cached) once
    path = next((scenario.path / ".git" / "mendbot" / "pulls").glob(f"{number}.json"))
    data = json.loads(path.read_text(encoding="utf-8"))
    data["labels"] = ["gate:blocked"]
    replacement = path.with_suffix(".new")
    replacement.write_text(json.dumps(data), encoding="utf-8")
    replacement.replace(path)
    assert forge.get(number).labels == ["gate:blocked"]
    path.write_text("{", encoding="utf-8")
    with pytest.raises(ForgeError, match=rf"{number}\.json: unreadable pull request record"):
        forge.get(number)
