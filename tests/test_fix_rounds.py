"""Fixing big files: independent fixes go together in one round, and a round limit is reported.

A file with thousands of fixable steps must be fixed completely in a handful of rounds (one
per rule, not one per fix), with the same bytes as fixing one fix at a time; when the round
limit does stop fixing, the file, the number of findings left and the reason are reported
(stderr, JSON, exit code), never silently dropped.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

import bot.analyze.pipeline
from bot.analyze.pipeline import fix_to_fixpoint, parse_workflow, select_rules
from bot.cli.app import cli
from bot.config import Config, load_config
from bot.detectors.rule_registry import rule_options
from bot.models import FixMode
from testpaths import CORPUS as ZIZMOR_CORPUS
from testpaths import RULE_CASES

INJECTION_STEP = """\
      - name: greet {i}
        run: echo "${{{{ github.event.issue.title }}}}"
"""


def _injection_workflow(steps: int) -> str:
    """One job of ``steps`` steps that each inject the issue title into a shell script."""
    head = "on: issues\npermissions: {}\njobs:\n  greet:\n    runs-on: ubuntu-latest\n"
    head += "    permissions: {}\n    steps:\n"
    return head + "".join(INJECTION_STEP.format(i=i) for i in range(steps))


def _repo(tmp_path: Path, text: str) -> Path:
    workflows = tmp_path / "repo" / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "ci.yml").write_text(text, encoding="utf-8")
    return tmp_path / "repo"


def test_a_3000_step_workflow_is_fixed_completely(tmp_path: Path) -> None:
    repo = _repo(tmp_path, _injection_workflow(3000))
    result = CliRunner().invoke(
        cli, ["analyze", str(repo), "--offline", "--fix=all", "--format", "json"]
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["summary"]["findings"] == 3000
    assert report["summary"]["fixes_applied"] == 3000
    assert report["summary"]["remaining"] == 0
    assert report["fix_limits"] == []
    assert "stopped" not in result.stderr
    fixed = (repo / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8")
    assert fixed.count('run: echo "${ISSUE_TITLE}"') == 3000
    assert fixed.count("ISSUE_TITLE: ${{ github.event.issue.title }}") == 3000
    # a fix-point: a second run finds nothing
    again = CliRunner().invoke(cli, ["analyze", str(repo), "--offline", "--format", "json"])
    assert again.exit_code == 0, again.stdout


LIMITED = """\
on: issues
jobs:
  greet:
    runs-on: ubuntu-latest
    steps:
      - run: echo "${{ github.event.issue.title }}"
      - run: echo "${{ github.event.issue.body }}"
      - run: echo "${{ github.event.comment.body }}"
