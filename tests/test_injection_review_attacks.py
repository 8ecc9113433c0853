"""Attacks on ``gha-template-injection``'s call tracing and untraced-value filtering.

Each test writes a repository whose workflows carry an outsider's text (an issue title, a
comment, a pull request's title) into a ``run:`` script or ``$GITHUB_ENV`` along a path the
rule must still follow, runs ``mendbot analyze`` on it and asserts the finding (exit code 1).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from clirun import run_mendbot

RULE = ("--rule", "gha-template-injection")


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def _analyze(root: Path) -> tuple[int, set[tuple[str, str, str]]]:
    """The exit code and (file name, evidence, severity) of every finding."""
    result = run_mendbot("analyze", ".", "--offline", "--format", "json", *RULE, cwd=root)
    assert result.returncode in (0, 1), result.stderr
    findings: list[dict[str, Any]] = json.loads(result.stdout)["findings"]
    return result.returncode, {
        (Path(f["path"]).name, f["evidence"], f["severity"]) for f in findings
    }


INNER_ACTION = """\
name: inner
inputs:
  text: {required: true}
runs:
  using: composite
  steps:
    - id: tool
      uses: example/unknown@v1
    - shell: bash
      run: |
        echo "${{ inputs.text }}"
        echo "${{ steps.tool.outputs.value }}"
"""

OUTER_ACTION = """\
name: outer
inputs:
  text: {required: true}
runs:
  using: composite
  steps:
    - uses: USES
      with:
        text: ${{ inputs.text }}
"""

PUSH_USES_INNER = """\
on: push
jobs:
  greet:
    runs-on: ubuntu-latest
    steps:
      - uses: ./.github/actions/inner
        with:
          text: hello
"""

COMMENT_USES_OUTER = """\
on: issue_comment
jobs:
  greet:
    runs-on: ubuntu-latest
    steps:
      - uses: ./.github/actions/outer
        with:
          text: ${{ github.event.comment.body }}
"""


@pytest.mark.parametrize(
    "uses",
    ["./.github/actions/inner", "./.github/actions/./inner", "./.github/actions//inner/"],
)
def test_a_composite_action_used_by_another_composite_action_is_traced_through_it(
    tmp_path: Path, uses: str
):
    """`inner` is used by a `push` workflow with a literal, and by `outer`, which an
    `issue_comment` workflow gives the comment's body: the body reaches `inner`'s script, and
    the unknown action's output in `inner` runs in a run an outsider starts. The runner reads
    a local action from the disk, so `./a/./b` and `./a//b/` name the same folder."""
    _write(
        tmp_path,
        {
            ".github/actions/inner/action.yml": INNER_ACTION,
            ".github/actions/outer/action.yml": OUTER_ACTION.replace("USES", uses),
            ".github/workflows/ci.yml": PUSH_USES_INNER,
            ".github/workflows/comment.yml": COMMENT_USES_OUTER,
        },
    )
    assert _analyze(tmp_path) == (
        1,
        {
            ("action.yml", "${{ inputs.text }}", "high"),
            ("action.yml", "${{ steps.tool.outputs.value }}", "medium"),
        },
    )


def test_composite_actions_that_use_each_other_do_not_loop(tmp_path: Path):
    """Two actions that use each other (a loop GitHub refuses at run time), one of them used
    by a workflow, are analysed without endless recursion."""
    _write(
        tmp_path,
        {
            ".github/actions/inner/action.yml": OUTER_ACTION.replace(
                "USES", "./.github/actions/outer"
            ),
            ".github/actions/outer/action.yml": INNER_ACTION.replace(
                "example/unknown@v1", "./.github/actions/inner"
            ),
            ".github/workflows/comment.yml": COMMENT_USES_OUTER,
        },
    )
    result = run_mendbot("analyze", ".", "--offline", *RULE, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr


OUTSIDERS_TEXT_IN_A_PUSH_RUN = """\
on:
  push:
    branches: [main]
