"""Code owners of the paths a pull request touches, from the base branch's CODEOWNERS."""

from __future__ import annotations

from collections.abc import Iterable

from codeowners import CodeOwners as _Parser

from bot.policy.context import CodeOwners

#: Where GitHub looks for the file, in its order.
LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")


def code_owners(text: str | None, paths: Iterable[str]) -> CodeOwners:
    """The users and team slugs owning at least one of ``paths`` (the last matching line wins,
    as on GitHub); e-mail owners are left out (reviews carry logins, not e-mails)."""
    if not text:
        return CodeOwners(users=(), teams=())
    parser = _Parser(text)
    users: set[str] = set()
    teams: set[str] = set()
    for path in paths:
        for kind, owner in parser.of(path):
            if kind == "USERNAME":
                users.add(owner.removeprefix("@"))
            elif kind == "TEAM":
                teams.add(owner.rpartition("/")[2])
    return CodeOwners(users=tuple(sorted(users)), teams=tuple(sorted(teams)))
