"""``nhi-aws-key-without-owner``: an access key nobody answers for."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from bot.detectors.desired_rule import AccessKeysFile, DesiredStateRule
from bot.detectors.interface import Detection
from bot.models import Severity

_EXAMPLE = """\
kind: aws-iam-access-key
version: 1
account: "123456789012"
keys:
  - id: AKIAEXAMPLEREPORT001
    user: "reporting"
    status: Active
    created: "2021-03-02T09:14:00Z"
    last_used:
      date: "2026-12-01T16:40:00Z"
      service: "athena"
      region: "eu-west-1"
    owner: null
"""


class KeyWithoutOwner(DesiredStateRule):
    """A key whose owner is unknown: reported, never fixed."""

    id = "nhi-aws-key-without-owner"
    title = "AWS access key without a known owner"
    description = (
        "Nobody can be asked whether a key is still needed, nobody rotates it, and nobody "
        "notices when it is abused (OWASP NHI1 Improper Offboarding). The inventory takes the "
        "owner from the IAM user's `owner` or `team` tag, else from the CODEOWNERS line that "
        "names the inventory file, else keeps an `owner` written into the file by hand. "
        "Report only: mendbot does not guess an owner. Tag the user (`owner=<team>`), add a "
        "CODEOWNERS line for the file, or write `owner:` for the key."
    )
    default_severity = Severity.LOW
    example_before: ClassVar[str] = _EXAMPLE
    example_after: ClassVar[str] = _EXAMPLE

    def visit_access_keys(self, keys: AccessKeysFile) -> Iterator[Detection]:
        """One report per key without an owner."""
        for index, key in enumerate(keys.model.keys):
            if key.owner:
                continue
            finding = self.located_finding(
                keys.location(("keys", index, "owner")),
                f"access key {key.id} of IAM user {key.user} in account {keys.model.account} has "
                "no known owner (no owner/team tag on the user, no CODEOWNERS line for this "
                "file, no owner written here): nobody can confirm it is still needed",
                evidence=key.id,
                subject=keys.subject(key),
            )
            yield Detection(
                finding,
                no_fix_reason="report only: an owner is a person's decision; tag the IAM user "
                "(owner=<team>) or add a CODEOWNERS line for this file",
            )
