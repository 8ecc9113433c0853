"""A batched git session: one object reader per repository, and answers remembered by object id.

Inside :func:`batched`, :mod:`bot.git` reads objects through one ``git cat-file --batch``
process per repository and remembers the answers that are functions of object ids alone (the
merge base of two commits, whether one descends from another, the diff of two trees, a merged
tree): an object id names the same content for ever, so such an answer cannot go stale, however
branches move during the run. Names that can move (branches, ``HEAD``) are never remembered.
It also keeps one ``git diff-tree --stdin`` (raw diffs of two trees) and one
``git update-ref --stdin`` (compare-and-swap ref updates, one transaction each) per repository,
started on their first request. Outside a session every call starts its own git process, as
before.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TypeVar

from bot.git.differ import TreeDiffer
from bot.git.reader import ObjectReader
from bot.git.refs import RefUpdater

T = TypeVar("T")


class Session:
    """The readers and remembered answers of one batched run."""

    def __init__(self) -> None:
        self._readers: dict[Path, ObjectReader] = {}
        self._differs: dict[Path, TreeDiffer] = {}
        self._updaters: dict[Path, RefUpdater] = {}
        self._answers: dict[tuple[Hashable, ...], object] = {}

    def reader(self, repo: Path) -> ObjectReader:
        """The object reader of ``repo`` (started on its first request)."""
        reader = self._readers.get(repo)
        if reader is None:
            reader = self._readers[repo] = ObjectReader(repo)
        return reader

    def differ(self, repo: Path) -> TreeDiffer:
        """The tree differ of ``repo`` (started on its first request)."""
        differ = self._differs.get(repo)
        if differ is None:
            differ = self._differs[repo] = TreeDiffer(repo)
        return differ

    def updater(self, repo: Path) -> RefUpdater:
        """The ref updater of ``repo`` (started on its first request)."""
        updater = self._updaters.get(repo)
        if updater is None:
            updater = self._updaters[repo] = RefUpdater(repo)
        return updater

    def known(self, key: tuple[Hashable, ...]) -> object | None:
        """The answer remembered under ``key`` (None: not asked yet)."""
        return self._answers.get(key)

    def remember(self, key: tuple[Hashable, ...], answer: T) -> T:
        """Remember ``answer`` under ``key`` (a tuple of object ids and the question) and
        return it."""
        self._answers[key] = answer
        return answer

    def answer(self, key: tuple[Hashable, ...], ask: Callable[[], T]) -> T:
        """The answer under ``key``, asking ``ask()`` the first time. A failure is not
        remembered: the next call asks again."""
        if key in self._answers:
            return self._answers[key]  # type: ignore[return-value]
        return self.remember(key, ask())

    def close(self) -> None:
        """Stop every reader, differ and updater."""
        for reader in self._readers.values():
            reader.close()
        for differ in self._differs.values():
            differ.close()
        for updater in self._updaters.values():
            updater.close()
        self._readers.clear()
        self._differs.clear()
        self._updaters.clear()


_ACTIVE: ContextVar[Session | None] = ContextVar("mendbot_git_session", default=None)


def active() -> Session | None:
    """The session of the running :func:`batched` block, if any."""
    return _ACTIVE.get()


@contextmanager
def batched() -> Iterator[Session]:
    """Batch git reads until the block ends; a nested block shares the outer session. The
    readers stop when the outermost block ends, however it ends."""
    outer = _ACTIVE.get()
    if outer is not None:
        yield outer
        return
    session = Session()
    token = _ACTIVE.set(session)
    try:
        yield session
    finally:
        _ACTIVE.reset(token)
        session.close()
