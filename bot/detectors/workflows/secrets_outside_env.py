"""``gha-secrets-outside-env``: a job reads secrets without a deployment ``environment:``
(an auditor's rule, off by default)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from bot.detectors.interface import Detection, WorkflowRule
from bot.models import Severity
from bot.workflow.expression_sites import ExpressionSite, expression_sites
from bot.workflow.expression_tree import contexts
from bot.workflow.model import Job, Workflow

NO_FIX = (
    "an environment is set up in the repository's settings (its secrets, reviewers and "
    "branch rules), not in the workflow: create it, move the secret there and add "
    "`environment: <name>` to the job, by hand"
)


class SecretsOutsideEnv(WorkflowRule):
    """Report secrets read by a job that has no ``environment:``."""

    id: ClassVar[str] = "gha-secrets-outside-env"
    title: ClassVar[str] = "secret read outside a deployment environment"
    description: ClassVar[str] = (
        "A secret stored in a deployment environment is handed only to jobs that name the "
        "environment, and the environment can require a reviewer or allow only some branches "
        "first. A repository or organisation secret goes to any job of any workflow on any "
        "branch a writer pushes. This rule lists each secret (but `GITHUB_TOKEN`) a job reads "
        "without an `environment:`, once per job and secret, so an auditor can move the ones "
        "that guard releases and deployments into an environment. **Off by default**: it "
        "describes where a secret lives, not a flaw; turn it on with `rules.gha-secrets-"
        "outside-env.enabled: true` or `--rule gha-secrets-outside-env`. Workflows that are "
        "also reusable (`workflow_call`) are skipped: a called workflow's environment does not "
        "receive the caller's secrets. Report only: environments are set up outside the "
        "workflow.\n\n"
        "Compared with zizmor's `secrets-outside-env`: the same jobs and secrets; zizmor shows "
        "them only with `--persona auditor`, one finding per occurrence."
    )
    default_severity: ClassVar[Severity] = Severity.LOW
    enabled_by_default: ClassVar[bool] = False
    example_before: ClassVar[str] = """\
on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - run: ./deploy.sh
        env:
          DEPLOY_KEY: ${{ secrets.DEPLOY_KEY }}
"""
    example_after: ClassVar[str] = example_before

    def visit_workflow(self, workflow: Workflow) -> Iterator[Detection]:
        """Check each job without ``environment:`` of a workflow that is not reusable."""
        if "workflow_call" in workflow.triggers:
            return
        sites = list(expression_sites(workflow))
        for job in workflow.jobs:
            if job.data.get("environment") is None and job.uses is None:
                yield from self._job(workflow, job, sites)

    def _job(
        self, workflow: Workflow, job: Job, sites: list[ExpressionSite]
    ) -> Iterator[Detection]:
        reported: set[str] = set()
        for site in sites:
            if site.route[: len(job.route)] != job.route:
                continue
            for context in contexts(site.tree):
                if context.parts[0] != "secrets" or len(context.parts) < 2:
                    continue
                name = context.parts[1]
                if name in ("github_token", "?") or name in reported:
                    continue
                reported.add(name)
                finding = self.finding(
                    workflow,
                    site.route,
                    f"job `{job.id}` reads `secrets.{name}` without an `environment:`: the "
                    "secret reaches any run of this job on any branch, with no reviewer or "
                    "branch rule in between",
                    evidence="${{ " + site.text + " }}",
                )
                yield Detection(finding, None, NO_FIX)
