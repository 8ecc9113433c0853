"""Ref resolution against real bare repositories: one ls-remote per repository, peeled tags,
the disk cache, $GITHUB_SERVER_URL, and pinning end to end through the CLI."""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.resolvers.action_refs import RefResolutionError, RefResolver, parse_ls_remote
from gitserver import serve

SPEC = {
    "actions/checkout": {
        "c1": {"tags": ["v4.1.0"]},
        "c2": {"tags": ["v4", "v4.2.2"], "annotated": ["v4.2.2"], "branches": ["main"]},
    },
    "actions/setup-node": {"c1": {"tags": ["v4", "v4.0.2"], "annotated": ["v4", "v4.0.2"]}},
}
WORKFLOW = """\
on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
      - uses: actions/checkout@v4.1.0
  b:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
"""


@pytest.fixture
def server(tmp_path: Path) -> tuple[Path, dict[str, dict[str, str]]]:
    root = tmp_path / "server"
    return root, serve(root, SPEC)


def test_parse_ls_remote_prefers_peeled_tags() -> None:
    output = (
        "a" * 40
        + "\trefs/heads/main\n"
        + "b" * 40
        + "\trefs/tags/v1\n"
        + "c" * 40
        + "\trefs/tags/v1^{}\n"
        + "d" * 40
        + "\trefs/pull/1/head\n"
        + "garbage line\n"
    )
    refs = parse_ls_remote(output)
    assert refs.branches == {"main": "a" * 40}
    assert refs.tags == {"v1": "c" * 40}


def test_annotated_tags_resolve_to_commits(server) -> None:
    root, shas = server
    refs = RefResolver(server_url=f"file://{root}").refs("actions", "setup-node")
    assert refs.tags == {
        "v4": shas["actions/setup-node"]["c1"],
        "v4.0.2": shas["actions/setup-node"]["c1"],
    }
    assert refs.version_tag_at(shas["actions/setup-node"]["c1"]) == "v4.0.2"


def test_one_ls_remote_per_repository_and_disk_cache(server, tmp_path: Path) -> None:
    root, _ = server
    cache = tmp_path / "cache"
    first = RefResolver(server_url=f"file://{root}", cache_dir=cache)
    for _ in range(3):
        first.refs("actions", "checkout")
        first.refs("Actions", "Checkout")
    assert first.remote_calls == 1
    second = RefResolver(server_url=f"file://{root}", cache_dir=cache)
    assert second.refs("actions", "checkout") == first.refs("actions", "checkout")
    assert second.remote_calls == 0
    expired = RefResolver(server_url=f"file://{root}", cache_dir=cache, ttl_seconds=0)
    expired.refs("actions", "checkout")
    assert expired.remote_calls == 1


def test_damaged_cache_is_refetched(server, tmp_path: Path) -> None:
    root, _ = server
    cache = tmp_path / "cache"
    RefResolver(server_url=f"file://{root}", cache_dir=cache).refs("actions", "checkout")
    (entry,) = cache.rglob("checkout.json")
    entry.write_text("{not json")
    again = RefResolver(server_url=f"file://{root}", cache_dir=cache)
    assert again.refs("actions", "checkout").branches["main"]
    assert again.remote_calls == 1


def test_missing_repository_is_a_clear_error_remembered_for_the_run(server) -> None:
    root, _ = server
    resolver = RefResolver(server_url=f"file://{root}")
    for _ in range(2):
        with pytest.raises(RefResolutionError, match="does not appear to be a git repository"):
            resolver.refs("octo", "gone")
    assert resolver.remote_calls == 1


