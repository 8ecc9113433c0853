"""Run a child and measure its whole process tree (Linux): CPU per process, summed memory, and
the critical path of a run with worker processes.

mendbot's workers are children of multiprocessing's fork server, itself a child of the timed
process, so the timed child's own CPU and peak RSS leave them out. Here this process becomes a
*child subreaper* (``prctl(PR_SET_CHILD_SUBREAPER)``): descendants whose parent exits are
re-parented to it and reaped by it, so ``getrusage(RUSAGE_CHILDREN)`` counts the CPU of every
process of the tree. A sampling thread reads ``/proc`` every :data:`SAMPLE_SECONDS`: the tree's
summed RSS and PSS (proportional set size: a page shared by *n* processes counts 1/*n* in each,
so the fork server's pages shared with its workers are not counted twice), each process's CPU,
and when the workers (the fork server's children) first appear and last run.
"""

from __future__ import annotations

import ctypes
import os
import resource
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

SAMPLE_SECONDS = 0.02
_PR_SET_CHILD_SUBREAPER = 36
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def available() -> bool:
    """Whether this system can measure process trees (Linux with ``/proc``)."""
    return Path("/proc/self/task").is_dir() and hasattr(os, "wait4")


@dataclass
class TreeRun:
    """One run of a child and its descendants."""

    wall: float
    exit_code: int
    main_cpu: float
    """CPU of the timed process alone (user + system)."""
    tree_cpu: float
    """CPU of every process of the tree, the timed one included."""
    peak_rss: int
    """Highest sum of the tree's resident sets, bytes (shared pages counted in each process)."""
    peak_pss: int
    """Highest sum of the tree's proportional sets, bytes (0 when unreadable)."""
    worker_cpu: list[float] = field(default_factory=list)
    """Last sampled CPU of each worker (a child of a child), in order of appearance."""
    workers_from: float | None = None
    """Seconds from the start to the first sample that saw a worker."""
    workers_until: float | None = None
    """Seconds from the start to the last sample that saw a worker."""
    server_from: float | None = None
    """Seconds from the start to the first sample that saw a child of the timed process."""
    main_cpu_at_server: float | None = None
    """CPU of the timed process when its first child (the fork server) was seen."""
    main_cpu_before_workers: float | None = None
    """CPU of the timed process when the first worker was seen."""
    server_cpu_before_workers: float | None = None
    """CPU of the timed process's children (the fork server) when the first worker was seen."""
    main_cpu_after_workers: float | None = None
    """CPU of the timed process after the last worker was seen."""
    stdout: Path | None = None

    @property
    def critical_path(self) -> float | None:
        """CPU seconds on the longest chain of work, which is the wall time of the run with a
        free CPU for every process: the timed process or the fork server before the first
        worker (whichever used more), the busiest worker, and the timed process after the
        last worker. Unlike wall time it hardly moves when other jobs load the machine."""
        if (
            self.main_cpu_at_server is None
            or self.main_cpu_before_workers is None
            or self.server_cpu_before_workers is None
            or self.main_cpu_after_workers is None
            or not self.worker_cpu
        ):
            return None
        # The fork server imports while the timed process goes on: from its start, the longer.
        alongside = self.main_cpu_before_workers - self.main_cpu_at_server
        before = self.main_cpu_at_server + max(alongside, self.server_cpu_before_workers)
        return before + max(self.worker_cpu) + self.main_cpu_after_workers


def _become_subreaper() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            text = Path(f"/proc/{pid}/task/{task}/children").read_text()
        except OSError:
            continue
        found.extend(int(child) for child in text.split())
    return found


def _cpu(pid: int) -> float | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _memory(pid: int) -> tuple[int, int]:
    """RSS and PSS of ``pid`` in bytes (PSS 0 when unreadable)."""
    rss = pss = 0
    try:
        rss = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1]) * 1024
                break
    except (OSError, ValueError, IndexError):
        pass
    return rss, pss


class _Sampler(threading.Thread):
    def __init__(self, root: int, started: float) -> None:
        super().__init__(daemon=True)
        self.root, self.started = root, started
        self.stop = threading.Event()
        self.peak_rss = self.peak_pss = 0
        self.workers: dict[int, float] = {}
        self.first: float | None = None
        self.last: float | None = None
        self.server_first: float | None = None
        self.main_at_server: float | None = None
        self.main_before: float | None = None
        self.server_before: float | None = None
        self.main_last: float | None = None

    def run(self) -> None:
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(SAMPLE_SECONDS)

    def sample(self) -> None:
        now = time.perf_counter() - self.started
        rss = pss = 0
        tree = self._tree()
        cpus = {pid: _cpu(pid) or 0.0 for _, pid in tree}
        servers = sum(cpus[pid] for depth, pid in tree if depth == 1)
        workers = False
        for depth, pid in tree:
            r, p = _memory(pid)
            rss, pss = rss + r, pss + p
            if depth == 1 and self.server_first is None:
                self.server_first, self.main_at_server = now, cpus[self.root]
            if depth == 2:
                workers = True
                self.workers[pid] = cpus[pid]
        if workers:
            if self.first is None:
                self.first = now
                self.main_before, self.server_before = cpus[self.root], servers
            self.last = now
            self.main_last = cpus[self.root]
        self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)

    def _tree(self) -> list[tuple[int, int]]:
        found, todo = [], [(0, self.root)]
        while todo:
            depth, pid = todo.pop()
            found.append((depth, pid))
            todo.extend((depth + 1, child) for child in _children(pid))
        return found


def run_tree(argv: Sequence[str], env: dict[str, str], scratch: Path) -> TreeRun:
    """Run ``argv`` (stdout and stderr to files under ``scratch``), wait for it and for every
    descendant it left, and measure the tree (see the module's docstring)."""
    _become_subreaper()
    scratch.mkdir(parents=True, exist_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out_path = scratch / "stdout"
    with out_path.open("wb") as out, (scratch / "stderr").open("wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env)
        sampler = _Sampler(proc.pid, started)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        sampler.stop.set()
        sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    _reap_orphans()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return TreeRun(
        wall=wall,
        exit_code=proc.returncode,
        main_cpu=usage.ru_utime + usage.ru_stime,
        tree_cpu=(after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
        peak_rss=sampler.peak_rss,
        peak_pss=sampler.peak_pss,
        worker_cpu=list(sampler.workers.values()),
        workers_from=sampler.first,
        workers_until=sampler.last,
        server_from=sampler.server_first,
        main_cpu_at_server=sampler.main_at_server,
        main_cpu_before_workers=sampler.main_before,
        server_cpu_before_workers=sampler.server_before,
        main_cpu_after_workers=None
        if sampler.main_last is None
        else usage.ru_utime + usage.ru_stime - sampler.main_last,
        stdout=out_path,
    )


def _reap_orphans(timeout: float = 30.0) -> None:
    """Wait for the descendants re-parented to this process (the fork server and its workers
    outlive the timed process by a moment)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.01)
