"""Workers kept fed with a window of files, through the real ``mendbot analyze`` on disk.

Each worker holds two batches of several files. A worker that dies costs the one file it was
analysing (an error naming it); the files queued behind it are analysed by another worker, and
every report is the bytes a single-process run writes. Files too large to queue behind a batch
never leave this process waiting on a worker that waits on it.
"""

from __future__ import annotations

import ctypes
import json
import multiprocessing
import os
import pickle
import subprocess
import sys
from collections import deque
from pathlib import Path

import pytest

from bot.analyze import pipeline
from bot.analyze.file_job import FileJob
from bot.analyze.inputs import Input
from bot.analyze.workers import (
    CRASH_HOOK,
    QUEUED_BATCH_BYTES,
    WINDOW,
    FileTask,
    _batch_size,
    _Pool,
    _Worker,
)
from bot.cli.app import ANALYSIS_JOB_MODULE, asks_for_workers
from testpaths import TESTS

REAL = TESTS / "corpus" / "real"

#: A generous bound that turns a deadlock into a failure instead of a hung suite.
HANG = 600


def _corpus(root: Path, count: int) -> list[str]:
    """``count`` real workflows under ``root/.github/workflows``, named so that they sort in
    the order they are listed; their repository-relative names."""
    sources = sorted(REAL.glob("*/.github/workflows/*.y*ml"))
    assert len(sources) >= count
    workflows = root / ".github" / "workflows"
    workflows.mkdir(parents=True)
    names = []
    for number, source in enumerate(sources[:count]):
        name = f"f{number:03d}-{source.parent.parent.parent.name}-{source.stem}.yml"
        (workflows / name).write_bytes(source.read_bytes())
        names.append(f".github/workflows/{name}")
    return names


def _analyze(root: Path, out: Path, *args: str, env: dict[str, str] | None = None) -> int:
    """``mendbot analyze`` writing text and JSON reports under ``out``; its exit code."""
    out.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-m", "bot", "analyze", str(root), "--offline", "--no-cache",
         "-o", str(out / "text"), "--extra-report", f"json={out / 'json'}", *args],
        capture_output=True, text=True, check=False, timeout=HANG, env=env,
    )  # fmt: skip
    assert done.returncode in (0, 1, 3), done.stderr
    return done.returncode


def test_a_dead_worker_costs_its_file_and_the_files_queued_behind_it_are_analysed(
    tmp_path: Path,
) -> None:
    root = tmp_path / "repo"
    names = _corpus(root, 40)
    # The first worker's first batch holds files 0 to 4 and its second batch the next ones:
    # the victim has files queued behind it in its own batch and in the worker's window.
    assert _batch_size(len(names), 2) >= 4 and WINDOW >= 2
    victim = names[2]
    assert _analyze(root, tmp_path / "j1", "-j", "1") in (0, 1)
    code = _analyze(root, tmp_path / "crash", "-j", "2", env={**os.environ, CRASH_HOOK: victim})
    assert code == 3  # as for any file that could not be analysed
    expected = json.loads((tmp_path / "j1" / "json").read_bytes())
    report = json.loads((tmp_path / "crash" / "json").read_bytes())
    errors = [e for e in report["errors"] if e["path"] == victim]
    assert len(errors) == 1
    assert "killed (SIGKILL)" in errors[0]["message"]
    assert [e for e in report["errors"] if e["path"] != victim] == expected["errors"]
    assert report["summary"]["files"] == expected["summary"]["files"] - 1
    others = [f for f in expected["findings"] if f["path"] != victim]
    assert [f for f in report["findings"] if f["path"] != victim] == others
    # Every file the dead worker held was analysed by another: all but the victim counted,
    # and the findings of those behind it are all there.
    assert {f["path"] for f in others} & set(names[3:10])


@pytest.mark.parametrize("victim_position", [0, 39])
def test_the_first_and_the_last_file_of_a_run_can_be_lost_alone(
    tmp_path: Path, victim_position: int
) -> None:
    root = tmp_path / "repo"
    names = _corpus(root, 40)
    victim = names[victim_position]
    _analyze(root, tmp_path / "j1", "-j", "1")
    code = _analyze(root, tmp_path / "crash", "-j", "2", env={**os.environ, CRASH_HOOK: victim})
    assert code == 3
    expected = json.loads((tmp_path / "j1" / "json").read_bytes())
    report = json.loads((tmp_path / "crash" / "json").read_bytes())
    assert [e["path"] for e in report["errors"]] == [victim]
    assert [f for f in report["findings"] if f["path"] != victim] == [
        f for f in expected["findings"] if f["path"] != victim
    ]


