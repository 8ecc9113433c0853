"""The online ``uses:`` rules through ``mendbot analyze``: real bare repositories for the refs
(a fork's commit served through the parent among them), the fake GitHub for the API, the
report bytes and exit codes a user gets, the disk cache, ``--offline``, and the token."""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from fakegithub import TOKEN, FakeGitHub

from actions_api_world import api_environment, api_world
from bot.detectors.version_ranges import in_range, parse_version
from bot.resolvers.action_api import api_url_from_environment
from clirun import run_mendbot
from gitserver import serve

REMOTES = {
    "actions/checkout": {
        "c1": {"tags": ["v4.1.0"]},
        "evil": {"fork": True},
        "c2": {"tags": ["v4", "v4.2.2"], "annotated": ["v4.2.2"], "branches": ["main"]},
    },
    "actions/download-artifact": {
        "c1": {"tags": ["v4", "v4.1.0"]},
        "c2": {"tags": ["v4.1.7"], "branches": ["main"]},
    },
    "tj-actions/changed-files": {
        "c1": {"tags": ["v45", "v45.0.7"]},
        "c2": {"tags": ["v46", "v46.0.1"], "branches": ["main"]},
    },
}


def _advisory(ghsa: str, name: str, vulnerable: str, patched: str) -> dict[str, object]:
    return {
        "ghsa_id": ghsa,
        "type": "reviewed",
        "severity": "high",
        "summary": f"{name} is vulnerable",
        "vulnerabilities": [
            {
                "package": {"ecosystem": "actions", "name": name},
                "vulnerable_version_range": vulnerable,
                "first_patched_version": patched,
                "vulnerable_functions": [],
            }
        ],
    }


ADVISORIES = [
    _advisory("GHSA-cxww-7g56-2vh6", "actions/download-artifact", ">= 4.0.0, < 4.1.7", "4.1.7"),
    _advisory("GHSA-mrrh-fwg8-r2c3", "tj-actions/changed-files", "< 46.0.1", "46.0.1"),
]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Path, dict[str, dict[str, str]], FakeGitHub]]:
    """The action repositories (bare, on disk) and GitHub's API about them."""
    server = tmp_path / "actions"
    shas = serve(server, REMOTES)
    with api_world(server, {"advisories": ADVISORIES}) as github:
        yield server, shas, github


def _env(server: Path, github: FakeGitHub, cache: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        **api_environment(server, github),
        "MENDBOT_CACHE_DIR": str(cache),
        **extra,
    }


def _repository(tmp_path: Path, text: str) -> Path:
    repo = tmp_path / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "ci.yml").write_text(text, encoding="utf-8")
    return repo


def _api_requests(github: FakeGitHub) -> list[str]:
    return [r for r in github.requests if r.startswith("GET /api/v3/")]


