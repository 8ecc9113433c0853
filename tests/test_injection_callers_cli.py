"""``gha-template-injection`` across call boundaries, through the real command on files on disk.

An input of a reusable workflow or of a composite action is chosen by its caller: the
repository's own callers are read and the value each passes is traced where the caller
evaluates it; a caller mendbot cannot see (another repository, the users of a published
action) may pass anything. Values mendbot cannot trace at all are reported in runs an
outsider's event can start, and everywhere in the auditor's view (``untraced: everywhere``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from clirun import run_mendbot

RULE = ("--rule", "gha-template-injection")
AUDITOR = "rules:\n  gha-template-injection:\n    options:\n      untraced: everywhere\n"


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def _analyze(root: Path, *extra: str) -> tuple[int, list[dict[str, Any]]]:
    result = run_mendbot("analyze", ".", "--offline", "--format", "json", *RULE, *extra, cwd=root)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)["findings"]


def _seen(findings: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """(file name, evidence, severity) of every finding."""
    return {(Path(f["path"]).name, f["evidence"], f["severity"]) for f in findings}


PUBLISH = """\
on:
  workflow_call:
    inputs:
      tag: {type: string}
jobs:
  publish:
    runs-on: ubuntu-latest
    steps:
      - run: echo "publishing ${{ inputs.tag }}"
"""

RELEASE_CALLER = """\
on:
  workflow_dispatch:
    inputs:
      tag: {type: string}
jobs:
  plan:
    runs-on: ubuntu-latest
    outputs:
      tag: ${{ steps.plan.outputs.tag }}
    steps:
      - id: plan
        run: echo "tag=v$(jq -r .version package.json)" >> "$GITHUB_OUTPUT"
  publish:
    needs: plan
    uses: USES/.github/workflows/publish.yml
    with:
      tag: ${{ needs.plan.outputs.tag }}
  publish-again:
    uses: USES/.github/workflows/publish.yml
    with:
      tag: ${{ inputs.tag }}
"""

TRIAGE_CALLER = """\
on: issues
jobs:
  publish:
    uses: ./.github/workflows/publish.yml
    with:
      tag: ${{ github.event.issue.title }}
