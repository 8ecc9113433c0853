"""gha-unsound-contains, gha-overprovisioned-secrets and gha-unredacted-secrets through the
command line, on files on disk (gha-use-trusted-publishing: ``test_trusted_publishing_cli.py``).

* unsound-contains: the condition mendbot writes is evaluated with GitHub's own semantics
  (``contains(string, string)`` is a case-insensitive substring test, ``contains(array, x)`` a
  case-insensitive membership test): the branch names an attacker picks to pass the old check
  (``mai``, ``heads/dev``, ``main refs/heads/develop``) fail the new one, and every branch the
  list names still passes.
* the secrets rules report and never write, except gha-overprovisioned-secrets where the
  script reads the secrets with ``jq``: run under bash before and after, it prints the same
  and no longer receives the secrets it does not read.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from clirun import run_mendbot

CONTAINS = """\
on: push
permissions: {}
jobs:
  deploy:
    if: contains('refs/heads/main refs/heads/develop', github.ref)  # long-lived branches
    runs-on: ubuntu-latest
    steps:
      - run: ./deploy.sh
"""
LISTED = ["refs/heads/main", "refs/heads/develop", "REFS/HEADS/MAIN"]
PICKED_BY_ATTACKER = ["refs/heads/mai", "heads/dev", "refs/heads/main refs/heads/develop", "s"]


def _load(path: Path) -> dict:
    data = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _github_contains(condition: str, ref: str) -> bool:
    """``contains(<string or fromJSON list>, github.ref)`` as GitHub evaluates it."""
    listed = re.fullmatch(r"contains\(fromJSON\('(?P<json>\[.*\])'\), github\.ref\)", condition)
    if listed is not None:
        return any(item.lower() == ref.lower() for item in json.loads(listed["json"]))
    text = re.fullmatch(r"contains\('(?P<text>[^']*)', github\.ref\)", condition)
    assert text is not None, condition
    return ref.lower() in text["text"].lower()


def _analyze(path: Path, *args: str):
    return run_mendbot("analyze", "--offline", "--format", "json", *args, str(path))


def test_unsound_contains_fix_rejects_partial_names_and_keeps_listed_ones(tmp_path) -> None:
    workflow = tmp_path / "deploy.yml"
    workflow.write_text(CONTAINS, encoding="utf-8")
    done = _analyze(workflow, "--fix=all", "--rule", "gha-unsound-contains")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "# long-lived branches" in workflow.read_text(encoding="utf-8")
    condition = _load(workflow)["jobs"]["deploy"]["if"]
    assert condition == (
        'contains(fromJSON(\'["refs/heads/main", "refs/heads/develop"]\'), github.ref)'
    )
    old = CONTAINS.split("if: ")[1].split("  #")[0]
    for ref in PICKED_BY_ATTACKER:
        assert _github_contains(old, ref)  # the bypass is real
        assert not _github_contains(condition, ref)
    for ref in LISTED:
        assert _github_contains(old, ref) and _github_contains(condition, ref)


def test_unsound_contains_is_unsafe_so_safe_mode_writes_nothing(tmp_path) -> None:
    workflow = tmp_path / "deploy.yml"
    workflow.write_text(CONTAINS, encoding="utf-8")
    done = _analyze(workflow, "--fix", "--rule", "gha-unsound-contains")
    assert done.returncode == 1
    finding = json.loads(done.stdout)["findings"][0]
    assert (finding["line"], finding["severity"], finding["fix"]["disposition"]) == (
        5,
        "high",
        "unsafe",
    )
    assert workflow.read_text(encoding="utf-8") == CONTAINS


@pytest.mark.parametrize(
    ("rule", "value"),
    [
        ("gha-overprovisioned-secrets", "${{ toJSON(secrets) }}"),
        ("gha-overprovisioned-secrets", "${{ secrets[format('TOKEN_{0}', matrix.env)] }}"),
        ("gha-unredacted-secrets", "${{ fromJSON(secrets.DATABASE).password }}"),
    ],
)
def test_secrets_rules_report_and_never_write(tmp_path, rule: str, value: str) -> None:
    workflow = tmp_path / "deploy.yml"
    text = (
        "on: push\r\npermissions: {}\r\njobs:\r\n  deploy:\r\n    runs-on: ubuntu-latest\r\n"
        f"    steps:\r\n      - run: ./deploy.sh\r\n        env:\r\n          VALUE: {value}\r\n"
    )
    workflow.write_bytes(text.encode())
    done = _analyze(workflow, "--fix=all", "--rule", rule)
    assert done.returncode == 1
    [finding] = json.loads(done.stdout)["findings"]
    assert (finding["rule"], finding["line"], finding["fix"]) == (rule, 9, None)
    assert finding["no_fix_reason"]
    assert workflow.read_bytes() == text.encode()


IGNORED = """\
on: push
permissions: {}
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - run: ./deploy.sh
        env:
          A: ${{ toJSON(secrets) }}  # zizmor: ignore[overprovisioned-secrets]
      - run: ./migrate.sh
        env:
          B: ${{ fromJSON(secrets.X).y }}  # zizmor: ignore[unredacted-secrets]
      - run: ./release.sh
        if: contains('a b', github.ref_name)  # zizmor: ignore[unsound-contains]
      - run: ./test.sh
        env:
          C: ${{ inputs.x && '' || 'y' }}  # zizmor: ignore[unsound-ternary]
