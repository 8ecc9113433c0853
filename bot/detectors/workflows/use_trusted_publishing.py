"""``gha-use-trusted-publishing``: publishing to a registry that supports trusted publishing
(OIDC) with a long-lived token instead."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, ClassVar

from bot.detectors.interface import Detection, WorkflowRule
from bot.detectors.oidc_grant import grant_id_token
from bot.knowledge.publish_commands import publishing
from bot.knowledge.run_commands import split_commands
from bot.models import Confidence, Finding, Severity
from bot.risk import Disposition
from bot.workflow.model import Job, Step
from bot.yamledit.ops import Operation, Remove

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
#: Why a command other than ``uv publish`` is not switched by mendbot (``uv publish``'s own
#: refusals are computed per step).
_COMMAND_NO_FIX = {
    "npm": (
        "npm publishes with trusted publishing only from npm CLI 11.5.1 on, and which npm the "
        "runner has is not written in the workflow (the Node.js a runner or `setup-node` "
        "installs may bundle an older one, which then fails without the token)"
    ),
    "twine": (
        "twine has no trusted publishing of its own: switching means publishing with "
        "`pypa/gh-action-pypi-publish` (no `password:`) or `uv publish` instead, a change of "
        "tool left to a person"
    ),
    "pnpm": (
        "npm's trusted publishing is the npm CLI's (11.5.1 or newer); whether this tool "
        "exchanges the OIDC token itself depends on its version, which the workflow does not "
        "show, and an older one fails without the token"
    ),
    "cargo": (
        "crates.io trusted publishing needs a new `rust-lang/crates-io-auth-action` step "
        "before this one, whose `token` output replaces `CARGO_REGISTRY_TOKEN`; mendbot adds "
        "an action only pinned to a release commit, and its knowledge base records none for "
        "that action"
    ),
    "gem": (
        "RubyGems trusted publishing needs a `rubygems/configure-rubygems-credentials` step "
        "with the trusted publisher's `role-to-assume`, which is not in the workflow, and "
        "mendbot adds an action only pinned to a release commit, and its knowledge base "
        "records none for that action"
    ),
    "nuget": (
        "NuGet trusted publishing needs a `NuGet/login` step with the nuget.org account in "
        "`user:`, which is not in the workflow, and mendbot adds an action only pinned to a "
        "release commit, and its knowledge base records none for that action"
    ),
}
_OTHER_COMMAND_NO_FIX = (
    "mendbot does not know how this tool exchanges the OIDC token for the registry's "
    "credential: switch to `uv publish` or `pypa/gh-action-pypi-publish` by hand"
)
#: ``uv publish``'s credentials: options and variables (uv tries trusted publishing on
#: GitHub Actions only when it is given none).
_UV_CREDENTIAL_OPTIONS = ("--token", "-t", "--password", "-p", "--username", "-u")
_UV_CREDENTIAL_ENV = ("UV_PUBLISH_TOKEN", "UV_PUBLISH_PASSWORD", "UV_PUBLISH_USERNAME")
#: Variables that send ``uv publish`` to another index than PyPI.
_UV_TARGET_ENV = ("UV_PUBLISH_URL", "UV_PUBLISH_INDEX")
_PYPI_PUBLISH_REASON = "for pypa/gh-action-pypi-publish to publish with trusted publishing"
_UV_PUBLISH_REASON = "for uv publish to publish with trusted publishing"


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


def trusted_registry_publishes(script: str, shell: str | None) -> list[tuple[str, list[str]]]:
    """The commands of ``script`` that publish to a registry accepting trusted publishing:
    each command's label (``uv publish``) and its words."""
    if shell and shell.split()[0].rsplit("/", 1)[-1].lower() in ("pwsh", "powershell"):
        script = script.replace("`\r\n", " ").replace("`\n", " ")
    registry = _NPM_REGISTRY_SET.search(script)
    npm_elsewhere = registry is not None and registry["url"].strip("'\"") not in _NPMJS
    found: list[tuple[str, list[str]]] = []
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
        found.append((label, argv))
    return found


