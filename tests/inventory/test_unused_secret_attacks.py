"""Attacks on ``nhi-github-unused-secret``, whose fix deletes a secret for good: every way a
workflow on disk can read a secret must keep that secret out of the report. Each test writes a
checkout, runs ``mendbot analyze CHECKOUT --format json`` (a real process) and reads the report
and the exit code."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from clirun import run_mendbot

UNUSED = "nhi-github-unused-secret"


def _nhi(repository: str, *names: str) -> str:
    lines = ["kind: github-nhi", "version: 1", f'repository: "{repository}"', "secrets:"]
    lines += [f"  - name: {name}" for name in names]
    return "\n".join(lines) + "\n"


def _checkout(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(text.encode())
    return root


def _unused(target: Path) -> list[str]:
    done = run_mendbot("analyze", str(target), "--format", "json")
    assert "Traceback" not in done.stderr, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    # 3: a file could not be analysed (it is in the report's errors); else 1 for findings.
    expected = 3 if report["errors"] else (1 if report["findings"] else 0)
    assert done.returncode == expected, done.stderr
    names = [f["evidence"] for f in report["findings"] if f["rule"] == UNUSED]
    return sorted(names)


def _workflow(step_env: str) -> str:
    return (
        "on: push\npermissions: {}\njobs:\n  call:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: ./call.sh\n        env:\n"
        f"          VALUE: {step_env}\n"
    )


NHI = ".mendbot/desired/github-nhi/acme--app.yml"


def test_a_reference_after_escaped_braces_in_a_format_string_keeps_the_secret(
    tmp_path: Path,
) -> None:
    # `}}` inside a format() string is GitHub's escape for `}`: the expression does not end there.
    repo = _checkout(
        tmp_path,
        {
            ".github/workflows/call.yml": _workflow(
                """${{ format('{{"token":"{0}"}}', secrets.API_TOKEN) }}"""
            ),
            NHI: _nhi("acme/app", "API_TOKEN", "OLD_TOKEN"),
        },
    )
    assert _unused(repo) == ["secret:OLD_TOKEN"]


def test_the_whole_context_after_escaped_braces_reports_no_secret(tmp_path: Path) -> None:
    repo = _checkout(
        tmp_path,
        {
            ".github/workflows/call.yml": _workflow("${{ format('{{{0}}}', toJSON(secrets)) }}"),
            NHI: _nhi("acme/app", "API_TOKEN", "OLD_TOKEN"),
        },
    )
    assert _unused(repo) == []


@pytest.mark.parametrize(
    "expression",
    ["${{ join(secrets.*, ' ') }}", "${{ toJSON(secrets . *) }}", "${{ secrets.*[0] }}"],
)
def test_the_object_filter_over_secrets_reads_every_secret(tmp_path: Path, expression: str) -> None:
    """``secrets.*`` is GitHub's object filter: the value of every secret."""
    repo = _checkout(
        tmp_path,
        {
            ".github/workflows/call.yml": _workflow(f'"{expression}"'),
            NHI: _nhi("acme/app", "DEPLOY_TOKEN"),
        },
    )
    assert _unused(repo) == []


def test_a_name_spelt_with_a_yaml_escape_keeps_the_secret(tmp_path: Path) -> None:
    # What GitHub evaluates is the parsed value: "API\u005FTOKEN" is API_TOKEN.
    repo = _checkout(
        tmp_path,
        {
            ".github/workflows/call.yml": _workflow('"${{ secrets.API\\u005FTOKEN }}"'),
            NHI: _nhi("acme/app", "API_TOKEN", "OLD_TOKEN"),
        },
    )
    assert _unused(repo) == ["secret:OLD_TOKEN"]


def _git_checkout(root: Path, origin: str | None) -> None:
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    if origin is not None:
        subprocess.run(["git", "-C", str(root), "remote", "add", "origin", origin], check=True)


def test_an_inventory_of_another_repository_is_not_judged_by_this_checkouts_workflows(
    tmp_path: Path,
) -> None:
    # A central repository keeps the inventory of acme/lib next to its own CI: acme/lib's
    # workflows are not here, so none of its secrets may be called unused.
    repo = _checkout(
        tmp_path / "central",
        {
            ".github/workflows/ci.yml": _workflow("${{ secrets.CENTRAL_TOKEN }}"),
            ".mendbot/desired/github-nhi/acme--lib.yml": _nhi("acme/lib", "LIB_TOKEN"),
            ".mendbot/desired/github-nhi/acme--central.yml": _nhi(
                "acme/central", "CENTRAL_TOKEN", "OLD_TOKEN"
            ),
        },
    )
    _git_checkout(repo, "https://github.com/acme/central.git")
    assert _unused(repo) == ["secret:OLD_TOKEN"]
    # Nor does acme/lib's inventory lack CENTRAL_TOKEN: this checkout's jobs are not acme/lib's.
    done = run_mendbot("analyze", str(repo), "--format", "json")
    undefined = [
        f["path"]
        for f in json.loads(done.stdout)["findings"]
        if f["rule"] == "nhi-github-undefined-secret"
    ]
    assert undefined == []


