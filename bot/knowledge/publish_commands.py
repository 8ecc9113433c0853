"""Which ``run:`` commands publish what a job built, and which forms of them publish nothing.

A script is split into simple commands (``run_commands.split_commands``: pipelines, lists,
``$( … )``, ``bash -c``; heredoc bodies and quoted text are not commands), and each command is
matched against :data:`PUBLISH_COMMANDS`. A command that checks or builds without uploading
(``cargo publish --dry-run``, ``npm publish --dry-run``, ``goreleaser release --snapshot``,
``twine check``, ``gem build``, ``npm pack``) publishes nothing. Only a literal dry-run option
counts: ``cargo publish $FLAGS`` or ``${{ … }}`` may publish, so it does.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.knowledge.run_commands import split_commands


@dataclass(frozen=True)
class PublishCommand:
    """One publishing command: a program and the subcommand words that make it publish."""

    programs: tuple[str, ...]
    words: tuple[str, ...] = ()
    """Leading positional words (``publish``, ``release create``); empty: the program alone."""
    dry_run: tuple[str, ...] = ()
    """Options that make it check without uploading (``--dry-run``)."""
    requires: str | None = None
    """An option without which the command does not publish (``docker build --push``)."""
    any_word: str | None = None
    """Instead of :attr:`words`: a word anywhere that makes it publish (``mvn … deploy``)."""


_DRY = ("--dry-run",)

PUBLISH_COMMANDS: tuple[PublishCommand, ...] = (
    PublishCommand(("npm", "pnpm", "bun", "yarn"), ("publish",), _DRY),
    PublishCommand(("yarn",), ("npm", "publish"), _DRY),
    PublishCommand(("twine",), ("upload",)),
    PublishCommand(("uv",), ("publish",), _DRY),
    PublishCommand(("poetry",), ("publish",), _DRY),
    PublishCommand(("hatch", "flit", "pdm"), ("publish",)),
    PublishCommand(("cargo",), ("publish",), ("--dry-run", "-n")),
    PublishCommand(("gem",), ("push",)),
    PublishCommand(("docker", "podman"), ("push",)),
    PublishCommand(("docker",), ("buildx", "build"), requires="--push"),
    PublishCommand(("docker",), ("buildx", "bake"), requires="--push"),
    PublishCommand(("docker",), ("build",), requires="--push"),
    PublishCommand(("gh",), ("release", "create")),
    PublishCommand(("gh",), ("release", "upload")),
    PublishCommand(("goreleaser",), ("release",), ("--snapshot", "--skip-publish")),
    PublishCommand(("mvn", "mvnw"), any_word="deploy"),
    PublishCommand(("nuget",), ("push",)),
    PublishCommand(("dotnet",), ("nuget", "push")),
    PublishCommand(("helm",), ("push",)),
    PublishCommand(("vsce", "ovsx"), ("publish",)),
    PublishCommand(("semantic-release",), (), ("--dry-run", "-d")),
    PublishCommand(("changeset",), ("publish",)),
    PublishCommand(("lerna",), ("publish",)),
)

#: Package managers whose options may come before the subcommand (``npm -w pkg publish``,
#: ``pnpm --filter pkg publish``, ``yarn workspaces foreach npm publish``).
_PACKAGE_MANAGERS = ("npm", "pnpm", "bun", "yarn")
#: Their subcommands that run something else rather than publish themselves.
_RUNNERS = ("run", "run-script", "exec", "dlx", "x", "help", "create", "init")
#: Programs that run another program given after their own options.
_LAUNCHERS = ("npx", "pnpx", "bunx")


def _positional(words: list[str]) -> list[str]:
    return [w for w in words if not w.startswith(("-", "+"))]


def _has(words: list[str], option: str) -> bool:
    """Whether ``option`` is given literally and turned on: ``--dry-run`` or ``--dry-run=true``,
    never ``--dry-run=false`` nor a value from a variable or expression (``--dry-run=$DRY``,
    which may be off at run time)."""
    for word in words:
        if word == option:
            return True
        if word.startswith(option + "="):
            value = word.split("=", 1)[1].strip().strip("'\"").lower()
            return value in ("", "true", "1", "yes")
    return False


def _skips_publishing(words: list[str]) -> bool:
    """goreleaser's ``--skip=publish`` (a comma list, possibly repeated)."""
    return any(
        w.startswith("--skip=") and "publish" in w.split("=", 1)[1].split(",") for w in words
    )


