"""The workflows users copy (``docs/examples/``), the project's own (``.github/workflows/``) and
``action.yml``: valid for GitHub, clean for mendbot, and split by identity.

Each identity runs in its own job with the least it needs: the analysis never holds a write
scope (only ``id-token`` to sign), no job holds ``id-token: write`` together with a write scope
on contents or pull requests, and only the deploy workflow has an ``environment:``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.workflow.expression_tree import Unknown, Value, evaluate, parse
from clirun import run_mendbot

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "docs" / "examples").glob("*.yml"))
OWN = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
WORKFLOWS = EXAMPLES + OWN
_SHA = re.compile(r"^[^@\s]+@[0-9a-f]{40}$")
_WRITE_SCOPES = ("contents", "pull-requests")


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), path
    return data


def _check_schema(schema: str, files: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_there_is_a_workflow_per_identity() -> None:
    names = {p.name for p in EXAMPLES}
    assert {
        "mendbot-analyze.yml",
        "mendbot-propose.yml",
        "mendbot-gate.yml",
        "mendbot-deploy.yml",
        "mendbot-fleet.yml",
    } <= names


def test_the_fleet_workflow_shards_read_only_and_merges_into_the_summary() -> None:
    path = ROOT / "docs" / "examples" / "mendbot-fleet.yml"
    jobs = dict(_jobs(path))
    assert list(jobs) == ["plan", "analyze", "merge"]
    assert all(job["permissions"] == {} for job in jobs.values()), "no GITHUB_TOKEN scope"
    strategy = jobs["analyze"]["strategy"]
    assert strategy["fail-fast"] is False and isinstance(strategy["max-parallel"], int)
    assert strategy["matrix"] == "${{ fromJSON(needs.plan.outputs.matrix) }}"
    tokens = [s["with"] for j in jobs.values() for s in _steps_using(j, "actions/create-github")]
    scopes = [{v for k, v in t.items() if k.startswith("permission-")} for t in tokens]
    assert tokens and all(granted == {"read"} for granted in scopes), "App tokens only read"
    scripts = [s["run"] for j in jobs.values() for s in j["steps"] if "run" in s]
    assert not any("${{" in script for script in scripts), "values reach scripts via env only"
    assert any("fleet plan" in script for script in scripts)
    assert any("fleet merge" in s and '--summary "$GITHUB_STEP_SUMMARY"' in s for s in scripts)


def _render(template: str, known: dict[str, Value]) -> str:
    """A ``${{ }}`` template with every expression evaluated against ``known``."""

    def value(match: re.Match[str]) -> str:
        result = evaluate(parse(match.group(1)), known)
        assert not isinstance(result, Unknown), (match.group(1), known)
        return "" if result is None else str(result)

    return re.sub(r"\$\{\{(.*?)\}\}", value, template)


def test_no_merge_commit_waits_in_another_commits_deploy_group() -> None:
    """GitHub keeps one pending run per concurrency group and cancels the rest: merges that
    arrive while a deploy runs must not share a group, or all but the last are never
    deployed. The same commit (push, then a manual re-run) shares one: never applied twice at
    once. The hourly observe run never takes a deploy's place."""
    workflow = _load(ROOT / "docs" / "examples" / "mendbot-deploy.yml")
    group = workflow["concurrency"]["group"]
    assert workflow["concurrency"]["cancel-in-progress"] is False

    def of(event: str, sha: str, dispatched: str | None = None) -> str:
        known: dict[str, Value] = {
            "github.event_name": event,
            "github.sha": sha,
            "inputs.sha": dispatched,
        }
        return _render(group, known)

    first, second = "a" * 40, "b" * 40
    assert of("push", first) != of("push", second)
    assert of("push", first) == of("workflow_dispatch", "c" * 40, first)
    assert of("schedule", first) not in {of("push", first), of("push", second)}
    assert of("schedule", first) == of("schedule", second)


def test_workflows_and_the_action_are_valid_for_github() -> None:
    workflows = _check_schema("vendor.github-workflows", WORKFLOWS)
    assert workflows.returncode == 0, workflows.stdout + workflows.stderr
    action = _check_schema("vendor.github-actions", [ROOT / "action.yml"])
    assert action.returncode == 0, action.stdout + action.stderr


