"""How the job token flows, and so what a job needs (``permission_needs``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.analyze.pipeline import parse_workflow
from bot.workflow.permission_needs import job_needs, token_kind


def _needs(text: str, root: Path | None = None, job: int = 0):
    workflow = parse_workflow(".github/workflows/w.yml", text, root)
    return job_needs(workflow.jobs[job])


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("${{ github.token }}", "job"),
        ("${{ secrets.GITHUB_TOKEN }}", "job"),
        ("${{ inputs.token || github.token }}", "job"),
        ("${{ secrets.RELEASE_PAT }}", "other"),
        ("${{ steps.app.outputs.token }}", "other"),
        ("${{ inputs.token }}", "job"),  # undecidable: assume the job token
        ("${{ env.TOKEN }}", "job"),
        ("${{ env.PAT }}", "other"),
        ("ghp_literal", "other"),
        ("${{ github.repository }}", "other"),  # names no token
        ("${{ github.event.issue.user.login }}", "other"),
        ("${{ vars.OWNER }}/${{ runner.temp }}", "other"),
        ("${{ toJSON(github) }}", "job"),  # the whole github context holds the token
        ("${{ github.event.number || inputs.token }}", "job"),
        ("", "none"),
        (None, "none"),
    ],
)
def test_token_kind(value: object, kind: str) -> None:
    env = {"TOKEN": "${{ github.token }}", "PAT": "${{ secrets.PAT }}"}
    assert token_kind(value, env) == kind


def test_a_pat_given_to_checkout_means_git_push_needs_no_grant() -> None:
    needs = _needs(
        "on: push\njobs:\n  a:\n    steps:\n"
        "      - uses: actions/checkout@v4\n        with: {token: '${{ secrets.PAT }}'}\n"
        "      - run: git push\n"
    )
    assert needs.known
    assert needs.permissions() == {}


def test_git_push_with_persisted_job_credentials_needs_contents_write() -> None:
    needs = _needs(
        "on: push\njobs:\n  a:\n    steps:\n      - uses: actions/checkout@v4\n"
        "      - run: git push origin HEAD\n"
    )
    assert needs.permissions() == {"contents": "write"}


def test_a_script_with_the_token_in_a_custom_variable_is_unknown() -> None:
    needs = _needs(
        "on: push\njobs:\n  a:\n    steps:\n"
        "      - env: {MY_TOKEN: '${{ github.token }}'}\n        run: ./release.sh\n"
    )
    assert not needs.known
    assert "MY_TOKEN" in needs.unknown[0]


def test_a_python_script_with_the_token_is_unknown() -> None:
    needs = _needs(
        "on: push\njobs:\n  a:\n    steps:\n"
        "      - env: {GITHUB_TOKEN: '${{ github.token }}'}\n        shell: python\n"
        "        run: print(1)\n"
    )
    assert not needs.known


def test_a_ghcr_job_container_with_the_job_token_pulls_packages() -> None:
    needs = _needs(
        "on: push\njobs:\n  a:\n    container:\n      image: ghcr.io/o/i:1\n"
        "      credentials: {username: x, password: '${{ github.token }}'}\n"
        "    steps:\n      - run: make\n"
    )
    assert needs.permissions() == {"packages": "read"}


def test_local_reusable_workflows_are_read_inside_the_repository_only(tmp_path: Path) -> None:
    folder = tmp_path / "repo" / ".github" / "workflows"
    folder.mkdir(parents=True)
    (folder / "callee.yml").write_text(
        "on: workflow_call\njobs:\n  c:\n    steps:\n      - uses: actions/checkout@v4\n"
        "  self:\n    uses: ./.github/workflows/callee.yml\n"
    )
    (tmp_path / "outside.yml").write_text("on: workflow_call\njobs:\n  x:\n    steps: []\n")
    root = tmp_path / "repo"
    inside = _needs("on: push\njobs:\n  a:\n    uses: ./.github/workflows/callee.yml\n", root)
    # the callee calls itself: the cycle is cut and reported as unknown, never looped
    assert not inside.known
    assert inside.permissions() == {"contents": "read"}
    outside = _needs("on: push\njobs:\n  a:\n    uses: ./../outside.yml\n", root)
    assert not outside.known
    without_root = _needs("on: push\njobs:\n  a:\n    uses: ./.github/workflows/callee.yml\n")
    assert not without_root.known


def test_conditions_on_inputs_decide_grants() -> None:
    template = (
        "on: pull_request\njobs:\n  a:\n    steps:\n"
        "      - uses: actions/dependency-review-action@v4\n        with: {{{with_}}}\n"
    )
    assert _needs(template.format(with_="")).permissions() == {"contents": "read"}
    always = _needs(template.format(with_="comment-summary-in-pr: always"))
    assert always.permissions() == {"contents": "read", "pull-requests": "write"}
    expression = _needs(template.format(with_="comment-summary-in-pr: '${{ inputs.c }}'"))
    assert "pull-requests" in expression.permissions()  # undecidable: granted
