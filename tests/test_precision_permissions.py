"""Permission findings only where a job gets more than it needs, through the real command.

Each false-positive class from the real corpus (issue 11) is run with ``mendbot analyze`` on
files on disk: the finding is gone and the file is untouched, while the counter-case that is a
real problem stays reported, and its fix writes what it should.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from clirun import run_mendbot

PERMISSION_RULES = ("gha-missing-permissions", "gha-job-permissions", "gha-excessive-permissions")

#: No top-level block, but every job declares its own: no job runs with the defaults.
EVERY_JOB_DECLARES = """\
on: pull_request
jobs:
  test:
    permissions:
      contents: read
    runs-on: ubuntu-latest
    steps:
      - run: echo test
  label:
    permissions:
      pull-requests: write
    runs-on: ubuntu-latest
    steps:
      - run: gh pr edit "$PR" --add-label tested
        env:
          GH_TOKEN: ${{ github.token }}
          PR: ${{ github.event.number }}
"""

#: One job declares, one does not (and mendbot knows what it needs).
ONE_JOB_UNDECLARED = """\
on: push
jobs:
  lint:
    permissions:
      contents: read
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: make test
"""

#: A job without a block whose needs mendbot cannot explain.
UNKNOWN_JOB_UNDECLARED = """\
on: push
jobs:
  publish:
    runs-on: ubuntu-latest
    steps:
      - uses: example-org/publish-action@v1
"""

SINGLE_JOB_RELEASE = """\
name: Release
on:
  push:
    tags: ["v*"]
permissions:
  contents: write
jobs:
  release:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          persist-credentials: false
      - run: gh release create "$GITHUB_REF_NAME" --generate-notes
        env:
          GH_TOKEN: ${{ github.token }}
"""

#: The only job runs an action mendbot does not know: it cannot show a write is unneeded.
SINGLE_UNKNOWN_JOB = """\
on:
  issues:
    types: [opened]
permissions:
  issues: write
jobs:
  triage:
    runs-on: ubuntu-latest
    steps:
      - uses: example-org/issue-labeler@v3
"""

#: Two jobs inherit the write; only one needs it: the real excess, still high.
INHERITED_BY_A_TEST_JOB = (
    SINGLE_JOB_RELEASE
    + """\
  test:
    runs-on: ubuntu-latest
    steps:
      - run: echo test
"""
)

#: The only job talks to GitHub with a personal token; `GH_REPO`/`ISSUE` name no token.
SINGLE_JOB_WITH_A_PAT = """\
on:
  issues:
    types: [opened]
permissions:
  issues: write
jobs:
  label:
    runs-on: ubuntu-latest
    steps:
      - run: gh issue edit "$ISSUE" --add-label triage
        env:
          GH_REPO: ${{ github.repository }}
          GH_TOKEN: ${{ secrets.AUTOMATION_TOKEN }}
          ISSUE: ${{ github.event.issue.number }}
