"""``nhi-github-unused-secret``: an Actions secret no workflow or action reads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from bot.desired import ActionsSecret
from bot.detectors.desired_rule import DesiredStateRule, GithubNhiFile
from bot.detectors.interface import Detection
from bot.models import Confidence, Severity
from bot.risk import BlastRadius, Disposition, Reversibility
from bot.yamledit.document import Route
from bot.yamledit.ops import Remove

_HEAD = """\
kind: github-nhi
version: 1
repository: "acme/app"
secrets:
"""
_GONE = """\
  - name: OLD_DEPLOY_TOKEN
    created_at: "2021-03-02T09:14:00Z"
    updated_at: "2021-03-02T09:14:00Z"
"""
_KEEP = """\
  - name: NPM_TOKEN
    created_at: "2024-02-01T10:00:00Z"
    updated_at: "2024-06-01T10:00:00Z"
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
"""


#: Environments whose secrets GitHub hands to something other than a workflow expression: the
#: Copilot coding agent receives the ``copilot`` environment's as environment variables.
AGENT_ENVIRONMENTS = frozenset({"copilot"})


class UnusedSecret(DesiredStateRule):
    """A repository secret nothing in the repository reads: delete it (irreversible)."""

    id = "nhi-github-unused-secret"
    title = "Actions secret referenced by no workflow"
    description = (
        "A repository or environment Actions secret that no workflow, composite action or "
        "reusable-workflow call of the analysed checkout references is a credential kept for "
        "nothing: if it leaks it still works upstream, and nobody would notice it gone (OWASP "
        "NHI1 Improper Offboarding). References are read from every expression (`secrets.X`, "
        "`secrets['X']`, also after a `}}` inside a string literal and as YAML escapes resolve "
        "them), case-insensitively. mendbot is conservative: it reports nothing when "
        "a workflow passes every secret to a workflow outside the repository (`secrets: "
        "inherit`), reads the whole `secrets` context (`toJSON(secrets)`, `secrets.*`) or a "
        "computed name, "
        "when a workflow or action file could not be read or parsed, or when the checkout "
        "has no workflow at all "
        "(an inventory kept apart from the code), nor for an inventory of another repository "
        "than the checkout's: the one its `origin` remote names, or, without such a remote, "
        "the only repository the checkout holds GitHub inventories of. Secrets of the `copilot` "
        "environment are never reported: the Copilot coding agent receives them without any "
        "workflow naming them. Workflows that exist only on other branches "
        "are not seen. The fix removes the secret's entry from the `github-nhi` inventory file, "
        "which asks the deploy job to delete it: **irreversible** (secret values are "
        "write-only, nobody can restore one), so the fix is unsafe and `mendbot deploy` "
        "deletes the secret only when `deploy.allow_irreversible` is set and the gate's "
        "decision on the merge came from a policy demanding the stronger approvals, with the "
        "deployer App's token narrowed to the repository and `secrets: write`, and only if, "
        "at apply time, the secret's `updated_at` is still the one the analysis saw (a "
        "rotated secret is in use) and this same reference scan finds no reference in the "
        "merge commit's workflows and actions. Prefer deactivating the upstream credential "
        "first."
    )
    default_severity = Severity.LOW
    default_confidence = Confidence.MEDIUM
    fix_disposition = Disposition.UNSAFE
    reversibility = Reversibility.IRREVERSIBLE
    blast_radius = BlastRadius.SERVICE
    ignore_example = ".mendbot/desired/github-nhi/acme--sandbox.yml"
    nhi_thresholds: ClassVar[bool] = False
    suppression_entry: ClassVar[str] = "the secret's entry"
    example_path: ClassVar[str] = ".mendbot/desired/github-nhi/acme--app.yml"
    example_workflows: ClassVar[dict[str, str]] = {".github/workflows/release.yml": _RELEASE}
    example_before: ClassVar[str] = _HEAD + _GONE + _KEEP
    example_after: ClassVar[str] = _HEAD + _KEEP

    def visit_github_nhi(self, nhi: GithubNhiFile) -> Iterator[Detection]:
        """One detection per repository or environment secret nothing reads, fixed by
        removing its entry."""
        usage = nhi.usage
        repository = nhi.model.repository
        if usage is None or usage.files == 0 or usage.all_secrets_reasons:
            # Unknowable: any secret may be read, or the workflows are not in this checkout (an
            # inventory kept apart from the code would otherwise make every secret "unused").
            return
        if usage.not_the_checkout(repository) is not None:
            # Another repository's workflows say nothing of which of its secrets are read.
            return
        places: list[tuple[Route, str, str, ActionsSecret]] = [
            (("secrets", index), "", "secret", secret)
            for index, secret in enumerate(nhi.model.secrets)
        ]
        for number, environment in enumerate(nhi.model.environments):
            if environment.name.lower() in AGENT_ENVIRONMENTS:
                continue
            places += [
                (
                    ("environments", number, "secrets", index),
                    f" of environment {environment.name!r}",
                    f"environment:{environment.name}/secret",
                    secret,
                )
                for index, secret in enumerate(environment.secrets)
            ]
        for route, scope, kind, secret in places:
            if usage.is_referenced(secret.name):
                continue
            finding = self.located_finding(
                nhi.location(route),
                f"Actions secret {secret.name}{scope} of {repository} (set "
                f"{secret.updated_at or 'at an unknown time'}) is referenced by none of the "
                f"{usage.files} workflow and action files of this checkout; deleting it is "
                "irreversible (secret values are write-only)",
                evidence=f"{kind}:{secret.name}",
                subject=f"github-nhi:{repository}:{kind}:{secret.name}",
            )
            fix = self.fix(
                finding,
                f"Delete unused Actions secret {secret.name}{scope} of {repository} (irreversible)",
                [Remove(route=route)],
                target=finding.subject,
            )
            yield Detection(finding, fix)
