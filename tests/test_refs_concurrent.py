"""Online ref resolution at scale: repositories listed concurrently (a bounded number at once),
failures remembered briefly on disk, the same results whatever the order answers arrive in.

Action repositories are real bare repositories (``gitserver.py``) served over ``file://``; the
command-line tests put a ``git`` shim on ``PATH`` that counts every ``git ls-remote`` and how
many run at the same time.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bot.resolvers.action_refs import (
    CONCURRENCY,
    RefResolutionError,
    RefResolver,
    action_repositories,
)
from gitserver import serve

#: Twelve action repositories that exist, two that do not.
PRESENT = [f"acme/action-{index:02}" for index in range(12)]
MISSING = ["acme/gone", "nobody/nothing"]
SPEC = {slug: {"c1": {"tags": ["v1", "v1.0.0"], "branches": ["main"]}} for slug in PRESENT}


@pytest.fixture
def server(tmp_path: Path) -> tuple[Path, dict[str, dict[str, str]]]:
    root = tmp_path / "server"
    return root, serve(root, SPEC)


def _workflow() -> str:
    steps = "".join(f"      - uses: {slug}@v1\n" for slug in PRESENT + MISSING)
    return (
        "on: push\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        + steps
        + "      - uses: ./.github/actions/local\n      - uses: docker://alpine:3\n"
        + "      # - uses: commented/out@v1\n"
    )


def _shim(folder: Path) -> dict[str, str]:
    """``PATH`` with a ``git`` that logs each ``ls-remote`` to ``calls`` and the number of
    them running at that moment to ``peaks`` (each holds on a moment, so overlaps show)."""
    real = shutil.which("git")
    folder.mkdir()
    script = f"""#!/bin/sh
if [ "$1" = "ls-remote" ]; then
  echo "$4" >> "{folder}/calls"
  ( flock 9; n=$(cat "{folder}/running" 2>/dev/null || echo 0); n=$((n + 1))
    echo "$n" > "{folder}/running"; echo "$n" >> "{folder}/peaks" ) 9>"{folder}/lock"
  sleep 0.3
  ( flock 9; n=$(cat "{folder}/running"); echo $((n - 1)) > "{folder}/running" ) 9>"{folder}/lock"
fi
exec {real} "$@"
"""
    shim = folder / "git"
    shim.write_text(script)
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    return {**os.environ, "PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}


def _lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def test_analyze_lists_repositories_concurrently_and_a_rerun_asks_nothing(
    server, workflows, tmp_path, monkeypatch
) -> None:
    root, _ = server
    repo = workflows({"ci.yml": _workflow()})
    monkeypatch.setenv("GITHUB_SERVER_URL", f"file://{root}")
    command = [sys.executable, "-m", "bot", "analyze", "--rule", "gha-unpinned-uses"]
    command += ["--format", "json"]

    first = subprocess.run(
        command, cwd=repo, env=_shim(tmp_path / "one"), capture_output=True, text=True
    )
    again = subprocess.run(
        command, cwd=repo, env=_shim(tmp_path / "two"), capture_output=True, text=True
    )

    assert first.returncode == 1, first.stderr
    calls = _lines(tmp_path / "one" / "calls")
    assert sorted(calls) == sorted(f"file://{root}/{slug}" for slug in PRESENT + MISSING)
    peak = max(map(int, _lines(tmp_path / "one" / "peaks")))
    assert 1 < peak <= CONCURRENCY, f"{peak} ls-remote at once"
    report = json.loads(first.stdout)
    reasons = {f["no_fix_reason"] for f in report["findings"] if f["fix"] is None}
    assert any("acme/gone" in (reason or "") for reason in reasons), "a failure is reported"
    # Within the cache's lifetimes nothing is asked again, failures included, and the report
    # is the same bytes.
    assert _lines(tmp_path / "two" / "calls") == []
    assert again.stdout == first.stdout


def test_a_failure_is_remembered_briefly_across_runs_then_retried(server, tmp_path) -> None:
    root, _ = server
    cache = tmp_path / "cache"
    first = RefResolver(server_url=f"file://{root}", cache_dir=cache)
    with pytest.raises(RefResolutionError) as failed:
        first.refs("acme", "gone")
    later = RefResolver(server_url=f"file://{root}", cache_dir=cache)
    with pytest.raises(RefResolutionError) as remembered:
        later.refs("acme", "gone")
    expired = RefResolver(server_url=f"file://{root}", cache_dir=cache, negative_ttl_seconds=0)
    with pytest.raises(RefResolutionError):
        expired.refs("acme", "gone")

    assert (first.remote_calls, later.remote_calls, expired.remote_calls) == (1, 0, 1)
    assert str(remembered.value) == str(failed.value)


def test_a_repository_that_appears_later_is_found_once_the_failure_expires(
    server, tmp_path
) -> None:
    root, _ = server
    cache = tmp_path / "cache"
    with pytest.raises(RefResolutionError):
        RefResolver(server_url=f"file://{root}", cache_dir=cache).refs("late", "action")
    serve(root, {"late/action": {"c1": {"tags": ["v2"]}}})
    retried = RefResolver(server_url=f"file://{root}", cache_dir=cache, negative_ttl_seconds=0)
    assert "v2" in retried.refs("late", "action").tags
    assert (
        "v2"
        in RefResolver(server_url=f"file://{root}", cache_dir=cache).refs("late", "action").tags
    ), "the success replaced the remembered failure"


def test_prefetch_gives_what_one_lookup_at_a_time_gives(server) -> None:
    root, _ = server
    slugs = [tuple(slug.split("/")) for slug in reversed(PRESENT + MISSING)]
    ahead = RefResolver(server_url=f"file://{root}")
    ahead.prefetch([*slugs, *slugs])
    one_by_one = RefResolver(server_url=f"file://{root}")

    def outcome(resolver: RefResolver, owner: str, repo: str) -> object:
        try:
            return resolver.refs(owner, repo)
        except RefResolutionError as exc:
            return str(exc)

    calls = ahead.remote_calls
    assert [outcome(ahead, *s) for s in slugs] == [outcome(one_by_one, *s) for s in slugs]
    assert calls == ahead.remote_calls == len(PRESENT + MISSING), "one ls-remote each, ever"


def test_action_repositories_reads_remote_uses_lines_only() -> None:
    found = action_repositories([_workflow(), "  - uses: Acme/Action-00/sub/dir@v1\n"])
    assert found == sorted(
        (tuple(slug.split("/")) for slug in PRESENT + MISSING), key=lambda s: "/".join(s).lower()
    )
