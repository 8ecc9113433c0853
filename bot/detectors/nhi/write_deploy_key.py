"""``nhi-github-write-deploy-key``: a deploy key that can push."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from bot.detectors.desired_rule import DesiredStateRule, GithubNhiFile
from bot.detectors.interface import Detection
from bot.models import Severity

_EXAMPLE = """\
kind: github-nhi
version: 1
repository: "acme/app"
deploy_keys:
  - id: 71
    title: "release pusher"
    read_only: false
    created_at: "2022-05-05T08:00:00Z"
    last_used: "2026-11-30T12:00:00Z"
"""


class WriteDeployKey(DesiredStateRule):
    """A deploy key with write access: reported, never changed."""

    id = "nhi-github-write-deploy-key"
    title = "Deploy key with write access"
    description = (
        "A deploy key with write access is a long-lived SSH credential that can push to the "
        "repository, bypassing the pull-request flow wherever branch rules do not stop it, "
        "and it belongs to no person (OWASP NHI5 Overprivileged NHI, NHI7 Long-Lived "
        "Secrets). Report only: GitHub cannot make an existing key read-only, and deleting "
        "it cuts off whatever uses it. Re-add the public key as read-only (`read_only: true`) "
        "if the consumer only clones, or replace it with a GitHub App token scoped to the "
        "job. The finding names the key's id, title, creation and last use."
    )
    default_severity = Severity.MEDIUM
    ignore_example = ".mendbot/desired/github-nhi/acme--sandbox.yml"
    nhi_thresholds: ClassVar[bool] = False
    suppression_entry: ClassVar[str] = "the deploy key's entry"
    example_path: ClassVar[str] = ".mendbot/desired/github-nhi/acme--app.yml"
    example_before: ClassVar[str] = _EXAMPLE
    example_after: ClassVar[str] = _EXAMPLE

    def visit_github_nhi(self, nhi: GithubNhiFile) -> Iterator[Detection]:
        """One report per deploy key that can push."""
        for index, key in enumerate(nhi.model.deploy_keys):
            if key.read_only:
                continue
            used = f"last used {key.last_used}" if key.last_used else "no use recorded"
            finding = self.located_finding(
                nhi.location(("deploy_keys", index, "read_only")),
                f"deploy key {key.id} ({key.title!r}) of {nhi.model.repository} can push "
                f"(read_only: false; created {key.created_at or 'at an unknown time'}, {used}); "
                "make it read-only unless it must push",
                evidence=f"deploy_keys[{key.id}].read_only: false",
                subject=f"github-nhi:{nhi.model.repository}:deploy-key:{key.id}",
            )
            yield Detection(
                finding,
                no_fix_reason="report only: GitHub cannot turn an existing key read-only; "
                "re-add its public key with read_only: true, then delete this one",
            )
