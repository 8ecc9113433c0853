"""``gh-settings-default-token-write``: the default ``GITHUB_TOKEN`` can write."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from bot.detectors.desired_rule import DesiredStateRule, GithubSettingsFile
from bot.detectors.interface import Detection
from bot.detectors.nhi.workflow_usage import DefaultTokenJob
from bot.models import Severity
from bot.risk import BlastRadius, Disposition, Reversibility
from bot.yamledit.ops import Replace

_BEFORE = """\
kind: github-settings
version: 1
repository: "acme/app"
actions:
  default_workflow_permissions: write
  can_approve_pull_request_reviews: false
"""
_CI = """\
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: make test
"""
ROUTE = ("actions", "default_workflow_permissions")
#: Jobs named in a finding's message (the rest are counted).
SHOWN_JOBS = 10


class DefaultTokenWrite(DesiredStateRule):
    """The repository's default workflow token permissions are ``write``: set ``read``."""

    id = "gh-settings-default-token-write"
    title = "Default GITHUB_TOKEN permissions are read and write"
    description = (
        "A job that sets no `permissions:` (nor does its workflow) gets the repository's "
        "default token. With the default at *Read and write permissions* that token can push "
        "code, create releases and change issues and pull requests in every such job, so one "
        "injected command or compromised action in any of them can tamper with the "
        "repository. The fix sets `default_workflow_permissions: read` in the "
        "`github-settings` inventory file; the deploy job applies it "
        "(`PUT /repos/{owner}/{repo}/actions/permissions/workflow`) and a revert restores "
        "`write`. **Unsafe**: a job that relied on the implicit write access starts failing "
        "with 403s, so the finding lists, as evidence, every job of the analysed checkout "
        "that runs on the default (no `permissions:` in the job or its workflow). Merge the "
        "`gha-job-permissions` fixes for those jobs first, then flip the default; "
        "`mendbot deploy observe` watches the next runs and restores the old value when a "
        "workflow starts failing."
    )
    default_severity = Severity.MEDIUM
    fix_disposition = Disposition.UNSAFE
    reversibility = Reversibility.REVERSIBLE
    blast_radius = BlastRadius.SERVICE
    ignore_example = ".mendbot/desired/github-settings/acme--sandbox.yml"
    nhi_thresholds: ClassVar[bool] = False
    suppression_entry: ClassVar[str] = "the setting"
    example_path: ClassVar[str] = ".mendbot/desired/github-settings/acme--app.yml"
    example_workflows: ClassVar[dict[str, str]] = {".github/workflows/ci.yml": _CI}
    example_before: ClassVar[str] = _BEFORE
    example_after: ClassVar[str] = _BEFORE.replace(
        "default_workflow_permissions: write", "default_workflow_permissions: read"
    )

    def visit_github_settings(self, settings: GithubSettingsFile) -> Iterator[Detection]:
        """One detection when the default token can write, fixed by making it read-only."""
        if settings.model.actions.default_workflow_permissions != "write":
            return
        repository = settings.model.repository
        finding = self.located_finding(
            settings.location(ROUTE),
            f"the default GITHUB_TOKEN of {repository} can write "
            f"(actions.default_workflow_permissions: write); {_evidence(settings)}",
            evidence="actions.default_workflow_permissions: write",
        )
        fix = self.fix(
            finding,
            f"Make the default GITHUB_TOKEN of {repository} read-only",
            [Replace(route=ROUTE, value="read")],
            target=f"github-settings:{repository}:actions.default_workflow_permissions",
        )
        yield Detection(finding, fix)


def _evidence(settings: GithubSettingsFile) -> str:
    """Which jobs run on the default, for the reviewer of the change."""
    if settings.usage is None or settings.usage.files == 0:
        return "no workflow was analysed with this file, so the jobs relying on it are unknown"
    elsewhere = settings.usage.not_the_checkout(settings.model.repository)
    if elsewhere is not None:
        return f"{elsewhere}: the jobs relying on it are unknown"
    jobs = settings.usage.default_token_jobs
    if not jobs:
        return (
            f"every job of the {settings.usage.files} workflow files analysed sets its own "
            "permissions (none relies on this default)"
        )
    shown = ", ".join(_job(job) for job in jobs[:SHOWN_JOBS])
    more = f" and {len(jobs) - SHOWN_JOBS} more" if len(jobs) > SHOWN_JOBS else ""
    return (
        f"{len(jobs)} job(s) set no permissions and run with this default, so they may rely "
        f"on it: {shown}{more}"
    )


def _job(job: DefaultTokenJob) -> str:
    return f"{job.path}:{job.line} `{job.job}`"
