"""No command sends a GitHub token over plain http to another host, or trusts answers that
came that way: the attack is a man in the middle on the path, played here by an http proxy
that records every request it is asked to forward (requests and git both honour
``http_proxy``)."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from clirun import run_mendbot

TOKEN = "ghs_onPathAttackerWouldReadThis0123"
PLAIN = "http://github.example"


@pytest.fixture
def on_path() -> Iterator[tuple[str, list[str]]]:
    """A proxy that records what it is asked to forward and answers 502."""
    seen: list[str] = []

    class Recorder(BaseHTTPRequestHandler):
        def _record(self) -> None:
            seen.append(f"{self.command} {self.path} {dict(self.headers.items())}")
            self.send_response(502)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_CONNECT = _record

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def _env(proxy: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.upper().startswith(("GITHUB_", "GH_", "NO_PROXY", "MENDBOT_"))
    }
    env.update(
        GITHUB_TOKEN=TOKEN,
        http_proxy=proxy,
        HTTP_PROXY=proxy,
        MENDBOT_CACHE_DIR=str(tmp_path / "cache"),
        **extra,
    )
    return env


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "ci.yml").write_text(
        "on: push\npermissions: {}\njobs:\n  test:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - uses: actions/checkout@v4\n        with:\n"
        "          persist-credentials: false\n"
    )
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    return repo


COMMANDS = {
    "analyze (online rules)": ["analyze"],
    "gate": [
        "gate",
        "--pr",
        "1",
        *("--forge", "github", "--repository", "acme/app"),
        "--allow-unsigned",
    ],
    "propose": [
        "propose",
        "bundles",
        *("--forge", "github", "--repository", "acme/app"),
        "--allow-unsigned",
    ],
    "fleet plan": ["fleet", "plan", "--org", "acme"],
    "inventory github": ["inventory", "github", "--repository", "acme/app", "--out", "."],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_plain_http_api_root_is_refused_before_the_token_leaves(
    command: str, on_path: tuple[str, list[str]], checkout: Path, tmp_path: Path
) -> None:
    proxy, seen = on_path
    (checkout / "bundles").mkdir()
    env = _env(proxy, tmp_path, GITHUB_API_URL=f"{PLAIN}/api/v3")
    done = run_mendbot(*COMMANDS[command], cwd=checkout, env=env)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "plain http to github.example" in done.stderr
    assert "https://" in done.stderr  # what to do instead
    assert "Traceback" not in done.stderr
    assert seen == []
    assert TOKEN not in done.stdout + done.stderr


def test_the_same_root_over_loopback_is_used(
    on_path: tuple[str, list[str]], checkout: Path, tmp_path: Path
) -> None:
    """The refusal is about the path, not about http: a local server is reached (here the
    recorder itself, as the API root, answering 502)."""
    proxy, seen = on_path
    env = _env(proxy, tmp_path, GITHUB_API_URL=f"{proxy}/api/v3", no_proxy="127.0.0.1")
    done = run_mendbot(*COMMANDS["fleet plan"], cwd=checkout, env=env)
    assert done.returncode != 0
    assert "plain http" not in done.stderr
    assert seen and seen[0].startswith("GET /api/v3/orgs/acme/repos")


def test_pinning_never_lists_refs_over_plain_http(
    on_path: tuple[str, list[str]], checkout: Path, tmp_path: Path
) -> None:
    """The SHAs a pin writes come from the server's ref listing: over plain http a man in the
    middle could choose them. ``--offline`` still works on the same machine."""
    proxy, seen = on_path
    env = _env(proxy, tmp_path, GITHUB_SERVER_URL=PLAIN)
    before = (checkout / ".github" / "workflows" / "ci.yml").read_bytes()
    done = run_mendbot("analyze", "--fix", cwd=checkout, env=env)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "GITHUB_SERVER_URL" in done.stderr and "plain http to github.example" in done.stderr
    assert seen == []
    assert TOKEN not in done.stdout + done.stderr
    assert (checkout / ".github" / "workflows" / "ci.yml").read_bytes() == before

    offline = run_mendbot("analyze", "--offline", cwd=checkout, env=env)
    assert offline.returncode == 1, offline.stderr  # unpinned: a finding, no error
    assert seen == []
