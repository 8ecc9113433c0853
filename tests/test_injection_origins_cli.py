"""``gha-template-injection`` through the real command: values nobody without write access can
choose are not reported, and the same shapes fed by an outsider (or by something mendbot cannot
trace) still are. Each workflow holds both: the trusted jobs and the attack next to them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from clirun import run_mendbot

RULE = ("--rule", "gha-template-injection")


def _analyze(root: Path, *extra: str) -> tuple[int, list[dict[str, Any]]]:
    result = run_mendbot("analyze", ".", "--offline", "--format", "json", *RULE, *extra, cwd=root)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)["findings"]


def _reported(findings: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """(job, evidence, severity) of every finding."""
    return {(f["route"][1], f["evidence"], f["severity"]) for f in findings}


STATIC_MATRIX = """\
on:
  pull_request_target:
  workflow_call:
    inputs:
      targets: {type: string}
jobs:
  static:
    strategy:
      matrix:
        platform:
          - {target: x86_64-unknown-linux-gnu, args: "--features 'a b'"}
          - {target: aarch64-apple-darwin}
        python: ["3.12", {key: pypy3.10}]
        include:
          - platform: {target: wasm32-wasip1}
            extra: "$(written by the author)"
    runs-on: ubuntu-latest
    steps:
      - run: |
          cargo build --target ${{ matrix.platform.target }} ${{ matrix.platform.args }}
          echo ${{ matrix.python.key || matrix.python }} ${{ matrix.extra }}
          echo '${{ toJSON(matrix.platform) }}' '${{ toJSON(matrix) }}'
  from-input:
    strategy:
      matrix:
        target: ${{ fromJSON(inputs.targets) }}
    runs-on: ubuntu-latest
    steps:
      - run: cargo build --target ${{ matrix.target }}
  from-event:
    strategy:
      matrix:
        os: [ubuntu-latest]
        include:
          - os: ubuntu-latest
            label: ${{ github.event.pull_request.title }}
    runs-on: ubuntu-latest
    steps:
      - run: echo ${{ matrix.label }} '${{ toJSON(matrix) }}'
"""


def test_a_matrix_written_out_in_the_workflow_is_not_reported(workflows) -> None:
    root = workflows({"build.yml": STATIC_MATRIX})
    code, findings = _analyze(root)
    assert code == 1
    assert _reported(findings) == {
        ("from-input", "${{ matrix.target }}", "medium"),
        ("from-event", "${{ matrix.label }}", "high"),
        ("from-event", "${{ toJSON(matrix) }}", "high"),
    }


LITERAL_ENV = """\
on: issues
env:
  MODE: 'release "candidate" $(date +%Y)'
jobs:
  check:
    runs-on: ubuntu-latest
    env:
      CHECK_SCRIPT: |
        const labels = context.payload.issue.labels.map(l => l.name);
        if (!labels.includes("triage")) core.setFailed("no triage label");
    steps:
      - uses: actions/github-script@v7
        with:
          script: ${{ env.CHECK_SCRIPT }}
      - run: echo "${{ env.MODE }}"
  tainted:
    runs-on: ubuntu-latest
    env:
      TITLE: ${{ github.event.issue.title }}
    steps:
      - run: echo "${{ env.TITLE }}"
  overwritten:
    runs-on: ubuntu-latest
    steps:
      - run: echo "MODE=$(jq -r .issue.title "$GITHUB_EVENT_PATH")" >> "$GITHUB_ENV"
      - run: echo "${{ env.MODE }}"
"""


def test_a_literal_env_value_is_not_reported_unless_a_step_may_overwrite_it(workflows) -> None:
    root = workflows({"triage.yml": LITERAL_ENV})
    code, findings = _analyze(root)
    assert code == 1
    assert _reported(findings) == {
        ("tainted", "${{ env.TITLE }}", "high"),
        ("overwritten", "${{ env.MODE }}", "medium"),
    }


DISPATCH = """\
on:
  workflow_dispatch:
    inputs:
      version_type: {type: choice, options: [minor, patch], default: minor}
      pr: {type: number}
      dry-run: {type: boolean}
      target: {type: string, description: the tag to move}
