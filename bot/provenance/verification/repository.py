"""Which repository an attestation is for, compared with where it is being used.

A statement names the repository analysed (``predicate.repository.uri``): ``https://HOST/O/R``
in GitHub Actions, the ``origin`` remote or a ``file://`` URL locally. A genuine attestation of
repository A must not be accepted in repository B (a fork, a mirror): every consumer hands the
verifier the repository it acts on, and the two are compared by host and path, case-folded,
without credentials, port, scheme or a ``.git`` suffix (so ``git@github.com:O/R.git``,
``ssh://github.com/O/R`` and ``https://github.com/O/R`` are the same repository).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bot import git
from bot.git import GitError
from bot.provenance.run_context import local_uri, strip_credentials
from bot.provenance.statement import Statement
from bot.provenance.verification.result import VerificationResult

_ADVICE = (
    "an attestation is only valid in the repository it was made for: analyse this repository "
    "and use its own bundle (for a repository that moved, pass the repository the bundle names)"
)


def repository_of(path: Path, env: Mapping[str, str]) -> str:
    """The repository a checkout at ``path`` stands for, as an analysis of it records it:
    ``$GITHUB_SERVER_URL/$GITHUB_REPOSITORY`` when ``$GITHUB_REPOSITORY`` is set (GitHub
    Actions), else its ``origin`` remote, else its work tree's ``file://`` URL."""
    slug = env.get("GITHUB_REPOSITORY")
    if slug:
        server = env.get("GITHUB_SERVER_URL") or "https://github.com"
        return f"{server.rstrip('/')}/{slug}"
    try:
        root = git.toplevel(path)
    except GitError:
        root = path
    return local_uri(root)


def identity(uri: str) -> tuple[str, str]:
    """``(host, path)`` of a repository URL, the way two names of one repository agree."""
    parts = urlsplit(strip_credentials(uri.strip()))
    path = unquote(parts.path).rstrip("/").removesuffix(".git").rstrip("/")
    return (parts.hostname or "").lower(), path.lower()


def same_repository(a: str, b: str) -> bool:
    """Whether two repository URLs name the same repository (see the module docstring)."""
    return identity(a) == identity(b)


def check_repository(
    statement: Statement, expected: str | None, result: VerificationResult
) -> None:
    """Record the ``repository`` check: the statement is for ``expected`` (skipped when the
    caller names no repository)."""
    attested = statement.predicate.repository.uri
    if expected is None:
        result.skip("repository", f"not checked: no target repository given ({attested})")
    elif same_repository(attested, expected):
        result.passed("repository", f"made for {attested}")
    else:
        result.fail(
            "repository",
            f"the attestation was made for {attested}, not for {expected}",
            _ADVICE,
        )
