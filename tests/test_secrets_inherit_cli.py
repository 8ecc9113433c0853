"""``gha-secrets-inherit`` through the real command: ``secrets: inherit`` to a workflow of the
repository becomes exactly the secrets that workflow reads, and never a list that would break
the call or hide a secret the callee still reads."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from clirun import run_mendbot

RULE = ("--rule", "gha-secrets-inherit")

CALLER = """\
name: Release
on:
  push:
    tags: ["v*"]
jobs:
  publish:
    uses: ./.github/workflows/publish.yml
    secrets: inherit  # the publish workflow's tokens
    with:
      channel: stable
  lint:
    uses: $/.github/workflows/lint.yml
    secrets: inherit
"""

PUBLISH = """\
on:
  workflow_call:
    inputs:
      channel:
        type: string
    secrets:
      PYPI_TOKEN:
        required: true
      sentry_dsn:
        required: false
      LEGACY_TOKEN:
        description: declared long ago, read by nothing
jobs:
  upload:
    runs-on: ubuntu-latest
    environment: pypi
    steps:
      - run: uv publish
        env:
          UV_PUBLISH_TOKEN: ${{ secrets.PYPI_TOKEN }}
          SENTRY_DSN: ${{ secrets['SENTRY_DSN'] }}
          GH_TOKEN: ${{ secrets.GITHUB_TOKEN }}
"""

LINT = """\
on: workflow_call
jobs:
  lint:
    runs-on: ubuntu-latest
    steps:
      - run: make lint
"""

FIXED_CALLER = """\
name: Release
on:
  push:
    tags: ["v*"]
jobs:
  publish:
    uses: ./.github/workflows/publish.yml
    secrets:  # the publish workflow's tokens
      PYPI_TOKEN: ${{ secrets.PYPI_TOKEN }}
      sentry_dsn: ${{ secrets.sentry_dsn }}
    with:
      channel: stable
  lint:
    uses: $/.github/workflows/lint.yml
