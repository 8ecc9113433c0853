"""The text of an inventory file: one fixed layout, so equal models give equal bytes.

Fields appear in the model's order, every string is double-quoted (JSON escapes are YAML
escapes) except key ids and enum values, absent values are ``null``, lines end with LF, and
the header says what wrote the file without a date: a rerun on an unchanged account rewrites
nothing.
"""

from __future__ import annotations

import json

from bot.desired import AccessKey, AwsIamAccessKeys

HEADER = (
    "# IAM access keys of AWS account {account}, as `mendbot inventory aws` observed them.\n"
    "# Remediations change `status` (and remove keys); `mendbot deploy` applies merged changes.\n"
    "# Rerun the inventory to refresh; an `owner` written by hand is kept when no tag or\n"
    "# CODEOWNERS line names one.\n"
)


def _text(value: str | None) -> str:
    return "null" if value is None else json.dumps(value, ensure_ascii=False)


def _key(key: AccessKey) -> list[str]:
    return [
        f"  - id: {key.id}",
        f"    user: {_text(key.user)}",
        f"    status: {key.status}",
        f"    created: {_text(key.created)}",
        "    last_used:",
        f"      date: {_text(key.last_used.date)}",
        f"      service: {_text(key.last_used.service)}",
        f"      region: {_text(key.last_used.region)}",
        f"    owner: {_text(key.owner)}",
        *([f"    inactive_since: {_text(key.inactive_since)}"] if key.inactive_since else []),
    ]


def render_access_keys(inventory: AwsIamAccessKeys) -> str:
    """The file ``.mendbot/desired/aws-iam-access-key/<account>.yml`` for ``inventory``."""
    lines = [
        HEADER.format(account=inventory.account).rstrip("\n"),
        f"kind: {inventory.kind}",
        f"version: {inventory.version}",
        f"account: {_text(inventory.account)}",
    ]
    if not inventory.keys:
        lines.append("keys: []")
    else:
        lines.append("keys:")
        for key in inventory.keys:
            lines.extend(_key(key))
    return "\n".join(lines) + "\n"
