"""Code owners of the paths a pull request touches, from the default branch's CODEOWNERS."""

from __future__ import annotations

from collections.abc import Iterable

from codeowners import CodeOwners as _Parser

from bot.policy.gate_context import CodeOwners, PathOwners

#: Where GitHub looks for the file, in its order.
LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")


def code_owners(text: str | None, paths: Iterable[str]) -> CodeOwners:
    """The users and team slugs owning each of ``paths`` (the last matching line wins, as on
    GitHub), and their union; e-mail owners are left out (reviews carry logins, not e-mails)."""
    if not text:
        return CodeOwners(users=(), teams=(), by_path=())
    parser = _Parser(text)
    by_path: list[PathOwners] = []
    for path in paths:
        users: set[str] = set()
        teams: set[str] = set()
        for kind, owner in parser.of(path):
            if kind == "USERNAME":
                users.add(owner.removeprefix("@"))
            elif kind == "TEAM":
                teams.add(owner.rpartition("/")[2])
        if users or teams:
            by_path.append(
                PathOwners(path=path, users=tuple(sorted(users)), teams=tuple(sorted(teams)))
            )
    return CodeOwners(
        users=tuple(sorted({u for entry in by_path for u in entry.users})),
        teams=tuple(sorted({t for entry in by_path for t in entry.teams})),
        by_path=tuple(by_path),
    )
