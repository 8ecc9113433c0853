"""``gha-use-trusted-publishing``: publishing to a registry that supports trusted publishing
(OIDC) with a long-lived token instead."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, ClassVar

from bot.detectors.interface import Detection, WorkflowRule
from bot.knowledge.publish_commands import publishing
from bot.knowledge.run_commands import split_commands
from bot.models import Confidence, Severity
from bot.workflow.model import Job, Step

_PYPI = ("https://upload.pypi.org/legacy/", "https://test.pypi.org/legacy/")
_NPMJS = ("https://registry.npmjs.org", "https://registry.npmjs.org/")
_RUBYGEMS = ("https://rubygems.org", "https://rubygems.org/")
#: Publishing commands whose default registry accepts trusted publishing (PyPI, npmjs.com,
#: crates.io, RubyGems.org, NuGet.org), and the options that send them elsewhere.
_TRUSTED_REGISTRY_COMMANDS: dict[str, tuple[str, ...]] = {
    "npm publish": ("--registry",),
    "pnpm publish": ("--registry",),
    "bun publish": ("--registry",),
    "yarn publish": ("--registry",),
    "yarn npm publish": ("--registry",),
    "twine upload": ("--repository-url", "-r", "--repository"),
    "uv publish": ("--publish-url", "--index"),
    "hatch publish": ("--repo", "-r"),
    "pdm publish": ("--repository", "-r"),
    "cargo publish": ("--registry", "--index"),
    "gem push": ("--host",),
    "nuget push": ("-source", "-s", "--source"),
    "dotnet nuget push": ("--source", "-s"),
}
#: Values of those options that still name the default registry.
_DEFAULT_REGISTRY_VALUES = frozenset(
    {
        *_PYPI,
        *_NPMJS,
        *_RUBYGEMS,
        "pypi",
        "testpypi",
        "main",
        "crates-io",
        "https://api.nuget.org/v3/index.json",
        "nuget.org",
    }
)
_NPM_REGISTRY_SET = re.compile(r"\bnpm\s+config\s+set\s+registry\s+(?P<url>\S+)")

SETUP_REASON = (
    "the registry must first trust this workflow (PyPI, npm, crates.io, RubyGems and NuGet "
    "call it a trusted publisher: the repository, the workflow file and the environment); "
    "until a maintainer sets that up on the registry, publishing fails"
)


def _has_id_token(job: Job) -> bool:
    permissions = job.permissions
    if permissions is None and job.workflow.kind == "workflow":
        permissions = job.workflow.permissions
    if isinstance(permissions, str):
        return permissions.strip() == "write-all"
    return isinstance(permissions, dict) and permissions.get("id-token") == "write"


def _text(value: Any) -> str | None:
    return str(value).strip() if value is not None and not isinstance(value, (dict, list)) else None


def _unwrapped(argv: list[str]) -> list[str]:
    """``bundle exec gem push`` → ``gem push``; ``pipx run twine==6 upload`` → ``twine
    upload``; ``nuget.exe`` → ``nuget``."""
    if argv[:2] == ["bundle", "exec"]:
        argv = argv[2:]
    elif argv[:2] == ["pipx", "run"] and len(argv) > 2:
        argv = [re.split(r"[=@<>]", argv[2], maxsplit=1)[0], *argv[3:]]
    if argv:
        argv = [argv[0].removesuffix(".exe"), *argv[1:]]
    return argv


def _option_value(words: list[str], names: tuple[str, ...]) -> str | None:
    for index, word in enumerate(words):
        for name in names:
            if word == name and index + 1 < len(words):
                return words[index + 1]
            if word.startswith(name + "="):
                return word.split("=", 1)[1]
    return None


def trusted_registry_publishes(script: str, shell: str | None) -> list[str]:
    """The commands of ``script`` that publish to a registry accepting trusted publishing."""
    if shell and shell.split()[0].rsplit("/", 1)[-1].lower() in ("pwsh", "powershell"):
        script = script.replace("`\r\n", " ").replace("`\n", " ")
    registry = _NPM_REGISTRY_SET.search(script)
    npm_elsewhere = registry is not None and registry["url"].strip("'\"") not in _NPMJS
    found: list[str] = []
    commands, _ = split_commands(script)
    for argv in commands:
        label = publishing(_unwrapped(argv))
        if label is None or label not in _TRUSTED_REGISTRY_COMMANDS:
            continue
        target = _option_value(argv, _TRUSTED_REGISTRY_COMMANDS[label])
        if target is not None and target.strip("'\"") not in _DEFAULT_REGISTRY_VALUES:
            continue
        if npm_elsewhere and label.split()[0] in ("npm", "pnpm", "yarn", "bun"):
            continue
        found.append(label)
    return found


class UseTrustedPublishing(WorkflowRule):
    """Report long-lived publishing tokens where the registry accepts OIDC instead."""

    id: ClassVar[str] = "gha-use-trusted-publishing"
    title: ClassVar[str] = "publishing with a long-lived token instead of trusted publishing"
    description: ClassVar[str] = (
        "PyPI, npm, crates.io, RubyGems.org and NuGet.org accept *trusted publishing*: the "
        "job proves with GitHub's OIDC token which repository, workflow and environment it "
        "runs in, and gets an upload credential that lives minutes. A long-lived API token in "
        "a secret instead can be stolen from any step of the job (or any action it runs) and "
        "used from anywhere until someone notices. Reported: `pypa/gh-action-pypi-publish` "
        "with `password:` for PyPI or TestPyPI, `rubygems/release-gem` with "
        "`setup-trusted-publisher: false`, `rubygems/configure-rubygems-credentials` with "
        "`api-token:` for RubyGems.org, `actions/setup-node` with `always-auth` for npmjs.org, "
        "and `run:` commands that publish to those registries (`npm`/`pnpm`/`yarn`/`bun "
        "publish`, `twine upload`, `uv`/`hatch`/`pdm publish`, `cargo publish`, `gem push`, "
        "`nuget push`, not `--dry-run`, not to another registry) in a job without "
        "`id-token: write` (with it, those tools use trusted publishing themselves).\n\n"
        "Report only: the token input is a credential a person chose, which mendbot never "
        "removes (an explicit value is a decision). The finding says the edit that switches "
        "the step: delete the input (and `user: __token__`), give `id-token: write` to that "
        "job only (a job on the default permissions needs its permissions written out "
        "first), and register the workflow as a trusted publisher on the registry, without "
        "which publishing fails. Severity **medium** for a token given to a publishing "
        "action, **low** for a command (the token's source is not visible).\n\n"
        "Compared with zizmor's `use-trusted-publishing`: the same actions and commands, in "
        "workflows and composite actions (commands only in workflows, where `id-token` is "
        "visible); zizmor grades all informational and proposes no fix. mendbot skips a "
        "command whose `--registry`/`--repository-url` names another registry, "
        "`uv build publish` (which builds a folder named `publish`; zizmor reports it), and "
        "`actions/setup-node` with `always-auth` but no `registry-url` (no token is written "
        "for npmjs.org; zizmor reports it)."
    )
    default_severity: ClassVar[Severity] = Severity.MEDIUM
    example_before: ClassVar[str] = """\