"""
NEW_RULES = {
    "gha-overprovisioned-secrets",
    "gha-unredacted-secrets",
    "gha-unsound-contains",
    "gha-unsound-ternary",
}


def test_zizmor_ignore_comments_suppress_the_new_rules(tmp_path) -> None:
    ignored = tmp_path / "ignored.yml"
    ignored.write_text(IGNORED, encoding="utf-8")
    plain = tmp_path / "plain.yml"
    plain.write_text(re.sub(r"  # zizmor: ignore\[[a-z-]+\]", "", IGNORED), encoding="utf-8")
    reported = {f["rule"] for f in json.loads(_analyze(plain).stdout)["findings"]}
    assert reported >= NEW_RULES
    reported = {f["rule"] for f in json.loads(_analyze(ignored).stdout)["findings"]}
    assert not reported & (NEW_RULES | {"gha-unknown-suppression"})


JQ_SECRETS = """\
on: push
permissions: {}
jobs:
  release:
    runs-on: ubuntu-latest
    steps:
      - run: |
          npm_token=$(echo "$ALL_SECRETS" | jq -r '.NPM_TOKEN')
          pypi=$(jq -r .PYPI_TOKEN <<< "${ALL_SECRETS}")
          echo "publishing with $npm_token and $pypi"
        env:
          ALL_SECRETS: ${{ toJSON(secrets) }}
