"""``gha-cache-poisoning`` through the real command: which jobs release something.

A job that publishes nothing (a dry run, a check, a build) and whose outputs and artifacts no
publishing job takes is not a release job, even in a tag-triggered workflow; a real publish,
and a job whose artifacts or outputs a publishing job consumes, stay reported. Each test writes
the workflow to disk (LF and CRLF), runs ``mendbot analyze --fix=all`` in a child process and
checks the bytes written and the exit code (0: nothing left to report, 1: findings remain).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clirun import run_mendbot

ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
RULE = "gha-cache-poisoning"


def _write(root: Path, text: str, ending: str) -> Path:
    path = root / ".github" / "workflows" / "ci.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.replace("\n", ending).encode("utf-8"))
    return path


def _fix_all(root: Path) -> tuple[int, list[dict[str, object]]]:
    done = run_mendbot("analyze", ".", "--fix=all", "--rule", RULE, "--format", "json", cwd=root)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)["findings"]


def _ci_job(script: str) -> str:
    """A branch CI job that restores the Rust cache and then runs ``script``."""
    body = "".join(f"          {line}\n" for line in script.splitlines())
    return (
        "on:\n  push:\n    branches: [main]\n  pull_request:\npermissions:\n  contents: read\n"
        "jobs:\n  check:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v4\n        with:\n          persist-credentials: false\n"
        "      - uses: Swatinem/rust-cache@v2\n"
        "      - run: |\n" + body
    )


PUBLISHES_NOTHING = {
    "cargo-dry-run": "cargo publish --workspace --dry-run",
    "cargo-dash-n": "cargo publish -n -p ruff",
    "npm-dry-run": "npm publish --dry-run",
    "pnpm-dry-run-in-a-list": "pnpm install && pnpm publish --dry-run --no-git-checks",
    "uv-dry-run": "uv publish --dry-run dist/*",
    "poetry-dry-run": "poetry publish --build --dry-run",
    "twine-check": "uv run --no-sync twine check --strict dist/*",
    "gem-build": "gem build mygem.gemspec",
    "npm-pack": "npm pack",
    "goreleaser-snapshot": "goreleaser release --snapshot --clean",
    "goreleaser-skip-publish": "goreleaser release --clean --skip=announce,publish",
    "semantic-release-dry-run": "npx semantic-release --dry-run",
    "gradle-local-maven": "./gradlew publishToMavenLocal",
    "npm-run-script-named-publish": "npm run publish-docs",
    "twine-check-via-python-m": "python -m twine check dist/*",
    "only-in-a-string": 'echo "run cargo publish after the release"',
    "only-in-a-heredoc": "cat <<EOF\nnpm publish\nEOF",
}


@pytest.mark.parametrize("ending", sorted(ENDINGS))
@pytest.mark.parametrize("case", sorted(PUBLISHES_NOTHING))
def test_a_job_that_publishes_nothing_keeps_its_cache(
    tmp_path: Path, case: str, ending: str
) -> None:
    path = _write(tmp_path, _ci_job(PUBLISHES_NOTHING[case]), ENDINGS[ending])
    before = path.read_bytes()
    code, findings = _fix_all(tmp_path)
    assert findings == []
    assert code == 0
    assert path.read_bytes() == before


PUBLISHES = {
    "cargo-publish": "cargo publish --workspace",
    "cargo-flags-from-a-variable": "cargo publish $PUBLISH_FLAGS",
    "cargo-dry-run-decided-by-an-expression": "cargo publish ${{ inputs.dry-run && '--dry-run' }}",
    "npm-publish-after-a-dry-run": "npm publish --dry-run\nnpm publish --access public",
    "twine-upload-via-uv-run": "uv run twine upload dist/*",
    "semantic-release": "npx semantic-release",
    "gradle-publish-task": "./gradlew :lib:publishAllPublicationsToSonatypeRepository",
    "behind-a-guard-variable": "ls dist/* | xargs $guard gh release create v1.2.3 --",
    "npm-workspace-option-first": "npm -w packages/core publish",
    "pnpm-filter-first": "pnpm --filter @acme/core publish --no-git-checks",
    "twine-via-python-m": "python -m twine upload dist/*",
    "changesets-via-npx": "npx changeset publish",
    "lerna-via-npx-with-options": "npx -y lerna publish from-git",
    "dry-run-from-a-variable": "npm publish --dry-run=${DRY:-false}",
}


@pytest.mark.parametrize("ending", sorted(ENDINGS))
@pytest.mark.parametrize("case", sorted(PUBLISHES))
def test_a_job_that_publishes_gets_its_cache_turned_off(
    tmp_path: Path, case: str, ending: str
) -> None:
    text = _ci_job(PUBLISHES[case])
    path = _write(tmp_path, text, ENDINGS[ending])
    code, findings = _fix_all(tmp_path)
    [finding] = findings
    assert "this job publishes" in str(finding["message"])
    assert code == 0, "the fix applies, so nothing is left to report"
    fixed = text.replace(
        "      - uses: Swatinem/rust-cache@v2\n",
        "      - uses: Swatinem/rust-cache@v2\n        with:\n          lookup-only: true\n",
    )
    assert path.read_bytes() == fixed.replace("\n", ENDINGS[ending]).encode("utf-8")


def _tag_workflow(extra_jobs: str) -> str:
    """pydantic's shape: tests gate a PyPI release on tag pushes; ``extra_jobs`` is added."""
    return (
        "on:\n  push:\n    branches: [main]\n    tags: ['**']\n  pull_request:\n"
        "permissions:\n  contents: read\n"
        "jobs:\n"
        "  test:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: astral-sh/setup-uv@v6\n        with:\n          enable-cache: true\n"
        "      - run: uv run pytest\n"
        "      - uses: actions/upload-artifact@v4\n        with:\n"
        "          name: coverage-${{ matrix.python }}\n          path: coverage\n"
        "  coverage-comment:\n    needs: test\n    if: github.event_name == 'pull_request'\n"
        "    permissions:\n      pull-requests: write\n      contents: write\n    steps:\n"
        "      - uses: actions/download-artifact@v4\n        with:\n          pattern: coverage-*\n"
        "      - uses: actions/setup-node@v4\n        with:\n          cache: npm\n"
        "      - run: npx coverage-comment\n"
        "  check:\n    needs: [test]\n    if: always()\n    outputs:\n"
        "      result: ${{ steps.green.outputs.result }}\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - id: green\n        uses: re-actors/alls-green@v1\n"
        "        with:\n          jobs: ${{ toJSON(needs) }}\n"
        "  release:\n    needs: [build, check]\n    if: startsWith(github.ref, 'refs/tags/')\n"
        "    runs-on: ubuntu-latest\n    environment: release\n"
        "    permissions:\n      id-token: write\n    steps:\n"
        "      - uses: actions/download-artifact@v4\n        with:\n          name: dist\n"
        "      - uses: pypa/gh-action-pypi-publish@release/v1\n" + extra_jobs
    )


