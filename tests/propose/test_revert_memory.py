"""The memory of reverts under attack, through the real commands on real repositories.

A reverted fix must not come back when its file changes around it (a step inserted before
it, a new job with a fix of the same rule), the memory must not be forged by adding and
deleting an attestation, or forget nothing because of a clean-up commit, a shallow clone must
be said out loud, and "reverted by" must name a person, not the bot. Remediations and reverts
are merged with git itself, as a release engineer does.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from revert_scenario import analyze_and_propose, branch_names, bundle, propose_bundles

from bot.protocol import BOT_EMAIL, BOT_NAME
from bot.provenance.layout import ATTESTATION, REVERTED_NOTE, STATEMENT, committed_attestation_path
from clirun import run_mendbot

CI = "gha-persist-credentials/ci"
CI_YML = ".github/workflows/ci.yml"
PERSIST = "persist-credentials: false"


@pytest.fixture
def repo(workflow_repo):
    """The two-workflow repository, allowed to open as many pull requests as a test needs."""
    workflow_repo.write(".github/mendbot.yml", "propose:\n  max_new_per_hour: 50\n")
    workflow_repo.commit("mendbot settings")
    return workflow_repo


def _analyze_and_propose(repo, keys: tuple[Path, Path], out: Path):
    repo.git("checkout", "-q", "main")
    return analyze_and_propose(repo, keys, out)


def _merge(repo, branch: str) -> None:
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "-m", f"Merge {branch}", branch)


def _merged_ci(repo, keys, tmp_path: Path) -> str:
    """Both remediations proposed and merged with git; the ci one's id."""
    first = _analyze_and_propose(repo, keys, tmp_path / "bundles-1")
    assert first.returncode == 0, first.stdout + first.stderr
    for branch in sorted(b for b in branch_names(repo) if b.startswith("mendbot/")):
        _merge(repo, branch)
    [branch] = [b for b in branch_names(repo) if b.startswith(f"mendbot/{CI}")]
    return branch.removeprefix("mendbot/")


def _reverted_ci(repo, keys, tmp_path: Path) -> str:
    """The ci remediation merged, then reverted with ``mendbot revert`` and a git merge."""
    rid = _merged_ci(repo, keys, tmp_path)
    before = branch_names(repo)
    done = run_mendbot("revert", rid, "--forge", "local", "--repo", str(repo.path))
    assert done.returncode == 0, done.stdout + done.stderr
    [revert] = branch_names(repo) - before
    _merge(repo, revert)
    assert PERSIST not in (repo.path / CI_YML).read_text()
    return rid


def _edit_ci(repo, old: str, new: str, message: str) -> None:
    workflow = repo.path / CI_YML
    text = workflow.read_text()
    assert old in text
    workflow.write_text(text.replace(old, new))
    repo.commit(message)


def _line_for(stdout: str, rid: str) -> str:
    [line] = [line for line in stdout.splitlines() if rid in line]
    return line


def test_a_step_inserted_before_the_reverted_fix_does_not_bring_it_back(
    repo, keys, tmp_path: Path
) -> None:
    rid = _reverted_ci(repo, keys, tmp_path)
    _edit_ci(
        repo,
        "    steps:\n      - uses: actions/checkout@v4\n",
        "    steps:\n      - run: echo hello\n      - uses: actions/checkout@v4\n",
        "say hello first",
    )
    before = branch_names(repo)
    rerun = _analyze_and_propose(repo, keys, tmp_path / "bundles-2")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert _line_for(rerun.stdout, rid).startswith(f"reverted  {rid}: reverted in ")
    assert "opened" not in rerun.stdout
    assert branch_names(repo) == before

    report = run_mendbot("analyze", str(repo.path), "--offline", "--format", "json")
    [entry] = json.loads(report.stdout)["reverted"]
    assert (entry["remediation"], entry["path"], entry["anchor"]) == (
        rid,
        CI_YML,
        "jobs/build/steps/uses=actions/checkout#0",
    )

    # A person may still want it back: unignore names the reverted remediation.
    done = run_mendbot("unignore", rid, "--repo", str(repo.path))
    assert done.returncode == 0, done.stdout + done.stderr
    repo.commit("apply the reverted fix again")
    allowed = _analyze_and_propose(repo, keys, tmp_path / "bundles-3")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    [opened] = [line for line in allowed.stdout.splitlines() if line.startswith("opened")]
    assert CI in opened