class UseTrustedPublishing(WorkflowRule):
    """Report long-lived publishing tokens where the registry accepts OIDC instead; switch
    the PyPI publishing action and ``uv publish`` to trusted publishing (unsafe)."""

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
        "The fix switches to trusted publishing where the switch is an edit of the file: "
        "`pypa/gh-action-pypi-publish` loses its `password:` (and `user: __token__`; an "
        "emptied `with:` goes too), and a step running `uv publish` loses the "
        "`UV_PUBLISH_TOKEN`/`UV_PUBLISH_PASSWORD` (and `UV_PUBLISH_USERNAME`) of its own "
        "`env:` (uv then exchanges the OIDC token itself). The publishing job, and only it, "
        "gets `id-token: write` with a `# for …` comment: added to its own `permissions:`, "
        "or a block of the workflow's scopes plus `id-token: write` when it inherits them, "
        "or its computed least-privilege block when it runs on the default token "
        "permissions. **Unsafe**: " + SETUP_REASON + ", so the pull request is for a "
        "maintainer who registers the publisher first (or at the same time). Report only, "
        "with the reason in the finding: an `id-token` level or `read-all` a person wrote, "
        "`setup-trusted-publisher: false` (a person turned trusted publishing off), `user:` "
        "other than `__token__`, a token in the job's or workflow's `env:` (other steps may "
        "read it) or on the command line, a reusable workflow (the caller grants the "
        "scope), a composite action, `npm publish` (npm 11.5.1 or newer needed, which the "
        "workflow does not show), `twine upload` (twine has no trusted publishing), and "
        "`pnpm`/`yarn`/`bun publish` (their support depends on their version), and "
        "`cargo publish`, `gem push` and NuGet, which need an exchange action mendbot's "
        "knowledge base has no release commit for. Severity **medium** for a token given to a "
        "publishing action, **low** for a command (the token's source is not visible).\n\n"
        "Compared with zizmor's `use-trusted-publishing`: the same actions and commands, in "
        "workflows and composite actions (commands only in workflows, where `id-token` is "
        "visible); zizmor grades all informational and proposes no fix, where mendbot "
        "switches `pypa/gh-action-pypi-publish` and `uv publish` to trusted publishing "
        "(unsafe) and says for every other case what the switch needs. mendbot skips a "
        "command whose `--registry`/`--repository-url` names another registry, "
        "`uv build publish` (which builds a folder named `publish`; zizmor reports it), and "
        "`actions/setup-node` with `always-auth` but no `registry-url` (no token is written "
        "for npmjs.org; zizmor reports it)."
    )
    default_severity: ClassVar[Severity] = Severity.MEDIUM
    fix_disposition: ClassVar[Disposition | None] = Disposition.UNSAFE
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
    example_after: ClassVar[str] = """\
on:
  release:
    types: [published]
jobs:
  pypi:
    runs-on: ubuntu-latest
    permissions:
      contents: read
      id-token: write  # for pypa/gh-action-pypi-publish to publish with trusted publishing
    steps:
      - uses: pypa/gh-action-pypi-publish@release/v1
"""

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
            commands: dict[str, list[list[str]]] = {}
            for label, argv in trusted_registry_publishes(step.run, shell):
                if label == "uv publish" and _uv_elsewhere(step):
                    continue
                commands.setdefault(label, []).append(argv)
            for label, argvs in commands.items():
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
                yield self._command_detection(step, finding, label, argvs)

    def _command_detection(
        self, step: Step, finding: Finding, label: str, argvs: list[list[str]]
    ) -> Detection:
        if label != "uv publish":
            tool = {"yarn": "pnpm", "bun": "pnpm", "dotnet": "nuget"}.get(
                label.split()[0], label.split()[0]
            )
            reason = _COMMAND_NO_FIX.get(tool, _OTHER_COMMAND_NO_FIX)
            return Detection(finding, None, f"{reason}; {SETUP_REASON}")
        switch = _uv_switch(step, argvs)
        if isinstance(switch, str):
            return Detection(finding, None, f"{switch}; {SETUP_REASON}")
        grant = self._grant(step, _UV_PUBLISH_REASON)
        if isinstance(grant, str):
            return Detection(finding, None, f"{grant}; {SETUP_REASON}")
        fix = self.fix(
            finding,
            "publish with trusted publishing (uv exchanges the job's OIDC token): " + SETUP_REASON,
            [*switch, *grant],
        )
        return Detection(finding, fix)

    def _action(self, step: Step) -> Iterator[Detection]:
        uses, inputs = step.uses, step.with_
        assert uses is not None  # noqa: S101 - visit_step checked
        key: str | None = None
        no_fix: str | None = None
        if uses.is_action("pypa/gh-action-pypi-publish") and _text(inputs.get("password")):
            url = _text(inputs.get("repository-url")) or _text(inputs.get("repository_url"))
            if url is None or url in _PYPI:
                key = "password"
        elif uses.is_action("rubygems/release-gem"):
            flag = inputs.get("setup-trusted-publisher")
            if flag is False or (_text(flag) or "").lower() == "false":
                key = "setup-trusted-publisher"
                no_fix = (
                    "`setup-trusted-publisher: false` is written explicitly: a person turned "
                    "trusted publishing off for this step, which mendbot does not overrule; "
                    "to switch, delete the input and give the job `id-token: write`"
                )
        elif uses.is_action("rubygems/configure-rubygems-credentials") and _text(
            inputs.get("api-token")
        ):
            server = _text(inputs.get("gem-server"))
            if server is None or server in _RUBYGEMS:
                key = "api-token"
                no_fix = (
                    "trusted publishing with this action needs inputs mendbot cannot know "
                    "(`role-to-assume` of the registry's trusted publisher)"
                )
        elif uses.is_action("actions/setup-node"):
            auth = inputs.get("always-auth")
            registry = _text(inputs.get("registry-url"))
            if registry in _NPMJS and (auth is True or (_text(auth) or "").lower() == "true"):
                key = "always-auth"
                no_fix = _COMMAND_NO_FIX["npm"]
        if key is None:
            return
        finding = self.finding(
            step.workflow,
            (*step.route, "with", key),
            f"{uses.owner}/{uses.repo} publishes with a long-lived token (`{key}`) although "
            "the registry accepts trusted publishing (OIDC), whose credentials live minutes",
            evidence=f"{key}: {inputs.get(key)}",
        )
        if no_fix is not None:
            yield Detection(finding, None, f"{no_fix}; {SETUP_REASON}")
            return
        yield self._pypi_switch(step, finding)

    def _pypi_switch(self, step: Step, finding: Finding) -> Detection:
        """Drop the token inputs of ``pypa/gh-action-pypi-publish`` and grant the job OIDC."""
        inputs = step.with_
        removed = ["password"]
        user = _text(inputs.get("user"))
        if user is not None:
            if user != "__token__":
                return Detection(
                    finding,
                    None,
                    f"`user: {user}` is an account, not `__token__`: the action uses trusted "
                    "publishing only as `__token__` without a password, and which account "
                    "publishes is a person's decision; " + SETUP_REASON,
                )
            removed.append("user")
        grant = self._grant(step, _PYPI_PUBLISH_REASON)
        if isinstance(grant, str):
            return Detection(finding, None, f"{grant}; {SETUP_REASON}")
        with_route = (*step.route, "with")
        keys = [str(key) for key in inputs]
        remove: list[Operation]
        if sorted(keys) == sorted(removed):
            remove = [Remove(route=with_route)]
        else:
            remove = [Remove(route=(*with_route, key)) for key in removed]
        fix = self.fix(
            finding,
            "publish with trusted publishing: drop "
            + " and ".join(f"`{key}:`" for key in removed)
            + f", `id-token: write` for job `{step.job.id}` only: "
            + SETUP_REASON,
            [*remove, *grant],
        )
        return Detection(finding, fix)

    @staticmethod
    def _grant(step: Step, reason: str) -> list[Operation] | str:
        """``id-token: write`` for the step's job alone, or why mendbot does not grant it."""
        job = step.job
        if job.workflow.kind == "workflow" and "workflow_call" in job.workflow.triggers:
            return (
                "this is a reusable workflow: its caller must grant `id-token: write` and the "
                "registry's trusted publisher names the calling workflow, so the switch "
                "belongs in the caller"
            )
        return grant_id_token(job, reason)


