"""The text of an inventory file: one fixed layout, so equal models give equal bytes.

Fields appear in the model's order, every string is double-quoted (JSON escapes are YAML
escapes) except key ids and enum values, absent values are ``null``, lines end with LF, and
the header says what wrote the file without a date: a rerun on an unchanged account rewrites
nothing.
"""

from __future__ import annotations

import json
import re

from bot.desired import AccessKey, AwsIamAccessKeys

HEADER = (
    "# IAM access keys of AWS account {account}, as `mendbot inventory aws` observed them.\n"
    "# Remediations change `status` (and remove keys); `mendbot deploy` applies merged changes.\n"
    "# Rerun the inventory to refresh; an `owner` written by hand is kept when no tag or\n"
    "# CODEOWNERS line names one.\n"
)


#: Characters YAML reads differently than JSON writes them, or refuses, when left bare: C1
#: controls (NEL is a line break to YAML), DEL, the Unicode line and paragraph separators,
#: the byte order mark, and lone surrogates.
_YAML_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff]")


def quoted(value: str | None) -> str:
    """``value`` as a double-quoted YAML scalar that reads back as exactly ``value`` (a JSON
    string, with the characters YAML treats apart escaped), or ``null``."""
    if value is None:
        return "null"
    text = json.dumps(value, ensure_ascii=False)
    return _YAML_UNSAFE.sub(lambda match: f"\\u{ord(match[0]):04x}", text)


def _key(key: AccessKey) -> list[str]:
    return [
        f"  - id: {key.id}",
        f"    user: {quoted(key.user)}",
        *([f"    user_path: {quoted(key.user_path)}"] if key.user_path != "/" else []),
        f"    status: {key.status}",
        f"    created: {quoted(key.created)}",
        "    last_used:",
        f"      date: {quoted(key.last_used.date)}",
        f"      service: {quoted(key.last_used.service)}",
        f"      region: {quoted(key.last_used.region)}",
        f"    owner: {quoted(key.owner)}",
        *([f"    inactive_since: {quoted(key.inactive_since)}"] if key.inactive_since else []),
    ]


def render_access_keys(inventory: AwsIamAccessKeys) -> str:
    """The file ``.mendbot/desired/aws-iam-access-key/<account>.yml`` for ``inventory``."""
    lines = [
        HEADER.format(account=inventory.account).rstrip("\n"),
        f"kind: {inventory.kind}",
        f"version: {inventory.version}",
        f"account: {quoted(inventory.account)}",
    ]
    if not inventory.keys:
        lines.append("keys: []")
    else:
        lines.append("keys:")
        for key in inventory.keys:
            lines.extend(_key(key))
    return "\n".join(lines) + "\n"