def _gradle_publishes(words: list[str]) -> bool:
    """A Gradle task that publishes somewhere other than the local Maven repository."""
    tasks = [w.rsplit(":", 1)[-1] for w in _positional(words)]
    return any(t.startswith("publish") and not t.endswith("ToMavenLocal") for t in tasks)


def publishing(argv: list[str]) -> str | None:
    """The publishing command ``argv`` runs (``cargo publish``), or None when it publishes
    nothing (another program, another subcommand, or a dry run)."""
    if not argv:
        return None
    if argv[0].startswith("$") and len(argv) > 1:
        # `$guard gh release create …`: the variable may be `echo` (a dry run) or empty.
        return publishing(argv[1:])
    program = argv[0].rsplit("/", 1)[-1]
    words = argv[1:]
    launched = _launched(program, words)
    if launched is not None:
        return publishing(launched)
    if program in ("gradle", "gradlew"):
        return f"{program} publish" if _gradle_publishes(words) else None
    positional = _positional(words)
    for command in PUBLISH_COMMANDS:
        if program not in command.programs:
            continue
        if command.any_word is not None:
            if not any(
                w == command.any_word or w.startswith(command.any_word + ":") for w in positional
            ):
                continue
            label = f"{program} {command.any_word}"
        elif program in _PACKAGE_MANAGERS and command.words == ("publish",):
            if "publish" not in positional or (positional and positional[0] in _RUNNERS):
                continue
            label = f"{program} publish"
        else:
            if tuple(positional[: len(command.words)]) != command.words:
                continue
            label = " ".join((program, *command.words))
        if command.requires is not None and not _has(words, command.requires):
            continue
        if any(_has(words, option) for option in command.dry_run) or _skips_publishing(words):
            return None
        return label
    return None


def _launched(program: str, words: list[str]) -> list[str] | None:
    """The command a launcher runs: ``npx changeset publish``, ``pnpm exec lerna publish``,
    ``yarn dlx …``, ``python -m twine upload``; None when ``program`` launches nothing."""
    if program in _LAUNCHERS or (
        program in ("pnpm", "yarn", "bun") and words[:1] in (["exec"], ["dlx"], ["x"])
    ):
        rest = words if program in _LAUNCHERS else words[1:]
        start = next((i for i, w in enumerate(rest) if not w.startswith("-")), len(rest))
        return rest[start:] or None  # past the launcher's own options (`npx -y`)
    if program.startswith("python") and words[:1] == ["-m"] and len(words) > 1:
        return words[1:]
    return None


def publishing_command(script: str) -> str | None:
    """The first command of a ``run:`` script that publishes, or None."""
    commands, _ = split_commands(script)
    return next((label for argv in commands if (label := publishing(argv))), None)


def goreleaser_action_publishes(inputs: dict[str, object]) -> bool:
    """Whether ``goreleaser/goreleaser-action`` with these ``with:`` inputs publishes.

    ``install-only: true`` only installs goreleaser; ``args`` naming another command
    (``build``, ``check``) or a snapshot/skip-publish release publish nothing. Without ``args``
    it runs ``goreleaser`` alone, which is ``goreleaser release``.
    """
    install_only = inputs.get("install-only")
    if install_only is True or str(install_only).strip().lower() == "true":
        return False
    args = str(inputs.get("args") or "").strip()
    if not args or "${{" in args:
        return True
    return publishing(["goreleaser", *args.split()]) is not None
