"""The desired-state format as the deploy job sees it: re-exported from :mod:`bot.desired`.

The models live in :mod:`bot.desired`, below the identities, so that the analysis (which writes
the inventory and the rules that read it) and the deploy job share one definition without
either importing the other.
"""

from __future__ import annotations

from bot.desired import (
    DESIRED_DIR,
    DESIRED_MODELS,
    GIT_WORKFLOW,
    MAX_DESIRED_BYTES,
    AccessKey,
    ActionsSettings,
    AwsIamAccessKeys,
    DesiredStateError,
    GithubSettings,
    KeyLastUsed,
    SelectedActions,
    as_state,
    json_schemas,
    kind_of,
    parse_desired,
)

__all__ = [
    "DESIRED_DIR",
    "DESIRED_MODELS",
    "GIT_WORKFLOW",
    "MAX_DESIRED_BYTES",
    "AccessKey",
    "ActionsSettings",
    "AwsIamAccessKeys",
    "DesiredStateError",
    "GithubSettings",
    "KeyLastUsed",
    "SelectedActions",
    "as_state",
    "json_schemas",
    "kind_of",
    "parse_desired",
]