def test_server_url_comes_from_the_environment(server, monkeypatch) -> None:
    root, _ = server
    monkeypatch.setenv("GITHUB_SERVER_URL", f"file://{root}/")
    resolver = RefResolver()
    assert resolver.url("actions", "checkout") == f"file://{root}/actions/checkout"
    assert "main" in resolver.refs("actions", "checkout").branches


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "analyze", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def test_cli_pins_online_and_reports_offline(server, workflows, monkeypatch) -> None:
    root, shas = server
    repo = workflows({"ci.yml": WORKFLOW})
    monkeypatch.setenv("GITHUB_SERVER_URL", f"file://{root}")
    offline = _cli(repo, "--offline", "--rule", "gha-unpinned-uses", "--fix", "--format", "json")
    report = json.loads(offline.stdout)
    assert {f["no_fix_reason"] for f in report["findings"]} == {
        "refs are not resolved offline; run without --offline to pin"
    }
    assert offline.returncode == 1
    done = _cli(repo, "--rule", "gha-unpinned-uses", "--fix")
    assert done.returncode == 0, done.stdout + done.stderr
    text = (repo / ".github/workflows/ci.yml").read_text()
    checkout = shas["actions/checkout"]
    assert f"actions/checkout@{checkout['c2']}  # v4.2.2\n" in text
    assert f"actions/checkout@{checkout['c1']}  # v4.1.0\n" in text
    assert f"actions/setup-node@{shas['actions/setup-node']['c1']}  # v4.0.2\n" in text
    again = _cli(repo, "--rule", "gha-unpinned-uses", "--rule", "gha-ref-version-mismatch")
    assert again.returncode == 0, again.stdout


@pytest.fixture
def stalled_https() -> Iterator[str]:
    """``https://127.0.0.1:<port>``: a loopback server that accepts connections and never
    answers (not even the TLS handshake), so every ``git ls-remote`` against it times out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        listener.close()


def _recording_git(folder: Path) -> Path:
    """A ``git`` for PATH that writes its argv (NUL-separated) to ``argv.<pid>`` and its
    GIT_CONFIG_* environment to ``env.<pid>``, then runs the real git.

    One file per invocation because lookups run concurrently: appends from two processes to
    one log interleave."""
    real = shutil.which("git")
    assert real is not None
    folder.mkdir()
    wrapper = folder / "git"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\0" "$@" > "{folder}/argv.$$"\n'
        f'env | grep "^GIT_CONFIG_" > "{folder}/env.$$"\n'
        f'exec "{real}" "$@"\n'
    )
    wrapper.chmod(0o755)
    return folder


def test_token_never_reaches_argv_nor_the_report_when_ls_remote_stalls(
    stalled_https: str, workflows, tmp_path: Path
) -> None:
    token = "ghs_secret1234567890"
    encoded = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    repo = workflows({"ci.yml": WORKFLOW})
    bin_dir = _recording_git(tmp_path / "bin")
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_SERVER_URL": stalled_https,
        "GITHUB_TOKEN": token,
        "MENDBOT_GIT_TIMEOUT": "1",
        "MENDBOT_CACHE_DIR": str(tmp_path / "cache"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot", "analyze", "--rule", "gha-unpinned-uses", "--format", "json"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    reasons = {f["no_fix_reason"] for f in json.loads(done.stdout)["findings"]}
    assert reasons == {
        f"cannot list refs of {stalled_https}/actions/checkout: no answer within 1 seconds "
        "($MENDBOT_GIT_TIMEOUT sets the limit)",
        f"cannot list refs of {stalled_https}/actions/setup-node: no answer within 1 seconds "
        "($MENDBOT_GIT_TIMEOUT sets the limit)",
    }
    for secret in (token, encoded):
        assert secret not in done.stdout
        assert secret not in done.stderr
    calls = [
        record.read_text().rstrip("\0").split("\0")
        for record in sorted(bin_dir.glob("argv.*"))
        if "ls-remote" in record.read_text()
    ]
    assert len(calls) == 2
    for argv in calls:
        assert not any(token in arg or encoded in arg for arg in argv), argv
        assert not any("extraHeader" in arg for arg in argv), argv
    # The token still authenticates the request, through the environment.
    assert f"Authorization: Basic {encoded}" in "".join(
        record.read_text() for record in bin_dir.glob("env.*")
    )