"""


def _analyze(root: Path, *args: str) -> tuple[int, list[dict[str, Any]]]:
    done = run_mendbot("analyze", "--offline", "--format", "json", *args, cwd=root)
    assert "Traceback" not in done.stderr, done.stderr
    findings: list[dict[str, Any]] = json.loads(done.stdout)["findings"]
    return done.returncode, findings


def _rules(*rules: str) -> list[str]:
    return [arg for rule in rules for arg in ("--rule", rule)]


def test_every_job_declaring_its_own_block_is_not_reported_nor_rewritten(workflows) -> None:
    root = workflows({"label.yml": EVERY_JOB_DECLARES})
    code, findings = _analyze(root, ".", "--fix=all", *_rules(*PERMISSION_RULES))
    assert (code, findings) == (0, [])
    assert (root / ".github/workflows/label.yml").read_text() == EVERY_JOB_DECLARES


def test_a_job_without_a_block_is_reported_once_and_its_fix_closes_the_top_level(
    workflows,
) -> None:
    root = workflows({"ci.yml": ONE_JOB_UNDECLARED})
    code, findings = _analyze(root, ".", *_rules(*PERMISSION_RULES))
    assert code == 1
    assert [(f["rule"], f["line"]) for f in findings] == [("gha-job-permissions", 9)]

    code, findings = _analyze(root, ".", "--fix", *_rules(*PERMISSION_RULES))
    assert code == 0
    assert [f["fix"]["applied"] for f in findings] == [True]
    assert (root / ".github/workflows/ci.yml").read_text() == ONE_JOB_UNDECLARED.replace(
        "jobs:", "permissions: {}\njobs:"
    ).replace(
        "  test:\n",
        "  test:\n    permissions:\n"
        "      contents: read  # for actions/checkout to fetch the repository\n",
    )
    assert _analyze(root, ".", *_rules(*PERMISSION_RULES)) == (0, [])


def test_the_top_level_block_waits_for_every_job_a_safe_fix_cannot_give_one(workflows) -> None:
    text = ONE_JOB_UNDECLARED.replace("      - run: make test\n", "      - run: git push\n")
    text += "  docs:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo docs\n"
    root = workflows({"ci.yml": text})
    code, findings = _analyze(root, ".", "--fix", *_rules(*PERMISSION_RULES))
    assert code == 1
    applied = {f["route"][1]: f["fix"]["applied"] for f in findings}
    assert applied == {"docs": True, "test": False}
    written = (root / ".github/workflows/ci.yml").read_text()
    # `test` pushes (an unsafe write): it keeps the defaults, so no `{}` above it yet.
    assert "permissions: {}\njobs:" not in written
    assert "  docs:\n    permissions: {}\n" in written

    code, _ = _analyze(root, ".", "--fix=all", *_rules(*PERMISSION_RULES))
    assert code == 0
    written = (root / ".github/workflows/ci.yml").read_text()
    assert written.startswith("on: push\npermissions: {}\njobs:\n")
    assert "contents: write  # for git push" in written


def test_a_job_mendbot_cannot_size_is_reported_once_by_missing_permissions(workflows) -> None:
    root = workflows({"publish.yml": UNKNOWN_JOB_UNDECLARED})
    code, findings = _analyze(root, ".", *_rules(*PERMISSION_RULES))
    assert code == 1
    [finding] = findings
    assert finding["rule"] == "gha-missing-permissions"
    assert "job `publish`: step `example-org/publish-action@v1`" in finding["message"]
    assert finding["fix"]["disposition"] == "unsafe"

    code, _ = _analyze(root, ".", "--fix", *_rules(*PERMISSION_RULES))
    assert (root / ".github/workflows/publish.yml").read_text() == UNKNOWN_JOB_UNDECLARED
    code, _ = _analyze(root, ".", "--fix=all", *_rules(*PERMISSION_RULES))
    assert (root / ".github/workflows/publish.yml").read_text() == UNKNOWN_JOB_UNDECLARED.replace(
        "jobs:", "permissions:\n  contents: read\njobs:"
    )


def test_a_top_level_write_the_only_job_needs_is_not_reported(workflows) -> None:
    root = workflows({"release.yml": SINGLE_JOB_RELEASE})
    assert _analyze(root, ".", "--fix=all", *_rules(*PERMISSION_RULES)) == (0, [])
    assert (root / ".github/workflows/release.yml").read_text() == SINGLE_JOB_RELEASE


def test_a_top_level_write_no_job_inherits_is_not_reported(workflows) -> None:
    text = EVERY_JOB_DECLARES.replace("jobs:", "permissions:\n  contents: write\njobs:", 1)
    root = workflows({"label.yml": text})
    assert _analyze(root, ".", *_rules(*PERMISSION_RULES)) == (0, [])


def test_a_top_level_write_on_the_only_job_of_unknown_needs_is_not_reported(workflows) -> None:
    root = workflows({"triage.yml": SINGLE_UNKNOWN_JOB})
    assert _analyze(root, ".", *_rules(*PERMISSION_RULES)) == (0, [])


def test_write_all_on_the_only_job_of_unknown_needs_stays_reported(workflows) -> None:
    text = SINGLE_UNKNOWN_JOB.replace("permissions:\n  issues: write", "permissions: write-all")
    root = workflows({"triage.yml": text})
    code, findings = _analyze(root, ".", *_rules(*PERMISSION_RULES))
    assert code == 1
    assert [(f["rule"], f["severity"]) for f in findings] == [("gha-excessive-permissions", "high")]


def test_a_top_level_write_inherited_by_a_job_that_does_not_need_it_stays_high(
    workflows,
) -> None:
    root = workflows({"release.yml": INHERITED_BY_A_TEST_JOB})
    _, findings = _analyze(root, ".", *_rules(*PERMISSION_RULES))
    assert [(f["rule"], f["severity"]) for f in findings] == [("gha-excessive-permissions", "high")]


def test_a_write_the_only_job_never_uses_stays_reported_and_is_moved_down(workflows) -> None:
    root = workflows({"label.yml": SINGLE_JOB_WITH_A_PAT})
    code, findings = _analyze(root, ".", *_rules(*PERMISSION_RULES))
    assert code == 1
    [finding] = findings
    assert finding["rule"] == "gha-excessive-permissions"
    assert "`label` gets nothing" in finding["message"]
    _analyze(root, ".", "--fix=all", *_rules(*PERMISSION_RULES))
    written = (root / ".github/workflows/label.yml").read_text()
    assert "permissions: {}\njobs:" in written
    assert "issues: write" not in written


CALLER = """\
on: push
permissions: {}
jobs:
  publish:
    permissions:
      id-token: write
      packages: write
    uses: ./.github/workflows/publish.yml
