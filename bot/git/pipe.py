"""One long-lived git process fed requests on its standard input, answered on its output.

The base of the batched session's writers (:mod:`bot.git.refs`) and tree differ
(:mod:`bot.git.differ`): it starts git on the first request, reads answers as exact byte
sequences, and on anything unexpected stops the process and raises :class:`GitError` with what
git printed; the next request starts a new process.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from bot.git.process import GitError, git_env, start_failure


class GitPipe:
    """``git args`` in ``repo``, started on the first request, stopped by :meth:`close`."""

    def __init__(self, repo: Path, args: tuple[str, ...]) -> None:
        self._repo = repo
        self._args = args
        self._process: subprocess.Popen[bytes] | None = None
        self._buffer = b""

    def send(self, request: bytes) -> None:
        """Write ``request`` to git (starting it if needed); raises :class:`GitError` when
        git is gone."""
        process = self._started()
        assert process.stdin is not None  # noqa: S101 (a pipe, see _started)
        try:
            process.stdin.write(request)
            process.stdin.flush()
        except (OSError, ValueError) as exc:
            raise self.broken(str(exc)) from None

    def read_until(self, delimiter: bytes) -> bytes | None:
        """The bytes git writes up to and including ``delimiter``; None when its output ends
        first (git exited: :meth:`broken` says why)."""
        while (end := self._buffer.find(delimiter)) < 0:
            if not self._fill():
                return None
        end += len(delimiter)
        found, self._buffer = self._buffer[:end], self._buffer[end:]
        return found

    def peek(self) -> bytes | None:
        """The next byte git writes, left to be read; None when its output ends first."""
        while not self._buffer:
            if not self._fill():
                return None
        return self._buffer[:1]

    def _fill(self) -> bool:
        """Read what git has written so far (waiting for at least one byte); False at the end
        of its output."""
        process = self._process
        if process is None or process.stdout is None:
            return False
        try:
            chunk = os.read(process.stdout.fileno(), 65536)
        except OSError:
            return False
        self._buffer += chunk
        return bool(chunk)

    def close(self) -> None:
        """Stop the process (the next request starts a new one)."""
        process, self._process = self._process, None
        self._buffer = b""
        if process is None:
            return
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass  # NOTE(git): already gone; stopping it is all that is left to do.
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def broken(self, what: str) -> GitError:
        """Stop the process and say why, with what git printed on its error output."""
        said = last_words(self._process)
        self.close()
        return GitError(f"git {self._args[0]} failed in {self._repo}: {said or what}")

    def _started(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            self._buffer = b""
            try:
                # Unbuffered output: answers are read with os.read, never through a buffer.
                self._process = subprocess.Popen(
                    ["git", *self._args],
                    cwd=self._repo,
                    env=git_env(),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    bufsize=0,
                )
            except OSError as exc:
                raise start_failure(self._repo, exc) from None
        return self._process


def last_words(process: subprocess.Popen[bytes] | None) -> str:
    """What a long-lived git process printed on its error output before it stopped: its input
    is closed, it gets five seconds to exit (then it is killed), and its error output is read
    to the end. Empty when there is no process or it printed nothing."""
    if process is None:
        return ""
    if process.stdin is not None:
        try:
            process.stdin.close()
        except OSError:
            pass  # NOTE(git): the process is gone; its message is what matters.
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stderr is None:
        return ""
    return process.stderr.read().decode("utf-8", "replace").strip()
