"""Each identity holds at run time: a real command loads only the code of its own identity.

import-linter checks what the source *could* import; this checks what a real process *does*
load. Every command runs as a child process on a real repository (the chain analyse → sign →
propose → verify → gate → policy eval on the local forge), and records ``sys.modules`` at exit.
The gate, ``mendbot verify`` and ``policy eval`` must load no detector, workflow model,
knowledge, resolver, analysis or propose module; propose none of the analysis; the analysis no
forge, policy, propose, gate or deploy module.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import bot

#: The checkout under test: children import it first, whatever else is installed.
SOURCE = Path(bot.__file__).resolve().parents[1]
#: Runs ``mendbot`` with the command line given after ``-c``, then writes the ``bot`` modules
#: the process loaded to ``$MENDBOT_TEST_MODULES`` (at exit: commands end with sys.exit), the
#: first entry being where ``bot`` came from.
_BOOT = """
import atexit, json, os, sys
def _dump():
    names = sorted(m for m in sys.modules if m == "bot" or m.startswith("bot."))
    with open(os.environ["MENDBOT_TEST_MODULES"], "w", encoding="utf-8") as handle:
        json.dump([sys.modules["bot"].__file__, *names], handle)
atexit.register(_dump)
sys.argv[0] = "mendbot"
from bot.cli.app import main
main()
"""

INFERENCE = ("bot.detectors", "bot.workflow", "bot.knowledge", "bot.resolvers", "bot.analyze")
ANALYSIS_MUST_NOT = ("bot.forge", "bot.policy", "bot.propose", "bot.gate", "bot.deploy")
VERIFIER_MUST_NOT = (*INFERENCE, "bot.propose", "bot.provenance.signing", "bot.models")
VERIFIER_MUST_NOT += ("bot.yamledit", "bot.forge", "bot.gate", "bot.policy", "bot.deploy")
SIGN_WITH_KEY = ("--sign", "key", "--signing-key", "../keys/mendbot.key")
WORKFLOW = """\
name: ci
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
      - run: make test
"""


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GIT_AUTHOR_NAME="Ada",
        GIT_AUTHOR_EMAIL="ada@example.com",
        GIT_COMMITTER_NAME="Ada",
        GIT_COMMITTER_EMAIL="ada@example.com",
        GIT_CONFIG_GLOBAL=str(tmp_path / "gitconfig"),
        GIT_CONFIG_NOSYSTEM="1",
        MENDBOT_OFFLINE="1",
        PYTHONPATH=str(SOURCE),
    )
    for name in ("GITHUB_ACTIONS", "GITHUB_TOKEN", "GH_TOKEN", "GITHUB_REPOSITORY"):
        env.pop(name, None)
    return env


def _mendbot(args: list[str], cwd: Path, env: dict[str, str], expect: int) -> list[str]:
    """Run ``mendbot args`` and return the ``bot`` modules it loaded; the exit code must be
    ``expect`` (so a command that failed early cannot pass for one that loaded little)."""
    record = cwd.parent / "modules.json"
    record.unlink(missing_ok=True)
    done = subprocess.run(
        [sys.executable, "-c", _BOOT, *args],
        cwd=cwd,
        env={**env, "MENDBOT_TEST_MODULES": str(record)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == expect, (args, done.stdout[-1500:], done.stderr[-1500:])
    origin, *loaded = json.loads(record.read_text(encoding="utf-8"))
    assert Path(origin).resolve().parents[1] == SOURCE, f"the child imported {origin}"
    return loaded


def _within(loaded: list[str], packages: tuple[str, ...]) -> list[str]:
    return [m for m in loaded if any(m == p or m.startswith(p + ".") for p in packages)]


def _git(repo: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """Run the whole chain once; each command's loaded modules by name."""
    tmp_path = tmp_path_factory.mktemp("identities")
    env = _env(tmp_path)
    repo = tmp_path / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "ci.yml").write_text(WORKFLOW, encoding="utf-8")
    (repo / ".github" / "mendbot.yml").write_text(
        "environments:\n  staging: ['.github/workflows/*']\n", encoding="utf-8"
    )
    _git(repo, env, "init", "-q", "-b", "main")
    loaded: dict[str, list[str]] = {}
    loaded["policy init"] = _mendbot(["policy", "init", "policies"], repo, env, expect=0)
    _git(repo, env, "add", "-A")
    _git(repo, env, "commit", "-q", "-m", "ci and policies")
    loaded["key generate"] = _mendbot(["key", "generate", "--out", "../keys"], repo, env, 0)
    loaded["analyze"] = _mendbot(["analyze", ".", "--format", "json"], repo, env, expect=1)
    loaded["analyze --bundle-out"] = _mendbot(
        ["analyze", ".", "--bundle-out", "../bundles", *SIGN_WITH_KEY],
        repo,
        env,
        expect=1,
    )
    bundles = sorted(p.name for p in (tmp_path / "bundles").iterdir())
    assert bundles, "the analysis made no bundle"
    trust = ("--verify-key", "../keys/mendbot.pub")
    loaded["propose"] = _mendbot(
        ["propose", *(f"../bundles/{b}" for b in bundles), "--forge", "local", *trust],
        repo,
        env,
        expect=0,
    )
    branch = next(
        b for b in _git(repo, env, "branch", "--format=%(refname:short)").split() if b != "main"
    )
    loaded["verify"] = _mendbot(
        ["verify", f"../bundles/{bundles[0]}", "--head", branch, "--base", "main", *trust],
        repo,
        env,
        expect=0,
    )
    record = tmp_path / "record.json"
    loaded["gate"] = _mendbot(
        ["gate", "--forge", "local", "--pr", "1", "--record", str(record), *trust],
        repo,
        env,
        expect=0,  # staging-auto-merge allows a safe remediation in staging
    )
    context = tmp_path / "context.json"
    context.write_text(json.dumps(json.loads(record.read_text())["context"]), encoding="utf-8")
    loaded["policy eval"] = _mendbot(
        ["policy", "eval", "--context", str(context), "policies"], repo, env, expect=0
    )
    loaded["--version"] = _mendbot(["--version"], repo, env, expect=0)
    # A reviewer approves and merges (in this process: set-up, not a measured command), then
    # the deploy identity plans and applies the merge commit.
    from bot.forge.local import LocalForge

    forge = LocalForge(repo, base="main")
    merged = forge.merge(1)
    loaded["key generate (deploy)"] = _mendbot(
        ["key", "generate", "--out", "../deploy-keys"], repo, env, 0
    )
    plan = str(tmp_path / "plan.json")
    loaded["deploy plan"] = _mendbot(
        ["deploy", "plan", "--sha", merged, "--out", plan, *trust], repo, env, expect=0
    )
    loaded["deploy apply"] = _mendbot(
        [
            "deploy",
            "apply",
            "--plan",
            plan,
            *trust,
            "--sign",
            "key",
            "--signing-key",
            "../deploy-keys/mendbot.key",
            "--record-out",
            "../records",
        ],
        repo,
        env,
        expect=0,
    )
    record = next((tmp_path / "records").iterdir())
    loaded["deploy verify-record"] = _mendbot(
        ["deploy", "verify-record", str(record), "--verify-key", "../deploy-keys/mendbot.pub"],
        repo,
        env,
        expect=0,
    )
    return loaded