jobs:
  bump:
    runs-on: ubuntu-latest
    steps:
      - run: |
          bin/bump ${{ inputs.version_type || 'minor' }} ${{ inputs.pr }} ${{ inputs.dry-run }}
          git tag -f v1 ${{ github.event.inputs.target }} ${{ inputs.target }}
"""

#: The same inputs, but a caller can also pass ``version_type`` as free text.
CALLED_TOO = DISPATCH.replace(
    "jobs:",
    "  workflow_call:\n    inputs:\n      version_type: {type: string}\n"
    "      pr: {type: number}\njobs:",
)


def test_workflow_dispatch_inputs_are_not_reported(workflows) -> None:
    root = workflows({"bump.yml": DISPATCH})
    code, findings = _analyze(root)
    assert (code, findings) == (0, [])


def test_an_input_a_caller_may_pass_as_free_text_stays_reported(workflows) -> None:
    root = workflows({"bump.yml": CALLED_TOO})
    code, findings = _analyze(root)
    assert code == 1
    assert _reported(findings) == {
        ("bump", "${{ inputs.version_type || 'minor' }}", "medium"),
        # `target` is not declared for callers: they cannot pass it, and a dispatch is a writer.
    }


TRUSTED_OUTPUTS = """\
on:
  push:
  pull_request:
  workflow_dispatch:
jobs:
  prepare:
    runs-on: ubuntu-latest
    outputs:
      version: ${{ steps.version.outputs.version }}
    steps:
      - uses: actions/checkout@v4
        id: checkout
      - id: version
        run: |
          VERSION="v$(jq -r .version package.json)"
          echo "version=${VERSION}" >> "$GITHUB_OUTPUT"
      - id: db
        uses: ./.github/actions/analyze
        with:
          upload: false
      - id: changes
        uses: dorny/paths-filter@v3
        with:
          filters: .github/filters.yml
      - run: |
          echo "${{ steps.checkout.outputs.commit }} ${{ steps.version.outputs.version }}"
          test -d "${{ fromJson(steps.db.outputs.db-locations).ruby }}"
          echo '${{ toJson(steps.changes.outputs.changes) }}'
      - run: echo "NEW_VERSION=$(bin/bump-version.rb minor)" >> "$GITHUB_ENV"
      - run: git commit -m "v${{ env.NEW_VERSION }} on ${{ github.ref_name }}"
  release:
    needs: prepare
    runs-on: ubuntu-latest
    steps:
      - run: gh release create "${{ needs.prepare.outputs.version }}"
"""


def test_outputs_of_trusted_steps_are_not_reported(workflows) -> None:
    root = workflows({"release.yml": TRUSTED_OUTPUTS})
    code, findings = _analyze(root)
    assert (code, findings) == (0, [])


#: Step outputs that carry (or may carry) an outsider's text: each stays reported.
TAINTED_OUTPUTS = {
    # The output is computed from the issue title: high, like the title itself.
    "issue-title.yml": """\
on: issues
jobs:
  triage:
    runs-on: ubuntu-latest
    steps:
      - id: title
        env:
          TITLE: ${{ github.event.issue.title }}
        run: echo "title=$TITLE" >> "$GITHUB_OUTPUT"
      - run: echo "${{ steps.title.outputs.title }}"
""",
    # A scheduled run is started by GitHub, but the script reads issue titles with gh.
    "fetched.yml": """\
on: schedule
jobs:
  triage:
    runs-on: ubuntu-latest
    steps:
      - id: issue
        run: echo "title=$(gh issue view 1 --json title -q .title)" >> "$GITHUB_OUTPUT"
      - run: echo "${{ steps.issue.outputs.title }}"
