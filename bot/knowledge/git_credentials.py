"""Which steps use the git credentials ``actions/checkout`` persists in ``.git/config``.

``actions/checkout`` writes the job token into the repository's git config unless
``persist-credentials: false`` is set. The tables here (actions) and in
``git_credentials.yml`` (``run:`` commands) say which later steps rely on that, and which are
known not to: an allow-list, so that a command nobody listed counts as *unknown*, never as
harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources

from pydantic import BaseModel, ConfigDict, ValidationError
from ruamel.yaml.error import YAMLError

from bot.knowledge.permissions import GitCredentialsToken, KnowledgeBaseError, knowledge_base
from bot.knowledge.run_commands import CommandPattern, run_table, split_commands
from bot.knowledge.yaml_loading import safe_load

#: Actions that push (or fetch) with the persisted credentials, and why we know.
PUSHING_ACTIONS: dict[str, str] = {
    "stefanzweifel/git-auto-commit-action": "commits, then runs `git push` in the workspace",
    "endbug/add-and-commit": "runs `git push` with the credentials configured by checkout",
    "ad-m/github-push-action": "pushes the workspace repository",
    "devops-infra/action-commit-push": "commits and pushes from the workspace",
    "changesets/action": "pushes the version branch with the workspace's git remote",
    "peter-evans/create-pull-request": "pushes the pull request branch from the workspace",
    "s0/git-publish-subdir-action": "pushes a subdirectory to a branch",
    "github-actions-x/commit": "commits and pushes from the workspace",
    "planetscale/ghcommit-action": "reads the workspace's git state to commit through the API",
}

#: Actions known to run no git command against the workspace's remote.
INERT_ACTIONS: frozenset[str] = frozenset(
    {
        "actions/checkout",
        "actions/setup-node",
        "actions/setup-python",
        "actions/setup-go",
        "actions/setup-java",
        "actions/setup-dotnet",
        "actions/cache",
        "actions/cache/restore",
        "actions/cache/save",
        "actions/upload-artifact",
        "actions/download-artifact",
        "actions/upload-pages-artifact",
        "actions/configure-pages",
        "actions/deploy-pages",
        "actions/attest-build-provenance",
        "actions/dependency-review-action",
        "astral-sh/setup-uv",
        "pnpm/action-setup",
        "ruby/setup-ruby",
        "dtolnay/rust-toolchain",
        "swatinem/rust-cache",
        "docker/setup-buildx-action",
        "docker/setup-qemu-action",
        "docker/login-action",
        "docker/metadata-action",
        "hashicorp/setup-terraform",
        "azure/setup-helm",
        "azure/setup-kubectl",
        "github/codeql-action/init",
        "github/codeql-action/analyze",
        "github/codeql-action/autobuild",
        "github/codeql-action/upload-sarif",
        "codecov/codecov-action",
        "softprops/action-gh-release",
        "pypa/gh-action-pypi-publish",
    }
)

#: Environment variables that give ``gh`` its own token.
GH_TOKEN_VARIABLES = ("GH_TOKEN", "GITHUB_TOKEN", "GH_ENTERPRISE_TOKEN")

#: Shells whose scripts :func:`split_commands` reads; any other ``shell:`` is unknown.
POSIX_SHELLS = frozenset({"bash", "sh"})

#: Words that open a compound command whose header runs nothing (its body is split apart).
_HEADERS = frozenset({"for", "case", "select", "esac", "fi", "done", "}", ";;", "function"})


def pushing_action(slug: str) -> str | None:
    """Why the action ``slug`` needs the persisted credentials, or None when it is not known to.

    Both this module's table and the permissions knowledge base (entries whose token source is
    ``git_credentials``) count.
    """
    if slug in PUSHING_ACTIONS:
        return PUSHING_ACTIONS[slug]
    entry = knowledge_base().get(slug)
    if entry is not None and any(isinstance(t, GitCredentialsToken) for t in entry.token):
        return "pushes with the credentials actions/checkout persisted"
    return None


class _Schema(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CredentialUse(CommandPattern):
    """A command that pushes or fetches through the workspace's remote."""

    why: str
    """Ends the sentence "`<step>` runs `<command>`, which …"."""