BUILD_FEEDS_RELEASE = (
    "  build:\n    runs-on: ubuntu-latest\n    steps:\n"
    "      - uses: astral-sh/setup-uv@v6\n        with:\n          enable-cache: true\n"
    "      - run: uv build\n"
    "      - uses: actions/upload-artifact@v4\n        with:\n          name: dist\n"
    "          path: dist\n"
)


@pytest.mark.parametrize("ending", sorted(ENDINGS))
def test_tag_workflow_reports_the_build_a_release_downloads_not_the_tests(
    tmp_path: Path, ending: str
) -> None:
    path = _write(tmp_path, _tag_workflow(BUILD_FEEDS_RELEASE), ENDINGS[ending])
    before = path.read_bytes()
    code, findings = _fix_all(tmp_path)
    assert path.read_bytes() == before, "enable-cache: true is written by a person"
    assert code == 1
    [finding] = findings
    assert finding["line"] == 60, "the build job's setup-uv, not the test job's (line 12)"
    assert "job `release` releases and downloads artifacts this job uploads" in str(
        finding["message"]
    )


def _with_build(build: str) -> str:
    return _tag_workflow(
        "  build:\n    runs-on: ubuntu-latest\n" + build + "    steps:\n"
        "      - uses: actions/setup-go@v5\n      - run: go build ./...\n"
    )


FEEDS_OR_HOLDS = {
    "declares-outputs-the-release-needs": (
        "    outputs:\n      version: ${{ steps.v.outputs.version }}\n",
        "reads this job's outputs",
    ),
    "reads-a-secret": (
        "    env:\n      TOKEN: ${{ secrets.REGISTRY_TOKEN }}\n",
        "reads `secrets.REGISTRY_TOKEN`",
    ),
    "may-write-packages": ("    permissions:\n      packages: write\n", "holds `packages: write`"),
    "passes-every-secret": ("    env:\n      ALL: ${{ toJSON(secrets) }}\n", "reads its secrets"),
    "write-all-token": ("    permissions: write-all\n", "holds a `write-all` token"),
}


@pytest.mark.parametrize("case", sorted(FEEDS_OR_HOLDS))
def test_tag_workflow_job_that_feeds_or_can_publish_stays_reported(
    tmp_path: Path, case: str
) -> None:
    build, why = FEEDS_OR_HOLDS[case]
    text = _with_build(build)
    path = _write(tmp_path, text, "\n")
    code, findings = _fix_all(tmp_path)
    [finding] = findings
    assert why in str(finding["message"])
    assert code == 0
    assert path.read_text() == text.replace(
        "      - uses: actions/setup-go@v5\n",
        "      - uses: actions/setup-go@v5\n        with:\n          cache: false\n",
    )


