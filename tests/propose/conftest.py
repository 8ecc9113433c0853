"""Fixtures of the propose tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from keyfiles import write_keys


@pytest.fixture
def keys(signing_key, tmp_path: Path) -> tuple[Path, Path]:
    """The analysis' private key file and its public key file."""
    return write_keys(tmp_path, "analysis", signing_key)
