"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def workflows(tmp_path: Path):
    """Write ``name → text`` into ``tmp_path/.github/workflows`` and return the repo root."""

    def write(files: dict[str, str | bytes]) -> Path:
        folder = tmp_path / ".github" / "workflows"
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            target = folder / name
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_bytes(content.encode("utf-8"))
        return tmp_path

    return write