"""

CALLEE = """\
on: workflow_call
permissions: {}
jobs:
  upload:
    permissions:
      id-token: write
    runs-on: ubuntu-latest
    steps:
      - run: uv publish
"""


def test_a_local_reusable_workflow_resolves_in_a_checkout_inside_another_repository(
    tmp_path: Path,
) -> None:
    outer = tmp_path / "corpus"
    (outer / ".git").mkdir(parents=True)
    checkout = outer / "owner--repo"
    folder = checkout / ".github" / "workflows"
    folder.mkdir(parents=True)
    (folder / "release.yml").write_text(CALLER)
    (folder / "publish.yml").write_text(CALLEE)
    done = run_mendbot(
        "analyze",
        ".github/workflows/release.yml",
        "--offline",
        "--format",
        "json",
        "--rule",
        "gha-excessive-permissions",
        cwd=checkout,
    )
    [finding] = json.loads(done.stdout)["findings"]
    assert finding["line"] == 7
    assert "grants packages: write, but its steps need only id-token: write" in finding["message"]


def test_no_top_level_block_takes_the_defaults_from_a_job_a_person_exempted(workflows) -> None:
    text = ONE_JOB_UNDECLARED.replace(
        "  lint:\n    permissions:\n      contents: read\n",
        "  lint:  # mendbot: ignore[gha-job-permissions]\n",
    )
    root = workflows({"ci.yml": text})
    code, findings = _analyze(root, ".", "--fix=all", *_rules(*PERMISSION_RULES))
    assert (code, [f["fix"]["applied"] for f in findings]) == (0, [True])
    written = (root / ".github/workflows/ci.yml").read_text()
    assert "permissions: {}" not in written
    assert written.startswith("on: push\njobs:\n  lint:  # mendbot: ignore[gha-job-permissions]\n")
    assert "  test:\n    permissions:\n      contents: read" in written


MANIFEST_PUSH = """\
on: push
permissions: {}
jobs:
  publish:
    permissions:
      packages: write
    runs-on: ubuntu-latest
    env:
      IMAGE: ghcr.io/${{ github.repository_owner }}/tool
    steps:
      - uses: docker/login-action@v3
        with:
          registry: ghcr.io
          username: ${{ github.actor }}
          password: ${{ secrets.GITHUB_TOKEN }}
      - run: docker buildx imagetools create -t "$IMAGE:latest" "$IMAGE@sha256:$DIGEST"
"""


def test_a_manifest_push_keeps_its_packages_write(workflows) -> None:
    # `docker buildx imagetools create` pushes with the credentials docker/login-action stored.
    root = workflows({"publish.yml": MANIFEST_PUSH})
    assert _analyze(root, ".", "--fix=all", *_rules(*PERMISSION_RULES)) == (0, [])
    assert (root / ".github/workflows/publish.yml").read_text() == MANIFEST_PUSH