jobs:
  announce:
    runs-on: ubuntu-latest
    steps:
      - id: pr
        uses: 8BitJonny/gh-get-current-pr@3.0.0
      - id: found
        uses: jwalton/gh-find-current-pr@v1
      - id: query
        uses: octokit/graphql-action@v2.x
        with:
          query: '{ repository(owner: "o", name: "r") { issue(number: 1) { title } } }'
      - id: script
        uses: actions/github-script@v7
        with:
          result-encoding: string
          script: |
            const { data } = await github.rest.issues.get({
              owner: context.repo.owner, repo: context.repo.repo, issue_number: 1 })
            return data.title
      - id: rest
        run: |
          title=$(curl -s "$GITHUB_API_URL/repos/o/r/pulls/1" | jq -r .title)
          echo "title=$title" >> "$GITHUB_OUTPUT"
      - id: option
        run: echo "title=$(gh pr --repo o/r view 1 --json title -q .title)" >> "$GITHUB_OUTPUT"
      - run: |
          echo "${{ steps.pr.outputs.pr_title }}"
          echo "${{ steps.found.outputs.body }}"
          echo "${{ steps.query.outputs.data }}"
          echo "${{ steps.script.outputs.result }}"
          echo "${{ steps.rest.outputs.title }}"
          echo "${{ steps.option.outputs.title }}"
"""


def test_text_read_from_pull_requests_and_issues_in_a_push_run_is_reported(tmp_path: Path):
    """A fork's pull request, once merged, starts `push` runs on main with a write token:
    actions and scripts that read its title or an issue's text (through an action, the
    GitHub API with github-script or curl, or `gh` with an option before the verb) bring an
    outsider's text into the script. Each is what a step reads from where outsiders write."""
    _write(tmp_path, {".github/workflows/announce.yml": OUTSIDERS_TEXT_IN_A_PUSH_RUN})
    assert _analyze(tmp_path) == (
        1,
        {
            ("announce.yml", "${{ steps.pr.outputs.pr_title }}", "medium"),
            ("announce.yml", "${{ steps.found.outputs.body }}", "medium"),
            ("announce.yml", "${{ steps.query.outputs.data }}", "medium"),
            ("announce.yml", "${{ steps.script.outputs.result }}", "medium"),
            ("announce.yml", "${{ steps.rest.outputs.title }}", "medium"),
            ("announce.yml", "${{ steps.option.outputs.title }}", "medium"),
        },
    )


INNER_SHELL_WRITES_THE_VALUE = """\
on: issues
jobs:
  remember:
    runs-on: ubuntu-latest
    steps:
      - env:
          TITLE: ${{ github.event.issue.title }}
          BODY: ${{ github.event.issue.body }}
          TOOLCHAIN: ${{ github.event.issue.title }}
        run: |
          bash -c 'echo "ISSUE_TITLE=$1" >> "$GITHUB_ENV"' _ "$TITLE"
          echo "ISSUE_BODY=$BODY" | sh -c 'cat >> "$GITHUB_ENV"'
          rustup run "$TOOLCHAIN" bash -c 'echo "TOOL=$HOME/bin" >> "$GITHUB_ENV"'
"""


def test_an_inner_shell_that_writes_its_argument_or_input_to_github_env_is_reported(
    tmp_path: Path,
):
    """`bash -c '… "$1" >> "$GITHUB_ENV"' _ "$TITLE"` writes the title, passed as an argument,
    and `echo … | sh -c 'cat >> "$GITHUB_ENV"'` writes what it reads from the pipe: a newline
    in either sets any variable for the later steps. `rustup run "$TOOLCHAIN" bash -c '…'` only
    passes the login to rustup (and a login cannot hold a newline anyway)."""
    _write(tmp_path, {".github/workflows/remember.yml": INNER_SHELL_WRITES_THE_VALUE})
    assert _analyze(tmp_path) == (
        1,
        {("remember.yml", "$TITLE", "high"), ("remember.yml", "$BODY", "high")},
    )


BUILD = """\
name: Build
on:
  workflow_dispatch:
    inputs:
      note: {type: string}
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo "${{ inputs.note }}"
"""

DISPATCH_BY_ACTION = """\
on: issues
jobs:
  dispatch:
    runs-on: ubuntu-latest
    steps:
      - uses: benc-uk/workflow-dispatch@v1
        with:
          workflow: Build
          inputs: '{ "note": "${{ github.event.issue.title }}" }'
      - run: yamllint .github/workflows/ci.yml
"""

DISPATCH_BY_GH = """\
on: issues
jobs:
  dispatch:
    runs-on: ubuntu-latest
    steps:
      - env:
          NOTE: ${{ github.event.issue.title }}
        run: gh workflow run Build --ref main -f note="$NOTE" -f config=release.yml
"""

