"""gha-use-trusted-publishing through ``mendbot analyze`` on a repository on disk.

The attack the fix removes: a long-lived registry token in a secret, handed to the publishing
step, can be read by any code that step runs and used from anywhere. After ``--fix=all`` the
workflow no longer hands that secret to anything, and only the publishing job may ask GitHub
for an OIDC token (``id-token: write``, with the ``# for …`` reason). The fix is unsafe (the
registry must trust the workflow first): ``--fix`` leaves the file as it was and says so. A
level a person wrote (``id-token: none``) or a suppression is never overwritten. Each test
checks the bytes on disk and the exit code (0: nothing left to report, 1: findings remain).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from clirun import run_mendbot

ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
RULE = "gha-use-trusted-publishing"

RELEASE = """\
on:
  release:
    types: [published]
permissions:
  contents: read  # the default for every job
jobs:
  pypi:
    runs-on: ubuntu-latest
    environment: pypi
    steps:
      - uses: actions/download-artifact@v4
      # upload what the build job made
      - uses: pypa/gh-action-pypi-publish@release/v1
        with:
          user: __token__
          password: ${{ secrets.PYPI_TOKEN }}  # the project's API token
          packages-dir: dist/
  uv:
    runs-on: ubuntu-latest
    steps:
      - run: uv publish --index testpypi
        env:
          UV_PUBLISH_TOKEN: ${{ secrets.TEST_PYPI_TOKEN }}
  docs:
    runs-on: ubuntu-latest
    steps:
      - run: ./publish-docs.sh
        env:
          DOCS_TOKEN: ${{ secrets.DOCS_TOKEN }}
"""
FIXED = """\
on:
  release:
    types: [published]
permissions:
  contents: read  # the default for every job
jobs:
  pypi:
    permissions:
      contents: read
      id-token: write  # for pypa/gh-action-pypi-publish to publish with trusted publishing
    runs-on: ubuntu-latest
    environment: pypi
    steps:
      - uses: actions/download-artifact@v4
      # upload what the build job made
      - uses: pypa/gh-action-pypi-publish@release/v1
        with:
          packages-dir: dist/
  uv:
    permissions:
      contents: read
      id-token: write  # for uv publish to publish with trusted publishing
    runs-on: ubuntu-latest
    steps:
      - run: uv publish --index testpypi
  docs:
    runs-on: ubuntu-latest
    steps:
      - run: ./publish-docs.sh
        env:
          DOCS_TOKEN: ${{ secrets.DOCS_TOKEN }}
"""


def _write(root: Path, text: str, ending: str) -> Path:
    path = root / ".github" / "workflows" / "release.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.replace("\n", ending).encode("utf-8"))
    return path


def _analyze(root: Path, *args: str) -> tuple[int, list[dict[str, Any]]]:
    done = run_mendbot("analyze", ".", "--rule", RULE, "--format", "json", *args, cwd=root)
    assert done.returncode in (0, 1), done.stderr
    assert "Traceback" not in done.stderr
    return done.returncode, json.loads(done.stdout)["findings"]


def _load(path: Path) -> dict[str, Any]:
    data = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize("ending", ENDINGS.values(), ids=ENDINGS.keys())
def test_fix_all_drops_the_tokens_and_grants_id_token_to_the_publishing_jobs_only(
    tmp_path: Path, ending: str
) -> None:
    path = _write(tmp_path, RELEASE, ending)
    code, findings = _analyze(tmp_path, "--fix=all")
    assert path.read_bytes() == FIXED.replace("\n", ending).encode("utf-8")
    assert code == 0
    assert [(f["line"], f["fix"]["disposition"], f["fix"]["applied"]) for f in findings] == [
        (16, "unsafe", True),
        (21, "unsafe", True),
    ]

    data = _load(path)
    for job in ("pypi", "uv"):
        text = json.dumps(data["jobs"][job])
        assert "PYPI_TOKEN" not in text  # no step of the job receives the token any more
        assert "secrets." not in text
    granted = [name for name, job in data["jobs"].items() if "id-token" in str(job)]
    assert granted == ["pypi", "uv"]
    assert data["permissions"] == {"contents": "read"}  # the other jobs keep what they had
    assert data["jobs"]["docs"] == _load_text(RELEASE)["jobs"]["docs"]

    second, _ = _analyze(tmp_path, "--fix=all")
    assert second == 0
    assert path.read_bytes() == FIXED.replace("\n", ending).encode("utf-8")


def _load_text(text: str) -> dict[str, Any]:
    data = YAML(typ="safe", pure=True).load(text)
    assert isinstance(data, dict)
    return data


def test_safe_mode_writes_nothing_and_says_the_registry_must_trust_the_workflow(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path, RELEASE, "\n")
    code, findings = _analyze(tmp_path, "--fix")
    assert code == 1
    assert path.read_text(encoding="utf-8") == RELEASE
    for finding in findings:
        fix = finding["fix"]
        assert (fix["disposition"], fix["applied"]) == ("unsafe", False)
        assert "trusted publisher" in fix["title"]
        assert "publishing fails" in fix["title"]


DECISIONS = """\
on: release
permissions: {}
jobs:
  no-oidc:
    runs-on: ubuntu-latest
    permissions:
      id-token: none  # this organisation issues no OIDC tokens
    steps:
      - uses: pypa/gh-action-pypi-publish@release/v1
        with:
          password: ${{ secrets.PYPI_TOKEN }}
  suppressed:
    runs-on: ubuntu-latest
    permissions: {}
    steps:
      - uses: pypa/gh-action-pypi-publish@release/v1
        with:
          password: ${{ secrets.PYPI_TOKEN }}  # zizmor: ignore[use-trusted-publishing]
  opted-out:
    runs-on: ubuntu-latest
    permissions:
      contents: write
    steps:
      - uses: rubygems/release-gem@v1
        with:
          setup-trusted-publisher: false
"""


def test_a_level_or_suppression_a_person_wrote_is_reported_never_overwritten(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path, DECISIONS, "\n")
    code, findings = _analyze(tmp_path, "--fix=all")
    assert code == 1
    assert path.read_text(encoding="utf-8") == DECISIONS
    assert [(f["line"], f["fix"]) for f in findings] == [(11, None), (26, None)]
    assert "sets `id-token: none` explicitly" in findings[0]["no_fix_reason"]
    assert "turned trusted publishing off" in findings[1]["no_fix_reason"]
    assert all("trusted publisher" in f["no_fix_reason"] for f in findings)


COMMANDS = """\
on: release
permissions: {}
jobs:
  publish:
    runs-on: ubuntu-latest
    steps:
      - run: npm publish
        env:
          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}
      - run: cargo publish
        env:
          CARGO_REGISTRY_TOKEN: ${{ secrets.CARGO_TOKEN }}
      - run: twine upload dist/*
        env:
          TWINE_PASSWORD: ${{ secrets.PYPI_TOKEN }}
"""


def test_commands_that_need_a_new_tool_or_action_are_reported_with_the_reason(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path, COMMANDS, "\n")
    code, findings = _analyze(tmp_path, "--fix=all")
    assert code == 1
    assert path.read_text(encoding="utf-8") == COMMANDS
    reasons = {f["evidence"]: f["no_fix_reason"] for f in findings}
    assert set(reasons) == {"npm publish", "cargo publish", "twine upload"}
    assert "npm CLI 11.5.1" in reasons["npm publish"]
    assert "rust-lang/crates-io-auth-action" in reasons["cargo publish"]
    assert "records none for that action" in reasons["cargo publish"]
    assert "twine has no trusted publishing" in reasons["twine upload"]
