"""``nhi-aws-inactive-access-key``: a key left Inactive, unused, past the cooling period."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import ClassVar

from bot.detectors.desired_rule import AccessKeysFile, DesiredStateRule, day, parse_time
from bot.detectors.interface import Detection
from bot.models import Severity
from bot.risk import BlastRadius, Disposition, Ownership, Reversibility
from bot.yamledit.ops import Remove

_KEEP = """\
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
_HEAD = """\
kind: aws-iam-access-key
version: 1
account: "123456789012"
keys:
"""
_GONE = """\
  - id: AKIAEXAMPLEBACKUP001
    user: "legacy-backup"
    status: Inactive
    created: "2021-03-02T09:14:00Z"
    last_used:
      date: "2021-06-30T17:02:00Z"
      service: "s3"
      region: "eu-west-1"
    owner: "storage-team"
    inactive_since: "2022-01-10T08:00:00Z"
"""


class InactiveAccessKey(DesiredStateRule):
    """A key Inactive for ``nhi.delete_after_days`` with no use since: delete it (irreversible)."""

    id = "nhi-aws-inactive-access-key"
    title = "Inactive AWS access key past its cooling period"
    description = (
        "The last step of deactivate → observe → delete: a key that has stayed `Inactive` for "
        "`nhi.delete_after_days` (default 30) days since the inventory first saw it "
        "deactivated (`inactive_since`), with no recorded use since, is still a credential "
        "someone could reactivate. The fix removes the key's entry, which the deploy job "
        "turns into `DeleteAccessKey`. **Deleting is irreversible** (the secret cannot be "
        "recovered), so the fix is unsafe, is never proposed together with reversible "
        "fixes, and `mendbot deploy` deletes the key only when `deploy.allow_irreversible` "
        "is set, the gate's decision on the merge came from a policy demanding the stronger "
        "approvals (the shipped ones: two of the security team), "
        "`deploy.environments.<env>.aws_deletion_role_arn` names the deletion role, and, "
        "re-read with the deploy credentials, the key still belongs to the same user, is still "
        "`Inactive` and has not been used since the analysis saw it; otherwise nothing is "
        "deleted and the record says why. A key without `inactive_since` is not judged: "
        "nobody knows for how long it has been inactive."
    )
    default_severity = Severity.LOW
    fix_disposition = Disposition.UNSAFE
    reversibility = Reversibility.IRREVERSIBLE
    blast_radius = BlastRadius.SERVICE
    example_before: ClassVar[str] = _HEAD + _GONE + _KEEP
    example_after: ClassVar[str] = _HEAD + _KEEP

    def visit_access_keys(self, keys: AccessKeysFile) -> Iterator[Detection]:
        """One detection per Inactive key past the cooling period, fixed by removing it."""
        threshold = keys.nhi.delete_after_days
        for index, key in enumerate(keys.model.keys):
            since = parse_time(key.inactive_since)
            if key.status != "Inactive" or since is None:
                continue
            inactive = keys.now - since
            if inactive < timedelta(days=threshold):
                continue
            used = parse_time(key.last_used.date)
            if used is not None and used > since:
                continue  # used after it was seen Inactive: someone needs to look, not delete
            last = "never used" if used is None else f"last used {day(used)}"
            finding = self.located_finding(
                keys.location(("keys", index)),
                f"access key {key.id} of IAM user {key.user} in account {keys.model.account} "
                f"has been Inactive since {day(since)} ({inactive.days} days), {last}, at or "
                f"over nhi.delete_after_days: {threshold}; deleting it is irreversible",
                evidence=key.id,
                subject=keys.subject(key),
            )
            fix = self.fix(
                finding,
                f"Delete inactive access key {key.id} of {key.user} (irreversible)",
                [Remove(route=("keys", index))],
                ownership=Ownership.KNOWN if key.owner else Ownership.UNKNOWN,
                target=keys.subject(key),
            )
            yield Detection(finding, fix)
