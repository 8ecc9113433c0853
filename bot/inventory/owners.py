"""Who answers for an identity: a tag on it, else the CODEOWNERS line naming its inventory file.

A tag names one identity's owner (``owner``, then ``team``, case-insensitive, first non-empty
value); a CODEOWNERS line names the owners of the whole inventory file, and so of every key in
it that has no tag. Unknown stays unknown (None): the rules report it, nothing guesses.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from codeowners import CodeOwners

from bot.safe_files import UnsafeFileError, open_folder, read_regular

#: Tag keys that name an owner, most specific first (compared case-insensitively).
OWNER_TAGS = ("owner", "team")
#: Where GitHub looks for CODEOWNERS, in its order.
CODEOWNERS_LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
_MAX_CODEOWNERS_BYTES = 3 * 1024 * 1024
#: Patterns that match every file (leading and trailing slashes aside).
CATCH_ALL = frozenset({"*", "**", "**/*", "**/**", ""})


def owner_from_tags(tags: Mapping[str, str]) -> str | None:
    """The owner a user's tags name, or None."""
    by_key = {key.lower(): value.strip() for key, value in tags.items()}
    for key in OWNER_TAGS:
        if by_key.get(key):
            return by_key[key]
    return None


def codeowners_of(repository: Path, path: str) -> str | None:
    """The owners GitHub's CODEOWNERS (first location found, read without following links)
    gives ``path``, space-separated as written, or None — also when the line that decides is
    a catch-all (``*``, ``**``, ``/**``): only a line naming the inventory's files names its
    owners."""
    for location in CODEOWNERS_LOCATIONS:
        text = _read(repository, location)
        if text is None:
            continue
        matched, _, pattern, _ = CodeOwners(text).matching_line(path)
        if pattern is None or pattern.strip("/") in CATCH_ALL:
            # "* @org/maintainers" says who reviews code, not who answers for each key: an
            # owner guessed from it would let the key's fixes pass as owned.
            return None
        owners = [owner for _, owner in matched]
        return " ".join(owners) if owners else None
    return None


def _read(repository: Path, location: str) -> str | None:
    candidate = repository / location
    try:
        with open_folder(candidate.parent, repository) as folder:
            raw = read_regular(candidate.name, _MAX_CODEOWNERS_BYTES, dir_fd=folder)
    except (OSError, UnsafeFileError):
        return None
    return raw.decode("utf-8", "replace")
