"""Whether an action's ``owner/repo`` imitates a popular one: the same repository name under an
owner one typo, a look-alike character or a separator away from the popular owner.

Only the owner is compared loosely. A different owner with the very same repository name is
usually a fork or an organisation's mirror, and a repository name one typo away under the
popular owner itself cannot be registered by anyone else: neither is reported.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

#: Owners shorter than this are compared by look-alike characters only: one typo away from a
#: three-letter name is too many names.
MIN_TYPO_LENGTH = 4
_SEPARATORS = "-_."
#: Characters and pairs that read alike in a monospaced font, mapped to the letter they imitate.
_PAIRS = (("rn", "m"), ("vv", "w"))
_CHARACTERS = str.maketrans({"0": "o", "1": "l", "i": "l", "3": "e", "5": "s"})


@dataclass(frozen=True)
class Lookalike:
    """A popular action a name resembles, and how."""

    popular: str
    """The popular ``owner/repo``."""
    how: str
    """What the name does to it, as a verb phrase: ``swaps two characters of``."""


def skeleton(name: str) -> str:
    """``name`` with case, separators and look-alike characters folded away (``Act1ons`` and
    ``act-ions`` both give ``actlons``)."""
    text = name.lower()
    for pair, letter in _PAIRS:
        text = text.replace(pair, letter)
    text = text.translate(_CHARACTERS)
    return "".join(ch for ch in text if ch not in _SEPARATORS)


def _one_edit(candidate: str, popular: str) -> str | None:
    """How ``candidate`` is one typo away from ``popular`` (a character left out, added,
    repeated, changed, or two neighbours swapped), or None."""
    if candidate == popular:
        return None
    short, long_ = sorted((candidate, popular), key=len)
    if len(long_) - len(short) > 1:
        return None
    if len(candidate) == len(popular):
        diffs = [i for i, (a, b) in enumerate(zip(candidate, popular, strict=True)) if a != b]
        if len(diffs) == 1:
            return "changes one character of"
        if (
            len(diffs) == 2
            and diffs[1] == diffs[0] + 1
            and candidate[diffs[0]] == popular[diffs[1]]
            and candidate[diffs[1]] == popular[diffs[0]]
        ):
            return "swaps two characters of"
        return None
    pairs = zip(short, long_, strict=False)
    index = next((i for i, (a, b) in enumerate(pairs) if a != b), len(short))
    if short[index:] != long_[index + 1 :]:
        return None
    if len(candidate) < len(popular):
        return "leaves out a character of"
    added = candidate[index]
    neighbours = candidate[index - 1 : index] + candidate[index + 1 : index + 2]
    return "repeats a character of" if added in neighbours else "adds a character to"


def owner_lookalike(candidate: str, popular_owner: str, popular_repo: str) -> str | None:
    """How the owner ``candidate`` imitates ``popular_owner`` (whose action is
    ``popular_repo``), or None when it does not or is the same owner."""
    owner, target = candidate.lower(), popular_owner.lower()
    if owner == target:
        return None
    for separator in ("-", "_", ".", ""):
        joined = {target + separator + popular_repo, popular_repo + separator + target}
        if owner in joined:
            return "joins the owner and the repository names of"
    if skeleton(owner) == skeleton(target):
        if _without_separators(owner) == _without_separators(target):
            return "changes the separators of"
        return "uses look-alike characters for"
    if min(len(owner), len(target)) < MIN_TYPO_LENGTH:
        return None
    return _one_edit(owner, target)


def _without_separators(name: str) -> str:
    return "".join(ch for ch in name if ch not in _SEPARATORS)


class LookalikeIndex:
    """Popular ``owner/repo`` names, indexed by the skeleton of their repository name."""

    def __init__(self, popular: Iterable[str]) -> None:
        self._names = frozenset(name.lower() for name in popular)
        self._owners = frozenset(name.split("/", 1)[0] for name in self._names)
        self._by_repo: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for name in sorted(self._names):
            owner, repo = name.split("/", 1)
            self._by_repo[skeleton(repo)].append((owner, repo))

    def resembles(self, owner: str, repo: str) -> Lookalike | None:
        """The popular action ``owner/repo`` imitates, or None: a listed name, an owner that
        publishes a listed action, and an owner unlike every popular one are all None."""
        owner, repo = owner.lower(), repo.lower()
        if f"{owner}/{repo}" in self._names or owner in self._owners:
            return None
        for popular_owner, popular_repo in self._by_repo.get(skeleton(repo), ()):
            how = owner_lookalike(owner, popular_owner, popular_repo)
            if how is not None:
                return Lookalike(f"{popular_owner}/{popular_repo}", how)
        return None