"""
SECRETS = {"github_token": "ghs_x", "NPM_TOKEN": "npm_1", "PYPI_TOKEN": "pypi-2", "AWS_KEY": "k3"}


def _github_value(expression: str) -> str:
    """``${{ toJSON(secrets) }}`` or ``${{ format('…', toJSON(secrets.X), …) }}`` evaluated as
    GitHub does (``{{``/``}}`` are braces, ``{n}`` the n-th argument; toJSON pretty-prints)."""
    if expression in ("${{ toJSON(secrets) }}", "${{ format('{0}', toJSON(secrets)) }}"):
        return json.dumps(SECRETS, indent=2)
    call = re.fullmatch(r"\$\{\{ format\('(?P<template>.*)', (?P<args>.*)\) \}\}", expression)
    assert call is not None, expression
    names = re.findall(r"toJSON\(secrets\.(\w+)\)", call["args"])
    arguments = [json.dumps(SECRETS.get(name, "")) for name in names]
    return re.sub(
        r"\{\{|\}\}|\{(\d+)\}",
        lambda m: arguments[int(m[1])] if m[1] else m[0][0],
        call["template"],
    )


@pytest.mark.skipif(shutil.which("jq") is None or shutil.which("bash") is None, reason="jq")
@pytest.mark.parametrize(
    "everything", ["${{ toJSON(secrets) }}", "${{ format('{0}', toJSON(secrets)) }}"]
)
def test_overprovisioned_fix_hands_the_script_only_what_it_reads(tmp_path, everything) -> None:
    workflow = tmp_path / "release.yml"
    workflow.write_text(JQ_SECRETS.replace("${{ toJSON(secrets) }}", everything), "utf-8")
    done = _analyze(workflow, "--fix=all", "--rule", "gha-overprovisioned-secrets")
    assert done.returncode == 0, done.stdout + done.stderr
    step = _load(workflow)["jobs"]["release"]["steps"][0]
    runs = {}
    for label, expression in (
        ("before", everything),
        ("after", step["env"]["ALL_SECRETS"]),
    ):
        value = _github_value(expression)
        environment = {"PATH": os.environ["PATH"], "ALL_SECRETS": value}
        runs[label] = subprocess.run(
            ["bash", "-e", "-c", step["run"]], env=environment, capture_output=True, text=True
        )
        assert runs[label].returncode == 0, runs[label].stderr
        assert ("k3" in value) == (label == "before")  # the AWS key no longer reaches it
    assert runs["after"].stdout == runs["before"].stdout == "publishing with npm_1 and pypi-2\n"


OUTSIDE_ENV = """\
on: push
permissions: {}
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - run: ./deploy.sh
        env:
          DEPLOY_KEY: ${{ secrets.DEPLOY_KEY }}
"""


def _rules_reported(done: subprocess.CompletedProcess[str]) -> set[str]:
    return {f["rule"] for f in json.loads(done.stdout)["findings"]}


WHOLE = """\
on: push
permissions: {}
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - run: |
          set -e
          some-random-command <<< "${secrets_json}"
        env:
          secrets_json: ${{ toJSON(secrets) }}
"""


def test_overprovisioned_says_which_command_receives_every_secret(tmp_path) -> None:
    workflow = tmp_path / "deploy.yml"
    workflow.write_text(WHOLE, encoding="utf-8")
    done = _analyze(workflow, "--fix=all", "--rule", "gha-overprovisioned-secrets")
    assert done.returncode == 1
    assert workflow.read_text(encoding="utf-8") == WHOLE
    [finding] = json.loads(done.stdout)["findings"]
    assert finding["fix"] is None
    assert "line 2 of `run:`, `some-random-command`" in finding["no_fix_reason"]


def test_secrets_outside_env_runs_only_when_asked(tmp_path) -> None:
    workflow = tmp_path / "deploy.yml"
    workflow.write_text(OUTSIDE_ENV, encoding="utf-8")
    assert "gha-secrets-outside-env" not in _rules_reported(_analyze(workflow))
    asked = _analyze(workflow, "--rule", "gha-secrets-outside-env")
    assert asked.returncode == 1
    assert _rules_reported(asked) == {"gha-secrets-outside-env"}
    config = tmp_path / "mendbot.yml"
    config.write_text("rules:\n  gha-secrets-outside-env:\n    enabled: true\n", "utf-8")
    configured = _analyze(workflow, "--config", str(config))
    assert "gha-secrets-outside-env" in _rules_reported(configured)
    config.write_text("rules:\n  gha-secrets-outside-env:\n    enabled: false\n", "utf-8")
    refused = _analyze(workflow, "--config", str(config), "--rule", "gha-secrets-outside-env")
    assert refused.returncode == 0
    assert _rules_reported(refused) == set()
    assert workflow.read_text(encoding="utf-8") == OUTSIDE_ENV