def test_tag_workflow_without_a_known_publisher_still_reports_what_it_uploads(
    tmp_path: Path,
) -> None:
    text = (
        "on:\n  push:\n    tags: ['v*']\npermissions:\n  contents: read\njobs:\n"
        "  binaries:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/setup-go@v5\n      - run: go build -o dist/ ./...\n"
        "      - uses: actions/upload-artifact@v4\n        with:\n          name: binaries\n"
        "          path: dist\n"
        "  lint:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/setup-go@v5\n      - run: go vet ./...\n"
    )
    _write(tmp_path, text, "\n")
    done = run_mendbot("analyze", ".", "--rule", RULE, "--format", "json", cwd=tmp_path)
    assert done.returncode == 1
    [finding] = json.loads(done.stdout)["findings"]
    assert finding["line"] == 10
    assert "no job in it is recognised as publishing" in finding["message"]


def test_tag_workflow_reports_the_site_build_a_pages_deploy_publishes(tmp_path: Path) -> None:
    text = (
        "on:\n  push:\n    tags: ['v*']\npermissions:\n  contents: read\njobs:\n"
        "  build:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/setup-node@v5\n      - run: npm ci && npm run docs\n"
        "      - uses: actions/upload-pages-artifact@v3\n        with:\n          path: site\n"
        "  deploy:\n    needs: build\n    runs-on: ubuntu-latest\n"
        "    permissions:\n      pages: write\n      id-token: write\n    steps:\n"
        "      - uses: actions/deploy-pages@v4\n"
    )
    path = _write(tmp_path, text, "\r\n")
    code, findings = _fix_all(tmp_path)
    [finding] = findings
    assert finding["line"] == 10
    assert "job `deploy` releases and downloads artifacts this job uploads" in str(
        finding["message"]
    )
    assert code == 0
    fixed = text.replace(
        "      - uses: actions/setup-node@v5\n",
        "      - uses: actions/setup-node@v5\n"
        "        with:\n          package-manager-cache: false\n",
    )
    assert path.read_bytes() == fixed.replace("\n", "\r\n").encode("utf-8")


def test_tag_workflow_job_with_only_the_read_only_job_token_is_left_alone(tmp_path: Path) -> None:
    text = _with_build(
        "    permissions:\n      contents: read\n"
        "    env:\n      GH_TOKEN: ${{ secrets.GITHUB_TOKEN }}\n"
    )
    path = _write(tmp_path, text, "\n")
    code, findings = _fix_all(tmp_path)
    assert findings == []
    assert code == 0
    assert path.read_text() == text


GORELEASER = {
    "install-only": ("install-only: true", False),
    "snapshot-build": ("args: release --snapshot --clean", False),
    "build-command": ("args: build --single-target", False),
    "release": ("args: release --clean", True),
    "no-args": ("version: latest", True),
}


@pytest.mark.parametrize("case", sorted(GORELEASER))
def test_goreleaser_action_publishes_only_when_it_releases(tmp_path: Path, case: str) -> None:
    given, publishes = GORELEASER[case]
    text = (
        "on:\n  push:\n    branches: [main]\npermissions:\n  contents: read\njobs:\n"
        "  build:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/setup-go@v5\n"
        f"      - uses: goreleaser/goreleaser-action@v6\n        with:\n          {given}\n"
    )
    _write(tmp_path, text, "\n")
    done = run_mendbot("analyze", ".", "--rule", RULE, "--format", "json", cwd=tmp_path)
    findings = json.loads(done.stdout)["findings"]
    assert done.returncode == (1 if publishes else 0), done.stderr
    assert len(findings) == (1 if publishes else 0)


@pytest.mark.parametrize(
    ("uploaded", "reported"),
    [("wheels-${{ matrix.os }}", True), ("coverage-${{ matrix.os }}", False)],
)
def test_artifact_names_decide_whether_a_build_feeds_the_release(
    tmp_path: Path, uploaded: str, reported: bool
) -> None:
    text = (
        "on:\n  release:\n    types: [published]\npermissions:\n  contents: read\njobs:\n"
        "  build:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/setup-go@v5\n      - run: go build -o dist/ ./...\n"
        f"      - uses: actions/upload-artifact@v4\n        with:\n          name: {uploaded}\n"
        "          path: dist\n"
        "  publish:\n    needs: build\n    runs-on: ubuntu-latest\n"
        "    permissions:\n      contents: write\n    steps:\n"
        "      - uses: actions/download-artifact@v4\n        with:\n          pattern: wheels-*\n"
        "      - run: gh release upload ${{ github.event.release.tag_name }} wheels-*/*\n"
    )
    _write(tmp_path, text, "\n")
    done = run_mendbot("analyze", ".", "--rule", RULE, "--format", "json", cwd=tmp_path)
    findings = json.loads(done.stdout)["findings"]
    assert done.returncode == (1 if reported else 0), done.stderr
    assert [f["line"] for f in findings] == ([10] if reported else [])
