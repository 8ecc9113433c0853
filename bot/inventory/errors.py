"""The inventory's one error: telemetry could not be read, so nothing was written."""

from __future__ import annotations

from bot.errors import MendbotError


class InventoryError(MendbotError):
    """The inventory could not be taken (credentials, permissions, endpoint, output folder);
    no file was written or changed."""

    exit_code = 2
