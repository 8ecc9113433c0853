"""Analyse files in worker processes, each kept fed with a small window of files; results in
input order.

Each worker holds at most two batches of files: the one it analyses and the next, so it never
waits for this process between files, and this process exchanges one message per batch
instead of one per file. A worker notes in shared memory which file it is analysing; when it
dies (killed for memory, a crash in native code), that file alone becomes an error naming it,
the other files it held go to the front of the queue, and a new worker takes its place: no
file is ever lost, and the order of the results never depends on which worker finished first.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import multiprocessing.forkserver
import os
import pickle
import signal
import socket
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.context import ForkServerContext, SpawnContext
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

if TYPE_CHECKING:  # the command line starts the fork server before importing these
    from bot.analyze.inputs import Input
    from bot.models import FileError

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

#: Tests only: a worker analysing a file whose path ends with this value kills itself, as the
#: kernel's out-of-memory killer would.
CRASH_HOOK = "MENDBOT_TEST_KILL_WORKER_ON"

#: The most files in one batch: large enough that a message per batch costs little next to
#: analysing its files, small enough that the last batches of a run spread over the workers.
MAX_BATCH_FILES = 16

#: The largest message queued behind a batch a worker is analysing; a larger one is sent only
#: to a worker holding nothing, which is reading. A queued message must fit in the pipe's
#: buffer, so that sending it never blocks this process, which must keep reading results (a
#: worker blocked writing its results to a process blocked writing to it would wait forever):
#: the buffer is asked for four times this, and a smaller one lowers the bound.
QUEUED_BATCH_BYTES = 48 * 1024

#: Batches a worker holds: the one it analyses and the next one, ready when it finishes.
WINDOW = 2

#: What a worker's shared slot holds between files.
IDLE = -1


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


def worker_count(jobs: int | None, files: int) -> int:
    """How many workers :func:`run_files` starts for ``files`` files (0: none, the files are
    analysed in this process)."""
    if jobs is None:
        jobs = auto_jobs(files)
    return 0 if jobs <= 1 or files <= 1 else min(jobs, files)


def prepare_workers(job_module: str) -> None:
    """Start the process workers are forked from, importing ``job_module`` (the job's module,
    with every rule), now rather than when the first worker is needed: on another CPU, it
    imports while this process imports, discovers and reads the files. Call it only when
    workers will run (it costs a CPU as much as importing mendbot)."""
    context = _context(job_module)
    if isinstance(context, ForkServerContext):
        multiprocessing.forkserver.ensure_running()


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
    workers = worker_count(jobs, len(items))
    if not workers:
        results = []
        for number, item in enumerate(items, 1):
            if progress is not None:
                progress(number, len(items))
            results.append(job(item))
        return results
    return _Pool(job, workers).run(items, lost, progress)


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


def _work(
    connection: Connection,
    job: FileJob[object],
    slot: ctypes.c_int64,
    gc_threshold: tuple[int, int, int],
) -> None:
    """A worker's loop: analyse the batches the parent sends until it sends an empty one,
    answering each batch with its results; ``slot`` names the file being analysed."""
    # Collect as the parent does; what the fork server imported lives as long as the worker.
    gc.set_threshold(*gc_threshold)
    gc.freeze()
    crash_on = os.environ.get(CRASH_HOOK)
    while True:
        message = connection.recv_bytes()
        batch: list[tuple[int, FileTask]] = pickle.loads(message)  # noqa: S301 - our parent
        if not batch:
            return
        results = []
        for index, task in batch:
            slot.value = index
            if crash_on and task.item.path.as_posix().endswith(crash_on):
                os.kill(os.getpid(), signal.SIGKILL)
            results.append((index, job(task)))
        slot.value = IDLE
        connection.send_bytes(pickle.dumps(results, protocol=pickle.HIGHEST_PROTOCOL))


@dataclass
class _Worker:
    """A worker process, its end of the pipe, and the files it holds, oldest batch first."""

    process: BaseProcess
    connection: Connection
    slot: ctypes.c_int64
    """In shared memory: the file the worker is analysing, or :data:`IDLE`."""
    queue_bytes: int
    """The largest message that may wait behind a batch (see :data:`QUEUED_BATCH_BYTES`)."""
    batches: deque[list[int]] = field(default_factory=deque)

    def held(self) -> list[int]:
        """The files sent and not answered, in the order the worker takes them."""
        return [index for batch in self.batches for index in batch]


class _Pool(Generic[T]):
    def __init__(self, job: FileJob[T], size: int) -> None:
        self.job = job
        self.size = size
        self.context = _context(type(job).__module__)
        self.workers: dict[Connection, _Worker] = {}

    def _start(self) -> _Worker:
        parent, child = self.context.Pipe()
        slot = self.context.RawValue(ctypes.c_int64, IDLE)
        process = self.context.Process(
            target=_work, args=(child, self.job, slot, gc.get_threshold()), daemon=True
        )
        process.start()
        child.close()
        worker = _Worker(process, parent, slot, _queue_bytes(parent))
        self.workers[parent] = worker
        return worker

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
                self._start()
            self._feed(items, waiting)
            while len(results) < len(items):
                busy = [c for c, worker in self.workers.items() if worker.batches]
                if not busy:  # never: every file is held by a worker, queued or answered
                    raise RuntimeError("files are left that no worker holds")
                for connection in wait(busy):
                    assert isinstance(connection, Connection)  # noqa: S101 - wait() returns ours
                    worker = self.workers[connection]
                    try:
                        message = connection.recv_bytes()
                        answered = pickle.loads(message)  # noqa: S301 - our own worker
                    except (EOFError, OSError):
                        victim = self._bury(worker, waiting)
                        results[victim] = lost(items[victim], _why(worker.process.exitcode))
                        if waiting:
                            self._start()
                    else:
                        worker.batches.popleft()
                        results.update(answered)
                    if progress is not None:
                        progress(len(results), len(items))
                self._feed(items, waiting)
        finally:
            self._stop()
        return [results[index] for index in range(len(items))]

    def _bury(self, worker: _Worker, waiting: deque[int]) -> int:
        """Forget a dead worker; put the files it held but was not analysing back at the
        front of the queue, in order; return the file it was analysing."""
        worker.process.join()
        worker.connection.close()
        del self.workers[worker.connection]
        held = worker.held()
        # IDLE (between batches) or a stale value: blame its next file, so every death
        # settles one file and a worker that keeps dying cannot stall the run.
        victim = worker.slot.value if worker.slot.value in held else held[0]
        waiting.extendleft(reversed([index for index in held if index != victim]))
        return victim

    def _feed(self, items: Sequence[FileTask], waiting: deque[int]) -> None:
        """Top every worker up to :data:`WINDOW` batches, least loaded first."""
        for worker in sorted(self.workers.values(), key=lambda w: len(w.batches)):
            while waiting and len(worker.batches) < WINDOW:
                size = _batch_size(len(waiting), self.size)
                batch = [waiting.popleft() for _ in range(min(size, len(waiting)))]
                message = pickle.dumps(
                    [(index, items[index]) for index in batch], protocol=pickle.HIGHEST_PROTOCOL
                )
                if worker.batches and len(message) > worker.queue_bytes and len(batch) > 1:
                    # Too large to queue safely: send its files one at a time instead.
                    waiting.extendleft(reversed(batch[1:]))
                    batch = batch[:1]
                    message = pickle.dumps(
                        [(batch[0], items[batch[0]])], protocol=pickle.HIGHEST_PROTOCOL
                    )
                if worker.batches and len(message) > worker.queue_bytes:
                    waiting.extendleft(reversed(batch))
                    break
                worker.batches.append(batch)
                try:
                    worker.connection.send_bytes(message)
                except OSError:  # it died: the loop reads its end of file and buries it
                    break

    def _stop(self) -> None:
        goodbye = pickle.dumps([])
        for worker in self.workers.values():  # all at once: they finish side by side
            try:
                worker.connection.send_bytes(goodbye)
            except OSError:
                pass
            worker.connection.close()
        for worker in self.workers.values():
            worker.process.join(timeout=5)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
        self.workers.clear()


def _queue_bytes(connection: Connection) -> int:
    """How large a message may wait in ``connection``'s buffer behind a batch: up to
    :data:`QUEUED_BATCH_BYTES`, a quarter of the socket's send buffer (enlarged to that where
    the system allows), 0 (nothing waits: one batch per worker) where it is not a socket."""
    try:
        with socket.socket(fileno=os.dup(connection.fileno())) as pipe:
            wanted = 4 * QUEUED_BATCH_BYTES
            if pipe.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) < wanted:
                pipe.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, wanted)
            return min(
                QUEUED_BATCH_BYTES, pipe.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) // 4
            )
    except OSError:
        return 0


def _batch_size(waiting: int, workers: int) -> int:
    """Files per batch: up to :data:`MAX_BATCH_FILES`, fewer as the queue empties, so that the
    queue always holds about two windows' worth for every worker and the run ends evenly."""
    return max(1, min(MAX_BATCH_FILES, waiting // (2 * WINDOW * workers)))


def _why(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"the worker process analysing it was killed ({name})"
    return f"the worker process analysing it stopped (exit code {exitcode})"
