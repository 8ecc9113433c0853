"""The GitHub Action (``action.yml``), run step by step with its documented inputs.

The first run installs mendbot for real from this checkout, as the action does on a runner
without a cached environment; the read-only ``analyze`` tests reuse that environment the way a
restored cache is used (the install step then leaves it as it is). Every other job installs
mendbot afresh, as the action does on a runner, so those tests are the slow ones.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from action_steps import ROOT, ActionRun, parse_outputs, run_action
from cryptography.hazmat.primitives import serialization
from fakegithub import TOKEN, FakeGitHub
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bot.protocol import decode_metadata
from bot.provenance.signing.signers import KeySigner
from keyfiles import write_keys

INJECTABLE = """\
on: issues
permissions: {}
jobs:
  triage:
    runs-on: ubuntu-latest
    steps:
      - run: echo "${{ github.event.issue.title }}"
"""


CLEAN = """\
on: push
permissions: {}
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: echo hello
"""


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """mendbot installed by the action itself into a fresh runner's temporary folder."""
    workspace = tmp_path_factory.mktemp("clean-workspace")
    (workspace / ".github" / "workflows").mkdir(parents=True)
    (workspace / ".github" / "workflows" / "ci.yml").write_text(CLEAN, encoding="utf-8")
    runner = tmp_path_factory.mktemp("first-runner")
    run = run_action({"command": "analyze"}, workspace=workspace, runner_temp=runner)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "mendbot, version" in run.stdout
    assert run.outputs["findings"] == "0"
    yield runner / "mendbot-venv"
    shutil.rmtree(runner, ignore_errors=True)


@pytest.fixture
def runner(installed: Path, tmp_path: Path) -> Path:
    """A runner's temporary folder where mendbot's environment was restored (which only a
    read-only ``analyze`` uses; every other job installs afresh)."""
    folder = tmp_path / "runner"
    folder.mkdir()
    (folder / "mendbot-venv").symlink_to(installed)
    return folder


def _workspace(tmp_path: Path, workflows: dict[str, str]) -> Path:
    root = tmp_path / "workspace"
    (root / ".github" / "workflows").mkdir(parents=True)
    for name, text in workflows.items():
        (root / ".github" / "workflows" / name).write_text(text, encoding="utf-8")
    return root


def test_analyze_annotates_writes_sarif_and_a_summary(tmp_path: Path, runner: Path) -> None:
    workspace = _workspace(tmp_path, {"triage.yml": INJECTABLE})
    run = run_action({"command": "analyze", "paths": "."}, workspace=workspace, runner_temp=runner)
    assert run.returncode == 0, run.stderr
    assert run.outputs["exit-code"] == "1"  # findings, but the step succeeds by default
    assert run.outputs["findings"] == "1"
    assert "::error file=.github/workflows/triage.yml,line=7" in run.stdout
    sarif = json.loads(Path(run.outputs["sarif"]).read_text(encoding="utf-8"))
    [result] = sarif["runs"][0]["results"]
    assert result["ruleId"] == "gha-template-injection"
    assert "### mendbot analyze: 1 finding(s)" in run.summary
    assert "gha-template-injection" in run.summary
    # The read-only analysis that cannot sign may restore a cached environment.
    assert [u.split("@")[0] for u in run.skipped_uses] == ["actions/cache"]
    # The outputs file holds exactly the real outputs, each in the delimiter form.
    written = run.output_files["run"].decode("utf-8")
    assert re.fullmatch(r"(?:[a-z-]+<<(mendbot_[0-9a-f]{32})\n[^\n]*\n\1\n)+", written), written
    assert parse_outputs(written) == {
        "findings": "1",
        "sarif": run.outputs["sarif"],
        "exit-code": "1",
    }


