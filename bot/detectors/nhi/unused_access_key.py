"""``nhi-aws-unused-access-key``: an Active IAM access key nobody has used for a long time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import ClassVar

from bot.desired import AccessKey
from bot.detectors.desired_rule import AccessKeysFile, DesiredStateRule, day, parse_time
from bot.detectors.interface import Detection
from bot.models import Severity
from bot.risk import BlastRadius, Disposition, Ownership, Reversibility
from bot.yamledit.ops import Replace

_BEFORE = """\
kind: aws-iam-access-key
version: 1
account: "123456789012"
keys:
  - id: AKIAEXAMPLEBACKUP001
    user: "legacy-backup"
    status: Active
    created: "2021-03-02T09:14:00Z"
    last_used:
      date: null
      service: null
      region: null
    owner: "storage-team"
  - id: AKIAEXAMPLEDEPLOY001
    user: "ci-deployer"
    status: Active
    created: "2021-03-02T09:15:00Z"
    last_used:
      date: "2026-12-01T16:40:00Z"
      service: "s3"
      region: "eu-west-1"
    owner: "platform-team"
"""


class UnusedAccessKey(DesiredStateRule):
    """An Active access key unused for ``nhi.unused_after_days``: deactivate it."""

    id = "nhi-aws-unused-access-key"
    title = "Active AWS access key not used for a long time"
    description = (
        "A long-lived access key nobody uses is pure exposure: if it leaks, it works, and no "
        "one would notice it missing (OWASP NHI1 Improper Offboarding, NHI7 Long-Lived "
        "Secrets; CIS AWS 1.12). A key counts as unused when IAM's last use "
        "(`last_used.date`) is at least `nhi.unused_after_days` (default 90) days old, or "
        "when it was never used and was created at least that long ago; "
        "`nhi.unused_after_days: 0` reports every never-used key (and no key that was ever "
        "used). The fix sets that key's "
        "`status: Inactive` and nothing else: the deploy job then calls `UpdateAccessKey` with "
        "credentials scoped to that user, and reactivating is one revert away (AWS's own "
        "rotation runbook: deactivate, observe, delete later). The finding names the "
        'evidence (the last use or "never used", the creation date) and the threshold.'
    )
    default_severity = Severity.MEDIUM
    fix_disposition = Disposition.SAFE
    reversibility = Reversibility.REVERSIBLE
    blast_radius = BlastRadius.SERVICE
    example_before: ClassVar[str] = _BEFORE
    example_after: ClassVar[str] = _BEFORE.replace(
        '    status: Active\n    created: "2021-03-02T09:14:00Z"',
        '    status: Inactive\n    created: "2021-03-02T09:14:00Z"',
    )

    def visit_access_keys(self, keys: AccessKeysFile) -> Iterator[Detection]:
        """One detection per Active key unused for the threshold, fixed by deactivating it."""
        threshold = keys.nhi.unused_after_days
        for index, key in enumerate(keys.model.keys):
            if key.status != "Active":
                continue
            evidence = _unused_evidence(key, keys, threshold)
            if evidence is None:
                continue
            finding = self.located_finding(
                keys.location(("keys", index, "status")),
                f"access key {key.id} of IAM user {key.user} in account {keys.model.account} is "
                f"Active and {evidence}, at or over nhi.unused_after_days: {threshold}; "
                "deactivate it (reversible: set it Active again if something breaks)",
                evidence=key.id,
                subject=keys.subject(key),
            )
            fix = self.fix(
                finding,
                f"Deactivate unused access key {key.id} of {key.user}",
                [Replace(route=("keys", index, "status"), value="Inactive")],
                ownership=Ownership.KNOWN if key.owner else Ownership.UNKNOWN,
                target=keys.subject(key),
            )
            yield Detection(finding, fix)


def _unused_evidence(key: AccessKey, keys: AccessKeysFile, threshold: int) -> str | None:
    """Why the key counts as unused (last use, or never used and its age), or None."""
    limit = timedelta(days=threshold)
    used = parse_time(key.last_used.date)
    created = parse_time(key.created)
    if used is not None:
        idle = keys.now - used
        # 0 asks for "every never-used key": a key that was ever used is not one of them.
        if threshold == 0 or idle < limit:
            return None
        return f"last used {day(used)} ({idle.days} days ago{_where(key)})"
    if created is None:
        # Never used and of unknown age: only "every never-used key" can count it.
        return "never used (creation date unknown)" if threshold == 0 else None
    age = keys.now - created
    if age < limit:
        return None
    return f"never used since its creation on {day(created)} ({age.days} days ago)"


def _where(key: AccessKey) -> str:
    parts = [part for part in (key.last_used.service, key.last_used.region) if part]
    return f", {' in '.join(parts)}" if parts else ""
