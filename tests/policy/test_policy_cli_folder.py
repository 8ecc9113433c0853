"""``mendbot policy init`` and the one way every ``policy`` command names its folder, run as a
user runs them: the real command on real files, checking bytes and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.policy.testing import BASE_CONTEXT, merged
from clirun import run_mendbot as mendbot
from testpaths import REPO

SHIPPED = sorted((REPO / "policies").glob("*.yaml"))


def test_init_writes_the_shipped_policies_that_lint_and_test_accept(tmp_path: Path) -> None:
    result = mendbot("policy", "init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    written = sorted((tmp_path / "policies").iterdir())
    assert [p.name for p in written] == [p.name for p in SHIPPED]
    assert all(w.read_bytes() == s.read_bytes() for w, s in zip(written, SHIPPED, strict=True))
    assert "wrote policies/freeze.yaml" in result.stdout
    lint = mendbot("policy", "lint", cwd=tmp_path)
    assert lint.returncode == 0, lint.stderr
    assert mendbot("policy", "test", "policies", cwd=tmp_path).returncode == 0


def test_init_never_overwrites_a_policy_and_writes_nothing_then(tmp_path: Path) -> None:
    folder = tmp_path / "gate"
    folder.mkdir()
    (folder / "production-approval.yaml").write_text("# ours\n")
    result = mendbot("policy", "init", "gate", cwd=tmp_path)
    assert result.returncode == 2
    assert "gate/production-approval.yaml already exists; nothing was written" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["production-approval.yaml"]
    assert (folder / "production-approval.yaml").read_text() == "# ours\n"


def test_init_refuses_to_write_through_a_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    folder = tmp_path / "repo" / "policies"
    folder.mkdir(parents=True)
    (folder / "freeze.yaml").symlink_to(outside)
    result = mendbot("policy", "init", cwd=tmp_path / "repo")
    assert result.returncode == 2
    assert not outside.exists()
    assert sorted(p.name for p in folder.iterdir()) == ["freeze.yaml"]


@pytest.mark.parametrize("command", ["lint", "test"])
def test_policy_folder_is_an_argument_or_an_option(tmp_path: Path, command: str) -> None:
    as_argument = mendbot("policy", command, str(REPO / "policies"), cwd=tmp_path)
    as_option = mendbot("policy", command, "--policies", str(REPO / "policies"), cwd=tmp_path)
    assert as_argument.returncode == as_option.returncode == 0
    assert as_argument.stdout == as_option.stdout
    both = mendbot("policy", command, "a", "--policies", "b", cwd=tmp_path)
    assert both.returncode == 2
    assert "two policy folders given: a and b" in both.stderr


def test_eval_with_a_missing_context_says_what_a_context_is(tmp_path: Path) -> None:
    result = mendbot(
        "policy", "eval", "--context", "nope.json", str(REPO / "policies"), cwd=tmp_path
    )
    assert result.returncode == 2
    assert "nope.json: cannot read the context: No such file or directory" in result.stderr
    assert "policy-context.schema.json" in result.stderr
    assert "fix the policy file" not in result.stderr
    (tmp_path / "bad.json").write_text("{nope")
    result = mendbot(
        "policy", "eval", "--context", "bad.json", str(REPO / "policies"), cwd=tmp_path
    )
    assert result.returncode == 2
    assert "bad.json: the context is not valid JSON" in result.stderr


def test_eval_denies_a_context_number_beyond_canonical_json(tmp_path: Path) -> None:
    """A pull request number past 2**53 has no canonical JSON (RFC 8785), so the context has no
    digest: the decision is a deny naming the number, never a traceback."""
    context = merged(BASE_CONTEXT, {"pr": {"number": 2**60}})
    (tmp_path / "context.json").write_text(json.dumps(context))
    result = mendbot(
        "policy", "eval", "--context", "context.json", "--format", "json",
        str(REPO / "policies"), cwd=tmp_path,
    )  # fmt: skip
    assert "Traceback" not in result.stderr
    assert result.returncode == 1
    decision = json.loads(result.stdout)
    assert (decision["decision"], decision["auto_merge"]) == ("deny", False)
    assert decision["context_digest"] == "sha256:" + "0" * 64
    [denied] = decision["results"]
    assert (denied["policy"], denied["validation"], denied["action"]) == (
        "<context>",
        "canonical-json",
        "deny",
    )
    assert str(2**60) in denied["message"]