def test_inventories_of_several_repositories_without_an_origin_report_no_secret(
    tmp_path: Path,
) -> None:
    repo = _checkout(
        tmp_path / "central",
        {
            ".github/workflows/ci.yml": _workflow("${{ secrets.CENTRAL_TOKEN }}"),
            ".mendbot/desired/github-nhi/acme--lib.yml": _nhi("acme/lib", "LIB_TOKEN"),
            ".mendbot/desired/github-nhi/acme--central.yml": _nhi(
                "acme/central", "CENTRAL_TOKEN", "OLD_TOKEN"
            ),
        },
    )
    _git_checkout(repo, None)
    assert _unused(repo) == []


def test_an_ssh_origin_names_the_checkout_too(tmp_path: Path) -> None:
    repo = _checkout(
        tmp_path / "app",
        {
            ".github/workflows/ci.yml": _workflow("${{ secrets.API_TOKEN }}"),
            NHI: _nhi("acme/app", "API_TOKEN", "OLD_TOKEN"),
        },
    )
    _git_checkout(repo, "git@github.com:Acme/App")
    assert _unused(repo) == ["secret:OLD_TOKEN"]


def test_secrets_of_the_copilot_environment_are_never_called_unused(tmp_path: Path) -> None:
    # GitHub hands the `copilot` environment's secrets to the Copilot coding agent as
    # environment variables: no workflow names them, yet they are in use.
    inventory = _nhi("acme/app", "OLD_TOKEN") + (
        'environments:\n  - name: "copilot"\n    secrets:\n      - name: AGENT_API_KEY\n'
    )
    repo = _checkout(
        tmp_path,
        {".github/workflows/ci.yml": _workflow("${{ secrets.CI_TOKEN }}"), NHI: inventory},
    )
    assert _unused(repo) == ["secret:OLD_TOKEN"]


def test_settings_of_another_repository_are_not_vouched_for_by_this_checkouts_jobs(
    tmp_path: Path,
) -> None:
    # Every job here sets its permissions; that says nothing about acme/lib's jobs.
    settings = (
        'kind: github-settings\nversion: 1\nrepository: "acme/lib"\n'
        "actions:\n  default_workflow_permissions: write\n"
    )
    repo = _checkout(
        tmp_path / "central",
        {
            ".github/workflows/ci.yml": _workflow("${{ secrets.CENTRAL_TOKEN }}"),
            ".mendbot/desired/github-settings/acme--lib.yml": settings,
        },
    )
    _git_checkout(repo, "https://github.com/acme/central")
    done = run_mendbot("analyze", str(repo), "--format", "json")
    assert done.returncode == 1, done.stderr
    [finding] = [
        f
        for f in json.loads(done.stdout)["findings"]
        if f["rule"] == "gh-settings-default-token-write"
    ]
    assert "none relies" not in finding["message"]
    assert "this checkout is acme/central" in finding["message"]
    assert "the jobs relying on it are unknown" in finding["message"]


def test_a_workflow_named_dependabot_yml_is_read_like_any_other(tmp_path: Path) -> None:
    # A common name for a Dependabot auto-merge workflow; only .github/dependabot.yml is
    # Dependabot's own configuration (whose secrets live in another store).
    repo = _checkout(
        tmp_path,
        {
            ".github/workflows/dependabot.yml": _workflow("${{ secrets.AUTOMERGE_PAT }}"),
            ".github/dependabot.yml": (
                "version: 2\nregistries:\n  npm:\n    type: npm-registry\n"
                "    url: https://npm.example\n    token: ${{secrets.NPM_READ}}\nupdates: []\n"
            ),
            NHI: _nhi("acme/app", "AUTOMERGE_PAT", "OLD_TOKEN"),
        },
    )
    assert _unused(repo) == ["secret:OLD_TOKEN"]


def test_a_workflow_that_does_not_parse_reports_no_secret(tmp_path: Path) -> None:
    # Which jobs pass which secrets where cannot be known from a file that does not parse
    # (here a quoted `secrets: "inherit"` to a remote workflow, after a stray bracket).
    broken = (
        "on: push\njobs:\n  deploy:\n    uses: acme/infra/.github/workflows/deploy.yml@v1\n"
        '    secrets: "inherit"\n  other: [\n'
    )
    repo = _checkout(
        tmp_path,
        {".github/workflows/deploy.yml": broken, NHI: _nhi("acme/app", "DEPLOY_TOKEN")},
    )
    assert _unused(repo) == []
