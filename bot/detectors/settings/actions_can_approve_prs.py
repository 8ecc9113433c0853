"""``gh-settings-actions-can-approve-prs``: workflows may approve pull requests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from bot.detectors.desired_rule import DesiredStateRule, GithubSettingsFile
from bot.detectors.interface import Detection
from bot.models import Severity
from bot.risk import BlastRadius, Disposition, Reversibility
from bot.yamledit.ops import Replace

_BEFORE = """\
kind: github-settings
version: 1
repository: "acme/app"
actions:
  default_workflow_permissions: read
  can_approve_pull_request_reviews: true   # GitHub's default for older repositories
"""
ROUTE = ("actions", "can_approve_pull_request_reviews")


class ActionsCanApprovePrs(DesiredStateRule):
    """Actions may approve pull requests: turn it off."""

    id = "gh-settings-actions-can-approve-prs"
    title = "GitHub Actions may approve pull requests"
    description = (
        "With *Allow GitHub Actions to create and approve pull requests* on, any workflow "
        "whose token has `pull-requests: write` can approve a pull request, so one compromised "
        "or injected workflow satisfies a required review by itself and code reaches the "
        "default branch without a person looking at it. The fix sets "
        "`can_approve_pull_request_reviews: false` in the `github-settings` inventory file; "
        "the deploy job applies it (`PUT /repos/{owner}/{repo}/actions/permissions/workflow`, "
        "an App token with `administration: write` for that repository alone) and a revert "
        "turns it back on. Safe: no workflow needs to approve pull requests to run, only to "
        "bypass a review. The finding names the inventory field and its value."
    )
    default_severity = Severity.MEDIUM
    fix_disposition = Disposition.SAFE
    reversibility = Reversibility.REVERSIBLE
    blast_radius = BlastRadius.SERVICE
    ignore_example = ".mendbot/desired/github-settings/acme--sandbox.yml"
    nhi_thresholds: ClassVar[bool] = False
    suppression_entry: ClassVar[str] = "the setting"
    example_path: ClassVar[str] = ".mendbot/desired/github-settings/acme--app.yml"
    example_before: ClassVar[str] = _BEFORE
    example_after: ClassVar[str] = _BEFORE.replace(
        "can_approve_pull_request_reviews: true", "can_approve_pull_request_reviews: false"
    )

    def visit_github_settings(self, settings: GithubSettingsFile) -> Iterator[Detection]:
        """One detection when Actions may approve pull requests, fixed by turning it off."""
        if settings.model.actions.can_approve_pull_request_reviews is not True:
            return
        repository = settings.model.repository
        finding = self.located_finding(
            settings.location(ROUTE),
            f"GitHub Actions may approve pull requests in {repository} "
            "(actions.can_approve_pull_request_reviews: true): a workflow token with "
            "pull-requests: write can satisfy a required review by itself",
            evidence="actions.can_approve_pull_request_reviews: true",
        )
        fix = self.fix(
            finding,
            f"Stop GitHub Actions approving pull requests in {repository}",
            [Replace(route=ROUTE, value=False)],
            target=f"github-settings:{repository}:actions.can_approve_pull_request_reviews",
        )
        yield Detection(finding, fix)
