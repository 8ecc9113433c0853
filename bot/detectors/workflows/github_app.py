"""``gha-github-app``: GitHub App tokens minted with more reach than the job needs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from bot.detectors.interface import Detection, WorkflowRule
from bot.models import Confidence, Severity
from bot.workflow.model import Step

#: ``permission-<name>`` inputs that grant organization (or user) permissions only: a token
#: with no others reaches no repository, so it needs no ``repositories`` to narrow it.
_ACCOUNT_PERMISSIONS = ("permission-members", "permission-organization-", "permission-team-")
_NO_FIX = (
    "which permissions and repositories the token needs depends on what the job does with "
    "it: only a person can narrow it"
)
_NO_FIX_REVOKE = (
    "`skip-token-revoke` is written explicitly: a person chose to keep the token alive after "
    "the job, so mendbot reports it and never changes it"
)


def _true(value: object) -> bool | None:
    """The toolkit's boolean reading of an input (None when it is an expression)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip()
    if "${{" in text:
        return None
    return text.lower() == "true"


class GitHubApp(WorkflowRule):
    """Report ``actions/create-github-app-token`` steps that mint broad or lasting tokens."""

    id: ClassVar[str] = "gha-github-app"
    title: ClassVar[str] = "GitHub App token not narrowed"
    description: ClassVar[str] = (
        "`actions/create-github-app-token` mints an installation token of a GitHub App. "
        "Unless told otherwise the token carries **every** permission of the installation "
        "and, with `owner:` and no `repositories:`, reaches every repository the App is "
        "installed on: far more than `GITHUB_TOKEN` and than the job usually needs. A leak "
        "(a compromised step, a log) then reaches the whole organization. Reported: no "
        "`permission-<name>` input (the token gets all the installation's permissions); "
        "`owner:` without `repositories:` unless every permission is an organization one "
        "(`permission-members`, `permission-organization-*`, `permission-team-*`); and "
        "`skip-token-revoke: true` (the token outlives the job), with low confidence when "
        "it is an expression. A `with:` written as one expression is left to "
        "`gha-obfuscation`.\n\n"
        "Report only: the permissions and repositories a job needs depend on what it does "
        "with the token, and `skip-token-revoke` is a person's explicit choice.\n\n"
        "Compared with zizmor's `github-app` (regular persona): the same three findings, "
        "the same organization-only permissions exempted from `repositories`."
    )
    default_severity: ClassVar[Severity] = Severity.HIGH
    example_before: ClassVar[str] = """\
on: push
jobs:
  sync:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/create-github-app-token@v2
        with:
          app-id: ${{ vars.APP_ID }}
          private-key: ${{ secrets.APP_KEY }}
          permission-contents: write
          owner: my-org
"""
    example_after: ClassVar[str] = example_before

    def visit_step(self, step: Step) -> Iterator[Detection]:
        """Check one ``actions/create-github-app-token`` step."""
        uses = step.uses
        if uses is None or not uses.is_action("actions/create-github-app-token"):
            return
        raw = step.data.get("with", {})
        if not isinstance(raw, dict):
            return
        inputs = {str(key): value for key, value in raw.items()}
        workflow = step.workflow
        if "skip-token-revoke" in inputs:
            revoke = _true(inputs["skip-token-revoke"])
            if revoke is not False:
                route = (*step.route, "with", "skip-token-revoke")
                message = "`skip-token-revoke` keeps the App token valid after the job ends" + (
                    " when the expression is true" if revoke is None else ""
                )
                finding = self.finding(
                    workflow,
                    route,
                    message,
                    evidence="skip-token-revoke",
                    confidence=Confidence.LOW if revoke is None else Confidence.HIGH,
                )
                yield Detection(finding, None, _NO_FIX_REVOKE)
        permissions = [key for key in inputs if key.startswith("permission-")]
        if "owner" in inputs and "repositories" not in inputs:
            if not permissions or not all(p.startswith(_ACCOUNT_PERMISSIONS) for p in permissions):
                message = (
                    f"`owner: {inputs['owner']}` without `repositories:` gives the token every "
                    "repository the App is installed on"
                )
                route = (*step.route, "with", "owner")
                finding = self.finding(workflow, route, message, evidence="owner")
                yield Detection(finding, None, _NO_FIX)
        if not permissions:
            message = (
                "no `permission-<name>` input: the token carries every permission of the App's "
                "installation"
            )
            finding = self.finding(workflow, (*step.route, "uses"), message, evidence="permissions")
            yield Detection(finding, None, _NO_FIX)