"""


@pytest.mark.parametrize("prefix", [".", "$"], ids=["dot-slash", "self-repository"])
def test_a_reusable_workflows_input_is_what_its_callers_pass(tmp_path: Path, prefix: str):
    """Both callers (`./` or GitHub's self-repository `$/` syntax) pass values a writer
    chooses: nothing to report. With no caller in the repository the input is a caller's
    choice (medium); a caller passing an issue title makes it an outsider's (high)."""
    workflows = tmp_path / ".github" / "workflows"
    _write(tmp_path, {".github/workflows/publish.yml": PUBLISH})
    assert _seen(_analyze(tmp_path)[1]) == {
        ("publish.yml", "${{ inputs.tag }}", "medium"),
    }
    (workflows / "release.yml").write_text(RELEASE_CALLER.replace("USES", prefix), "utf-8")
    assert _analyze(tmp_path) == (0, [])
    (workflows / "triage.yml").write_text(TRIAGE_CALLER, encoding="utf-8")
    code, findings = _analyze(tmp_path)
    assert code == 1
    assert _seen(findings) == {("publish.yml", "${{ inputs.tag }}", "high")}
    assert "an outsider can set" in findings[0]["message"]


BUILD_ACTION = """\
name: build
inputs:
  toolchain: {required: true}
  workdir: {default: "${{ github.workspace }}"}
runs:
  using: composite
  steps:
    - shell: bash
      run: cargo +${{ inputs.toolchain }} build --manifest-path ${{ inputs.workdir }}/Cargo.toml
"""

CI_USES_ACTION = """\
on: [push, pull_request]
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - id: rust
        run: echo "name=$(cat rust-toolchain)" >> "$GITHUB_OUTPUT"
      - uses: ./.github/actions/build
        with:
          toolchain: ${{ steps.rust.outputs.name }}
"""

COMMENT_USES_ACTION = """\
on: issue_comment
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: $/.github/actions/build
        with:
          toolchain: ${{ github.event.comment.body }}
"""


def test_a_composite_actions_input_is_what_the_repositorys_steps_pass(tmp_path: Path):
    """An action under `.github/actions/` is used by the repository's own workflows: what
    they pass decides (the input's default, `github.workspace`, when they pass none). The
    same action published at a repository's root has users mendbot cannot see."""
    _write(tmp_path, {".github/actions/build/action.yml": BUILD_ACTION})
    assert _seen(_analyze(tmp_path)[1]) == {
        ("action.yml", "${{ inputs.toolchain }}", "medium"),
        ("action.yml", "${{ inputs.workdir }}", "medium"),
    }
    _write(tmp_path, {".github/workflows/ci.yml": CI_USES_ACTION})
    assert _analyze(tmp_path) == (0, [])
    _write(tmp_path, {".github/workflows/comment.yml": COMMENT_USES_ACTION})
    assert _seen(_analyze(tmp_path)[1]) == {
        ("action.yml", "${{ inputs.toolchain }}", "high"),
    }

    published = _write(tmp_path / "published", {"action.yml": BUILD_ACTION})
    _write(
        published,
        {".github/workflows/ci.yml": CI_USES_ACTION.replace("./.github/actions/build", "./")},
    )
    code, findings = _analyze(published)
    assert code == 1
    assert {f["evidence"] for f in findings} == {"${{ inputs.toolchain }}", "${{ inputs.workdir }}"}
    assert all("a caller mendbot cannot see chooses" in f["message"] for f in findings)


UNTRACED = """\
on: {trigger}
jobs:
  analyze:
    runs-on: ubuntu-latest
    steps:
      - id: analysis
        uses: example/analyze@v1
      - id: listing
        run: echo "names=$(curl -s https://example.com/names)" >> "$GITHUB_OUTPUT"
      - run: |
          ls "${{{{ steps.analysis.outputs.db-path }}}}"
          echo ${{{{ steps.listing.outputs.names }}}}
"""


@pytest.mark.parametrize(
    ("trigger", "reported"),
    [("push", False), ("schedule", False), ("pull_request_target", True), ("issues", True)],
)
def test_an_untraced_value_is_reported_where_an_outsider_can_start_the_run(
    tmp_path: Path, trigger: str, reported: bool
):
    """An unknown action's output, or what a script fetched from the network: in a run only
    writers start nothing says an outsider wrote it (zizmor does not report it either); in a
    run an outsider starts, it may be their text. The auditor's view reports it everywhere."""
    _write(tmp_path, {".github/workflows/analyze.yml": UNTRACED.format(trigger=trigger)})
    expected = {
        ("analyze.yml", "${{ steps.analysis.outputs.db-path }}", "medium"),
        ("analyze.yml", "${{ steps.listing.outputs.names }}", "medium"),
    }
    code, findings = _analyze(tmp_path)
    assert (code, _seen(findings)) == ((1, expected) if reported else (0, set()))
    (tmp_path / "auditor.yml").write_text(AUDITOR, encoding="utf-8")
    code, findings = _analyze(tmp_path, "--config", "auditor.yml")
    assert (code, _seen(findings)) == (1, expected)
    assert all("mendbot cannot see the origin of" in f["message"] for f in findings)


def test_an_unknown_untraced_setting_is_refused_naming_the_option(tmp_path: Path):
    _write(tmp_path, {".github/workflows/analyze.yml": UNTRACED.format(trigger="push")})
    (tmp_path / "bad.yml").write_text(AUDITOR.replace("everywhere", "sometimes"), "utf-8")
    result = run_mendbot("analyze", ".", "--offline", "--config", "bad.yml", *RULE, cwd=tmp_path)
    assert result.returncode == 2
    assert "untraced" in result.stderr and "Traceback" not in result.stderr


WRITES_AND_READS = """\
on: schedule
jobs:
  bump:
    runs-on: ubuntu-latest
    steps:
      - run: |
          PR_URL=$(gh pr create --fill)
          echo "PR_URL=$PR_URL" >> "$GITHUB_ENV"
      - id: issue
        run: echo "title=$(gh issue view 1 --json title -q .title)" >> "$GITHUB_OUTPUT"
      - run: |
          echo "created ${{ env.PR_URL }}"
          echo "for ${{ steps.issue.outputs.title }}"
"""


def test_gh_commands_that_write_print_no_outsiders_text(tmp_path: Path):
    """`gh pr create` prints the URL GitHub gives the new pull request; `gh issue view` prints
    what anyone wrote in the issue."""
    _write(tmp_path, {".github/workflows/bump.yml": WRITES_AND_READS})
    code, findings = _analyze(tmp_path)
    assert code == 1
    assert _seen(findings) == {("bump.yml", "${{ steps.issue.outputs.title }}", "medium")}
    assert "a step reads from where outsiders write" in findings[0]["message"]


INNER_SHELL_WRITES_ENV = """\
on: issues
jobs:
  profile:
    runs-on: ubuntu-latest
    steps:
      - env:
          TOOLCHAIN: ${{ github.event.issue.title }}
          LABEL: ${{ github.event.issue.body }}
        run: |
          rustup run ${TOOLCHAIN} bash -c 'echo "PROFDATA=$RUSTUP_HOME/bin" >> "$GITHUB_ENV"'
          echo "CHOSEN=${LABEL}" >> "$GITHUB_ENV"
"""


def test_a_variable_is_written_to_github_env_only_by_the_command_that_redirects(tmp_path: Path):
    """On the first line `$GITHUB_ENV` is in the single-quoted text the inner shell runs, and
    the outsider's value is only an argument of `rustup`: not written there. The second line
    writes it: reported, once."""
    _write(tmp_path, {".github/workflows/profile.yml": INNER_SHELL_WRITES_ENV})
    code, findings = _analyze(tmp_path)
    assert code == 1
    assert [f["evidence"] for f in findings] == ["${LABEL}"]
    assert "writes it to `$GITHUB_ENV`" in findings[0]["message"]
