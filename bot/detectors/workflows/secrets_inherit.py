"""``gha-secrets-inherit``: a reusable-workflow call passes on every secret (``inherit``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from bot.detectors.interface import Detection, WorkflowRule
from bot.models import Finding, Severity
from bot.risk import Disposition
from bot.workflow.callee_secrets import callee_secrets
from bot.workflow.model import Job
from bot.workflow.permission_needs import load_local_workflow
from bot.yamledit.ops import Remove, Replace

REMOTE = (
    "the called workflow lives in another repository, so which secrets it reads is not in "
    "this one: list the ones it declares under `on.workflow_call.secrets` by hand"
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
        "boundary) and **medium** for a local `./.github/workflows/…` callee.\n\n"
        "For a local callee (`./…` or `$/…`) mendbot reads the called workflow: a callee only "
        "ever sees a secret through `secrets.NAME` in its own expressions, so when it reads "
        "every secret by name and declares each one it reads, the fix replaces `inherit` with "
        "exactly those (`NAME: ${{ secrets.NAME }}`, spelled as declared, plus any declared "
        "`required: true`), or removes `secrets:` when the callee reads none (`GITHUB_TOKEN` "
        "is always passed). **Safe**: the callee receives the same value for every secret it "
        "reads, and nothing else. Report only, with the reason, when the callee is in another "
        "repository, cannot be read, reads the `secrets` context as a whole "
        "(`toJSON(secrets)`, `secrets[<expression>]`), passes `inherit` on to a workflow of "
        "its own, or reads a secret it does not declare (GitHub rejects an explicit secret "
        "the callee does not declare: declare it under `on.workflow_call.secrets` first, "
        "and mendbot proposes the list on its next run).\n\n"
        "Compared with zizmor's `secrets-inherit`: the same findings; zizmor grades every one "
        "medium and proposes no fix, where mendbot lists the secrets of a local callee."
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
    fix_disposition: ClassVar[Disposition | None] = Disposition.SAFE

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
        if not local:
            yield Detection(finding, None, REMOTE)
            return
        yield self._explicit(job, finding, target)

    def _explicit(self, job: Job, finding: Finding, target: str) -> Detection:
        """Replace ``inherit`` with the secrets the local callee reads, when they are known."""
        callee = load_local_workflow(job.workflow, target)
        if callee is None:
            return Detection(
                finding, None, f"mendbot cannot read `{target}` in this repository: fix by hand"
            )
        found = callee_secrets(callee)
        if found.whole is not None:
            return Detection(
                finding,
                None,
                f"`{callee.path}` may read any secret ({found.whole}): list the ones it needs "
                "by hand",
            )
        undeclared = found.undeclared()
        if undeclared:
            names = ", ".join(f"`{name.upper()}`" for name in undeclared)
            them = "it" if len(undeclared) == 1 else "them"
            return Detection(
                finding,
                None,
                f"`{callee.path}` reads {names} without declaring {them} under "
                "`on.workflow_call.secrets`, and GitHub rejects an explicit secret the callee "
                f"does not declare: declare {them} there, then run mendbot again to list "
                f"{them} here",
            )
        route = (*job.route, "secrets")
        explicit = found.explicit()
        if not explicit:
            fix = self.fix(
                finding,
                f"pass no secrets: `{callee.path}` reads none (GITHUB_TOKEN is always passed)",
                [Remove(route=route)],
            )
            return Detection(finding, fix)
        fix = self.fix(
            finding,
            f"pass only the secrets `{callee.path}` reads: " + ", ".join(explicit),
            [Replace(route=route, value=explicit)],
        )
        return Detection(finding, fix)