def test_a_forks_commit_served_through_the_parent_is_reported_never_fixed(
    world, tmp_path: Path
) -> None:
    server, shas, github = world
    checkout = shas["actions/checkout"]
    text = (
        "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"
        f"      - uses: actions/checkout@{checkout['evil']} # v4.2.2\n"
        f"      - uses: actions/checkout@{checkout['c1']} # v4.1.0\n"
    )
    repo = _repository(tmp_path, text)
    env = _env(server, github, tmp_path / "cache")
    done = run_mendbot(
        "analyze", "--rule", "gha-impostor-commit", "--fix=all", "--format", "json",
        cwd=repo, env=env,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    (finding,) = json.loads(done.stdout)["findings"]
    assert finding["line"] == 6
    assert finding["severity"] == "high"
    assert finding["message"] == (
        f"{checkout['evil'][:12]} is on no branch and in no tag of actions/checkout: it may be "
        "a fork's commit that GitHub serves under this name; the comment claims v4.2.2, which "
        f"is {checkout['c2']}"
    )
    assert finding["no_fix_reason"].startswith("which commit was meant is for a person")
    assert (repo / ".github/workflows/ci.yml").read_text(encoding="utf-8") == text
    # The commit is really there under the parent's name: GitHub (and the fake) serve it.
    compared = [r for r in github.requests if "/compare/" in r]
    assert compared and all(r.endswith(f"...{checkout['evil']}") for r in compared)


def test_vulnerable_actions_move_to_the_patched_release_safe_within_the_major(
    world, tmp_path: Path
) -> None:
    server, shas, github = world
    artifact, changed = shas["actions/download-artifact"], shas["tj-actions/changed-files"]
    repo = _repository(
        tmp_path,
        "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/download-artifact@v4\n"
        f"      - uses: tj-actions/changed-files@{changed['c1']} # v45.0.7\n",
    )
    env = _env(server, github, tmp_path / "cache")
    rule = ("--rule", "gha-known-vulnerable-actions")
    safe = run_mendbot("analyze", *rule, "--fix", cwd=repo, env=env)
    assert safe.returncode == 1, safe.stdout + safe.stderr
    workflow = repo / ".github/workflows/ci.yml"
    assert "actions/download-artifact@v4.1.7\n" in workflow.read_text()
    assert f"tj-actions/changed-files@{changed['c1']} # v45.0.7\n" in workflow.read_text()
    assert "GHSA-mrrh-fwg8-r2c3" in safe.stdout
    every = run_mendbot("analyze", *rule, "--fix=all", cwd=repo, env=env)
    assert every.returncode == 0, every.stdout + every.stderr
    assert f"tj-actions/changed-files@{changed['c2']} # v46.0.1\n" in workflow.read_text()
    assert run_mendbot("analyze", *rule, cwd=repo, env=env).returncode == 0
    assert set(github.affects_asked) == {"actions/download-artifact", "tj-actions/changed-files"}
    assert artifact["c2"] not in workflow.read_text()  # a tag pin stays a tag pin


def test_answers_are_cached_on_disk_and_failures_for_ten_minutes(world, tmp_path: Path) -> None:
    server, shas, github = world
    text = (
        "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"
        f"      - uses: actions/download-artifact@{shas['actions/download-artifact']['c1']}"
        " # v4.1.0\n"
    )
    repo = _repository(tmp_path, text)
    rule = ("--rule", "gha-known-vulnerable-actions", "--format", "json")
    github.faults["security-advisories/list-global-advisories"] = [503]
    env = _env(server, github, tmp_path / "cache")
    failed = run_mendbot("analyze", *rule, cwd=repo, env=env)
    assert failed.returncode == 0, failed.stdout + failed.stderr
    assert json.loads(failed.stdout)["findings"] == []
    asked = len(_api_requests(github))
    # The server answers again, but the failure is remembered: no request within its lifetime.
    again = run_mendbot("analyze", *rule, cwd=repo, env=env)
    assert json.loads(again.stdout)["findings"] == []
    assert len(_api_requests(github)) == asked
    fresh = _env(server, github, tmp_path / "other-cache")
    first = run_mendbot("analyze", *rule, cwd=repo, env=fresh)
    assert first.returncode == 1
    asked = len(_api_requests(github))
    second = run_mendbot("analyze", *rule, cwd=repo, env=fresh)
    assert second.stdout == first.stdout
    assert len(_api_requests(github)) == asked


def test_offline_and_tokenless_runs_skip_with_a_note_and_ask_nothing(world, tmp_path: Path) -> None:
    server, shas, github = world
    repo = _repository(
        tmp_path,
        "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"
        f"      - uses: actions/checkout@{shas['actions/checkout']['evil']} # v4.2.2\n"
        "      - uses: actions/download-artifact@v4.1.0\n",
    )
    rules = [
        "--rule", "gha-impostor-commit", "--rule", "gha-known-vulnerable-actions",
        "--rule", "gha-archived-uses", "--rule", "gha-stale-action-refs",
    ]  # fmt: skip
    env = _env(server, github, tmp_path / "cache")
    offline = run_mendbot("analyze", "--offline", *rules, cwd=repo, env=env)
    assert offline.returncode == 0, offline.stdout + offline.stderr
    assert offline.stderr.strip() == (
        "note: needs network; run without --offline: skipped gha-impostor-commit, "
        "gha-stale-action-refs, gha-archived-uses (but for the actions on mendbot's list of "
        "archived ones), gha-known-vulnerable-actions"
    )
    del env["GITHUB_TOKEN"]
    tokenless = run_mendbot("analyze", *rules, "--format", "json", cwd=repo, env=env)
    assert [f["rule"] for f in json.loads(tokenless.stdout)["findings"]] == [
        "gha-stale-action-refs"
    ]
    assert tokenless.stderr.strip() == (
        "note: needs GitHub's API, which mendbot asks only with a token: set GITHUB_TOKEN: "
        "skipped gha-impostor-commit, gha-archived-uses (but for the actions on mendbot's "
        "list of archived ones), gha-known-vulnerable-actions"
    )
    assert _api_requests(github) == []


@pytest.fixture
def bystander() -> Iterator[list[str]]:
    """A server on another origin that records the Authorization header of every request."""
    seen: list[str] = []

    class Record(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization", ""))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"[]")

        def log_message(self, *args: object) -> None:
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Record)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    seen.insert(0, f"http://127.0.0.1:{httpd.server_address[1]}")
    yield seen
    httpd.shutdown()
    thread.join()


def test_the_token_stays_in_the_header_and_on_the_api_server(
    world, tmp_path: Path, bystander: list[str]
) -> None:
    server, shas, github = world
    origin = bystander.pop(0)
    # A page of advisories whose "next" link points at another server: following it would
    # hand that server the token.
    github.advisories[:] = [
        _advisory(f"GHSA-0000-0000-{n:04d}", "actions/download-artifact", "< 1.0.0", "1.0.0")
        for n in range(101)
    ]
    github.advisories_next_origin = origin
    github.faults["repos/compare-commits-with-basehead"] = [500] * 10
    repo = _repository(
        tmp_path,
        "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"
        f"      - uses: actions/checkout@{shas['actions/checkout']['evil']} # v4.2.2\n"
        "      - uses: actions/download-artifact@v4.1.0\n",
    )
    cache = tmp_path / "cache"
    report = tmp_path / "report.sarif"
    env = _env(server, github, cache)
    done = run_mendbot(
        "analyze", "--extra-report", f"sarif={report}", "--format", "json",
        "--rule", "gha-impostor-commit", "--rule", "gha-known-vulnerable-actions",
        cwd=repo, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert bystander == []
    assert any("/advisories" in r for r in github.requests)
    written = [done.stdout, done.stderr, report.read_text()]
    written += [p.read_text() for p in cache.rglob("*") if p.is_file()]
    errors = [p.read_text() for p in cache.rglob("*.json") if '"error"' in p.read_text()]
    assert any("next page is on another server" in e for e in errors)
    assert any("HTTP 500" in e for e in errors)
    assert not any(TOKEN in text for text in written)
    shutil.rmtree(cache)


def test_api_url_comes_from_the_environment_or_the_server() -> None:
    assert api_url_from_environment({}) == "https://api.github.com"
    assert api_url_from_environment({"GITHUB_SERVER_URL": "https://ghe.example/"}) == (
        "https://ghe.example/api/v3"
    )
    assert api_url_from_environment(
        {"GITHUB_SERVER_URL": "https://ghe.example", "GITHUB_API_URL": "https://api.ghe/"}
    ) == ("https://api.ghe")


@pytest.mark.parametrize(
    ("version", "vulnerable", "expected"),
    [
        ("v4.1.0", ">= 4.0.0, < 4.1.7", True),
        ("v4.1.7", ">= 4.0.0, < 4.1.7", False),
        ("v4", ">= 4.0.0, < 4.1.7", True),
        ("45.0.7", "< 46.0.1", True),
        ("v46.0.1", "< 46.0.1", False),
        ("v2.0", "= 2.0.0", True),
        ("v1.2.3", "<= 1.2.3", True),
        ("v1.2.3", "> 1.2.3", False),
        ("v1.2.3", "< 1.x", None),
        ("v1.2.3", "", None),
    ],
)
def test_version_ranges(version: str, vulnerable: str, expected: bool | None) -> None:
    parsed = parse_version(version)
    assert parsed is not None
    assert in_range(parsed, vulnerable) is expected


def test_worker_processes_get_the_resolver_and_report_the_same(world, tmp_path: Path) -> None:
    server, shas, github = world
    repo = _repository(
        tmp_path,
        "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"
        f"      - uses: actions/checkout@{shas['actions/checkout']['evil']} # v4.2.2\n",
    )
    (repo / ".github/workflows/other.yml").write_text(
        "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/download-artifact@v4.1.0\n",
        encoding="utf-8",
    )
    env = _env(server, github, tmp_path / "cache")
    args = ("analyze", "--no-cache", "--format", "json")
    alone = run_mendbot(*args, "--jobs", "1", cwd=repo, env=env)
    workers = run_mendbot(*args, "--jobs", "2", cwd=repo, env=env)
    assert workers.returncode == alone.returncode == 1, workers.stderr
    assert workers.stdout == alone.stdout
    rules = {f["rule"] for f in json.loads(workers.stdout)["findings"]}
    assert {"gha-impostor-commit", "gha-known-vulnerable-actions"} <= rules


def test_a_tokenless_result_is_not_served_from_the_cache_to_a_run_with_a_token(
    tmp_path: Path,
) -> None:
    server = tmp_path / "actions"
    serve(server, {"octo/old-action": {"c1": {"tags": ["v1", "v1.0.0"], "branches": ["main"]}}})
    repo = _repository(
        tmp_path,
        "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: octo/old-action@v1\n",
    )
    with api_world(server, {"archived": ["octo/old-action"]}) as github:
        env = _env(server, github, tmp_path / "cache")
        tokenless = {k: v for k, v in env.items() if k != "GITHUB_TOKEN"}
        args = ("analyze", "--rule", "gha-archived-uses", "--format", "json")
        before = run_mendbot(*args, cwd=repo, env=tokenless)
        assert json.loads(before.stdout)["findings"] == []
        after = run_mendbot(*args, cwd=repo, env=env)
        assert after.returncode == 1, after.stderr
        (finding,) = json.loads(after.stdout)["findings"]
        assert finding["message"].startswith("octo/old-action is archived")
        assert finding["no_fix_reason"] == "no maintained successor is recorded for it"


def test_a_zizmor_ignore_comment_is_honoured_and_never_overwritten(world, tmp_path: Path) -> None:
    server, shas, github = world
    evil = shas["actions/checkout"]["evil"]
    text = (
        "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"
        f"      - uses: actions/checkout@{evil} # zizmor: ignore[impostor-commit]\n"
        "      - uses: actions/download-artifact@v4.1.0"
        "  # zizmor: ignore[known-vulnerable-actions]\n"
    )
    repo = _repository(tmp_path, text)
    env = _env(server, github, tmp_path / "cache")
    done = run_mendbot(
        "analyze", "--rule", "gha-impostor-commit", "--rule", "gha-known-vulnerable-actions",
        "--fix=all", cwd=repo, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert (repo / ".github/workflows/ci.yml").read_text(encoding="utf-8") == text
