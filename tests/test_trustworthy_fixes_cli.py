"""``mendbot analyze DIR --fix=all`` on real files: injection fixes and ``id-token`` grants.

Each test runs the CLI in a subprocess on a repository written to disk and checks the bytes
it writes and its exit code (0: nothing left to report, 1: findings remain).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from clirun import run_mendbot as _mendbot
from testpaths import RULE_CASES

INJECTION_CASES = sorted(
    p.parent for p in (RULE_CASES / "gha-template-injection").glob("*/input.yml")
)


def _repository(tmp_path: Path, source: Path) -> Path:
    target = tmp_path / ".github" / "workflows" / "ci.yml"
    target.parent.mkdir(parents=True)
    shutil.copyfile(source, target)
    return target


@pytest.mark.parametrize("case", INJECTION_CASES, ids=lambda p: p.name)
def test_fix_all_writes_the_golden_bytes_and_exits_by_what_remains(
    case: Path, tmp_path: Path
) -> None:
    workflow = _repository(tmp_path, case / "input.yml")
    config = ("--config", str(case / "mendbot.yml")) if (case / "mendbot.yml").exists() else ()
    rule = ("--rule", "gha-template-injection", *config)
    done = _mendbot("analyze", *rule, "--fix=all", ".", cwd=tmp_path)
    assert workflow.read_bytes() == (case / "expected.yml").read_bytes(), done.stdout
    rows = json.loads((case / "findings.json").read_text())
    left = any(fix in (None, "unfixable") for *_, fix in rows)
    assert done.returncode == (1 if left else 0), done.stdout + done.stderr
    again = _mendbot("analyze", *rule, "--format", "json", ".", cwd=tmp_path)
    remaining = json.loads(again.stdout)["findings"]
    assert len(remaining) == sum(fix in (None, "unfixable") for *_, fix in rows)


def test_python_code_reads_the_value_itself_and_an_old_splice_is_still_found(
    tmp_path: Path,
) -> None:
    original = (
        "on: issues\n"
        "jobs:\n"
        "  triage:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - run: python3 -c 'print(\"${{ github.event.issue.title }}\")'\n"
        "      - run: python3 -c 'print(\"Title - ${{ github.event.issue.title }}\")'\n"
        "      - run: python3 -c 'print(\"'\"${ISSUE_TITLE}\"'\")'\n"
        "        env:\n"
        "          ISSUE_TITLE: ${{ github.event.issue.title }}\n"
    )
    workflow = tmp_path / ".github" / "workflows" / "ci.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(original)
    done = _mendbot(
        "analyze",
        "--rule",
        "gha-template-injection",
        "--fix=all",
        "--format",
        "json",
        ".",
        cwd=tmp_path,
    )
    assert workflow.read_text() == original.replace(
        'print("${{ github.event.issue.title }}")\'\n',
        'print(__import__("os").environ["ISSUE_TITLE"])\'\n'
        "        env:\n"
        "          ISSUE_TITLE: ${{ github.event.issue.title }}\n",
    )
    assert done.returncode == 1
    again = _mendbot(
        "analyze", "--rule", "gha-template-injection", "--format", "json", ".", cwd=tmp_path
    )
    assert again.returncode == 1
    findings = json.loads(again.stdout)["findings"]
    assert [f["route"][3] for f in findings] == [1, 2]
    assert "os.environ" in findings[0]["no_fix_reason"]
    assert "Python code that `python3 -c` runs" in findings[1]["message"]


PUBLISH = """\
on: push
jobs:
  crates-with-token:
    runs-on: ubuntu-latest
    steps:
      - run: cargo publish --token ${{ secrets.CRATES_TOKEN }}
  crates-without-auth-action:
    runs-on: ubuntu-latest
    steps:
      - run: cargo publish
  twine-with-password:
    runs-on: ubuntu-latest
    steps:
      - run: twine upload dist/*
        env:
          TWINE_PASSWORD: ${{ secrets.PYPI }}
  gem-with-key:
    runs-on: ubuntu-latest
    steps:
      - run: GEM_HOST_API_KEY=${{ secrets.GEM }} gem push pkg/x.gem
  uv-with-token:
    runs-on: ubuntu-latest
    steps:
      - run: uv publish --token "$TOKEN"
  twine-trusted:
    runs-on: ubuntu-latest
    steps:
      - run: twine upload dist/*
  npm-provenance:
    runs-on: ubuntu-latest
    steps:
      - run: npm publish --provenance
        env:
          NODE_AUTH_TOKEN: ${{ secrets.NPM }}
"""
PUBLISH_FIXED = """\
on: push
permissions: {}
jobs:
  crates-with-token:
    permissions: {}
    runs-on: ubuntu-latest
    steps:
      - run: cargo publish --token ${{ secrets.CRATES_TOKEN }}
  crates-without-auth-action:
    permissions: {}
    runs-on: ubuntu-latest
    steps:
      - run: cargo publish
  twine-with-password:
    permissions: {}
    runs-on: ubuntu-latest
    steps:
      - run: twine upload dist/*
        env:
          TWINE_PASSWORD: ${{ secrets.PYPI }}
  gem-with-key:
    permissions: {}
    runs-on: ubuntu-latest
    steps:
      - run: GEM_HOST_API_KEY=${{ secrets.GEM }} gem push pkg/x.gem
  uv-with-token:
    permissions: {}
    runs-on: ubuntu-latest
    steps:
      - run: uv publish --token "$TOKEN"
  twine-trusted:
    permissions:
      id-token: write  # for twine upload to publish with trusted publishing (OIDC)
    runs-on: ubuntu-latest
    steps:
      - run: twine upload dist/*
  npm-provenance:
    permissions:
      id-token: write  # for npm publish to sign the npm provenance statement
    runs-on: ubuntu-latest
    steps:
      - run: npm publish --provenance
        env:
          NODE_AUTH_TOKEN: ${{ secrets.NPM }}
"""


def test_id_token_is_granted_only_to_publishing_that_uses_oidc(tmp_path: Path) -> None:
    workflow = tmp_path / ".github" / "workflows" / "release.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(PUBLISH)
    done = _mendbot("analyze", "--rule", "gha-job-permissions", "--fix=all", ".", cwd=tmp_path)
    assert workflow.read_text() == PUBLISH_FIXED
    assert done.returncode == 0, done.stdout + done.stderr


CRATES_TRUSTED = """\
on: push
jobs:
  release:
    runs-on: ubuntu-latest
    steps:
      - uses: rust-lang/crates-io-auth-action@v1
        id: auth
      - run: cargo publish
        env:
          CARGO_REGISTRY_TOKEN: ${{ steps.auth.outputs.token }}
"""


def test_crates_io_trusted_publishing_gets_id_token_for_the_auth_action(tmp_path: Path) -> None:
    workflow = tmp_path / ".github" / "workflows" / "release.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(CRATES_TRUSTED)
    done = _mendbot("analyze", "--rule", "gha-job-permissions", "--fix=all", ".", cwd=tmp_path)
    assert workflow.read_text() == CRATES_TRUSTED.replace(
        "jobs:", "permissions: {}\njobs:"
    ).replace(
        "  release:\n",
        "  release:\n    permissions:\n      id-token: write  # for "
        "rust-lang/crates-io-auth-action to exchange an OIDC token for a temporary crates.io "
        "token (trusted publishing)\n",
    )
    assert done.returncode == 0, done.stdout + done.stderr


#: An unquoted heredoc fed to an interpreter: the shell substitutes `${ISSUE_TITLE}`, then
#: Python runs the result, so moving the expression to `env:` would leave the injection open.
HEREDOC_INTO_PYTHON = '''\
on: issues
jobs:
  triage:
    runs-on: ubuntu-latest
    steps:
      - run: |
          python3 - <<PY
          print("""${{ github.event.issue.title }}""")
          PY
          cat <<EOF > notes.txt
          ${{ github.event.issue.body }}
          EOF
'''


def test_fix_all_never_calls_a_heredoc_run_by_python_fixed(workflows) -> None:
    root = workflows({"triage.yml": HEREDOC_INTO_PYTHON})
    path = root / ".github/workflows/triage.yml"
    args = ("analyze", ".", "--fix=all", "--rule", "gha-template-injection", "--format", "json")
    result = _mendbot(*args, cwd=root)
    assert result.returncode == 1, result.stderr
    after = path.read_text()
    assert 'print("""${{ github.event.issue.title }}""")' in after
    assert "          ${ISSUE_BODY}\n" in after, "the heredoc read by cat is still rewritten"
    findings = json.loads(result.stdout)["findings"]
    [left] = [f for f in findings if f["fix"] is None]
    assert "a heredoc that `python3 -` runs as code" in left["no_fix_reason"]
    assert [f["fix"]["applied"] for f in findings if f["fix"] is not None] == [True]