class GitTable(_Schema):
    """The whole ``git_credentials.yml``."""

    uses_credentials: tuple[CredentialUse, ...]
    leaves_git_alone: tuple[CommandPattern, ...]
    inert_programs: tuple[str, ...]
    module_runners: tuple[str, ...]


class Use(StrEnum):
    """What a command does with the persisted credentials."""

    NEEDS = "needs"
    """It pushes or fetches with them: removing them breaks it."""
    UNKNOWN = "unknown"
    """mendbot cannot tell (a script, an unlisted program)."""
    NONE = "none"
    """It is known never to reach a git remote with them."""


@dataclass(frozen=True)
class Verdict:
    """The most consequential command of a script and what it does with the credentials."""

    use: Use
    command: str = ""
    """The command as written (words joined by spaces), for messages."""
    why: str = ""
    """Why, as the end of "`<step>` runs `<command>`, which …"."""


def classify_script(script: str, *, gh_has_token: bool) -> Verdict:
    """What the ``run:`` ``script`` does with the persisted credentials.

    ``gh_has_token`` says whether ``GH_TOKEN``/``GITHUB_TOKEN`` reach the step (``gh`` without
    one falls back on nothing but what the workspace offers). The first command that needs
    the credentials wins; otherwise the first unknown command; otherwise :attr:`Use.NONE`.
    """
    table = git_table()
    commands, complete = split_commands(script)
    unknown: Verdict | None = None
    for argv in commands:
        verdict = classify_command(argv, table, gh_has_token=gh_has_token)
        if verdict.use is Use.NEEDS:
            return verdict
        if verdict.use is Use.UNKNOWN and unknown is None:
            unknown = verdict
    if not complete and unknown is None:
        unknown = Verdict(Use.UNKNOWN, script.strip().splitlines()[-1], "mendbot cannot parse")
    return unknown or Verdict(Use.NONE)


def classify_command(argv: list[str], table: GitTable, *, gh_has_token: bool) -> Verdict:
    """What the simple command ``argv`` (wrappers removed) does with the credentials."""
    if not argv or argv[0] in _HEADERS:
        return Verdict(Use.NONE)
    words = _module_as_program(argv, table)
    text = " ".join(argv)
    for entry in table.uses_credentials:
        if entry.matches(words):
            return Verdict(Use.NEEDS, text, entry.why)
    program = words[0].rsplit("/", 1)[-1]
    if program == "gh" and words[1:2] in (["--version"], ["version"], ["help"], []):
        return Verdict(Use.NONE)
    if program == "gh" and not gh_has_token:
        return Verdict(
            Use.NEEDS, text, "has no `GH_TOKEN` and falls back on the workspace's credentials"
        )
    if program == "gh":
        return Verdict(Use.NONE)  # with its own token, gh talks to the API, not to git
    if program in table.inert_programs or run_table().is_inert(words):
        return Verdict(Use.NONE)
    if any(entry.matches(words) for entry in table.leaves_git_alone):
        return Verdict(Use.NONE)
    return Verdict(Use.UNKNOWN, text, "mendbot does not know to leave git alone")


def _module_as_program(argv: list[str], table: GitTable) -> list[str]:
    """``python -m mkdocs gh-deploy`` → ``mkdocs gh-deploy``; other commands unchanged."""
    program = argv[0].rsplit("/", 1)[-1]
    if program in table.module_runners and len(argv) > 2 and argv[1] == "-m":
        return argv[2:]
    return argv


def parse_git_table(text: str, source: str = "git_credentials.yml") -> GitTable:
    """Validate YAML ``text`` as the git credentials table; raises :class:`KnowledgeBaseError`."""
    try:
        return GitTable.model_validate(safe_load(text))
    except (YAMLError, ValidationError) as exc:
        raise KnowledgeBaseError(f"{source}: {exc}") from None


@cache
def git_table() -> GitTable:
    """The bundled table, parsed once per process."""
    text = (
        resources.files("bot.knowledge").joinpath("git_credentials.yml").read_text(encoding="utf-8")
    )
    return parse_git_table(text)