def test_a_new_job_gets_its_fix_alone_and_the_reverted_fix_stays_out(
    repo, keys, tmp_path: Path
) -> None:
    rid = _reverted_ci(repo, keys, tmp_path)
    _edit_ci(
        repo,
        "      - run: make test\n",
        "      - run: make test\n  lint:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v4\n      - run: make lint\n",
        "add a lint job",
    )
    before = branch_names(repo)
    rerun = _analyze_and_propose(repo, keys, tmp_path / "bundles-2")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert _line_for(rerun.stdout, rid).startswith(f"reverted  {rid}: reverted in ")
    [new] = branch_names(repo) - before
    assert new.startswith(f"mendbot/{CI}-") and new != f"mendbot/{rid}"
    proposed = repo.git("show", f"{new}:{CI_YML}")
    build, lint = proposed.split("  lint:\n")
    assert PERSIST not in build
    assert lint.count(PERSIST) == 1


def test_propose_skips_a_reverted_fix_in_a_bundle_made_without_the_history(
    repo, keys, tmp_path: Path
) -> None:
    """The analysis ran in a shallow clone: it cannot know, and says so; propose, which reads
    the whole history, finds the reverted fix inside the bundle and opens nothing."""
    rid = _reverted_ci(repo, keys, tmp_path)
    _edit_ci(
        repo,
        "    steps:\n      - uses: actions/checkout@v4\n",
        "    steps:\n      - run: echo hello\n      - uses: actions/checkout@v4\n",
        "say hello first",
    )
    shallow = tmp_path / "shallow"
    clone = ["git", "clone", "-q", "--depth", "1", f"file://{repo.path}", str(shallow)]
    subprocess.run(clone, check=True)
    out = tmp_path / "bundles-shallow"
    analysed = bundle(repo, keys, out, at=shallow)
    assert "is a shallow clone" in analysed.stderr and "fetch-depth: 0" in analysed.stderr
    assert len([line for line in analysed.stderr.splitlines() if "a shallow clone" in line]) == 1
    [folder] = [p for p in out.iterdir() if p.name.startswith("gha-persist-credentials--ci-")]
    assert (folder / STATEMENT).exists() and folder.name != rid.replace("/", "--")

    before = branch_names(repo)
    done = propose_bundles(repo, keys, out)
    assert done.returncode == 0, done.stdout + done.stderr
    line = next(line for line in done.stdout.splitlines() if CI in line)
    assert line.startswith("reverted  "), done.stdout
    assert f"was reverted with {rid}" in line and "not proposed again" in line
    assert branch_names(repo) == before


def _placeholder(repo, keys: tuple[Path, Path], tmp_path: Path) -> tuple[str, Path]:
    """The ci remediation's genuine signed attestation, committed on main without its change:
    the remediation id and the committed file."""
    out = tmp_path / "bundles-1"
    bundle(repo, keys, out)
    [folder] = [p for p in out.iterdir() if p.name.startswith("gha-persist-credentials--ci-")]
    rid = folder.name.replace("--", "/", 1)
    placeholder = repo.write(committed_attestation_path(rid), (folder / ATTESTATION).read_bytes())
    repo.commit("add an attestation")
    return rid, placeholder


def test_a_placeholder_attestation_added_and_deleted_suppresses_nothing(
    repo, keys, tmp_path: Path
) -> None:
    # A real signed attestation, committed without its change, then deleted.
    rid, placeholder = _placeholder(repo, keys, tmp_path)
    placeholder.unlink()
    repo.commit("remove it again")

    done = _analyze_and_propose(repo, keys, tmp_path / "bundles-2")
    assert done.returncode == 0, done.stdout + done.stderr
    assert _line_for(done.stdout, rid).startswith(f"opened    {rid}:"), done.stdout
    assert f"mendbot/{rid}" in branch_names(repo)