""",
    # The event payload of a push holds commit messages anyone can write and a writer merges.
    "commit-message.yml": """\
on: push
jobs:
  notes:
    runs-on: ubuntu-latest
    steps:
      - id: notes
        run: echo "subject=$(jq -r .head_commit.message "$GITHUB_EVENT_PATH")" >> "$GITHUB_OUTPUT"
      - run: echo "${{ steps.notes.outputs.subject }}"
""",
    # A third-party action whose output lists the file names a pull request chooses.
    "changed-files.yml": """\
on: push
jobs:
  lint:
    runs-on: ubuntu-latest
    steps:
      - id: changed
        uses: tj-actions/changed-files@v46
      - run: rubocop ${{ steps.changed.outputs.all_changed_files }}
""",
    # Anyone can start a pull_request_target run, and the local action may read the event.
    "target.yml": """\
on: pull_request_target
jobs:
  label:
    runs-on: ubuntu-latest
    steps:
      - id: meta
        uses: ./.github/actions/meta
      - run: echo "${{ steps.meta.outputs.label }}"
""",
}


def test_step_outputs_an_outsider_may_fill_stay_reported(workflows) -> None:
    root = workflows(TAINTED_OUTPUTS)
    code, findings = _analyze(root)
    assert code == 1
    consumers = {
        (Path(f["path"]).name, f["evidence"], f["severity"])
        for f in findings
        if "outputs" in f["evidence"]
    }
    assert consumers == {
        ("issue-title.yml", "${{ steps.title.outputs.title }}", "high"),
        ("fetched.yml", "${{ steps.issue.outputs.title }}", "medium"),
        ("commit-message.yml", "${{ steps.notes.outputs.subject }}", "medium"),
        ("changed-files.yml", "${{ steps.changed.outputs.all_changed_files }}", "medium"),
        ("target.yml", "${{ steps.meta.outputs.label }}", "medium"),
    }


PULL_REQUEST_FILES = """\
on: {trigger}
jobs:
  typing:
    runs-on: ubuntu-latest
    steps:
      - id: changed
        uses: tj-actions/changed-files@v46
      - run: bin/check-typing ${{{{ steps.changed.outputs.all_changed_files }}}}
      - run: echo "${{{{ github.event.pull_request.title }}}}"
"""


def test_a_pull_request_run_reports_only_the_outsider_contexts(workflows) -> None:
    """The author of a pull request already decides what a ``pull_request`` run executes (it
    uses their copy of the workflow): a value mendbot cannot trace gains them nothing there,
    but does in a ``pull_request_target`` run, which holds the base repository's token."""
    root = workflows(
        {
            "pr.yml": PULL_REQUEST_FILES.format(trigger="pull_request"),
            "target.yml": PULL_REQUEST_FILES.format(trigger="pull_request_target"),
        }
    )
    code, findings = _analyze(root)
    assert code == 1
    reported = {(Path(f["path"]).name, f["evidence"]) for f in findings}
    assert reported == {
        ("pr.yml", "${{ github.event.pull_request.title }}"),
        ("target.yml", "${{ steps.changed.outputs.all_changed_files }}"),
        ("target.yml", "${{ github.event.pull_request.title }}"),
    }


REPEATED = """\
on: issues
jobs:
  triage:
    runs-on: ubuntu-latest
    steps:
      - run: |
          echo "New: ${{ github.event.issue.title }}"
          gh issue comment 1 --body "Thanks for: ${{ github.event.issue.title }}"
          echo "${{ github.event.issue.title }}" >> titles.txt
"""


