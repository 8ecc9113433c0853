"""An input a person wrote under ``with:`` is a decision: ``mendbot analyze --fix=all`` reports
it and leaves the bytes on disk as they were; a fix may still *add* an input that is absent.

Each test writes a repository to disk (LF and CRLF), runs the real command in a child process
and checks the file's bytes and the exit code (0: nothing left to report, 1: findings remain).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clirun import run_mendbot

ENDINGS = {"LF": "\n", "CRLF": "\r\n"}


def _write(root: Path, name: str, text: str, ending: str) -> Path:
    path = root / ".github" / "workflows" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.replace("\n", ending).encode("utf-8"))
    return path


def _fix_all(root: Path, rule: str) -> tuple[int, list[dict[str, object]]]:
    done = run_mendbot("analyze", ".", "--fix=all", "--rule", rule, "--format", "json", cwd=root)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)["findings"]


def _release(step: str) -> str:
    """A tag-triggered job that publishes to PyPI after ``step``."""
    return (
        "on:\n  push:\n    tags: ['v*']\njobs:\n  release:\n    runs-on: ubuntu-latest\n"
        "    permissions:\n      id-token: write\n    steps:\n"
        f"{step}"
        "      - run: uv build\n"
        "      - uses: pypa/gh-action-pypi-publish@release/v1\n"
    )


#: Cache inputs a person wrote in a release job, as the real corpus has them.
EXPLICIT_CACHES = {
    "setup-node-cache-npm": "      - uses: actions/setup-node@v4\n        with:\n"
    "          node-version: 20\n          cache: npm  # we want fast releases\n",
    "setup-uv-enable-cache-true": "      - uses: astral-sh/setup-uv@v6\n        with:\n"
    "          enable-cache: true\n",
    "setup-ruby-bundler-cache": "      - uses: ruby/setup-ruby@v1\n        with:\n"
    "          ruby-version: '3.3'\n          bundler-cache: true\n",
    "maturin-sccache-expression": "      - uses: PyO3/maturin-action@v1\n        with:\n"
    "          sccache: ${{ github.ref_type == 'tag' }}\n",
    "setup-python-flow-style": "      - uses: actions/setup-python@v5\n"
    "        with: {python-version: '3.12', cache: pip}\n",
    # setup-node v5 also caches by default (`package-manager-cache`): adding `false` there would
    # leave the written `cache: pnpm` caching, a fix in name only, so nothing is added either.
    "setup-node-v5-cache-and-default": "      - uses: actions/setup-node@v5\n        with:\n"
    "          cache: pnpm\n",
}


@pytest.mark.parametrize("ending", sorted(ENDINGS))
@pytest.mark.parametrize("case", sorted(EXPLICIT_CACHES))
def test_cache_input_a_person_wrote_is_reported_and_never_changed(
    tmp_path: Path, case: str, ending: str
) -> None:
    path = _write(tmp_path, "release.yml", _release(EXPLICIT_CACHES[case]), ENDINGS[ending])
    before = path.read_bytes()
    code, findings = _fix_all(tmp_path, "gha-cache-poisoning")
    assert path.read_bytes() == before
    assert code == 1
    [finding] = findings
    assert finding["fix"] is None
    assert "written explicitly" in str(finding["message"])
    assert "never changes it" in str(finding["no_fix_reason"])


ABSENT_CACHES = {
    "setup-uv-default": (
        "      - uses: astral-sh/setup-uv@v6\n",
        "      - uses: astral-sh/setup-uv@v6\n        with:\n          enable-cache: false\n",
    ),
    "setup-go-beside-a-written-input": (
        "      - uses: actions/setup-go@v5\n        with:\n          go-version: stable\n",
        "      - uses: actions/setup-go@v5\n        with:\n          go-version: stable\n"
        "          cache: false\n",
    ),
    "rust-cache-flow-style": (
        "      - uses: Swatinem/rust-cache@v2\n        with: {shared-key: release}\n",
        "      - uses: Swatinem/rust-cache@v2\n"
        "        with: {shared-key: release, lookup-only: true}\n",
    ),
}


@pytest.mark.parametrize("ending", sorted(ENDINGS))
@pytest.mark.parametrize("case", sorted(ABSENT_CACHES))
def test_cache_default_is_switched_off_by_adding_the_absent_input(
    tmp_path: Path, case: str, ending: str
) -> None:
    step, fixed = ABSENT_CACHES[case]
    path = _write(tmp_path, "release.yml", _release(step), ENDINGS[ending])
    code, findings = _fix_all(tmp_path, "gha-cache-poisoning")
    assert path.read_bytes() == _release(fixed).replace("\n", ENDINGS[ending]).encode("utf-8")
    assert code == 0
    [finding] = findings
    assert finding["fix"]["applied"] is True


CHECKOUT_JOB = (
    "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
    "      - uses: actions/checkout@v4\n{inputs}      - run: pytest\n"
)


@pytest.mark.parametrize("ending", sorted(ENDINGS))
def test_persist_credentials_true_is_kept_and_an_absent_one_is_added(
    tmp_path: Path, ending: str
) -> None:
    explicit = CHECKOUT_JOB.format(inputs="        with:\n          persist-credentials: true\n")
    path = _write(tmp_path, "explicit.yml", explicit, ENDINGS[ending])
    before = path.read_bytes()
    code, findings = _fix_all(tmp_path, "gha-persist-credentials")
    assert path.read_bytes() == before
    assert code == 1
    [finding] = findings
    assert finding["fix"] is None
    assert "a person chose to keep the token" in str(finding["no_fix_reason"])

    path.unlink()
    absent = _write(tmp_path, "absent.yml", CHECKOUT_JOB.format(inputs=""), ENDINGS[ending])
    code, _ = _fix_all(tmp_path, "gha-persist-credentials")
    assert code == 0
    expected = CHECKOUT_JOB.format(inputs="        with:\n          persist-credentials: false\n")
    assert absent.read_bytes() == expected.replace("\n", ENDINGS[ending]).encode("utf-8")


DEPLOY = (
    "on: push\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    permissions:\n"
    "      contents: read\n    steps:\n"
    "      - uses: aws-actions/configure-aws-credentials@v4\n        with:\n"
    "          aws-access-key-id: ${{ secrets.AWS_ACCESS_KEY_ID }}\n"
    "          aws-secret-access-key: ${{ secrets.AWS_SECRET_ACCESS_KEY }}\n"
    "          aws-region: us-east-1  # the bucket lives here\n"
    "      - run: aws s3 sync site/ s3://example-bucket\n"
)


def _mapping(region: str) -> str:
    return (
        "rules:\n  gha-static-cloud-credentials:\n    options:\n      roles:\n"
        "        - workflow: deploy.yml\n          job: deploy\n          aws:\n"
        "            role-to-assume: arn:aws:iam::123456789012:role/deploy\n"
        f"            aws-region: {region}\n"
    )


@pytest.mark.parametrize("ending", sorted(ENDINGS))
def test_oidc_rewrite_never_moves_the_job_to_another_region(tmp_path: Path, ending: str) -> None:
    path = _write(tmp_path, "deploy.yml", DEPLOY, ENDINGS[ending])
    (tmp_path / ".github" / "mendbot.yml").write_text(_mapping("eu-west-1"))
    before = path.read_bytes()
    code, findings = _fix_all(tmp_path, "gha-static-cloud-credentials")
    assert path.read_bytes() == before
    assert code == 1
    [finding] = findings
    assert finding["fix"] is None
    assert "`aws-region: us-east-1` (mapping: `eu-west-1`)" in str(finding["no_fix_reason"])

    (tmp_path / ".github" / "mendbot.yml").write_text(_mapping("us-east-1"))
    code, _ = _fix_all(tmp_path, "gha-static-cloud-credentials")
    assert code == 0
    text = path.read_bytes().decode("utf-8")
    assert "aws-region: us-east-1  # the bucket lives here" + ENDINGS[ending] in text
    assert "role-to-assume: arn:aws:iam::123456789012:role/deploy" in text
    assert "aws-access-key-id" not in text