on:
  release:
    types: [published]
jobs:
  pypi:
    runs-on: ubuntu-latest
    permissions:
      contents: read
    steps:
      - uses: pypa/gh-action-pypi-publish@release/v1
        with:
          password: ${{ secrets.PYPI_TOKEN }}
"""
    example_after: ClassVar[str] = example_before

    def visit_step(self, step: Step) -> Iterator[Detection]:
        """Check a publishing action's inputs or a ``run:`` script."""
        if step.uses is not None:
            yield from self._action(step)
        elif (
            step.run is not None
            and step.workflow.kind == "workflow"
            and not _has_id_token(step.job)
        ):
            windows = any("windows" in label.lower() for label in step.job.runs_on)
            shell = step.shell or ("pwsh" if windows else None)
            for label in dict.fromkeys(trusted_registry_publishes(step.run, shell)):
                finding = self.finding(
                    step.workflow,
                    (*step.route, "run"),
                    f"`{label}` publishes with a long-lived token although the registry "
                    "accepts trusted publishing (OIDC): give the job `id-token: write`, "
                    "register the workflow as a trusted publisher and drop the token",
                    evidence=label,
                    severity=Severity.LOW,
                    confidence=Confidence.MEDIUM,
                )
                yield Detection(
                    finding,
                    None,
                    "where the token comes from (a secret in env:, a config file, a login "
                    "step) is not one place mendbot can rewrite; " + SETUP_REASON,
                )

    def _action(self, step: Step) -> Iterator[Detection]:
        uses, inputs = step.uses, step.with_
        assert uses is not None  # noqa: S101 - visit_step checked
        key: str | None = None
        switchable = False
        if uses.is_action("pypa/gh-action-pypi-publish") and _text(inputs.get("password")):
            url = _text(inputs.get("repository-url")) or _text(inputs.get("repository_url"))
            if url is None or url in _PYPI:
                key, switchable = "password", True
        elif uses.is_action("rubygems/release-gem"):
            flag = inputs.get("setup-trusted-publisher")
            if flag is False or (_text(flag) or "").lower() == "false":
                key, switchable = "setup-trusted-publisher", True
        elif uses.is_action("rubygems/configure-rubygems-credentials") and _text(
            inputs.get("api-token")
        ):
            server = _text(inputs.get("gem-server"))
            if server is None or server in _RUBYGEMS:
                key = "api-token"
        elif uses.is_action("actions/setup-node"):
            auth = inputs.get("always-auth")
            registry = _text(inputs.get("registry-url"))
            if registry in _NPMJS and (auth is True or (_text(auth) or "").lower() == "true"):
                key = "always-auth"
        if key is None:
            return
        finding = self.finding(
            step.workflow,
            (*step.route, "with", key),
            f"{uses.owner}/{uses.repo} publishes with a long-lived token (`{key}`) although "
            "the registry accepts trusted publishing (OIDC), whose credentials live minutes",
            evidence=f"{key}: {inputs.get(key)}",
        )
        if not switchable:
            yield Detection(
                finding,
                None,
                "trusted publishing with this action needs inputs mendbot cannot know "
                "(`role-to-assume` of the registry's trusted publisher); " + SETUP_REASON,
            )
            return
        removed = [key]
        if key == "password" and _text(inputs.get("user")) == "__token__":
            removed.append("user")
        yield Detection(finding, None, _switch_advice(step, removed))


def _switch_advice(step: Step, removed: list[str]) -> str:
    """Why there is no fix (the inputs are a person's decision), and the edit that switches
    the step to trusted publishing."""
    inputs = " and ".join(f"`{name}:`" for name in removed)
    job = step.job
    permissions = job.permissions
    inherited = job.workflow.permissions if job.workflow.kind == "workflow" else None
    if job.workflow.kind != "workflow":
        grant = "have every workflow using this action grant `id-token: write`"
    elif isinstance(permissions, dict) or (permissions is None and isinstance(inherited, dict)):
        grant = f"add `id-token: write` to the `permissions:` of job `{job.id}` only"
    else:
        grant = (
            f"write out job `{job.id}`'s permissions (it runs with "
            + (
                "the default token permissions"
                if permissions is None and inherited is None
                else f"`permissions: {permissions if permissions is not None else inherited}`"
            )
            + ") and add `id-token: write` to them"
        )
    return (
        f"{inputs} is a credential a person chose, which mendbot does not remove; to switch, "
        f"delete {inputs}, {grant}, and register this workflow as a trusted publisher on the "
        "registry first: " + SETUP_REASON
    )
