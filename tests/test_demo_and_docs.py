"""``mendbot demo`` end to end in a real git repository; generated docs cannot drift."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import git

from bot import docsgen
from bot.demo import DEMO_BRANCH
from clirun import run_mendbot
from testpaths import REPO


def test_demo_commits_one_revertable_commit_per_remediation(tmp_path: Path, monkeypatch) -> None:
    for variable in ("GIT_AUTHOR", "GIT_COMMITTER"):
        monkeypatch.setenv(f"{variable}_NAME", "Release Engineer")
        monkeypatch.setenv(f"{variable}_EMAIL", "release@example.test")
    workdir = tmp_path / "demo"
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--workdir", str(workdir)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "gha-insecure-commands" in result.stdout
    # Step 1 is read-only: it offers fixes and applies none.
    analysis_table = result.stdout.split("2. plan", 1)[0]
    assert "fix available" in analysis_table and "fixed" not in analysis_table
    # Everything stays under the work directory and no private key outlives the demo.
    assert list(scratch.iterdir()) == []
    assert not list(workdir.rglob("*.key"))
    assert list(workdir.rglob("mendbot.pub"))
    # The pull request's risk card names the environment the gate decides on.
    assert "| unmapped |" not in result.stdout
    assert "| file | production |" in result.stdout and "env:staging" in result.stdout
    assert "+          persist-credentials: false" in result.stdout
    repo = git.Repo(workdir)
    commits = list(repo.iter_commits(f"main..{DEMO_BRANCH}"))
    committed = result.stdout.count(": committed ")
    assert committed >= 3
    assert len(commits) == committed
    for commit in commits:
        assert "Mendbot-Remediation: " in commit.message
        assert commit.author.name == "mendbot[bot]"
    # Provenance: a signed bundle applied on its own branch verifies, a hand edit does not.
    assert "5. attest" in result.stdout
    assert "ok    signature         DSSE signature by key" in result.stdout
    assert "ok    change-set        head changes exactly the 1 attested path(s)" in result.stdout
    assert "verified: gha-" in result.stdout
    assert "FAIL  change-set        .github/workflows/" in result.stdout
    assert "NOT verified: 1 check(s) failed" in result.stdout
    proposed = next(b for b in repo.branches if b.name.startswith("mendbot/gha-"))
    attestations = repo.git.ls_tree("--name-only", "-r", proposed.name, ".mendbot/attestations")
    assert attestations.endswith(".sigstore.json")
    assert repo.active_branch.name == DEMO_BRANCH
    # Propose on the local forge: default limits open two, hold back the rest, rerun is a no-op.
    assert "9. propose" in result.stdout
    assert "opened    gha-" in result.stdout
    assert "held back by limits" in result.stdout
    assert "#1 [open] fix(security): " in result.stdout
    assert "labels: mendbot, risk:" in result.stdout
    assert "## Provenance" in result.stdout
    assert "<!-- mendbot-metadata:v1 " in result.stdout
    assert "unchanged gha-" in result.stdout
    records = sorted((workdir / ".git" / "mendbot" / "pulls").glob("*.json"))[:2]
    assert [r.name for r in records] == ["1.json", "2.json"]
    branch = next(b for b in repo.branches if b.name.count("/") == 2)
    assert "Mendbot-Attestation: sha256:" in branch.commit.message
    # The gate: the staging change is allowed, the production one waits, then an approval on
    # its head commit allows it; reported as a status, a label and a sticky comment.
    assert "13. mendbot gate --pr 1" in result.stdout
    assert "decision: allow (auto-merge eligible)" in result.stdout
    assert "missing: production-approval: 1 more approval (have 0)" in result.stdout
    assert "reported: status mendbot/policy=pending" in result.stdout
    assert "14. bob approves #1" in result.stdout
    after = result.stdout.split("14. bob approves", 1)[1]
    assert "decision: allow" in after and "reported: label gate:pass" in after
    gate_records = [json.loads(r.read_text()) for r in records]
    assert all(any(label.startswith("gate:") for label in r["labels"]) for r in gate_records)
    assert all(r["comments"]["gate"].startswith("### mendbot policy gate:") for r in gate_records)
    # Deploy: the unsafe production change is not deployed by itself; the staging one fails
    # validation, is compensated and freezes staging; a person's change is denied; the exact
    # revert passes the freeze, deploys, resolves the failure and unfreezes staging.
    deployed = result.stdout.split("15. the owners", 1)[1].split("25. a release engineer", 1)[0]
    assert "deployed only under a policy demanding the stronger approvals" in deployed
    assert "compensated: gha-" in deployed
    assert "deny: staging is frozen after a failed deploy" in deployed
    assert "applied: revert:gha-" in deployed
    assert deployed.count(": verifies") == 2 and "DOES NOT VERIFY" not in deployed
    assert "staging frozen: false" in deployed
    assert "DurationSeconds=900" in deployed and "of 2048 characters" in deployed
    assert len(list((workdir / ".git" / "mendbot-demo" / "deploy-records").iterdir())) == 2
    # A release engineer reverts the production remediation; neither it nor the one the deploy
    # job rolled back is proposed again, and propose says why.
    reverted = result.stdout.split("25. a release engineer reverts", 1)[1]
    assert "opened #5 (mendbot/revert/" in reverted
    assert reverted.count(": not proposed again (list") == 2
    assert "by grace: not proposed again" in reverted
    # The AWS account: the read-only inventory sees both keys, the abandoned one is attested,
    # proposed, auto-merged by the staging account's policy and deployed with a session policy
    # naming that user only; the live key stays Active.
    aws = result.stdout.split("28. an AWS account (moto on loopback)", 1)[1]
    abandoned = aws.split("legacy-backup: ", 1)[1].split(",", 1)[0]
    assert "nhi-aws-unused-access-key: access key " + abandoned in aws
    assert "ownership known, second-order false" in aws
    assert "decision: allow (auto-merge eligible)" in aws
    assert "nhi-unused-key-auto-merge=allow" in aws
    assert f"apply staging aws-iam-access-key: {abandoned}\n" in aws
    assert '"Resource":["arn:aws:iam::123456789012:user/legacy-backup"]' in aws
    assert f"legacy-backup: {abandoned} Inactive" in aws
    assert "ci-deployer: AKIA" in aws and aws.count(" Inactive") == 1
    assert ".deploy.sigstore.json: verifies" in aws
    # Each remediation is undone by reverting its one commit.
    insecure = next(c for c in commits if "gha-insecure-commands" in c.message)
    repo.git.revert(insecure.hexsha, no_edit=True)
    text = (workdir / ".github/workflows/legacy-deploy.yml").read_text()
    assert "ACTIONS_ALLOW_UNSECURE_COMMANDS: true   # TODO" in text
    assert "persist-credentials: false" in text


def test_the_users_git_hooks_and_line_ending_settings_do_not_touch_the_demo(
    tmp_path: Path,
) -> None:
    """A global hooks folder whose prepare-commit-msg and post-commit refuse everything, and
    core.autocrlf (Git for Windows' default): the bot's commits are its own, byte for byte."""
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    for name in ("prepare-commit-msg", "post-commit", "pre-commit", "commit-msg"):
        hook = hooks / name
        hook.write_text("#!/bin/sh\necho 'hook ran' >&2\nexit 1\n", encoding="utf-8")
        hook.chmod(0o755)
    config = tmp_path / "gitconfig"
    config.write_text(f"[core]\n\thooksPath = {hooks}\n\tautocrlf = true\n", encoding="utf-8")
    workdir = tmp_path / "demo"
    env = {**os.environ, "GIT_CONFIG_GLOBAL": str(config)}
    done = run_mendbot("demo", "--workdir", str(workdir), env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "hook ran" not in done.stdout + done.stderr
    log = subprocess.run(
        ["git", "-C", str(workdir), "log", "--format=%s", DEMO_BRANCH],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Initial commit: example project" in log.splitlines()


def test_without_moto_the_demo_says_what_to_install_and_finishes(tmp_path: Path) -> None:
    """moto made unimportable (as on a machine where only ``pip install .`` ran): the demo
    runs every other stage and names the extra to install instead of the AWS account."""
    script = tmp_path / "no_moto.py"
    script.write_text(
        "import sys\nsys.modules['moto'] = None\nfrom bot.cli.app import main\nmain()\n",
        encoding="utf-8",
    )
    workdir = tmp_path / "demo"
    done = subprocess.run(
        [sys.executable, str(script), "demo", "--workdir", str(workdir)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert (
        "skipped: the AWS account stage needs moto, which is not installed; install the demo "
        "extra (pip install 'mendbot[demo]') and run mendbot demo again"
    ) in done.stdout
    assert "27. the next analysis" in done.stdout


def test_demo_refuses_a_non_empty_workdir(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--workdir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "is not empty" in result.stderr
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_generated_docs_are_current() -> None:
    assert docsgen.main(["--check", "--docs", str(REPO / "docs")]) == 0


def test_docs_check_detects_drift(tmp_path: Path) -> None:
    docsgen.main(["--docs", str(tmp_path)])
    assert docsgen.main(["--check", "--docs", str(tmp_path)]) == 0
    (tmp_path / "rules.md").write_text("stale\n")
    assert docsgen.main(["--check", "--docs", str(tmp_path)]) == 1


def test_console_examples_are_real_runs_and_drift_is_caught(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    docsgen.main(["--docs", str(docs)])
    page = docs / "page.md"
    page.write_text("Intro\n\n<!-- example: policy-init -->\n```console\n$ stale\n```\n")
    assert docsgen.main(["--check", "--docs", str(docs)]) == 1
    assert docsgen.main(["--docs", str(docs)]) == 0
    written = page.read_text()
    assert "$ mendbot policy init\nwrote policies/freeze.yaml\n" in written
    assert "error: policies/freeze.yaml already exists; nothing was written" in written
    assert docsgen.main(["--check", "--docs", str(docs)]) == 0
    page.write_text("<!-- example: no-such-example -->\n```console\n```\n")
    assert docsgen.main(["--check", "--docs", str(docs)]) == 1
