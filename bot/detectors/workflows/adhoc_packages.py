"""``gha-adhoc-packages``: a ``run:`` script installs packages by name, outside any lockfile."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from bot.detectors.interface import Detection, WorkflowRule
from bot.knowledge.package_installs import adhoc_install, piped_installers
from bot.knowledge.run_commands import split_commands
from bot.models import Confidence, Severity
from bot.workflow.constant_fold import substitute_constants
from bot.workflow.model import Step
from bot.workflow.posix_shell import POSIX_SHELLS, PWSH_SHELLS

NO_FIX = (
    "mendbot cannot know offline which version of the package the job needs, nor its hash: "
    "install it from a lockfile (or pin an exact version with its hash) by hand"
)
_NO_FIX_PIPED = (
    "the downloaded script is whatever the server sends: download a release with a checksum, "
    "or use a pinned setup action, by hand"
)


class AdhocOptions(BaseModel):
    """``rules.gha-adhoc-packages.options``."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    pinned: bool = False
    """Also report installs that pin every package to an exact version
    (`pip install tox==4.53.1`, `gem install rake -v 13.0.6`): their own dependencies still
    float and nothing checks a hash, but the package a reviewer sees is the one installed."""


def script_shell(step: Step) -> str | None:
    """The program of the step's shell (``bash`` for ``bash -e {0}``; ``bash`` when unset,
    as on Linux runners); None for shells mendbot does not read."""
    shell = (step.shell or "bash").split()[0].rsplit("/", 1)[-1].lower()
    return shell if shell in POSIX_SHELLS or shell in PWSH_SHELLS else None


class AdhocPackages(WorkflowRule):
    """Report commands in ``run:`` that install packages by name or pipe a download into a
    shell."""

    id: ClassVar[str] = "gha-adhoc-packages"
    title: ClassVar[str] = "package installed ad hoc, outside a lockfile"
    description: ClassVar[str] = (
        "A `run:` step that installs a package by name gets whatever the registry serves "
        "that day, and its dependencies float too: no lockfile, no hash, nothing a reviewer "
        "can see change. A compromised release reaches the job (and its secrets) the moment "
        "it is published. Reported, in POSIX shells and PowerShell (the scripts are split "
        "into commands with quotes, `sudo`/`env` wrappers, `bash -c` and `$(…)` understood, "
        "comments and heredoc bodies ignored, constant expressions such as `cu${{ '' }}rl` "
        "read as the runner writes them): `gem install|i <gem>`, `bundle add <gem>`, "
        "`npm install|i|add <pkg>` (with `-g` too), `pnpm add`, `yarn add`, `yarn global add`, "
        "`bun add`, "
        "`pip install <pkg>` (also `pip3`, `python -m pip`, `uv pip`), `pipx install`, "
        "`cargo install <crate>`, `go install <pkg>@latest` (or a branch), and downloads "
        "piped into a shell (`curl … | sh`, `wget -O- … | bash`, `iwr … | iex`). Not "
        "reported: installs from the project's own files (`npm install`, `npm ci`, `bundle "
        "install`, `pip install -r requirements.txt`, `pip install --require-hashes`, "
        "`pip install .`, `pip install --no-index --find-links dist <pkg>`, `cargo install "
        "--path .`, local archives) and `go install "
        "pkg@v1.2.3` (checked against the Go checksum database, dependencies pinned by its "
        "`go.mod`). Installs that pin every package to an exact version are reported only "
        "with the option `pinned: true` (with medium confidence): their dependencies still "
        "float and nothing checks a hash, but the package a reviewer reads is the one "
        "installed.\n\n"
        "```yaml\nrules:\n  gha-adhoc-packages:\n    options:\n      pinned: true\n```\n\n"
        "Report only: the version and hash a job needs cannot be known offline.\n\n"
        "Compared with zizmor's `adhoc-packages` (regular persona): zizmor 1.32 reports "
        "`gem install`, `bundle add`, `npm install|i|add <pkg>`, `yarn add` and `pnpm add` in "
        "bash and "
        "PowerShell. mendbot also reports pip, pipx, cargo, `go install …@latest` and "
        "`curl | sh`, sees through `sudo`, `env` and `bash -c`, and does not report local "
        "paths and archives (`npm install ./pkg.tgz`), which install the project itself. "
        "zizmor also reports exact-version installs (`gem install rake -v 13.0.6`), which "
        "mendbot reports with `pinned: true`."
    )
    default_severity: ClassVar[Severity] = Severity.LOW
    options_model: ClassVar[type[BaseModel] | None] = AdhocOptions
    example_before: ClassVar[str] = """\
on: push
jobs:
  lint:
    runs-on: ubuntu-latest
    steps:
      - run: gem install rubocop && rubocop
"""
    example_after: ClassVar[str] = example_before

    def visit_step(self, step: Step) -> Iterator[Detection]:
        """Check the commands of one ``run:`` step."""
        script = step.run
        if script is None or script_shell(step) is None:
            return
        seen: Counter[str] = Counter()
        report_pinned = isinstance(self.options, AdhocOptions) and self.options.pinned
        script = substitute_constants(script)  # `cu${{ '' }}rl` runs curl
        commands, _ = split_commands(script)
        for argv in commands:
            install = adhoc_install(argv)
            if install is None:
                continue
            packages = " ".join(install.packages)
            if install.versioned and not report_pinned:
                continue
            if install.versioned:
                message = (
                    f"`{install.manager}` installs {packages} outside a lockfile: the version "
                    "is pinned, but its dependencies float and nothing checks its hash"
                )
                confidence = Confidence.MEDIUM
            else:
                message = (
                    f"`{install.manager}` installs {packages} at whatever version the registry "
                    "serves when the job runs, outside a lockfile"
                )
                confidence = Confidence.HIGH
            evidence = self._evidence(f"{install.manager} {packages}", seen)
            finding = self.finding(
                step.workflow,
                (*step.route, "run"),
                message,
                evidence=evidence,
                confidence=confidence,
            )
            yield Detection(finding, None, NO_FIX)
        for line in piped_installers(script):
            message = f"`{line}` runs a downloaded script that no lockfile or hash pins"
            evidence = self._evidence(line, seen)
            finding = self.finding(step.workflow, (*step.route, "run"), message, evidence=evidence)
            yield Detection(finding, None, _NO_FIX_PIPED)

    @staticmethod
    def _evidence(text: str, seen: Counter[str]) -> str:
        """``text``, numbered from its second occurrence in the step (finding ids stay
        distinct)."""
        seen[text] += 1
        return text if seen[text] == 1 else f"{text} (#{seen[text]})"