def test_one_expression_repeated_in_a_script_is_one_finding_and_one_fix(workflows) -> None:
    root = workflows({"triage.yml": REPEATED})
    path = root / ".github/workflows/triage.yml"
    code, findings = _analyze(root)
    assert code == 1
    [finding] = findings
    assert finding["evidence"] == "${{ github.event.issue.title }}"
    code, findings = _analyze(root, "--fix=all")
    assert (code, findings[0]["fix"]["applied"]) == (0, True)
    written = path.read_text()
    assert written.count("${{ github.event.issue.title }}") == 1  # in env: only
    assert written.count('"${ISSUE_TITLE}"') == 1 and written.count("${ISSUE_TITLE}") == 3
    assert _analyze(root) == (0, [])


REUSABLE = """\
on:
  workflow_call:
    outputs:
      version: {value: "${{ jobs.prepare.outputs.version }}"}
      title: {value: "${{ jobs.prepare.outputs.title }}"}
  push:
    paths: [.github/workflows/prepare.yml]
jobs:
  prepare:
    runs-on: ubuntu-latest
    outputs:
      version: ${{ steps.versions.outputs.version }}
      title: ${{ steps.issue.outputs.title }}
    steps:
      - uses: actions/checkout@v4
      - id: versions
        run: echo "version=v$(jq -r .version package.json)" >> "$GITHUB_OUTPUT"
      - run: echo "releasing ${{ steps.versions.outputs.version }} from ${{ github.ref_name }}"
      - id: issue
        run: echo "title=$(gh issue view 1 --json title -q .title)" >> "$GITHUB_OUTPUT"
"""

CALLER = """\
on: {trigger}
jobs:
  prepare:
    uses: ./.github/workflows/prepare.yml
  publish:
    needs: prepare
    runs-on: ubuntu-latest
    steps:
      - run: gh release create "${{{{ needs.prepare.outputs.version }}}}"
      - run: echo "${{{{ needs.prepare.outputs.title }}}}"
"""


@pytest.mark.parametrize(
    ("trigger", "expected", "audited"),
    [
        ("workflow_dispatch", set(), set()),
        ("issue_comment", {"version", "ref_name", "caller version"}, set()),
        (None, set(), {"version", "ref_name"}),
    ],
    ids=["called-on-dispatch", "called-on-a-comment", "no-caller-in-the-repository"],
)
def test_a_reusable_workflow_is_started_by_its_callers(
    workflows, tmp_path: Path, trigger: str | None, expected: set[str], audited: set[str]
) -> None:
    """A value the repository's own code computes in a reusable workflow is trusted only when
    every workflow of the repository that calls it is started by writers. A caller mendbot
    cannot see (another repository's) brings in what it passes as inputs (reported on their
    own) and its event, which the code could read without mendbot seeing it: values computed
    there are untraced, reported only in the auditor's view (``untraced: everywhere``). The
    caller reads the callee's outputs as the callee computes them: an issue title fetched
    with gh stays reported whoever starts the run."""
    files = {"prepare.yml": REUSABLE}
    if trigger is not None:
        files["release.yml"] = CALLER.format(trigger=trigger)
    root = workflows(files)
    names = {
        "${{ steps.versions.outputs.version }}": "version",
        "${{ github.ref_name }}": "ref_name",
        "${{ needs.prepare.outputs.version }}": "caller version",
        "${{ needs.prepare.outputs.title }}": "caller title",
    }
    caller_title = {"caller title"} if trigger else set()
    code, findings = _analyze(root)
    assert {names[f["evidence"]] for f in findings} == expected | caller_title
    assert code == (1 if expected | caller_title else 0)
    auditor = tmp_path / "auditor.yml"
    auditor.write_text(AUDITOR, encoding="utf-8")
    _, findings = _analyze(root, "--config", str(auditor))
    assert {names[f["evidence"]] for f in findings} == expected | audited | caller_title


AUDITOR = """\
rules:
  gha-template-injection:
    options:
      untraced: everywhere
"""