def _large_workflow(steps: int, seed: int) -> str:
    lines = ["on: pull_request_target", "jobs:", "  build:", "    runs-on: ubuntu-latest",
             "    steps:", "      - uses: actions/checkout@v4"]  # fmt: skip
    for step in range(steps):
        lines.append(f"      - name: step {seed}-{step} {'x' * 60}")
        lines.append(f'        run: echo "${{{{ github.event.pull_request.title }}}}" {step}')
    return "\n".join(lines) + "\n"


def test_files_too_large_to_queue_give_the_same_reports_and_never_hang(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    names = _corpus(root, 24)
    workflows = root / ".github" / "workflows"
    for number in range(6):  # interleaved with the small ones, larger than a queued batch
        text = _large_workflow(400, number)
        assert len(text.encode()) > QUEUED_BATCH_BYTES
        (workflows / f"f{number * 4:03d}-large.yml").write_text(text, encoding="utf-8")
    assert len(names) == 24
    _analyze(root, tmp_path / "j1", "-j", "1")
    for jobs in ("2", "3"):
        _analyze(root, tmp_path / f"j{jobs}", "-j", jobs)
        for report in ("text", "json"):
            assert (tmp_path / f"j{jobs}" / report).read_bytes() == (
                tmp_path / "j1" / report
            ).read_bytes()
    assert json.loads((tmp_path / "j1" / "json").read_bytes())["summary"]["files"] == 30


@pytest.mark.parametrize(
    ("args", "asked"),
    [
        (["-j", "2", ".", "--no-cache"], True),
        (["--no-cache", "-j2"], True),
        (["--jobs", "4", "--no-cache"], True),
        (["--no-cache", "--jobs=8", "repo"], True),
        (["-j", "2", "."], False),  # with the cache every file may be a hit: no rule needed
        (["--no-cache", "-j", "1"], False),
        (["--no-cache", "--jobs=1"], False),
        (["repo", "--no-cache"], False),  # the automatic count waits for the files
        (["--no-cache", "--", "-j", "2"], False),  # a path named -j
        (["-j", "2", "--", "--no-cache"], False),  # a path named --no-cache
        (["--no-cache", "-j", "two"], False),
        (["--no-cache", "-j"], False),
    ],
)
def test_the_fork_server_starts_early_only_when_workers_are_asked_for(
    args: list[str], asked: bool
) -> None:
    assert asks_for_workers(args) is asked


def test_the_early_fork_server_imports_the_module_of_the_analysis_job() -> None:
    assert FileJob.__module__ == ANALYSIS_JOB_MODULE == pipeline.FILE_JOB_MODULE


def test_a_batch_larger_than_the_pipe_can_queue_waits_for_an_idle_worker(
    tmp_path: Path,
) -> None:
    """What keeps the parent from blocking on a full pipe: behind a batch in progress only
    messages of at most ``queue_bytes`` are sent; a larger file waits until its worker holds
    nothing (and is therefore reading)."""
    small, large = "x" * 100, "y" * 5000
    items = [
        FileTask(Input(tmp_path / f"{n}.yml", f"{n}.yml", True), large if n == 1 else small)
        for n in range(4)
    ]
    ours, theirs = multiprocessing.Pipe()
    pool: _Pool[object] = _Pool.__new__(_Pool)
    pool.size = 1
    worker = _Worker(None, ours, ctypes.c_int64(-1), queue_bytes=1000)  # type: ignore[arg-type]
    worker.batches.append([0])  # analysing file 0
    pool.workers = {ours: worker}
    waiting = deque([1, 2, 3])
    pool._feed(items, waiting)
    assert not theirs.poll()  # file 1 is too large to wait behind file 0: nothing was sent
    assert list(waiting) == [1, 2, 3]
    worker.batches.clear()  # file 0 answered: the worker holds nothing
    pool._feed(items, waiting)
    first = pickle.loads(theirs.recv_bytes())  # noqa: S301 - what this test just sent
    assert [index for index, _ in first] == [1]  # the large file alone, to the idle worker
    queued = theirs.recv_bytes()  # then a small one behind it, which fits
    assert len(queued) <= worker.queue_bytes
    assert [index for index, _ in pickle.loads(queued)] == [2]  # noqa: S301 - as above
    assert list(worker.batches) == [[1], [2]]
    assert list(waiting) == [3]
    ours.close()
    theirs.close()
