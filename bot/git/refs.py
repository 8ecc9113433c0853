"""Compare-and-swap ref updates through one long-lived ``git update-ref --stdin`` process.

Each update is its own transaction (``start``, ``update <ref> <new> <old>``, ``commit``), so it
moves its one ref or none, exactly as ``git update-ref <ref> <new> <old>`` does, and one that
fails loses none before it. git stops at the first failed transaction: the process is then
gone, the failure raised with git's message, and the next update starts a new process.
"""

from __future__ import annotations

from pathlib import Path

from bot.git.pipe import GitPipe
from bot.git.process import GitError


class TransactionsUnsupported(GitError):
    """This git does not know ``update-ref --stdin`` transactions (before 2.27): nothing was
    changed, ask ``git update-ref`` itself."""


def askable(ref: str, *object_ids: str) -> bool:
    """Whether ``ref`` and ``object_ids`` fit on one ``update-ref --stdin`` line."""
    return all(
        name and not name.startswith("-") and not any(c.isspace() for c in name)
        for name in (ref, *object_ids)
    )


class RefUpdater:
    """``git update-ref --stdin`` in ``repo``, one transaction per update."""

    def __init__(self, repo: Path) -> None:
        self._pipe = GitPipe(repo, ("update-ref", "--stdin"))

    def update(self, ref: str, new: str, old: str) -> None:
        """Point ``ref`` at ``new`` if it points at ``old`` now (all zeros: if it does not
        exist). Raises :class:`TransactionsUnsupported` when git knows no transactions
        (nothing changed), :class:`GitError` when the update fails (``ref`` unchanged)."""
        if not askable(ref, new, old):
            raise GitError(f"{ref!r} cannot be updated through git update-ref --stdin")
        self._pipe.send(f"start\nupdate {ref} {new} {old}\ncommit\n".encode())
        if self._pipe.read_until(b"\n") != b"start: ok\n":
            failure = self._pipe.broken("no transaction started")
            raise TransactionsUnsupported(str(failure))
        if self._pipe.read_until(b"\n") != b"commit: ok\n":
            raise self._pipe.broken("the transaction was not committed")

    def close(self) -> None:
        """Stop the process."""
        self._pipe.close()