REVIEW_EVENTS = """\
on: {event}
jobs:
  review:
    runs-on: ubuntu-latest
    steps:
      - id: r
        run: echo "body=$(jq -r .review.body "$GITHUB_EVENT_PATH" | head -1)" >> "$GITHUB_OUTPUT"
      - run: echo "${{{{ steps.r.outputs.body }}}}"
"""


@pytest.mark.parametrize("event", ["pull_request_review", "pull_request_review_comment"])
def test_a_review_event_is_not_owned_by_the_pull_requests_author(tmp_path: Path, event: str):
    """On a pull request from a branch of the repository, a review run has secrets and a write
    token, and anyone may write the review: an untraced value there stays reported."""
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    (folder / "review.yml").write_text(REVIEW_EVENTS.format(event=event), encoding="utf-8")
    code, findings = _analyze(tmp_path)
    assert code == 1
    assert [f["evidence"] for f in findings] == ["${{ steps.r.outputs.body }}"]


MATRIX_OF_COMPUTED_ENTRIES = """\
on: issue_comment
jobs:
  setup:
    runs-on: ubuntu-latest
    outputs:
      cfg: ${{ steps.s.outputs.cfg }}
    steps:
      - id: s
        env:
          BODY: ${{ github.event.comment.body }}
        run: echo "cfg=$(jq -cn --arg t "$BODY" '{title:$t}')" >> "$GITHUB_OUTPUT"
  entries:
    needs: setup
    runs-on: ubuntu-latest
    strategy:
      matrix:
        config:
          - ${{ fromJSON(needs.setup.outputs.cfg) }}
        include:
          - cfg: ${{ fromJSON(needs.setup.outputs.cfg) }}
    steps:
      - run: echo "${{ matrix.config.title }}" "${{ matrix.cfg.title }}"
"""


def test_a_property_of_a_computed_matrix_entry_is_not_written_out(tmp_path: Path):
    """``matrix.config.title`` of an entry ``${{ fromJSON(…) }}`` is as computed as the entry."""
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    (folder / "matrix.yml").write_text(MATRIX_OF_COMPUTED_ENTRIES, encoding="utf-8")
    _, findings = _analyze(tmp_path)
    evidence = {f["evidence"] for f in findings}
    assert evidence >= {"${{ matrix.config.title }}", "${{ matrix.cfg.title }}"}


DISPATCHED_BUILD = """\
on:
  workflow_dispatch:
    inputs:
      title: {type: string}
      count: {type: number}
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo "${{ inputs.title }}" "${{ inputs.count }}"
"""

TRIAGE_DISPATCHES_IT = """\
on: issues
jobs:
  triage:
    runs-on: ubuntu-latest
    steps:
      - env:
          GH_TOKEN: ${{ github.token }}
          TITLE: ${{ github.event.issue.title }}
        run: gh workflow run build.yml -f title="$TITLE"
"""


def test_a_dispatch_input_a_workflow_may_fill_from_an_issue_stays_reported(tmp_path: Path):
    """``gh workflow run`` in another workflow passes an issue title: the free-text input is no
    longer only a writer's choice, the number input still is."""
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    (folder / "build.yml").write_text(DISPATCHED_BUILD, encoding="utf-8")
    assert _analyze(tmp_path) == (0, [])
    (folder / "triage.yml").write_text(TRIAGE_DISPATCHES_IT, encoding="utf-8")
    code, findings = _analyze(tmp_path)
    assert code == 1
    assert [(f["evidence"], f["severity"]) for f in findings] == [("${{ inputs.title }}", "medium")]


def test_a_merge_queue_commit_message_is_an_outsiders_text(tmp_path: Path):
    """A merge queue commit carries the pull request's title: anyone's, once a writer queues."""
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    (folder / "queue.yml").write_text(
        "on: merge_group\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        '      - run: echo "${{ github.event.merge_group.head_commit.message }}"\n',
        encoding="utf-8",
    )
    code, findings = _analyze(tmp_path)
    assert code == 1
    assert [f["severity"] for f in findings] == ["high"]