DISPATCH_BY_REST = """\
on: issues
jobs:
  dispatch:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/github-script@v7
        with:
          script: |
            await github.rest.actions.createWorkflowDispatch({
              owner: context.repo.owner, repo: context.repo.repo,
              workflow_id: process.env.TARGET, ref: 'main',
              inputs: { note: context.payload.issue.title, config: 'release.yml' } })
"""


@pytest.mark.parametrize(
    "dispatcher",
    [DISPATCH_BY_ACTION, DISPATCH_BY_GH, DISPATCH_BY_REST],
    ids=["workflow-dispatch-action", "gh-workflow-run", "createWorkflowDispatch"],
)
def test_a_dispatch_naming_its_target_by_name_taints_the_inputs(tmp_path: Path, dispatcher: str):
    """A dispatch may name its target by the workflow's `name:` (`Build`), by its id or by a
    variable: only a dispatch whose target is a file name rules the others out. A `.yml` word
    elsewhere on the line or in the next step is not the target."""
    _write(
        tmp_path,
        {".github/workflows/build.yml": BUILD, ".github/workflows/dispatch.yml": dispatcher},
    )
    assert _analyze(tmp_path) == (1, {("build.yml", "${{ inputs.note }}", "medium")})


def test_a_dispatch_naming_another_file_still_leaves_this_ones_inputs_alone(tmp_path: Path):
    """The case the change was made for holds: `gh workflow run other.yml -f …`, a dispatch
    action with `workflow: other.yml` and `createWorkflowDispatch` with a `workflow_id` path
    do not reach `build.yml`."""
    _write(
        tmp_path,
        {
            ".github/workflows/build.yml": BUILD,
            ".github/workflows/dispatch.yml": DISPATCH_BY_GH.replace("Build", "other.yml"),
            ".github/workflows/dispatch2.yml": DISPATCH_BY_ACTION.replace("Build", "other.yml"),
            ".github/workflows/dispatch3.yml": DISPATCH_BY_REST.replace(
                "process.env.TARGET", "'.github/workflows/other.yml'"
            ),
        },
    )
    assert _analyze(tmp_path) == (0, set())


def _chain(jobs: int) -> str:
    """A `schedule` workflow whose first job reads an issue's title with `gh` and hands it on
    through ``jobs`` jobs' outputs to a script."""
    lines = [
        "on:",
        "  schedule: [{cron: '0 0 * * *'}]",
        "jobs:",
        "  j0:",
        "    runs-on: ubuntu-latest",
        "    outputs: {t: '${{ steps.s.outputs.t }}'}",
        "    steps:",
        "      - id: s",
        '        run: echo "t=$(gh issue view 1 --json title -q .title)" >> "$GITHUB_OUTPUT"',
    ]
    for i in range(1, jobs):
        lines += [
            f"  j{i}:",
            f"    needs: j{i - 1}",
            "    runs-on: ubuntu-latest",
            "    outputs: {t: '${{ steps.s.outputs.t }}'}",
            "    steps:",
            "      - id: s",
            f'        run: echo "t=${{{{ needs.j{i - 1}.outputs.t }}}}" >> "$GITHUB_OUTPUT"',
        ]
    lines += [
        "  last:",
        f"    needs: j{jobs - 1}",
        "    runs-on: ubuntu-latest",
        "    steps:",
        f'      - run: echo "${{{{ needs.j{jobs - 1}.outputs.t }}}}"',
    ]
    return "\n".join(lines) + "\n"


def test_a_title_handed_on_through_seven_jobs_is_still_reported(tmp_path: Path):
    """Tracing stopped after eight hops and called what it had not reached untraced, which a
    writer-started run hides: the issue title read by the first job disappeared three jobs
    later. Each job's output is now reported as what a step read from where outsiders
    write."""
    _write(tmp_path, {".github/workflows/chain.yml": _chain(7)})
    code, findings = _analyze(tmp_path)
    assert code == 1
    assert ("chain.yml", "${{ needs.j6.outputs.t }}", "medium") in findings
    assert len(findings) == 7


