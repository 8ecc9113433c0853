"""``nhi-github-undefined-secret``: a workflow reads a secret defined nowhere visible."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from bot.desired import GithubNhi
from bot.detectors.desired_rule import DesiredStateRule, GithubNhiFile
from bot.detectors.interface import Detection
from bot.detectors.nhi.workflow_usage import SecretUse
from bot.models import Confidence, Severity

_EXAMPLE = """\
kind: github-nhi
version: 1
repository: "acme/app"
secrets:
  - name: NPM_TOKEN
    created_at: "2024-02-01T10:00:00Z"
    updated_at: "2024-06-01T10:00:00Z"
environments: []
"""
_RELEASE = """\
on: push
permissions: {}
jobs:
  publish:
    runs-on: ubuntu-latest
    steps:
      - run: npm publish
        env:
          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}
      - run: twine upload dist/*
        env:
          TWINE_PASSWORD: ${{ secrets.PYPI_TOKEN }}
"""


class UndefinedSecretOptions(BaseModel):
    """``rules.nhi-github-undefined-secret.options``."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    organization_secrets: tuple[
        Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")], ...
    ] = ()
    """Names of organisation secrets shared with the repository (a repository token cannot
    list them): never reported (compared case-insensitively)."""


class UndefinedSecret(DesiredStateRule):
    """A ``secrets.X`` read by a job and defined nowhere the inventory can see: reported."""

    id = "nhi-github-undefined-secret"
    title = "Workflow reads a secret defined nowhere visible"
    description = (
        "A job reads `secrets.X` and X is neither a repository secret nor a secret of an "
        "environment the job runs in, according to the `github-nhi` inventory. Either the "
        "step runs with an empty value (a silently skipped signature, an anonymous upload), "
        "or the secret comes from the organisation, which a repository token cannot list: "
        "the finding says so; list the organisation's secrets under "
        "`options.organization_secrets` and they are never reported. Reported only when "
        "the inventory file is present and describes the checkout (as for "
        "`nhi-github-unused-secret`); `GITHUB_TOKEN` is never reported, and reusable "
        "workflows (`on: workflow_call`) are left out (their secrets come from the caller). "
        "Report only."
    )
    default_severity = Severity.LOW
    default_confidence = Confidence.MEDIUM
    options_model: ClassVar[type[BaseModel] | None] = UndefinedSecretOptions
    ignore_example = ".mendbot/desired/github-nhi/acme--app.yml"
    nhi_thresholds: ClassVar[bool] = False
    suppression_entry: ClassVar[str] = (
        "the `secrets:` list (which suppresses them all: prefer `options.organization_secrets`)"
    )
    example_path: ClassVar[str] = ".mendbot/desired/github-nhi/acme--app.yml"
    example_workflows: ClassVar[dict[str, str]] = {".github/workflows/release.yml": _RELEASE}
    example_before: ClassVar[str] = _EXAMPLE
    example_after: ClassVar[str] = _EXAMPLE

    def visit_github_nhi(self, nhi: GithubNhiFile) -> Iterator[Detection]:
        """One report per secret name a workflow reads that nothing visible defines."""
        if nhi.usage is None or nhi.usage.not_the_checkout(nhi.model.repository) is not None:
            # Another repository's inventory: these workflows do not read its secrets.
            return
        options = self.options
        known = (
            {name.upper() for name in options.organization_secrets}
            if isinstance(options, UndefinedSecretOptions)
            else set()
        )
        reported: set[str] = set(known)
        for use in nhi.usage.uses:
            if use.from_caller or use.name in reported or _defined(nhi.model, use):
                continue
            reported.add(use.name)
            where = _where(use)
            finding = self.located_finding(
                nhi.location(("secrets",)),
                f"{where} reads secrets.{use.name}, which is not a secret of {nhi.model.repository}"
                f"{_scope(nhi.model, use)} in this inventory; organisation secrets are not "
                "visible to the inventory: if it is one, list it under the rule's "
                "options.organization_secrets, otherwise the step runs with an empty value",
                evidence=f"secrets.{use.name}",
            )
            yield Detection(
                finding,
                no_fix_reason="report only: define the secret, or remove the reference",
            )


def _defined(model: GithubNhi, use: SecretUse) -> bool:
    names = {secret.name.upper() for secret in model.secrets}
    if use.name in names:
        return True
    for environment in model.environments:
        if use.environments is None or environment.name in use.environments:
            if use.name in {secret.name.upper() for secret in environment.secrets}:
                return True
    return False


def _where(use: SecretUse) -> str:
    job = f" job `{use.job}`" if use.job else ""
    return f"{use.path}:{use.line}{job}"


def _scope(model: GithubNhi, use: SecretUse) -> str:
    if use.environments is None:
        return " nor of any of its environments"
    if use.environments:
        return f" nor of environment {use.environments[0]!r}"
    return ""