def test_the_schema_check_can_fail(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    stepz: []\n")
    assert _check_schema("vendor.github-workflows", [broken]).returncode != 0


def test_mendbot_finds_nothing_in_them() -> None:
    result = run_mendbot(
        "analyze", *map(str, [*WORKFLOWS, ROOT / "action.yml"]), "--offline", "--format", "json"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["findings"] == []


def test_mendbot_finds_nothing_in_this_repository() -> None:
    """`mendbot analyze .` at the root, as a user would run it on a checkout of mendbot."""
    result = run_mendbot("analyze", ".", "--offline", "--format", "json", cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["findings"] == []
    # Every workflow, .github/dependabot.yml and action.yml: nothing skipped.
    assert report["summary"]["files"] == len(OWN) + 2


def _jobs(path: Path) -> list[tuple[str, dict[str, Any]]]:
    return [(name, job) for name, job in _load(path)["jobs"].items()]


def _steps_using(job: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    return [s for s in job.get("steps", []) if str(s.get("uses", "")).startswith(prefix)]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_least_privilege_and_separation(path: Path) -> None:
    data = _load(path)
    assert data.get("permissions") == {}, f"{path.name}: `permissions: {{}}` at the top"
    for name, job in _jobs(path):
        granted = job.get("permissions")
        assert isinstance(granted, dict), f"{path.name}: job {name} declares its permissions"
        writes = {k for k, v in granted.items() if v == "write"}
        assert not ("id-token" in writes and writes & set(_WRITE_SCOPES)), (
            f"{path.name}: job {name} holds id-token: write and a write scope on "
            "contents or pull requests"
        )
        if "environment" in job and path.name.startswith("mendbot-"):
            assert path.name == "mendbot-deploy.yml", f"{path.name}: job {name} has an environment"
        for step in _steps_using(job, "mendbot/mendbot@"):
            if step.get("with", {}).get("command") == "analyze":
                assert writes <= {"id-token"}, f"{path.name}: the analysis job {name} writes"


def test_signing_steps_never_restore_a_cache() -> None:
    """The examples pin an action commit that cached every `analyze`: their signing steps say
    `cache: false` themselves, so a copy never restores a cache where it signs."""
    signing = [
        (path.name, step)
        for path in WORKFLOWS
        for _, job in _jobs(path)
        for step in _steps_using(job, "mendbot/mendbot@")
        if step.get("with", {}).get("command") == "analyze" and "bundle-out" in step["with"]
    ]
    assert signing, "an example signs bundles through the action"
    for name, step in signing:
        assert step["with"].get("cache") is False, f"{name}: a signing step without cache: false"


@pytest.mark.parametrize("path", [*WORKFLOWS, ROOT / "action.yml"], ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit(path: Path) -> None:
    data = _load(path)
    steps = [s for _, job in data.get("jobs", {}).items() for s in job.get("steps", [])]
    steps += data.get("runs", {}).get("steps", [])
    for step in steps:
        uses = step.get("uses")
        if uses is not None and not uses.startswith(("./", "$/", "docker://")):
            assert _SHA.match(uses), f"{path.name}: {uses} is not pinned to a commit"


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False
    )


def test_the_examples_pin_a_commit_of_this_repository_that_has_the_action() -> None:
    if _git("rev-parse", "--is-shallow-repository").stdout.strip() != "false":
        pytest.skip("needs the repository's history (not a shallow clone)")
    steps = [
        step
        for path in EXAMPLES
        for _, job in _jobs(path)
        for step in _steps_using(job, "mendbot/mendbot@")
    ]
    assert steps, "the examples use the action"
    for step in steps:
        sha = step["uses"].split("@", 1)[1]
        pinned = _git("show", f"{sha}:action.yml")
        assert pinned.returncode == 0, f"{sha} has no action.yml"
        inputs = yaml.safe_load(pinned.stdout)["inputs"]
        unknown = set(step.get("with", {})) - set(inputs)
        assert not unknown, f"the action at {sha[:12]} has no input {unknown}"


def test_every_input_and_output_is_documented() -> None:
    action = _load(ROOT / "action.yml")
    docs = (ROOT / "docs" / "action.md").read_text(encoding="utf-8")
    docs = docs[docs.index("## Inputs and outputs") :]
    for name, spec in action["inputs"].items():
        row = re.search(rf"^\| `{re.escape(name)}` \| (?P<default>[^|]*) \|", docs, re.M)
        assert row, f"input {name} is not in docs/action.md"
        default = str(spec.get("default", ""))
        shown = row["default"].strip()
        assert shown == (f"`{default}`" if default else "(empty)"), (name, shown)
    for name in action["outputs"]:
        assert re.search(rf"^\| `{re.escape(name)}` \|", docs, re.M), f"output {name}"


def test_examples_that_install_mendbot_from_source_pin_a_commit_with_their_commands() -> None:
    if _git("rev-parse", "--is-shallow-repository").stdout.strip() != "false":
        pytest.skip("needs the repository's history (not a shallow clone)")
    checked = 0
    for path in EXAMPLES:
        for _, job in _jobs(path):
            source = [
                step
                for step in _steps_using(job, "actions/checkout@")
                if step.get("with", {}).get("repository") == "mendbot/mendbot"
            ]
            scripts = " ".join(str(step.get("run", "")) for step in job.get("steps", []))
            for step in source:
                sha = step["with"]["ref"]
                assert re.fullmatch(r"[0-9a-f]{40}", sha), (
                    f"{path.name}: mendbot at {sha}, not a commit"
                )
                for command in sorted(set(re.findall(r"/bin/mendbot\" (\w[\w-]*)", scripts))):
                    module = _git("show", f"{sha}:bot/cli/{command}.py")
                    assert module.returncode == 0, f"{path.name}: {sha[:12]} has no `{command}`"
                    checked += 1
    assert checked, "an example installs mendbot from its source"