def test_fail_on_findings_fails_the_step(tmp_path: Path, runner: Path) -> None:
    workspace = _workspace(tmp_path, {"triage.yml": INJECTABLE})
    run = run_action(
        {"command": "analyze", "fail-on-findings": "true"}, workspace=workspace, runner_temp=runner
    )
    assert (run.returncode, run.outputs["exit-code"]) == (1, "1")


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"command": "fix"}, "input 'command' must be analyze, propose, gate, deploy or revert"),
        ({"command": "analyze", "cache": "yes"}, "input 'cache' must be auto or false"),
        ({"command": "analyze", "version": "--index-url=x"}, "input 'version' must be a release"),
        ({"command": "analyze", "python": "no-such-python"}, "input 'python': no interpreter"),
        ({"command": "gate"}, "no pull request for the gate: set input 'pr', or 'all-open: true'"),
        ({"command": "revert"}, "input 'target' names the remediation to revert"),
        (
            {"command": "propose", "rollback-sha": "0" * 40},
            "input 'rollback-sha' needs input 'environment'",
        ),
    ],
)
def test_bad_inputs_stop_before_anything_runs(
    tmp_path: Path, runner: Path, inputs: dict[str, str], message: str
) -> None:
    """Refused before the install: no minute is spent installing for a run that cannot be."""
    workspace = _workspace(tmp_path, {"triage.yml": INJECTABLE})
    run = run_action(inputs, workspace=workspace, runner_temp=runner)
    assert run.returncode == 2
    assert f"::error title=mendbot action::{message}" in run.stdout
    assert "mendbot, version" not in run.stdout  # nothing was installed
    assert run.outputs["exit-code"] == ""  # mendbot never ran


REVIEWED_INJECTIONS = [
    pytest.param("bundle-out", "bo\ndecision=allow\npull-requests=1337", id="bundle-out"),
    pytest.param("sarif", "x\nfindings=0", id="sarif"),
    pytest.param("target", "a\r\nexit-code=0", id="target-crlf"),
    pytest.param("config", "c.yml\n", id="config-yaml-block"),
]


@pytest.mark.parametrize(("name", "value"), REVIEWED_INJECTIONS)
def test_an_input_with_a_line_break_adds_no_output_and_runs_nothing(
    tmp_path: Path, runner: Path, name: str, value: str
) -> None:
    """A value written to ``$GITHUB_OUTPUT`` as ``name=value`` could end its line and add
    outputs (``decision=allow``) or replace real ones (``findings=0``): such inputs are refused
    before anything runs, naming the input and not echoing it."""
    workspace = _workspace(tmp_path, {"triage.yml": INJECTABLE})
    run = run_action({"command": "analyze", name: value}, workspace=workspace, runner_temp=runner)
    assert run.returncode == 2
    assert f"::error title=mendbot action::input '{name}' must be a single line" in run.stdout
    assert set(run.outputs.values()) == {""}, run.outputs  # no output at all, real or injected
    assert "run" not in run.output_files  # mendbot never ran
    assert "1337" not in run.stdout + run.stderr


