"""Analyse files in worker processes: one file at a time per worker, results in input order.

Each worker holds one file at a time, so a worker that dies (killed for memory, a crash in
native code) costs exactly that file, which becomes an error naming it, and a new worker takes
its place: no file is ever lost, and the order of the results never depends on which worker
finished first.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.context import ForkServerContext, SpawnContext
from multiprocessing.process import BaseProcess
from typing import Generic, Protocol, TypeVar

from bot.analyze.inputs import Input
from bot.models import FileError

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

#: Tests only: a worker analysing a file whose path ends with this value kills itself, as the
#: kernel's out-of-memory killer would.
CRASH_HOOK = "MENDBOT_TEST_KILL_WORKER_ON"


@dataclass(frozen=True)
class FileTask:
    """One file to analyse and its text as read once by the caller (see
    :func:`~bot.analyze.inputs.read_texts`): the analysis works on the very text the result
    cache keyed, and no file is read twice."""

    item: Input
    text: str | FileError | None


class FileJob(Protocol[T_co]):
    """What workers do with one file; pickled once into each worker."""

    def __call__(self, task: FileTask) -> T_co: ...


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity where the system tells), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


#: Files each worker must have before the automatic choice starts one: a worker costs about
#: as much to start (a fresh interpreter importing mendbot) as analysing tens of files, so a
#: small repository is analysed in this process.
FILES_PER_AUTO_WORKER = 100


def auto_jobs(files: int) -> int:
    """The worker count when none was asked for: one per usable CPU, but never more than one
    per :data:`FILES_PER_AUTO_WORKER` files (1: this process)."""
    return max(1, min(usable_cpus(), files // FILES_PER_AUTO_WORKER))


def run_files(
    job: FileJob[T],
    items: Sequence[FileTask],
    jobs: int | None,
    lost: Callable[[FileTask, str], T],
    progress: Callable[[int, int], None] | None = None,
) -> list[T]:
    """``job(task)`` for every task, in order, in up to ``jobs`` worker processes (``None``:
    :func:`auto_jobs`; in this process when that is 1 or there is a single item).
    ``lost(item, why)`` stands for the result of an item whose worker died."""
    if jobs is None:
        jobs = auto_jobs(len(items))
    if jobs <= 1 or len(items) <= 1:
        results = []
        for number, item in enumerate(items, 1):
            if progress is not None:
                progress(number, len(items))
            results.append(job(item))
        return results
    return _Pool(job, min(jobs, len(items))).run(items, lost, progress)


def _context(preload: str) -> ForkServerContext | SpawnContext:
    """How workers start: forked from a server process that imported ``preload`` (the job's
    module, with every rule) once, so a worker starts with the rules loaded instead of
    importing them itself; a fresh interpreter each where there is no fork server."""
    # Never fork this process: it may run threads (a progress bar) holding locks.
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        # Read when the server starts (once per process); later calls change nothing.
        context.set_forkserver_preload([preload])
        return context
    return multiprocessing.get_context("spawn")


def _work(connection: Connection, job: FileJob[object]) -> None:
    """A worker's loop: analyse what the parent sends until it sends None."""
    crash_on = os.environ.get(CRASH_HOOK)
    while True:
        message = connection.recv()
        if message is None:
            return
        index, task = message
        if crash_on and task.item.path.as_posix().endswith(crash_on):
            os.kill(os.getpid(), signal.SIGKILL)
        connection.send((index, job(task)))


class _Pool(Generic[T]):
    def __init__(self, job: FileJob[T], size: int) -> None:
        self.job = job
        self.size = size
        self.context = _context(type(job).__module__)
        self.holding: dict[Connection, tuple[BaseProcess, int | None]] = {}

    def _start(self) -> Connection:
        parent, child = self.context.Pipe()
        process = self.context.Process(target=_work, args=(child, self.job), daemon=True)
        process.start()
        child.close()
        self.holding[parent] = (process, None)
        return parent

    def run(
        self,
        items: Sequence[FileTask],
        lost: Callable[[FileTask, str], T],
        progress: Callable[[int, int], None] | None,
    ) -> list[T]:
        results: dict[int, T] = {}
        waiting = deque(range(len(items)))
        try:
            for _ in range(self.size):
                self._give(self._start(), items, waiting)
            while len(results) < len(items):
                busy = [c for c, (_, index) in self.holding.items() if index is not None]
                for connection in wait(busy):
                    assert isinstance(connection, Connection)  # noqa: S101 - wait() returns ours
                    process, index = self.holding[connection]
                    assert index is not None  # noqa: S101 - only busy workers are waited on
                    try:
                        done, value = connection.recv()
                    except (EOFError, OSError):
                        process.join()
                        results[index] = lost(items[index], _why(process.exitcode))
                        del self.holding[connection]
                        connection.close()
                        if waiting:
                            self._give(self._start(), items, waiting)
                    else:
                        results[done] = value
                        self.holding[connection] = (process, None)
                        self._give(connection, items, waiting)
                    if progress is not None:
                        progress(len(results), len(items))
        finally:
            self._stop()
        return [results[index] for index in range(len(items))]

    def _give(self, connection: Connection, items: Sequence[FileTask], waiting: deque[int]) -> None:
        if not waiting:
            return
        index = waiting.popleft()
        process, _ = self.holding[connection]
        self.holding[connection] = (process, index)
        connection.send((index, items[index]))

    def _stop(self) -> None:
        for connection, (process, _) in self.holding.items():
            try:
                connection.send(None)
            except OSError:
                pass
            connection.close()
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join()
        self.holding.clear()


def _why(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"the worker process analysing it was killed ({name})"
    return f"the worker process analysing it stopped (exit code {exitcode})"
