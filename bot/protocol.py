"""What crosses identities: names and encodings the propose job writes and others read.

The propose job writes commits, labels and pull request bodies; the gate, the deploy job,
``mendbot revert`` and the forges read them back. Each side imports the constant from here, so
the writer and the readers can never drift apart. Nothing here imports anything of mendbot.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

#: The identity of every commit the bot makes; any other author or committer is a human.
BOT_NAME = "mendbot[bot]"
BOT_EMAIL = "mendbot@users.noreply.local"
#: The forge login of the bot (a GitHub App's bot user) on the local forge.
BOT_LOGIN = "mendbot[bot]"


def bot_commit_env(date: str | None = None) -> dict[str, str]:
    """The git environment of a commit the bot makes: its name and e-mail as author and
    committer, and, when given, a fixed ``date`` for both (so a rerun builds the same commit)."""
    env = {
        "GIT_AUTHOR_NAME": BOT_NAME,
        "GIT_AUTHOR_EMAIL": BOT_EMAIL,
        "GIT_COMMITTER_NAME": BOT_NAME,
        "GIT_COMMITTER_EMAIL": BOT_EMAIL,
    }
    if date is not None:
        env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    return env


#: The commit status (or check run) the gate reports; branch protection requires it.
STATUS_CONTEXT = "mendbot/policy"
#: Labels the gate sets: exactly one of them is on a pull request the gate has decided on.
GATE_LABEL_ALLOWED = "gate:pass"
GATE_LABEL_NEEDS_APPROVAL = "gate:needs-approval"
GATE_LABEL_BLOCKED = "gate:blocked"
GATE_LABELS = (GATE_LABEL_ALLOWED, GATE_LABEL_NEEDS_APPROVAL, GATE_LABEL_BLOCKED)
#: The label on every pull request the propose job opens.
BOT_LABEL = "mendbot"
#: Prefix of the label naming the remediation's risk (``risk:low`` …).
RISK_LABEL_PREFIX = "risk:"
#: Prefix of the labels naming each environment a change touches (``env:production``). Labels
#: are for people and searches only: the gate derives environments from paths, never labels.
ENVIRONMENT_LABEL_PREFIX = "env:"

#: Deploy outcomes that freeze their environment until resolved: something was applied and did
#: not hold (the deploy job writes them into its deployments; the gate reads them).
DEPLOY_FREEZING_OUTCOMES = frozenset({"compensated", "compensation-failed"})
#: The label of a rollback pull request: an open one that exactly reverts a merged bot change
#: freezes the environments that change touched.
ROLLBACK_LABEL = "mendbot:rollback"
#: The label of the exact revert of a merged remediation that a person asked for
#: (``mendbot revert``); like every label, informative only: the gate reads the content.
REVERT_LABEL = "mendbot:revert"
#: The ``repository_dispatch`` event the deploy job sends to get a revert pull request opened.
ROLLBACK_EVENT = "mendbot-rollback"

#: Where a merged remediation's attestation is committed: ``<dir>/<bundle-name>.sigstore.json``.
ATTESTATIONS_DIR = ".mendbot/attestations"

#: Commit trailers naming the remediation a bot commit applies (``git log --grep`` finds them;
#: ``git revert`` of that one commit undoes exactly one remediation).
TRAILER_REMEDIATION = "Mendbot-Remediation"
TRAILER_RULE = "Mendbot-Rule"
TRAILER_FINGERPRINT = "Mendbot-Fingerprint"
TRAILER_ATTESTATION = "Mendbot-Attestation"

#: Version of the hidden metadata comment at the end of a bot pull request body.
METADATA_VERSION = 1
_MARKER = "mendbot-metadata:v"
_METADATA = re.compile(r"<!-- mendbot-metadata:v(\d+) ([A-Za-z0-9+/=]+) -->")


def encode_metadata(data: dict[str, Any]) -> str:
    """The hidden metadata line: one HTML comment holding versioned, base64-encoded JSON (base64
    so that ``-->`` in a value can never end the comment). It must be the body's last line."""
    payload = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    return f"<!-- {_MARKER}{METADATA_VERSION} {base64.b64encode(payload).decode()} -->"


def decode_metadata(body: str) -> dict[str, Any] | None:
    """The hidden metadata of a body ending in :func:`encode_metadata`'s line: only its last
    non-empty line counts (None if absent or invalid). A look-alike anywhere else, e.g. in a
    file name shown in the body, is ignored."""
    lines = [line.strip() for line in body.splitlines() if line.strip()]
    match = _METADATA.fullmatch(lines[-1]) if lines else None
    if match is None or int(match[1]) != METADATA_VERSION:
        return None
    try:
        data = json.loads(base64.b64decode(match[2], validate=True))
    except (binascii.Error, ValueError):
        return None
    return data if isinstance(data, dict) else None