"""


def _mendbot(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_mendbot(*args, *RULE, cwd=cwd)


def test_safe_fix_passes_exactly_what_the_callee_reads(workflows) -> None:
    root = workflows({"release.yml": CALLER, "publish.yml": PUBLISH, "lint.yml": LINT})
    caller = root / ".github/workflows/release.yml"
    callee_bytes = (root / ".github/workflows/publish.yml").read_bytes()
    result = _mendbot("analyze", ".", "--fix", "--format", "json", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert caller.read_text() == FIXED_CALLER
    assert (root / ".github/workflows/publish.yml").read_bytes() == callee_bytes
    fixes = [f["fix"] for f in json.loads(result.stdout)["findings"]]
    assert [(f["disposition"], f["applied"]) for f in fixes] == [("safe", True)] * 2
    # Every secret the callee reads (GITHUB_TOKEN is always passed) is still handed over.
    read = {m.lower() for m in re.findall(r"secrets(?:\.|\[')(\w+)", PUBLISH)} - {"github_token"}
    passed = set(re.findall(r"^      (\w+): \$\{\{ secrets\.\1 \}\}$", caller.read_text(), re.M))
    assert {name.lower() for name in passed} >= read
    again = _mendbot("analyze", ".", "--fix", cwd=root)
    assert again.returncode == 0, again.stdout
    assert caller.read_text() == FIXED_CALLER


#: Callees whose needs an explicit list cannot express: mendbot must leave `inherit` alone.
UNLISTABLE = {
    "every-secret-as-json": "      - run: ./deploy.sh\n        env:\n"
    "          ALL: ${{ toJSON(secrets) }}\n",
    "computed-name": "      - run: ./deploy.sh\n        env:\n"
    "          TOKEN: ${{ secrets[format('TOKEN_{0}', github.ref_name)] }}\n",
    "secret-inside-an-index": "      - run: echo ${{ fromJSON(vars.MAP)[secrets.REGION] }}\n",
    "undeclared-read": "      - run: ./deploy.sh\n        env:\n"
    "          TOKEN: ${{ secrets.DEPLOY_TOKEN }}\n",
    "unparsable-read": "      - run: echo ${{ secrets.A == }}\n",
}


@pytest.mark.parametrize("name", sorted(UNLISTABLE))
def test_inherit_stays_when_the_callee_may_read_more(workflows, name: str) -> None:
    callee = (
        "on: workflow_call\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n"
        + UNLISTABLE[name]
    )
    caller = "on: push\njobs:\n  deploy:\n    uses: ./.github/workflows/deploy.yml\n"
    caller += "    secrets: inherit\n"
    root = workflows({"main.yml": caller, "deploy.yml": callee})
    path = root / ".github/workflows/main.yml"
    result = _mendbot("analyze", ".", "--fix=all", "--format", "json", cwd=root)
    assert result.returncode == 1, result.stderr
    assert path.read_text() == caller, f"--fix=all rewrote `inherit` ({name})"
    [finding] = json.loads(result.stdout)["findings"]
    assert finding["fix"] is None
    assert "deploy.yml" in finding["no_fix_reason"]


def test_inherit_passed_on_by_the_callee_stays(workflows) -> None:
    nested = (
        "on: workflow_call\njobs:\n  inner:\n"
        "    uses: octo-org/shared/.github/workflows/release.yml@v1\n    secrets: inherit\n"
    )
    caller = "on: push\njobs:\n  outer:\n    uses: ./.github/workflows/nested.yml\n"
    caller += "    secrets: inherit\n"
    root = workflows({"main.yml": caller, "nested.yml": nested})
    result = _mendbot(
        "analyze", ".github/workflows/main.yml", "--fix=all", "--format", "json", cwd=root
    )
    assert result.returncode == 1
    assert (root / ".github/workflows/main.yml").read_text() == caller
    [finding] = json.loads(result.stdout)["findings"]
    assert "passes every secret on" in finding["no_fix_reason"]


def test_remote_callee_is_reported_only(workflows) -> None:
    caller = "on: push\njobs:\n  release:\n"
    caller += "    uses: octo-org/shared/.github/workflows/release.yml@v1\n    secrets: inherit\n"
    root = workflows({"main.yml": caller})
    result = _mendbot("analyze", ".", "--fix=all", "--format", "json", cwd=root)
    assert result.returncode == 1
    assert (root / ".github/workflows/main.yml").read_text() == caller
    [finding] = json.loads(result.stdout)["findings"]
    assert finding["severity"] == "high"
    assert "another repository" in finding["no_fix_reason"]


def test_a_changed_callee_is_read_again_not_taken_from_the_cache(workflows) -> None:
    root = workflows({"release.yml": CALLER, "publish.yml": PUBLISH, "lint.yml": LINT})
    first = _mendbot("analyze", ".github/workflows/release.yml", "--format", "json", cwd=root)
    assert [f["fix"] is not None for f in json.loads(first.stdout)["findings"]] == [True, True]
    # The callee now reads a secret it does not declare: the cached fix would break the call.
    lint = root / ".github/workflows/lint.yml"
    lint.write_text(LINT + "        env:\n          TOKEN: ${{ secrets.LINT_TOKEN }}\n")
    caller = root / ".github/workflows/release.yml"
    result = _mendbot(
        "analyze", ".github/workflows/release.yml", "--fix", "--format", "json", cwd=root
    )
    assert result.returncode == 1, result.stdout
    assert "secrets: inherit\n" in caller.read_text().split("  lint:")[1]
    lint_finding = json.loads(result.stdout)["findings"][1]
    assert lint_finding["fix"] is None
    assert "`LINT_TOKEN`" in lint_finding["no_fix_reason"]


def test_a_callee_symlink_pointed_elsewhere_is_read_again_not_taken_from_the_cache(
    workflows, tmp_path: Path
) -> None:
    """The callee is a symbolic link to a shared file; pointing the link at a file that reads
    one more secret must withdraw the cached fix, which would no longer pass it."""
    root = workflows({"release.yml": CALLER.split("  lint:")[0]})
    shared = root / "shared"
    shared.mkdir()
    (shared / "v1.yml").write_text(PUBLISH)
    (shared / "v2.yml").write_text(PUBLISH + "          EXTRA: ${{ secrets.LEGACY_TOKEN }}\n")
    link = root / ".github/workflows/publish.yml"
    link.symlink_to("../../shared/v1.yml")
    cache = ("--cache-dir", str(tmp_path / "cache"))
    release = ".github/workflows/release.yml"

    def fix_title() -> str:
        done = _mendbot("analyze", release, *cache, "--format", "json", cwd=root)
        assert done.returncode == 1, done.stdout + done.stderr
        return str(json.loads(done.stdout)["findings"][0]["fix"]["title"])

    assert fix_title().endswith("reads: PYPI_TOKEN, sentry_dsn")
    link.unlink()
    link.symlink_to("../../shared/v2.yml")
    assert fix_title().endswith("reads: PYPI_TOKEN, sentry_dsn, LEGACY_TOKEN")
    done = _mendbot("analyze", release, *cache, "--fix", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "LEGACY_TOKEN: ${{ secrets.LEGACY_TOKEN }}" in (root / release).read_text()
