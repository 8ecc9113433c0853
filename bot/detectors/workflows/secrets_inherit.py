"""``gha-secrets-inherit``: a reusable-workflow call passes on every secret (``inherit``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from bot.detectors.interface import Detection, WorkflowRule
from bot.models import Severity
from bot.workflow.model import Job

NO_FIX = (
    "replacing `inherit` needs the secrets the called workflow declares under "
    "`on.workflow_call.secrets`; list them explicitly by hand"
)


class SecretsInherit(WorkflowRule):
    """Report ``jobs.<id>.secrets: inherit``."""

    id: ClassVar[str] = "gha-secrets-inherit"
    title: ClassVar[str] = "reusable workflow receives every secret"
    description: ClassVar[str] = (
        "`secrets: inherit` hands a called workflow every secret the caller can read: the "
        "repository's, the organisation's and the environment's, whether the callee needs them "
        "or not. A bug or a compromise in the callee (or in any action it runs) exposes all of "
        "them. Pass only the secrets the callee declares under `on.workflow_call.secrets`, "
        "e.g. `secrets: {NPM_TOKEN: ${{ secrets.NPM_TOKEN }}}`. Severity is **high** when the "
        "callee lives in another repository (the secrets leave this repository's trust "
        "boundary) and **medium** for a local `./.github/workflows/…` callee. Report only: the "
        "fix needs the callee's declared secrets.\n\n"
        "Compared with zizmor's `secrets-inherit`: the same findings; zizmor grades every one "
        "medium."
    )
    default_severity: ClassVar[Severity] = Severity.HIGH
    example_before: ClassVar[str] = """\
on: push
jobs:
  release:
    uses: octo-org/shared/.github/workflows/release.yml@v1
    secrets: inherit
"""
    example_after: ClassVar[str] = example_before

    def visit_job(self, job: Job) -> Iterator[Detection]:
        """Check the job's ``secrets:``."""
        secrets = job.data.get("secrets")
        if not (isinstance(secrets, str) and secrets.strip() == "inherit"):
            return
        callee = job.uses
        if callee is None:
            return  # only reusable-workflow calls take `secrets:`; GitHub rejects the rest
        local = callee.local
        target = callee.raw
        if local:
            message = (
                f"`secrets: inherit` passes every secret to `{target}`, a workflow of this "
                "repository; pass only the secrets it declares under `on.workflow_call.secrets`"
            )
        else:
            message = (
                f"`secrets: inherit` passes every secret of this repository and its "
                f"organisation to `{target}`, a workflow in another repository: whoever "
                "controls or compromises it can read them all; pass only the secrets it declares"
            )
        finding = self.finding(
            job.workflow,
            (*job.route, "secrets"),
            message,
            evidence="secrets: inherit",
            severity=Severity.MEDIUM if local else Severity.HIGH,
        )
        yield Detection(finding, None, NO_FIX)
