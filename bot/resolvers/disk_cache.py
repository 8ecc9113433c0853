"""A small on-disk JSON cache for lookups that are slow and change rarely (refs, digests).

Caching is an optimisation: a damaged or unreadable entry reads as missing, and a failed
write is ignored, because the lookup itself already succeeded.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any


def host_folder(url: str) -> str:
    """A folder name for the host (and port) of ``url``: ``https://ghcr.io`` → ``ghcr.io``."""
    return re.sub(r"[^A-Za-z0-9.-]+", "_", url.split("://", 1)[-1])


def read_fresh(path: Path | None, ttl_seconds: float) -> dict[str, Any] | None:
    """The entry at ``path`` if it exists, parses and is younger than ``ttl_seconds``."""
    if path is None or not path.is_file():
        return None
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
        if time.time() - float(entry["fetched_at"]) < ttl_seconds:
            return dict(entry)
    except (OSError, ValueError, KeyError, TypeError):
        return None  # a damaged entry is refetched
    return None


def write(path: Path | None, data: dict[str, Any]) -> None:
    """Store ``data`` (plus its time) at ``path`` atomically; errors are ignored."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({**data, "fetched_at": time.time()}), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass  # caching is an optimisation; the lookup already succeeded
