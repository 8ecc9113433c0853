"""One long-lived ``git cat-file --batch`` process that answers object reads one at a time.

Starting git costs milliseconds; a request to a running ``cat-file --batch`` costs
microseconds. The reader asks one object name per request and reads the whole answer before
the next, so neither side can block on a full pipe. Anything unexpected (the process exits, an
unreadable header, a short read) stops the reader and raises :class:`GitError` with git's own
message: the caller fails closed for what it was reading, and the next request starts a new
process.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from bot.git.pipe import last_words
from bot.git.process import GitError, git_env, start_failure


@dataclass(frozen=True)
class GitObject:
    """One object read from the repository."""

    object_id: str
    kind: str
    """``blob``, ``tree``, ``commit`` or ``tag``."""
    content: bytes


#: Request bytes sent before reading the answers: a pipe holds 64 KiB on Linux (4 KiB at the
#: least POSIX allows), so the requests always fit while git writes its answers.
_REQUEST_BYTES = 4096


def askable(name: str) -> bool:
    """Whether ``name`` fits on one request line (no line break, not empty, not an option)."""
    return bool(name) and not name.startswith("-") and "\n" not in name and "\r" not in name


class ObjectReader:
    """``git cat-file --batch`` in ``repo``, started on the first request."""

    def __init__(self, repo: Path) -> None:
        self._repo = repo
        self._process: subprocess.Popen[bytes] | None = None

    def read(self, name: str) -> GitObject | None:
        """The object ``name`` names (any revision syntax ``git cat-file`` accepts, e.g.
        ``<commit>:<path>`` or ``<rev>^{tree}``), or None when git says it is missing (which it
        also says of an object it cannot unpack: ask a one-off git command for the reason).

        Raises :class:`GitError` when the name cannot be asked (see :func:`askable`) or the
        process fails; the process is then stopped, and the next call starts another.
        """
        return self.read_many([name])[0]

    def read_many(self, names: list[str]) -> list[GitObject | None]:
        """:meth:`read` of each name, the requests sent together (a few kilobytes at a time,
        far below what a pipe holds, so writing never waits for git to be read)."""
        for name in names:
            if not askable(name):
                raise GitError(f"{name!r} cannot be read through git cat-file --batch")
        found: list[GitObject | None] = []
        chunk: list[bytes] = []
        for name in names:
            chunk.append(name.encode("utf-8", "surrogateescape") + b"\n")
            if sum(map(len, chunk)) >= _REQUEST_BYTES:
                found += self._answers(chunk)
                chunk = []
        return found + self._answers(chunk) if chunk else found

    def _answers(self, requests: list[bytes]) -> list[GitObject | None]:
        process = self._started()
        assert process.stdin is not None and process.stdout is not None  # noqa: S101 (pipes)
        try:
            process.stdin.write(b"".join(requests))
            process.stdin.flush()
            return [self._answer(process.stdout) for _ in requests]
        except (OSError, ValueError) as exc:
            raise self._broken(str(exc)) from None

    def _answer(self, stdout: IO[bytes]) -> GitObject | None:
        header = stdout.readline()
        if header.rstrip(b"\n").endswith((b" missing", b" ambiguous")):
            return None
        fields = header.decode("utf-8", "replace").split()
        if len(fields) != 3 or not fields[2].isdigit():
            raise self._broken(f"unexpected answer {header[:80]!r}")
        content = _read_exactly(stdout, int(fields[2]) + 1)
        if content is None or not content.endswith(b"\n"):
            raise self._broken("the answer stopped short")
        return GitObject(fields[0], fields[1], content[:-1])

    def close(self) -> None:
        """Stop the process (the next request starts a new one)."""
        process, self._process = self._process, None
        if process is None:
            return
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                stream.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _started(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            try:
                self._process = subprocess.Popen(
                    ["git", "cat-file", "--batch"],
                    cwd=self._repo,
                    env=git_env(),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                )
            except OSError as exc:
                raise start_failure(self._repo, exc) from None
        return self._process

    def _broken(self, what: str) -> GitError:
        """Stop the process and say why, with what git printed."""
        said = last_words(self._process)
        self.close()
        return GitError(f"git cat-file --batch failed in {self._repo}: {said or what}")


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    """``size`` bytes from ``stream``; None when it ends first."""
    chunks = []
    left = size
    while left:
        chunk = stream.read(left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