def _uv_elsewhere(step: Step) -> bool:
    """Whether ``UV_PUBLISH_URL``/``UV_PUBLISH_INDEX`` (step, job or workflow ``env:``) send
    ``uv publish`` to another index than PyPI or TestPyPI."""
    for env in (step.env, step.job.env, step.workflow.env):
        for name in _UV_TARGET_ENV:
            target = _text(env.get(name))
            if target is not None and target.strip("'\"") not in _DEFAULT_REGISTRY_VALUES:
                return True
    return False


def _uv_switch(step: Step, argvs: list[list[str]]) -> list[Operation] | str:
    """Remove the token ``uv publish`` reads from the step's own ``env:`` (uv then uses
    trusted publishing by itself), or why that is not enough."""
    for argv in argvs:
        given = [word for word in argv if word.split("=", 1)[0] in _UV_CREDENTIAL_OPTIONS]
        if given:
            return (
                f"`uv publish` is given its credential on the command line (`{given[0]}`), a "
                "script mendbot does not rewrite: drop the option"
            )
        mode = _option_value(argv, ("--trusted-publishing",))
        if mode is not None and mode.strip("'\"") == "never":
            return (
                "`--trusted-publishing never` is written explicitly: a person turned trusted "
                "publishing off, which mendbot does not overrule"
            )
    job, workflow = step.job, step.workflow
    for where, env in (("job", job.env), ("workflow", workflow.env)):
        shared = [name for name in _UV_CREDENTIAL_ENV if name in env]
        if shared:
            return (
                f"`{shared[0]}` is set in the {where}'s `env:`, where other steps may read it: "
                "move it out by hand"
            )
    step_env = step.env
    tokens = [name for name in _UV_CREDENTIAL_ENV if name in step_env]
    if not any(name != "UV_PUBLISH_USERNAME" for name in tokens):
        return (
            "the token does not come from the step's `env:` (a config file, a keyring, "
            "`UV_PUBLISH_TOKEN` exported by an earlier step), which is not one place mendbot "
            "can rewrite"
        )
    script = step.run or ""
    if any(name in script for name in tokens):
        return f"the script itself reads `{tokens[0]}`: which commands rely on it is for a person"
    username = _text(step_env.get("UV_PUBLISH_USERNAME"))
    if username is not None and username != "__token__":
        return (
            f"`UV_PUBLISH_USERNAME` names an account (`{username}`), not `__token__`: which "
            "account publishes is a person's decision"
        )
    env_route = (*step.route, "env")
    if len(step_env) == len(tokens):
        return [Remove(route=env_route)]
    return [Remove(route=(*env_route, name)) for name in tokens]