def test_a_command_with_many_options_is_read_in_linear_time(tmp_path: Path):
    """`git` or `gh` followed by dozens of options once made the pattern that finds their
    reading commands try every way of splitting them (hours for 40 options): a workflow in a
    pull request could stall the analysis. The bound is minutes for what takes a second."""
    options = " ".join(f"--opt{i}" for i in range(40))
    workflow = f"""\
on: schedule
jobs:
  tag:
    runs-on: ubuntu-latest
    steps:
      - id: tag
        run: echo "tag=$(git {options} describe)" >> "$GITHUB_OUTPUT"
      - run: echo "${{{{ steps.tag.outputs.tag }}}}"
"""
    _write(tmp_path, {".github/workflows/tag.yml": workflow})
    result = subprocess.run(
        [sys.executable, "-m", "bot", "analyze", ".", "--offline", *RULE],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr


def _calling_each_other(count: int) -> dict[str, str]:
    """``count`` reusable workflows, each calling every other one with its own input."""
    files = {}
    for i in range(count):
        calls = "".join(
            f"  call-{j}:\n    uses: ./.github/workflows/w{j}.yml\n"
            "    with:\n      msg: ${{ inputs.msg }}\n"
            for j in range(count)
            if j != i
        )
        files[f".github/workflows/w{i}.yml"] = (
            "on:\n  workflow_call:\n    inputs:\n      msg: {type: string}\njobs:\n"
            f"{calls}  say:\n    runs-on: ubuntu-latest\n"
            '    steps:\n      - run: echo "${{ inputs.msg }}"\n'
        )
    return files


def test_reusable_workflows_that_call_each_other_are_traced_in_polynomial_time(tmp_path: Path):
    """Seven workflows calling each other (a pull request can add them) once made the caller
    tracing walk every path through the calls, more than five minutes for six: each
    workflow's callers and each input are now read once per look-up. With a caller passing a
    comment's body, every workflow's input is the outsider's. The bound is minutes for what
    takes seconds."""
    files = _calling_each_other(7)
    files[".github/workflows/comment.yml"] = (
        "on: issue_comment\njobs:\n  call:\n    uses: ./.github/workflows/w0.yml\n"
        "    with:\n      msg: ${{ github.event.comment.body }}\n"
    )
    _write(tmp_path, files)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "analyze", ".", "--offline", "--format", "json", *RULE],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 1, result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert {(Path(f["path"]).name, f["severity"]) for f in findings} == {
        (f"w{i}.yml", "high") for i in range(7)
    }


def test_composite_actions_that_use_each_other_are_traced_in_polynomial_time(tmp_path: Path):
    """Seven composite actions each using every other one, the first used by an
    `issue_comment` workflow with the comment's body: each action's input is the outsider's,
    and each unknown action's output runs in a run an outsider starts; every action is read
    once per look-up (the bound is minutes for what takes seconds)."""
    files = {}
    for i in range(7):
        uses = "".join(
            f"    - uses: ./.github/actions/a{j}\n"
            "      with:\n        text: ${{ inputs.text }}\n"
            for j in range(7)
            if j != i
        )
        files[f".github/actions/a{i}/action.yml"] = (
            f"name: a{i}\ninputs:\n  text: {{required: true}}\nruns:\n  using: composite\n"
            f"  steps:\n{uses}    - id: tool\n      uses: example/unknown@v1\n"
            '    - shell: bash\n      run: echo "${{ inputs.text }} ${{ steps.tool.outputs.x }}"\n'
        )
    files[".github/workflows/comment.yml"] = COMMENT_USES_OUTER.replace("outer", "a0")
    _write(tmp_path, files)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "analyze", ".", "--offline", "--format", "json", *RULE],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 1, result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert sorted((Path(f["path"]).parent.name, f["severity"]) for f in findings) == sorted(
        [(f"a{i}", "high") for i in range(7)] + [(f"a{i}", "medium") for i in range(7)]
    )


def test_many_steps_writing_the_same_variable_are_traced_in_polynomial_time(tmp_path: Path):
    """Thirty steps each appending `X=${{ env.X }}…` to `$GITHUB_ENV` made the tracing of
    `env.X` walk every subset of them (more than five minutes): each context is traced once
    per reading step. All of it is written in the workflow, so nothing is reported."""
    steps = "".join(
        f'      - run: echo "X=${{{{ env.X }}}}{i}" >> "$GITHUB_ENV"\n' for i in range(30)
    )
    workflow = (
        "on: push\nenv:\n  X: start\njobs:\n  build:\n    runs-on: ubuntu-latest\n"
        f'    steps:\n{steps}      - run: echo "${{{{ env.X }}}}"\n'
    )
    _write(tmp_path, {".github/workflows/env.yml": workflow})
    result = subprocess.run(
        [sys.executable, "-m", "bot", "analyze", ".", "--offline", *RULE],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
