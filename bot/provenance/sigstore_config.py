"""Which Sigstore instance to use: production, or a pinned client trust config.

``MENDBOT_SIGSTORE_TRUST_CONFIG`` names a Sigstore *client trust config* JSON file
(``application/vnd.dev.sigstore.clienttrustconfig.v0.1+json``: trusted root + signing config).
Set, it replaces Sigstore's production instance for signing and verification: for private
Sigstore deployments, air-gapped verification with a pinned root, and the offline tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.provenance.errors import ProvenanceError

TRUST_CONFIG_ENV = "MENDBOT_SIGSTORE_TRUST_CONFIG"


class TrustConfigError(ProvenanceError):
    """The configured Sigstore client trust config cannot be read."""

    advice = f"point {TRUST_CONFIG_ENV} at a valid client trust config JSON file, or unset it"


def client_trust_config(env: Mapping[str, str]) -> Any | None:
    """The :class:`sigstore.models.ClientTrustConfig` named by the environment, or None.

    Raises :class:`TrustConfigError` when the file is unreadable or invalid.
    """
    name = env.get(TRUST_CONFIG_ENV)
    if not name:
        return None
    from sigstore.models import ClientTrustConfig

    try:
        return ClientTrustConfig.from_json(Path(name).read_text(encoding="utf-8"))
    except OSError as exc:
        raise TrustConfigError(f"cannot read {name}: {exc.strerror}") from None
    except Exception as exc:  # the sigstore models raise pydantic and value errors
        raise TrustConfigError(f"{name} is not a Sigstore client trust config: {exc}") from None
