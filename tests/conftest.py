"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

#: Fixtures of the chain (provenance, propose, gate, deploy): real git repositories, keys, a
#: fake GitHub, a loopback Sigstore, and an isolated environment for every test.
pytest_plugins = ["chain_fixtures"]


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


@pytest.fixture(autouse=True)
def _no_network_for_refs(tmp_path_factory, monkeypatch) -> None:
    """Action refs resolve against an empty local server and a private cache, never the
    internet; tests that need refs build real bare repositories (see gitserver.py). Image
    registries are turned off; tests that need one run a loopback registry (registryserver.py)."""
    empty = tmp_path_factory.mktemp("no-server")
    monkeypatch.setenv("GITHUB_SERVER_URL", f"file://{empty}")
    monkeypatch.setenv("MENDBOT_REGISTRY_MIRRORS", "*=off")
    monkeypatch.setenv("MENDBOT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("GH_TOKEN", raising=False)