"""


def test_hitting_the_round_limit_is_reported_per_file(tmp_path: Path, monkeypatch) -> None:
    """Two rules with fixes need two rounds; with a limit of one the last rule's fixes are
    not tried, and every output says so."""
    monkeypatch.setattr(bot.analyze.pipeline, "MAX_FIX_ROUNDS", 1)
    repo = _repo(tmp_path, LIMITED)
    result = CliRunner().invoke(
        cli, ["analyze", str(repo), "--offline", "--fix=all", "--format", "json"]
    )
    report = json.loads(result.stdout)
    not_tried = [
        f
        for f in report["findings"]
        if f["fix"] and (f["fix"]["unfixable"] or "").startswith("not tried: fixing this file")
    ]
    assert not_tried, report
    assert all(not f["fix"]["applied"] for f in not_tried)
    assert report["fix_limits"] == [
        {"path": ".github/workflows/ci.yml", "rounds": 1, "unfixed": len(not_tried)}
    ]
    assert result.exit_code == 1  # findings remain
    assert (
        f"warning: .github/workflows/ci.yml: fixing stopped after 1 rounds; {len(not_tried)} "
        "finding(s) left unfixed (their fixes were not tried); run the fix again to continue\n"
    ) in result.stderr
    assert "Traceback" not in result.stderr
    # what was fixed was written; running again continues where the limit stopped
    second = CliRunner().invoke(
        cli, ["analyze", str(repo), "--offline", "--fix=all", "--format", "json"]
    )
    assert json.loads(second.stdout)["fix_limits"] == []
    assert second.exit_code == 0, second.stdout


def test_the_round_limit_shows_in_the_text_report(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(bot.analyze.pipeline, "MAX_FIX_ROUNDS", 1)
    repo = _repo(tmp_path, LIMITED)
    result = CliRunner().invoke(cli, ["analyze", str(repo), "--offline", "--fix=all"])
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "warning: .github/workflows/ci.yml: fixing stopped after 1 rounds; 3 finding(s) left "
        "unfixed (their fixes were not tried); run the fix again to continue\n"
    )
    assert "unfixable: not tried" in result.stdout


def test_bundle_out_skips_a_remediation_the_round_limit_cut_short(
    tmp_path: Path, monkeypatch
) -> None:
    """A bundle attests the whole remediation: a partial fix is not bundled."""
    monkeypatch.setattr(bot.analyze.pipeline, "MAX_FIX_ROUNDS", 0)
    repo = _repo(tmp_path, LIMITED)
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "ci"]):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            cwd=repo,
            check=True,
        )
    out = tmp_path / "bundles"
    result = CliRunner().invoke(
        cli, ["analyze", str(repo), "--offline", "--bundle-out", str(out), "--sign", "none"]
    )
    assert result.exit_code == 1, result.output
    assert "no bundle for gha-template-injection/" in result.stderr
    assert "fixing .github/workflows/ci.yml stopped after 0 rounds with 3 fix(es) not tried" in (
        result.stderr
    )
    assert not list(out.glob("**/*.json")) if out.exists() else True


# -- fixes applied together agree with fixes applied one at a time --------------------------


def _repeated_jobs(text: str, times: int) -> str | None:
    """``text`` with its block of jobs written ``times`` times (job ids suffixed), or None."""
    lines = text.split("\n")
    if "jobs:" not in lines or "\r" in text:
        return None
    start = lines.index("jobs:") + 1
    end = start
    while end < len(lines) and (not lines[end] or lines[end][0] in " #"):
        end += 1
    block = lines[start:end]
    repeated: list[str] = []
    for copy in range(times):
        for line in block:
            is_job = line.startswith("  ") and line[2:3] not in (" ", "#") and line.endswith(":")
            repeated.append(f"{line[:-1]}_{copy}:" if is_job else line)
    return "\n".join(lines[:start] + repeated + lines[end:])


CASES = sorted(
    p.parent
    for p in RULE_CASES.glob("*/*/input.yml")
    if not (p.parent / "remotes.json").exists() and not (p.parent / "registry.json").exists()
)


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_rounds_agree_with_one_fix_at_a_time(case: Path) -> None:
    """On every golden input with its jobs written three times and every rule enabled, the
    batched rounds give the same text, applied fixes and refusals as one fix per round."""
    text = _repeated_jobs((case / "input.yml").read_text(encoding="utf-8"), 3)
    if text is None:
        pytest.skip("no block of jobs to repeat")
    config_file = case / "mendbot.yml"
    config = load_config(config_file if config_file.exists() else None, rule_options())
    rules = select_rules(config if config_file.exists() else Config())
    try:
        workflow = parse_workflow("input.yml", text)
    except Exception as exc:  # some inputs are deliberately odd YAML
        pytest.skip(f"the repeated input is not a workflow: {exc}")
    runs = [
        fix_to_fixpoint(workflow, text, rules, config, FixMode.ALL, together=together)
        for together in (True, False)
    ]
    assert runs[0].text == runs[1].text
    assert runs[0].applied == runs[1].applied
    assert runs[0].refused == runs[1].refused
    assert runs[0].left == runs[1].left == 0


def test_the_round_limit_names_the_file_from_where_the_command_runs(
    tmp_path: Path, monkeypatch
) -> None:
    """Two repositories analysed at once: the limit names each file under its repository."""
    monkeypatch.setattr(bot.analyze.pipeline, "MAX_FIX_ROUNDS", 1)
    for name in ("one", "two"):
        _repo(tmp_path / name, LIMITED)
        (tmp_path / name / "repo").rename(tmp_path / f"{name}-repo")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        cli, ["analyze", "one-repo", "two-repo", "--offline", "--fix=all", "--format", "json"]
    )
    paths = [limit["path"] for limit in json.loads(result.stdout)["fix_limits"]]
    assert paths == ["one-repo/.github/workflows/ci.yml", "two-repo/.github/workflows/ci.yml"]
    assert result.stderr.count("fixing stopped after 1 rounds") == 2
    assert "warning: two-repo/.github/workflows/ci.yml: fixing stopped" in result.stderr


# -- rounds a real file takes ----------------------------------------------------------------

#: Files of zizmor's corpus whose fixes used to take one round each: constant expressions in
#: one script (`gha-obfuscation`) and the `password:` inputs of several publishing steps
#: (`gha-use-trusted-publishing`), which each take a line away.
MANY_FIXES_ONE_PLACE = ("obfuscation.yml", "use-trusted-publishing.yml")


def test_fixes_in_one_place_take_few_rounds_with_the_bytes_of_one_at_a_time(
    tmp_path: Path, monkeypatch
) -> None:
    texts = {name: (ZIZMOR_CORPUS / name).read_bytes() for name in MANY_FIXES_ONE_PLACE}
    workflows = tmp_path / "repo" / ".github" / "workflows"
    workflows.mkdir(parents=True)
    for name, data in texts.items():
        (workflows / name).write_bytes(data)
    rounds: list[str] = []
    detect_after_fix = bot.analyze.pipeline._detect_after_fix

    def counting(workflow, *args, **kwargs):  # type: ignore[no-untyped-def]
        rounds.append(workflow.path)
        return detect_after_fix(workflow, *args, **kwargs)

    monkeypatch.setattr(bot.analyze.pipeline, "_detect_after_fix", counting)
    result = CliRunner().invoke(
        cli, ["analyze", str(workflows.parent.parent), "--offline", "--fix=all", "-j1"]
    )
    assert result.exit_code == 1, result.output  # the unpinned actions remain
    monkeypatch.undo()
    for name, data in texts.items():
        text = data.decode("utf-8")
        reference = fix_to_fixpoint(
            parse_workflow(name, text),
            text,
            select_rules(Config()),
            Config(),
            FixMode.ALL,
            together=False,
        )
        assert reference.applied
        assert (workflows / name).read_bytes() == reference.text.encode("utf-8"), name
    per_file = {name: rounds.count(f".github/workflows/{name}") for name in texts}
    # One round per fix before: 13 and 5; now 2 and 1.
    assert per_file["obfuscation.yml"] <= 3, per_file
    assert per_file["use-trusted-publishing.yml"] <= 2, per_file