def test_an_output_value_can_never_add_another_output(tmp_path: Path) -> None:
    """Whatever a value holds, ``output`` writes it as one output (GitHub's delimiter form)."""
    outputs = tmp_path / "outputs"
    hostile = "bo\ndecision=allow\npull-requests<<EOF\n1337\nEOF\n"
    done = subprocess.run(
        [
            "bash",
            "-c",
            'source "$GITHUB_ACTION_PATH/action/outputs.sh"; output bundles "$V"; '
            "output findings 3",
        ],
        env={"GITHUB_ACTION_PATH": str(ROOT), "GITHUB_OUTPUT": str(outputs), "V": hostile},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert parse_outputs(outputs.read_text(encoding="utf-8")) == {
        "bundles": hostile,
        "findings": "3",
    }


def test_an_option_looking_target_or_path_is_a_value_not_an_option(
    github: FakeGitHub, bench, tmp_path: Path, runner: Path
) -> None:
    """``target: --help`` names a remediation and ``paths: --help`` a file: mendbot refuses
    both as such, never showing its help and reporting success."""
    github.add_repo(REPO, bench.repo.path)
    revert = run_action(
        {"command": "revert", "target": "--help"},
        workspace=bench.repo.path,
        runner_temp=runner,
        github={"token": TOKEN},
        env={"GITHUB_API_URL": github.base_url, "GITHUB_REPOSITORY": REPO},
    )
    assert (revert.returncode, revert.outputs["exit-code"]) == (2, "2"), revert.stdout
    assert "Usage:" not in revert.stdout + revert.stderr
    assert "'--help' is neither a remediation id (group/slug) nor a pull request number" in (
        revert.stderr
    )
    assert revert.outputs["pull-requests"] == ""
    workspace = _workspace(tmp_path, {"ci.yml": CLEAN})
    analyze = run_action(
        {"command": "analyze", "paths": "--help"}, workspace=workspace, runner_temp=runner
    )
    assert (analyze.returncode, analyze.outputs["exit-code"]) == (3, "3"), analyze.stdout
    assert "Usage:" not in analyze.stdout + analyze.stderr
    assert "::error file=--help::no such file or directory" in analyze.stdout
    assert analyze.outputs["findings"] == ""


def test_a_list_input_on_several_lines_loses_no_word(tmp_path: Path, runner: Path) -> None:
    """``paths: |`` with one folder per line analyses every folder, not only the first."""
    workspace = _workspace(tmp_path, {})
    for folder in ("one", "two"):
        (workspace / folder / ".github" / "workflows").mkdir(parents=True)
        (workspace / folder / ".github" / "workflows" / "t.yml").write_text(INJECTABLE)
    run = run_action(
        {"command": "analyze", "paths": "one\ntwo\n"}, workspace=workspace, runner_temp=runner
    )
    assert (run.returncode, run.outputs["findings"]) == (0, "2"), run.stdout + run.stderr


def _plant_poisoned_environment(runner: Path) -> Path:
    """What a poisoned cache entry restores: a "mendbot" that leaves a mark when it runs."""
    marker = runner / "poisoned-mendbot-ran"
    planted = runner / "mendbot-venv" / "bin"
    planted.mkdir(parents=True)
    (planted / "mendbot").write_text(
        f"#!/bin/sh\ntouch '{marker}'\necho 'mendbot, version 0.1.0'\n"
    )
    (planted / "mendbot").chmod(0o755)
    return marker


OIDC = {
    "ACTIONS_ID_TOKEN_REQUEST_URL": "http://127.0.0.1:9/token",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "not-a-real-bearer",
}


def test_a_job_that_holds_id_token_installs_afresh_and_never_restores_the_cache(
    tmp_path: Path,
) -> None:
    """D6: with ``id-token: write`` (the runner sets ACTIONS_ID_TOKEN_REQUEST_URL) and
    ``cache: auto``, no cache is restored and an environment already in place is not run:
    mendbot is installed from the action's own source, and the analysis works."""
    workspace = _workspace(tmp_path, {"triage.yml": INJECTABLE})
    runner = tmp_path / "runner"
    marker = _plant_poisoned_environment(runner)
    run = run_action(
        {"command": "analyze", "cache": "auto"}, workspace=workspace, runner_temp=runner, env=OIDC
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.skipped_uses == []  # no actions/cache step
    assert not marker.exists()
    assert (
        "installed afresh from its pinned source, never from a cache: the job holds id-token"
        in run.stdout
    )
    assert run.outputs["findings"] == "1"


@pytest.mark.parametrize(
    "inputs",
    [
        {"bundle-out": "bundles"},
        {"sign": "key", "args": "--signing-key analysis.pem"},
        {"args": "--bundle-out=bundles"},
        {"args": "--offline --sign sigstore"},
    ],
    ids=["bundle-out", "sign", "args-bundle-out", "args-sign"],
)
def test_an_analysis_that_signs_never_runs_a_restored_environment(
    tmp_path: Path, inputs: dict[str, str]
) -> None:
    """Writing bundles or signing, even without id-token in sight, also rules the cache out.
    The package index is unreachable here, so the fresh install fails: what matters is that
    nothing from the planted environment ran and no cache was restored."""
    workspace = _workspace(tmp_path, {"triage.yml": INJECTABLE})
    runner = tmp_path / "runner"
    marker = _plant_poisoned_environment(runner)
    offline = {"PIP_CONFIG_FILE": "/dev/null", "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(tmp_path)}
    run = run_action(
        {"command": "analyze", **inputs}, workspace=workspace, runner_temp=runner, env=offline
    )
    assert run.skipped_uses == []
    assert not marker.exists()
    assert "installed afresh from its pinned source, never from a cache" in run.stdout
    assert run.returncode != 0 and run.outputs["exit-code"] == ""


@pytest.mark.parametrize(
    "inputs",
    [
        {"command": "propose"},
        {"command": "propose", "rollback-sha": "0" * 40, "environment": "staging"},
        {"command": "gate", "pr": "1"},
        {"command": "gate", "all-open": "true"},
        {"command": "revert", "target": "#1"},
        {"command": "deploy", "deploy-command": "plan"},
        {"command": "analyze", "cache": "false"},
    ],
    ids=["propose", "rollback", "gate", "gate-all-open", "revert", "deploy", "analyze-no-cache"],
)
def test_a_job_that_holds_write_access_or_decides_the_gate_never_runs_a_planted_mendbot(
    tmp_path: Path, inputs: dict[str, str]
) -> None:
    """An earlier step of the job (or a poisoned cache restored by a copy of an older action)
    left a "mendbot" where the action keeps its environment. Propose (pushes, opens pull
    requests), the gate (the required status) and deploy hold write access: none restores the
    cache or runs what it finds; each installs afresh. The package index is unreachable here,
    so the fresh install fails: what matters is that the planted mendbot never ran and no
    decision, pull request or exit code came out."""
    workspace = _workspace(tmp_path, {"triage.yml": INJECTABLE})
    runner = tmp_path / "runner"
    marker = _plant_poisoned_environment(runner)
    offline = {"PIP_CONFIG_FILE": "/dev/null", "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(tmp_path)}
    run = run_action(inputs, workspace=workspace, runner_temp=runner, env=offline)
    assert run.skipped_uses == []
    assert not marker.exists()
    assert "installed afresh from its pinned source, never from a cache" in run.stdout
    assert run.returncode != 0
    assert run.outputs["exit-code"] == run.outputs["decision"] == ""
    assert run.outputs["pull-requests"] == ""


#: The action's locks, and the extras of mendbot each one holds.
LOCKS = {"requirements.txt": (), "requirements-aws.txt": ("aws",)}


def _locked(lock: str) -> dict[str, tuple[str, list[str]]]:
    """Each requirement of ``action/<lock>``: its normalised name → (version, sha256 digests)."""
    text = (ROOT / "action" / lock).read_text(encoding="utf-8").replace("\\\n", " ")
    found: dict[str, tuple[str, list[str]]] = {}
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        name, _, version = words[0].partition("==")
        digests = [w.removeprefix("--hash=sha256:") for w in words[1:] if w.startswith("--hash=")]
        found[canonicalize_name(name)] = (version, digests)
    return found


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_the_lock_pins_every_dependency_and_the_build_backend_with_digests(lock: str) -> None:
    """The action installs from ``action/<lock>`` with ``--require-hashes``: every dependency
    pyproject.toml declares (with the extras of that lock) and the build backend must be there,
    at one version pyproject.toml accepts, with its digests. After a dependency changes,
    regenerate the locks with the command in their header."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    wanted = [*pyproject["project"]["dependencies"], *pyproject["build-system"]["requires"]]
    for extra in LOCKS[lock]:
        wanted += pyproject["project"]["optional-dependencies"][extra]
    locked = _locked(lock)
    assert all(version and digests for version, digests in locked.values()), locked
    for text in wanted:
        requirement = Requirement(text)
        assert canonicalize_name(requirement.name) in locked, f"{lock} lacks {requirement.name}"
        version, _ = locked[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(version, prereleases=True), (text, version)


def _forged_wheel(folder: Path, name: str, version: str, marker: Path) -> None:
    """A wheel named and numbered like the real ``name`` ``version``, whose modules leave
    ``marker`` when imported (``hatchling.build`` too: pip imports it to build mendbot)."""
    folder.mkdir(exist_ok=True)
    dist = re.sub(r"[-_.]+", "_", name)
    code = f"open({str(marker)!r}, 'a').write({name!r})\n"
    files = {
        f"{dist}/__init__.py": code,
        f"{dist}/build.py": code,
        f"{dist}-{version}.dist-info/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        ),
        f"{dist}-{version}.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: forger\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = f"{dist}-{version}.dist-info/RECORD"
    files[record] = "".join(f"{path},,\n" for path in [*files, record])
    with zipfile.ZipFile(folder / f"{dist}-{version}-py3-none-any.whl", "w") as wheel:
        for path, text in files.items():
            wheel.writestr(path, text)


def test_a_package_swapped_on_the_index_is_refused_before_it_runs(tmp_path: Path) -> None:
    """The index (or a ``PIP_*`` variable an earlier step set) offers every locked package
    under its pinned name and version, with other content, the build backend pip runs to build
    mendbot included. The lock's digests refuse them before anything is installed or built:
    none of their code runs, and the gate decides nothing."""
    marker = tmp_path / "forged-code-ran"
    index = tmp_path / "index"
    for name, (version, _) in _locked("requirements.txt").items():
        _forged_wheel(index, name, version, marker)
    workspace = _workspace(tmp_path, {"ci.yml": CLEAN})
    offline = {"PIP_CONFIG_FILE": "/dev/null", "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(index)}
    run = run_action(
        {"command": "gate", "pr": "1"},
        workspace=workspace,
        runner_temp=tmp_path / "runner",
        env=offline,
    )
    assert not marker.exists(), marker.read_text()
    assert "DO NOT MATCH THE HASHES" in run.stdout + run.stderr
    assert run.returncode != 0
    assert run.outputs["exit-code"] == run.outputs["decision"] == ""


def test_input_values_are_words_never_code(tmp_path: Path, runner: Path) -> None:
    """Every input reaches mendbot as separate words: nothing in them is run by a shell."""
    workspace = _workspace(tmp_path, {"triage.yml": INJECTABLE})
    hostile = "$(touch pwned-1) `touch pwned-2` ; touch pwned-3"
    run = run_action(
        {"command": "analyze", "paths": hostile, "args": hostile, "config": hostile},
        workspace=workspace,
        runner_temp=runner,
    )
    assert run.returncode == 2  # mendbot refuses the arguments
    assert not list(workspace.glob("pwned*")) and not list(runner.glob("pwned*"))


REPO = "octo/project"


def _propose(github: FakeGitHub, bench, signing_key, tmp_path: Path, runner: Path) -> ActionRun:
    bench.analyse_as(f"{github.origin}/{REPO}.git")
    signed = bench.bundle(KeySigner(signing_key))
    if REPO not in github.repos:
        github.add_repo(REPO, bench.repo.path)
    folder = bench.repo.path / "mendbot-bundles"
    for bundle in signed.values():
        if not (folder / bundle.name).exists():
            shutil.copytree(bundle, folder / bundle.name)
    key = tmp_path / "analysis.pub.pem"
    key.write_bytes(
        signing_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return run_action(
        {"command": "propose", "verify-key": str(key)},
        workspace=bench.repo.path,
        runner_temp=runner,
        github={"token": TOKEN},
        env={"GITHUB_API_URL": github.base_url, "GITHUB_REPOSITORY": REPO},
    )


def test_propose_opens_one_pull_request_per_bundle(
    github: FakeGitHub, bench, signing_key, tmp_path: Path, runner: Path
) -> None:
    run = _propose(github, bench, signing_key, tmp_path, runner)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.outputs["pull-requests"] == "1 2"
    assert sorted(github.repos[REPO].pulls) == [1, 2]
    assert run.summary.count("- opened ") == 2
    # A job that holds a write token never restores a cached environment.
    assert run.skipped_uses == []
    assert TOKEN not in run.stdout + run.stderr + run.summary
    again = _propose(github, bench, signing_key, tmp_path, runner)
    assert (again.returncode, again.outputs["pull-requests"]) == (0, "1 2")
    assert again.summary.count("- unchanged ") == 2


def test_propose_without_bundles_says_so(tmp_path: Path, runner: Path) -> None:
    workspace = _workspace(tmp_path, {"ci.yml": CLEAN})
    run = run_action({"command": "propose"}, workspace=workspace, runner_temp=runner)
    assert run.returncode == 0
    assert "No bundle under mendbot-bundles: nothing to propose." in run.stdout
    assert run.outputs["pull-requests"] == ""


def test_revert_on_github_opens_the_exact_revert(
    github: FakeGitHub, bench, signing_key, tmp_path: Path, runner: Path
) -> None:
    """Propose, merge with GitHub's button, then revert through the action: the revert
    pull request turns the merged change around exactly."""
    proposed = _propose(github, bench, signing_key, tmp_path, runner)
    assert proposed.outputs["pull-requests"] == "1 2", proposed.stdout + proposed.stderr
    merged = github.merge_pull(REPO, 1)
    workspace = bench.repo.path
    bench.repo.git("fetch", "-q", str(github.repos[REPO].bare), "main")
    bench.repo.git("checkout", "-q", "-B", "main", "FETCH_HEAD")  # what actions/checkout does
    run = run_action(
        {"command": "revert", "target": "#1", "reason": "it broke the release"},
        workspace=workspace,
        runner_temp=runner,
        github={"token": TOKEN},
        env={"GITHUB_API_URL": github.base_url, "GITHUB_REPOSITORY": REPO, "GITHUB_ACTOR": "grace"},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.outputs["pull-requests"] == "3"
    pull = github.repos[REPO].pulls[3]
    assert "mendbot:revert" in pull.labels
    assert "Requested by `grace`: `it broke the release`" in pull.body
    head = github.sha(github.repos[REPO], f"refs/heads/{pull.head}")
    forward = github.git(github.repos[REPO], "diff", f"{merged}^1", merged)
    backward = github.git(github.repos[REPO], "diff", str(head), f"{head}^1")
    assert forward == backward


def test_signed_revert_through_the_action_sign_job_then_propose_job(
    github: FakeGitHub, bench, signing_key, tmp_path: Path, runner: Path
) -> None:
    """The two jobs of docs/examples/mendbot-revert.yml: `revert` with `bundle-out` signs and
    holds no token; `propose` opens the revert pull request from the verified bundle."""
    proposed = _propose(github, bench, signing_key, tmp_path, runner)
    assert proposed.outputs["pull-requests"] == "1 2", proposed.stdout + proposed.stderr
    merged = github.merge_pull(REPO, 1)
    rid = decode_metadata(github.repos[REPO].pulls[1].body)["remediation"]
    bench.repo.git("fetch", "-q", str(github.repos[REPO].bare), "main")
    bench.repo.git("checkout", "-q", "-B", "main", "FETCH_HEAD")
    private, _ = write_keys(tmp_path, "revert", signing_key)
    out = runner / "revert-bundle"
    signed = run_action(
        {
            "command": "revert",
            "target": rid,
            "reason": "it broke the release",
            "bundle-out": str(out),
            "sign": "key",
            "args": f"--signing-key {private}",
        },
        workspace=bench.repo.path,
        runner_temp=runner,
        env={
            "GITHUB_ACTOR": "grace",
            "GITHUB_SERVER_URL": github.origin,
            "GITHUB_REPOSITORY": REPO,
        },
    )
    assert signed.returncode == 0, signed.stdout + signed.stderr
    assert signed.outputs["bundles"] == str(out)
    assert sorted(github.repos[REPO].pulls) == [1, 2]  # signing opens nothing
    key = tmp_path / "analysis.pub.pem"
    opened = run_action(
        {"command": "propose", "bundles": str(out), "verify-key": str(key)},
        workspace=bench.repo.path,
        runner_temp=runner,
        github={"token": TOKEN},
        env={"GITHUB_API_URL": github.base_url, "GITHUB_REPOSITORY": REPO},
    )
    assert opened.returncode == 0, opened.summary + opened.stdout + opened.stderr
    assert opened.outputs["pull-requests"] == "3"
    pull = github.repos[REPO].pulls[3]
    assert "mendbot:revert" in pull.labels
    assert "asked by grace: it broke the release" in pull.title
    assert f"merged in `{merged}` (#1)" in pull.body


def test_deploy_observe_runs_mendbot_deploy_observe(tmp_path: Path, runner: Path) -> None:
    """`deploy-command: observe` reaches `mendbot deploy observe` (which wants its records)."""
    workspace = _workspace(tmp_path, {"ci.yml": CLEAN})
    run = run_action(
        {"command": "deploy", "deploy-command": "observe"}, workspace=workspace, runner_temp=runner
    )
    assert (run.returncode, run.outputs["exit-code"]) == (2, "2")
    assert "Missing option '--records'" in run.stdout + run.stderr
