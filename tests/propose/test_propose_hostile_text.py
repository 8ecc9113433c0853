"""Attacks on the propose job through text it renders and metadata it reads back.

A workflow's file name reaches the pull request's title, body and commit message; pull requests
opened by people can carry a copied metadata comment; GitHub can refuse one pull request. Every
test runs ``mendbot propose`` as a user does (a subprocess) on bundles made by ``mendbot analyze
--bundle-out`` from real repositories, against the local forge or the test GitHub.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from fakegithub import TOKEN, FakeGitHub

from bot.protocol import decode_metadata as metadata
from clirun import run_mendbot

REPO = "octo/project"
FAKE_FINGERPRINT = "0" * 64


def fake_metadata(fingerprint: str) -> str:
    """Hidden metadata in the bot's format naming ``fingerprint``, as anyone can write it."""
    data = json.dumps({"fingerprints": [fingerprint]}, separators=(",", ":")).encode()
    return f"<!-- mendbot-metadata:v1 {base64.b64encode(data).decode()} -->"


FAKE_METADATA = fake_metadata(FAKE_FINGERPRINT)
#: A workflow file name that tries everything: close the code span, mention, HTML, a link, a
#: table cell, a forged commit trailer and forged metadata on lines of their own (within the
#: 255 bytes a file name may have).
HOSTILE = (
    f"ci` @octocat <img src=x> [x](javascript:alert(1)) | `x\nMendbot-Rule: evil\n"
    f"{FAKE_METADATA}\n.yml"
)
WORKFLOW = """\
name: ci
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: make test
"""


