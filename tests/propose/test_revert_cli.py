"""``mendbot revert`` and the memory of reverts, through the real commands on the local forge.

A remediation is proposed, merged with the forge's merge button, then reverted — by
``mendbot revert`` or by a release engineer's own ``git revert`` — and the next analysis and
propose run must not bring it back, and must say why.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from revert_scenario import analyze_and_propose, branch_names

from bot.forge.interface import PullState
from bot.forge.local import LocalForge
from bot.protocol import REVERT_LABEL
from bot.provenance.layout import bundle_name, committed_attestation_path
from clirun import run_mendbot

CI = "gha-persist-credentials/ci"


def _analyze_and_propose(repo, keys: tuple[Path, Path], out: Path):
    """``mendbot analyze --bundle-out`` then ``mendbot propose`` of every bundle on main, as CI
    runs."""
    _sync(repo)
    return analyze_and_propose(repo, keys, out)


def _sync(repo) -> None:
    """The merge button moved main on the forge: the checkout follows, as `git pull` would."""
    repo.git("checkout", "-q", "main")
    repo.git("reset", "-q", "--hard", "main")


def _merged(repo, keys, tmp_path: Path) -> tuple[LocalForge, dict[str, int]]:
    """Both remediations proposed and merged (squash, like GitHub's default button)."""
    first = _analyze_and_propose(repo, keys, tmp_path / "bundles-1")
    assert first.returncode == 0, first.stdout + first.stderr
    forge = LocalForge(repo.path)
    numbers = {}
    for pull in forge.pulls(PullState.OPEN):
        rid = pull.branch.removeprefix("mendbot/")
        numbers[rid] = pull.number
        forge.merge(pull.number)
    return forge, numbers


def _exact_inverse(repo, merged: str, revert: str) -> bool:
    """Whether ``revert``'s change is ``merged``'s first-parent change turned around."""
    forward = repo.git("diff", "--binary", f"{merged}^1", merged)
    backward = repo.git("diff", "--binary", revert, f"{revert}^1")
    return forward == backward


def test_a_reverted_remediation_is_not_proposed_again(workflow_repo, keys, tmp_path: Path) -> None:
    repo = workflow_repo
    forge, numbers = _merged(repo, keys, tmp_path)
    rid = next(r for r in numbers if r.startswith(CI))
    merged = next(p.merge_sha for p in forge.pulls(PullState.MERGED) if p.number == numbers[rid])

    done = run_mendbot(
        "revert",
        rid,
        "--forge",
        "local",
        "--repo",
        str(repo.path),
        "--requested-by",
        "Grace",
        "--reason",
        "the deploy job needs the token",
    )
    assert done.returncode == 0, done.stderr
    assert f"reverts {rid}, merged in {merged[:12]}" in done.stdout
    [revert] = [p for p in forge.pulls(PullState.OPEN) if REVERT_LABEL in p.labels]
    head = repo.git("rev-parse", revert.branch)
    assert repo.git("rev-parse", f"{head}^1") == repo.git("rev-parse", "main")
    assert _exact_inverse(repo, merged, head)
    assert "Requested by `Grace`: `the deploy job needs the token`" in revert.body
    # Asking again opens nothing new.
    again = run_mendbot("revert", rid, "--forge", "local", "--repo", str(repo.path))
    assert (again.returncode, again.stdout.split(" ")[0:2]) == (0, ["already", "open:"])

    forge.merge(revert.number)
    before = branch_names(repo)
    rerun = _analyze_and_propose(repo, keys, tmp_path / "bundles-2")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    [line] = [line for line in rerun.stdout.splitlines() if rid in line]
    assert line.startswith(f"reverted  {rid}: reverted in ")
    assert "by Ada: not proposed again (list" in line
    assert branch_names(repo) == before  # no new branch for it

    # The analysis says so too, with how to undo it.
    _sync(repo)
    report = run_mendbot("analyze", str(repo.path), "--offline", "--format", "json")
    [entry] = json.loads(report.stdout)["reverted"]
    assert entry == {
        "remediation": rid,
        "reverted_in": repo.head(),
        "reverted_by": "Ada",
        "finding": entry["finding"],
        "rule": "gha-persist-credentials",
        "path": ".github/workflows/ci.yml",
        "anchor": "jobs/build/steps/uses=actions/checkout#0",
    }
    text = run_mendbot("analyze", str(repo.path), "--offline")
    assert (
        f"reverted: {rid} was reverted in {repo.head()[:12]} by Ada; mendbot does not propose "
        "its gha-persist-credentials fix in .github/workflows/ci.yml at "
        f"jobs/build/steps/uses=actions/checkout#0 again (`mendbot unignore {rid}`"
    ) in text.stdout
    # A person may still want it back.
    _sync(repo)
    repo.write(
        ".github/mendbot.yml", f"propose:\n  allow_reverted: [{rid}]\n  max_new_per_hour: 10\n"
    )
    repo.commit("propose the reverted remediation again")
    allowed = _analyze_and_propose(repo, keys, tmp_path / "bundles-3")
    assert allowed.returncode == 0, allowed.stderr
    assert any(
        line.startswith(("opened", "updated")) and rid in line
        for line in allowed.stdout.splitlines()
    ), allowed.stdout


def test_a_release_engineers_git_revert_is_remembered_too(
    workflow_repo, keys, tmp_path: Path
) -> None:
    repo = workflow_repo
    forge, numbers = _merged(repo, keys, tmp_path)
    rid = next(r for r in numbers if not r.startswith(CI))
    merged = next(p.merge_sha for p in forge.pulls(PullState.MERGED) if p.number == numbers[rid])
    _sync(repo)
    repo.git("revert", "--no-edit", merged)
    rerun = _analyze_and_propose(repo, keys, tmp_path / "bundles-2")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    [line] = [line for line in rerun.stdout.splitlines() if rid in line]
    assert line.startswith(f"reverted  {rid}: reverted in {repo.head()[:12]}")
    # Already reverted: nothing to revert.
    done = run_mendbot("revert", rid, "--forge", "local", "--repo", str(repo.path))
    assert done.returncode == 2
    assert f"{rid} was already reverted in {repo.head()[:12]}" in done.stderr


def test_one_remediation_out_of_several_by_pull_request_number(
    workflow_repo, keys, tmp_path: Path
) -> None:
    repo = workflow_repo
    forge, numbers = _merged(repo, keys, tmp_path)
    rid = next(r for r in numbers if r.startswith(CI))
    other = next(r for r in numbers if r != rid)
    _sync(repo)
    repo.write("CHANGELOG.md", "unrelated\n")
    later = repo.commit("an unrelated later change")
    done = run_mendbot("revert", f"#{numbers[rid]}", "--forge", "local", "--repo", str(repo.path))
    assert done.returncode == 0, done.stderr
    [revert] = [p for p in forge.pulls(PullState.OPEN) if REVERT_LABEL in p.labels]
    head = repo.git("rev-parse", revert.branch)
    changed = repo.git("diff", "--name-only", later, head).split()
    assert committed_attestation_path(rid) in changed
    assert committed_attestation_path(other) not in changed
    assert "CHANGELOG.md" not in changed


def test_a_revert_that_cannot_be_exact_is_refused_naming_the_later_commits(
    workflow_repo, keys, tmp_path: Path
) -> None:
    repo = workflow_repo
    _, numbers = _merged(repo, keys, tmp_path)
    rid = next(r for r in numbers if r.startswith(CI))
    _sync(repo)
    workflow = repo.path / ".github" / "workflows" / "ci.yml"
    workflow.write_text(
        workflow.read_text().replace("persist-credentials: false", "persist-credentials: 'false'")
    )
    later = repo.commit("quote the value")
    before = branch_names(repo)
    done = run_mendbot("revert", rid, "--forge", "local", "--repo", str(repo.path))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "an exact revert is not possible" in done.stderr
    assert f"{later[:7]} " in done.stderr and "quote the value" in done.stderr
    assert "Traceback" not in done.stderr
    assert branch_names(repo) == before


@pytest.mark.parametrize("target", ["#99", "nope/never-merged-12345678", "../../etc"])
def test_an_unknown_target_is_a_clear_error(workflow_repo, target: str) -> None:
    done = run_mendbot("revert", target, "--forge", "local", "--repo", str(workflow_repo.path))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert target.lstrip("#") in done.stderr


def test_propose_refuses_a_shallow_clone_rather_than_forget_reverts(
    workflow_repo, keys, tmp_path: Path
) -> None:
    """Without the branch's history propose cannot know what was reverted: it stops, and
    pushes nothing, instead of bringing a reverted remediation back."""
    shallow = tmp_path / "shallow"
    clone = ["git", "clone", "-q", "--depth", "1", f"file://{workflow_repo.path}", str(shallow)]
    subprocess.run(clone, check=True)
    bundles = tmp_path / "bundles"
    analysed = run_mendbot(
        "analyze", str(workflow_repo.path), "--offline", "--rule", "gha-persist-credentials",
        "--bundle-out", str(bundles), "--sign", "key", "--signing-key", str(keys[0]),
    )  # fmt: skip
    assert analysed.returncode in (0, 1), analysed.stderr
    before = subprocess.run(
        ["git", "-C", str(shallow), "for-each-ref"], capture_output=True, text=True, check=True
    ).stdout
    done = run_mendbot(
        "propose", *map(str, bundles.iterdir()), "--forge", "local", "--repo", str(shallow),
        "--verify-key", str(keys[1]),
    )  # fmt: skip
    assert done.returncode == 3, done.stdout + done.stderr
    assert "cannot read the history of" in done.stderr and "fetch-depth: 0" in done.stderr
    after = subprocess.run(
        ["git", "-C", str(shallow), "for-each-ref"], capture_output=True, text=True, check=True
    ).stdout
    assert after == before


def test_analyze_fix_leaves_a_reverted_remediation_out_until_allowed_again(
    workflow_repo, keys, tmp_path: Path
) -> None:
    repo = workflow_repo
    forge, numbers = _merged(repo, keys, tmp_path)
    rid = next(r for r in numbers if not r.startswith(CI))
    merged = next(p.merge_sha for p in forge.pulls(PullState.MERGED) if p.number == numbers[rid])
    _sync(repo)
    repo.git("revert", "--no-edit", merged)
    reverted_in, engineer = repo.head(), repo.git("log", "-1", "--format=%an")
    deploy = repo.path / ".github" / "workflows" / "deploy.yml"
    before = deploy.read_bytes()
    expected = (
        f"{rid}: reverted in {reverted_in[:12]} by {engineer}: not applied; "
        f"`mendbot unignore {rid}` (it lists it under `propose.allow_reverted` in "
        ".github/mendbot.yml) to apply it again"
    )

    fixed = run_mendbot(
        "analyze", str(repo.path), "--offline", "--fix=all", "--rule", "gha-persist-credentials"
    )
    assert fixed.returncode == 1, fixed.stdout + fixed.stderr  # its finding remains
    assert expected in fixed.stderr
    assert deploy.read_bytes() == before
    assert repo.git("status", "--porcelain") == ""
    # The other remediations of the same file are still written.
    everything = run_mendbot("analyze", str(repo.path), "--offline", "--fix=all")
    assert expected in everything.stderr
    assert deploy.read_bytes() != before
    assert b"persist-credentials" not in deploy.read_bytes()
    repo.git("checkout", "--", ".")
    out = tmp_path / "bundles-after-revert"
    private, _ = keys
    bundled = run_mendbot(
        "analyze", str(repo.path), "--offline", "--bundle-out", str(out),
        "--sign", "key", "--signing-key", str(private),
    )  # fmt: skip
    assert bundled.returncode == 1, bundled.stderr
    assert f"no bundle for {rid}: reverted in {reverted_in[:12]} by {engineer}" in bundled.stderr
    # Its folder holds only the note saying why, which propose reports; the others are bundles.
    folder = out / bundle_name(rid)
    assert [p.name for p in folder.iterdir()] == ["reverted.txt"]
    _, public = keys
    proposed = run_mendbot(
        "propose", str(folder), "--forge", "local", "--repo", str(repo.path),
        "--verify-key", str(public),
    )  # fmt: skip
    assert proposed.returncode == 0, proposed.stdout + proposed.stderr
    assert proposed.stdout.startswith(f"reverted  {rid}: reverted in {reverted_in[:12]}")

    # A person lists it under propose.allow_reverted: --fix applies it again.
    repo.write(".github/mendbot.yml", f"propose:\n  allow_reverted: [{rid}]\n")
    repo.commit("apply the reverted remediation again")
    again = run_mendbot(
        "analyze", str(repo.path), "--offline", "--fix=all", "--rule", "gha-persist-credentials"
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert "not applied" not in again.stderr
    remediated = subprocess.run(
        ["git", "show", f"{merged}:.github/workflows/deploy.yml"],
        cwd=repo.path,
        capture_output=True,
        check=True,
    ).stdout
    assert deploy.read_bytes() == remediated


def test_unignore_lists_the_reverted_remediation_keeping_the_file_as_written(
    workflow_repo, keys, tmp_path: Path
) -> None:
    repo = workflow_repo
    forge, numbers = _merged(repo, keys, tmp_path)
    rid = next(r for r in numbers if not r.startswith(CI))
    merged = next(p.merge_sha for p in forge.pulls(PullState.MERGED) if p.number == numbers[rid])
    _sync(repo)
    repo.git("revert", "--no-edit", merged)
    config = repo.write(
        ".github/mendbot.yml",
        "# Our mendbot settings.\r\npropose:\r\n  max_open_prs: 3   # keep it small\r\n",
    )
    before = config.read_bytes()

    wrong = run_mendbot(
        "unignore", "gha-persist-credentials/nothing-12345678", "--repo", str(repo.path)
    )
    assert wrong.returncode == 2, wrong.stdout + wrong.stderr
    assert f"reverted: {rid}" in wrong.stderr and "Traceback" not in wrong.stderr
    assert config.read_bytes() == before

    fingerprint = rid.rsplit("-", 1)[-1]
    done = run_mendbot("unignore", fingerprint, "--repo", str(repo.path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{rid} listed under propose.allow_reverted" in done.stdout
    assert config.read_bytes() == before + f"  allow_reverted:\r\n    - {rid}\r\n".encode()
    again = run_mendbot("unignore", rid, "--repo", str(repo.path))
    assert (again.returncode, "listed already" in again.stdout) == (0, True)
    assert config.read_bytes() == before + f"  allow_reverted:\r\n    - {rid}\r\n".encode()

    fixed = run_mendbot(
        "analyze", str(repo.path), "--offline", "--fix=all", "--rule", "gha-persist-credentials"
    )
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert (
        b"persist-credentials: false" in (repo.path / ".github/workflows/deploy.yml").read_bytes()
    )


def test_unignore_creates_the_configuration_when_there_is_none(
    workflow_repo, keys, tmp_path: Path
) -> None:
    repo = workflow_repo
    forge, numbers = _merged(repo, keys, tmp_path)
    rid = next(r for r in numbers if r.startswith(CI))
    merged = next(p.merge_sha for p in forge.pulls(PullState.MERGED) if p.number == numbers[rid])
    _sync(repo)
    repo.git("revert", "--no-edit", merged)
    done = run_mendbot("unignore", rid, "--repo", str(repo.path))
    assert done.returncode == 0, done.stdout + done.stderr
    created = (repo.path / ".github/mendbot.yml").read_text()
    assert created == f"propose:\n  allow_reverted:\n    - {rid}\n"