@pytest.mark.parametrize("removed", [True, False], ids=["added-then-removed", "left-in-place"])
def test_a_placeholder_attestation_is_no_merged_remediation_to_revert(
    repo, keys, tmp_path: Path, removed: bool
) -> None:
    """``mendbot revert`` sees the same history as the memory of reverts: a genuine signed
    attestation committed without its change (then deleted, or left there) is no merged
    remediation. Neither the forge revert nor the signed revert bundle acts on it, and neither
    calls it "already reverted"."""
    rid, placeholder = _placeholder(repo, keys, tmp_path)
    if removed:
        placeholder.unlink()
        repo.commit("remove it again")
    tip, before = repo.head(), branch_names(repo)

    opened = run_mendbot("revert", rid, "--forge", "local", "--repo", str(repo.path))
    signed = run_mendbot(
        "revert", rid, "--repo", str(repo.path), "--bundle-out", str(tmp_path / "revert"),
        "--sign", "key", "--signing-key", str(keys[0]),
    )  # fmt: skip
    for done in (opened, signed):
        assert done.returncode == 2, done.stdout + done.stderr
        assert f"no merged remediation {rid}" in done.stderr
        assert "already reverted" not in done.stderr and "Traceback" not in done.stderr
    assert branch_names(repo) == before and repo.head() == tip
    assert not (tmp_path / "revert").exists()


def test_a_clean_up_of_mendbot_files_is_not_a_revert(repo, keys, tmp_path: Path) -> None:
    rid = _merged_ci(repo, keys, tmp_path)
    repo.git("rm", "-q", "-r", ".mendbot")
    repo.commit("clean up mendbot's files")
    # Later someone takes the fix out by hand: the finding is back, and nobody reverted it.
    _edit_ci(repo, f"\n        with:\n          {PERSIST}\n", "\n", "drop the setting")
    out = tmp_path / "bundles-2"
    analysed = bundle(repo, keys, out)
    assert "reverted" not in analysed.stderr
    folder = out / rid.replace("/", "--", 1)
    assert (folder / STATEMENT).exists() and not (folder / REVERTED_NOTE).exists()
    report = run_mendbot("analyze", str(repo.path), "--offline", "--format", "json")
    assert json.loads(report.stdout)["reverted"] == []
    proposed = propose_bundles(repo, keys, out)
    assert proposed.returncode == 0, proposed.stdout + proposed.stderr
    assert not _line_for(proposed.stdout, rid).startswith("reverted"), proposed.stdout


def _git_as(repo, who: tuple[str, str], committer: tuple[str, str], *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": who[0],
        "GIT_AUTHOR_EMAIL": who[1],
        "GIT_COMMITTER_NAME": committer[0],
        "GIT_COMMITTER_EMAIL": committer[1],
    }
    subprocess.run(["git", *args], cwd=repo.path, env=env, check=True, capture_output=True)


@pytest.mark.parametrize("how", ["rebase-merged by a person", "requested-by trailer"])
def test_reverted_by_names_a_person_not_the_bot(repo, keys, tmp_path: Path, how: str) -> None:
    rid = _merged_ci(repo, keys, tmp_path)
    bot = (BOT_NAME, BOT_EMAIL)
    if how == "rebase-merged by a person":
        before = branch_names(repo)
        done = run_mendbot("revert", rid, "--forge", "local", "--repo", str(repo.path))
        assert done.returncode == 0, done.stdout + done.stderr
        [revert] = branch_names(repo) - before
        # GitHub's "rebase and merge": the bot's commit, committed again by who merged it.
        _git_as(repo, bot, ("Grace", "grace@example.test"), "cherry-pick", revert)
        expected = "Grace"
    else:
        merge = repo.git("log", "-1", "--format=%H", "--grep", f"Merge mendbot/{rid}")
        message = f"Revert {rid}\n\nRequested-by: Grace Hopper\n"
        _git_as(repo, bot, bot, "revert", "--no-edit", "-m", "1", merge)
        _git_as(repo, bot, bot, "commit", "-q", "--amend", "-m", message)
        expected = "Grace Hopper"
    assert PERSIST not in (repo.path / CI_YML).read_text()

    rerun = _analyze_and_propose(repo, keys, tmp_path / "bundles-2")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    line = _line_for(rerun.stdout, rid)
    assert f"by {expected}: not proposed again" in line, line


ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "workflow", ["docs/examples/mendbot-analyze.yml", ".github/workflows/mendbot-analyze.yml"]
)
def test_the_analysis_workflows_check_out_the_whole_history(workflow: str) -> None:
    """A shallow checkout hides the reverts: every analysis job fetches the whole history."""
    jobs = yaml.safe_load((ROOT / workflow).read_text())["jobs"]
    checkouts = [
        step
        for job in jobs.values()
        for step in job["steps"]
        if str(step.get("uses", "")).startswith("actions/checkout@")
    ]
    assert checkouts
    assert all(step["with"]["fetch-depth"] == 0 for step in checkouts)