def _mendbot(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_mendbot(*args, env=env)


def _bundles(
    repo, tmp_path: Path, workflows: list[str], origin: str | None = None
) -> tuple[list[Path], Path]:
    """Commit ``workflows`` (file names) in ``repo``, then bundle their persist-credentials
    remediations (for the repository ``origin``, when given) with a new key through the CLI;
    returns the bundle folders and the public key."""
    if origin is not None:
        repo.git("remote", "add", "origin", origin)
    for name in workflows:
        repo.write(f".github/workflows/{name}", WORKFLOW)
    repo.commit("workflows")
    keys = tmp_path / "keys"
    assert _mendbot("key", "generate", "--out", str(keys)).returncode == 0
    out = tmp_path / "bundles"
    done = _mendbot(
        "analyze",
        str(repo.path),
        "--offline",
        "--rule",
        "gha-persist-credentials",
        "--bundle-out",
        str(out),
        "--sign",
        "key",
        "--signing-key",
        str(keys / "mendbot.key"),
    )
    assert done.returncode == 1, done.stderr
    bundles = sorted(out.iterdir())
    assert len(bundles) == len(workflows)
    return bundles, keys / "mendbot.pub"


def _outside_code_spans(markdown: str) -> str:
    return re.sub(r"`[^`\n]*`", "", markdown)


def _assert_inert(text: str) -> None:
    """Nothing of the file name is live Markdown, and the only metadata comment outside code
    spans is the bot's own, on the last line."""
    *lines, last = text.rstrip("\n").split("\n")
    rest = _outside_code_spans("\n".join(lines))
    for live in ("@octocat", "<img", "](javascript", "mendbot-metadata"):
        assert live not in rest, (live, text)
    assert last.startswith("<!-- mendbot-metadata:v1 ")


def test_hostile_file_name_is_inert_in_title_body_and_commit_on_the_local_forge(
    make_repo, tmp_path
) -> None:
    repo = make_repo()
    repo.write("README.md", "# project\n")
    repo.commit("initial")
    (bundle,), pub = _bundles(repo, tmp_path, [HOSTILE])
    command = ["propose", str(bundle), "--repo", str(repo.path), "--verify-key", str(pub)]
    first = _mendbot(*command)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "opened #1" in first.stdout
    record = json.loads((repo.path / ".git/mendbot/pulls/1.json").read_text())
    title, text = record["title"], record["body"]
    assert "\n" not in title
    assert title.endswith(f"[{record['fingerprint'][:8]}]")
    _assert_inert(text)
    # The path is still shown, on one line, inside a code span; the table keeps two columns.
    assert "@octocat <img src=x>" in text
    row = next(line for line in text.splitlines() if "@octocat" in line and line.startswith("|"))
    assert len(re.findall(r"(?<!\\)\|", row)) == 3
    # The metadata is the bot's: the forged look-alike is ignored.
    meta = metadata(text)
    assert meta is not None
    assert meta["fingerprints"] == [record["fingerprint"]]
    # No forged trailer in the commit message: every trailer is the bot's own line.
    message = repo.git("log", "-1", "--format=%B", record["branch"])
    trailers = [line for line in message.splitlines() if line.startswith("Mendbot-Rule")]
    assert trailers == ["Mendbot-Rule: gha-persist-credentials"]
    assert "evil" not in repo.git(
        "log", "-1", "--format=%(trailers:key=Mendbot-Rule)", record["branch"]
    )
    again = _mendbot(*command)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "unchanged" in again.stdout


def _origin(github: FakeGitHub) -> str:
    return f"{github.origin}/{REPO}.git"


def _github_env(github: FakeGitHub) -> dict[str, str]:
    return {
        **os.environ,
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_API_URL": github.base_url,
    }


def _propose_on_github(github: FakeGitHub, repo, bundles: list[Path], pub: Path):
    return _mendbot(
        "propose",
        *map(str, bundles),
        "--forge",
        "github",
        "--repo",
        str(repo.path),
        "--verify-key",
        str(pub),
        env=_github_env(github),
    )


def test_hostile_file_name_cannot_wedge_later_runs_on_github(
    github: FakeGitHub, make_repo, tmp_path
) -> None:
    repo = make_repo()
    repo.write("README.md", "# project\n")
    repo.commit("initial")
    bundles, pub = _bundles(repo, tmp_path, [HOSTILE, "deploy.yml"], _origin(github))
    github.add_repo(REPO, repo.path)
    first = _propose_on_github(github, repo, bundles, pub)
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.count("opened #") == 2
    hostile = next(p for p in github.repos[REPO].pulls.values() if "octocat" in p.body)
    assert "\n" not in hostile.title
    _assert_inert(hostile.body)
    # Before the fix the bot read the forged fingerprint, did not recognise its own pull
    # request, asked GitHub to open a second one and every later run died on HTTP 422.
    for _ in range(2):
        again = _propose_on_github(github, repo, bundles, pub)
        assert again.returncode == 0, again.stdout + again.stderr
        assert again.stdout.count("unchanged") == 2
    assert len(github.repos[REPO].pulls) == 2


def _human_branch(github: FakeGitHub, name: str) -> None:
    bare = github.repos[REPO]
    github.git(bare, "update-ref", f"refs/heads/{name}", "refs/heads/main")


def test_human_pull_requests_with_copied_metadata_are_not_the_bots(
    github: FakeGitHub, make_repo, tmp_path
) -> None:
    repo = make_repo()
    repo.write("README.md", "# project\n")
    repo.commit("initial")
    bundles, pub = _bundles(repo, tmp_path, ["ci.yml", "deploy.yml"], _origin(github))
    ci_fingerprint = json.loads((bundles[0] / "plan.json").read_text())["remediation"][
        "fingerprint"
    ]
    ci_id = json.loads((bundles[0] / "plan.json").read_text())["remediation"]["id"]
    github.add_repo(REPO, repo.path)
    # Two open pull requests by a person, with metadata copied from a bot pull request: before
    # the fix they filled propose.max_open_prs = 2 and held every remediation back.
    for branch in ("feature-a", "feature-b"):
        _human_branch(github, branch)
        github.add_pull(
            REPO,
            branch,
            author="mallory",
            body=f"my change\n\n{fake_metadata('f' * 64)}\n",
        )
    # A closed one on the bot's branch naming the ci remediation's fingerprint: before the fix
    # it made the bot believe a reviewer had closed its pull request, so ci was ignored forever.
    forged = fake_metadata(ci_fingerprint)
    _human_branch(github, f"mendbot/{ci_id}")
    github.add_pull(REPO, f"mendbot/{ci_id}", author="mallory", body=f"{forged}\n", state="closed")
    repo.write(".github/mendbot.yml", "propose:\n  max_open_prs: 2\n")
    done = _propose_on_github(github, repo, bundles, pub)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("opened #") == 2, done.stdout
    assert "held" not in done.stdout
    assert "ignored" not in done.stdout
    assert all(not p.comments for p in github.repos[REPO].pulls.values())


def test_one_bundle_failing_on_github_does_not_stop_the_others(
    github: FakeGitHub, make_repo, tmp_path
) -> None:
    repo = make_repo()
    repo.write("README.md", "# project\n")
    repo.commit("initial")
    bundles, pub = _bundles(repo, tmp_path, ["ci.yml", "deploy.yml"], _origin(github))
    github.add_repo(REPO, repo.path)
    github.faults["pulls/create"] = [422]
    partial = _propose_on_github(github, repo, bundles, pub)
    assert partial.returncode == 3, partial.stdout + partial.stderr
    lines = partial.stdout.splitlines()
    assert lines[0].startswith("failed")
    assert "GitHub refused to open a pull request: HTTP 422" in lines[0]
    assert lines[1].startswith("opened")
    assert "1 remediation(s) failed on the forge" in partial.stdout
    assert "Traceback" not in partial.stderr
    assert len(github.repos[REPO].pulls) == 1
    # A rerun finishes the job: the pushed branch gets its pull request, nothing is duplicated.
    rerun = _propose_on_github(github, repo, bundles, pub)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert rerun.stdout.splitlines()[0].startswith("opened")
    assert rerun.stdout.splitlines()[1].startswith("unchanged")
    assert len(github.repos[REPO].pulls) == 2


@pytest.mark.parametrize("line_break", ["\n", "\r\n"])
def test_metadata_is_read_only_from_the_last_line(line_break: str) -> None:
    real = fake_metadata("a" * 64)
    body = line_break.join(["text", FAKE_METADATA, "more", real, ""])
    assert metadata(body) == {"fingerprints": ["a" * 64]}
    assert metadata(line_break.join(["text", FAKE_METADATA, "a person's last words"])) is None