def test_the_analysis_loads_no_forge_policy_gate_or_deploy_code(chain):
    for command in ("analyze", "analyze --bundle-out"):
        assert _within(chain[command], ("bot.detectors.workflows",)), command
        assert _within(chain[command], ANALYSIS_MUST_NOT) == [], command


def test_the_propose_job_loads_none_of_the_inference(chain):
    assert "bot.propose.job" in chain["propose"]
    assert _within(chain["propose"], (*INFERENCE, "bot.gate", "bot.deploy")) == []


def test_the_verifier_loads_no_inference_no_signing_and_no_yaml_engine(chain):
    assert "bot.provenance.verification.verifier" in chain["verify"]
    assert _within(chain["verify"], VERIFIER_MUST_NOT) == []


def test_policy_eval_loads_the_policy_engine_only(chain):
    loaded = chain["policy eval"]
    assert "bot.policy.decide" in loaded
    # The forge *interface* comes with `policy explain`'s options; no adapter is loaded.
    unexpected = (*INFERENCE, "bot.propose", "bot.provenance", "bot.models")
    unexpected += ("bot.forge.local", "bot.forge.github")
    assert _within(loaded, (*unexpected, "bot.gate", "bot.deploy")) == []


def test_the_gate_loads_no_inference_and_no_propose_job(chain):
    loaded = chain["gate"]
    assert "bot.gate.run" in loaded and "bot.provenance.verification.verifier" in loaded
    assert _within(loaded, (*INFERENCE, "bot.propose", "bot.provenance.signing")) == []


def test_the_deploy_job_loads_no_inference_no_analysis_and_no_propose_job(chain):
    """Deployment authority never sits with the code that inferred the fix: a real
    ``mendbot deploy`` process loads no detector, workflow model, knowledge, resolver, analysis
    (bundles included) or propose module."""
    for command in ("deploy plan", "deploy apply", "deploy verify-record"):
        loaded = chain[command]
        assert _within(loaded, (*INFERENCE, "bot.propose")) == [], command
    assert "bot.deploy.job" in chain["deploy apply"]
    assert "bot.deploy.git_workflow" in chain["deploy apply"]
    assert "bot.gate.merged" in chain["deploy plan"]
    # Checking a record needs no forge adapter and no gate (the forge *interface* comes with
    # the command group's options).
    unexpected = ("bot.forge.local", "bot.forge.github", "bot.gate")
    assert _within(chain["deploy verify-record"], unexpected) == []


def test_version_loads_only_the_command_group(chain):
    assert chain["--version"] == ["bot", "bot.cli", "bot.cli.app"]


@pytest.mark.parametrize(
    "module",
    ["bot.cli.forges", "bot.forge.github.forge", "bot.forge.local", "bot.cli.gate"],
)
def test_the_forge_adapters_and_the_gate_command_load_no_inference(module, tmp_path):
    """The chain above runs the local forge; the GitHub adapter the gate uses in production is
    imported here, on its own, in a fresh process."""
    code = (
        f"import json, sys, {module}; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('bot.'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = json.loads(done.stdout)
    assert module in loaded
    assert _within(loaded, (*INFERENCE, "bot.propose", "bot.provenance.signing")) == []
