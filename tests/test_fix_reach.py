"""A rule that declares the rules its fixes can reach (``fixes_reach``) lets fixing re-run only
those after its fixes: every declaration must hold on every corpus, and a file fixed that way
must come out byte for byte as when every rule runs again after every fix.

The declaration is checked the slow way: each fix of a declaring rule is applied alone to every
workflow of the corpora (zizmor's, the real-world one, every golden input), every rule runs
again, and the detections (finding ids and fixes) of each rule outside the declared reach must
be exactly what they were before the fix.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.analyze.pipeline import NotAWorkflow, detect, parse_workflow, select_rules
from bot.cli.app import cli
from bot.config import Config
from bot.detectors.interface import Detection, WorkflowRule
from bot.detectors.rule_registry import RULES
from bot.detectors.workflows.job_permissions import JobPermissions
from bot.yamledit.document import YamlParseError
from bot.yamledit.engine import Edited, apply_operations
from testpaths import CORPUS, RULE_CASES, TESTS

REAL = TESTS / "corpus" / "real"
DECLARING = sorted(rule.id for rule in RULES if rule.fixes_reach is not None)
CONFIG = Config()


def _every_rule() -> list[WorkflowRule]:
    """Every workflow rule, the auditor's ones too: a reach must hold for all of them."""
    return select_rules(CONFIG, [rule.id for rule in RULES])


def _corpus_texts() -> Iterator[tuple[str, str]]:
    files = [
        *sorted(CORPUS.rglob("*.yml")),
        *sorted(REAL.rglob("*.yml")),
        *sorted(RULE_CASES.glob("*/*/input.yml")),
    ]
    for path in files:
        try:
            yield str(path.relative_to(TESTS)), path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue


def _workflow(name: str, text: str):
    try:
        return parse_workflow(name, text)
    except (YamlParseError, NotAWorkflow, RecursionError):
        return None


def _changed_rules(
    before: Sequence[Detection], after: Sequence[Detection], inside: set[str]
) -> list[str]:
    """The rules outside ``inside`` whose detections (ids and fixes) differ."""
    rules = {d.finding.rule for d in [*before, *after]} - inside

    def of(detections: Sequence[Detection], rule: str) -> list[tuple[str, object]]:
        return [(d.finding.id, d.fix) for d in detections if d.finding.rule == rule]

    return sorted(rule for rule in rules if of(before, rule) != of(after, rule))


def reach_violations(
    texts: Iterator[tuple[str, str]], rules: Sequence[WorkflowRule]
) -> tuple[list[str], dict[str, int]]:
    """Where a declaring rule's fix changed what a rule outside its reach detects, and how many
    fixes of each declaring rule were checked."""
    declaring = {rule.id: rule for rule in rules if rule.fixes_reach is not None}
    violations: list[str] = []
    checked = dict.fromkeys(declaring, 0)
    for name, text in texts:
        workflow = _workflow(name, text)
        if workflow is None:
            continue
        before = detect(workflow, rules, CONFIG)
        for detection in before:
            fixer = declaring.get(detection.finding.rule)
            if fixer is None or detection.fix is None:
                continue
            edited = apply_operations(text, detection.fix.patches)
            if not isinstance(edited, Edited) or not edited.changed:
                continue
            updated = _workflow(name, edited.text)
            if updated is None:
                continue
            checked[fixer.id] += 1
            inside = {fixer.id, *(fixer.fixes_reach or ())}
            after = detect(updated, rules, CONFIG)
            changed = _changed_rules(before, after, inside)
            if changed:
                violations.append(f"{name}: a {fixer.id} fix changed {', '.join(changed)}")
    return violations, checked


def test_some_rules_declare_their_reach() -> None:
    assert {"gha-excessive-permissions", "gha-job-permissions"} <= set(DECLARING)


def test_every_declared_reach_holds_on_every_corpus() -> None:
    violations, checked = reach_violations(_corpus_texts(), _every_rule())
    assert violations == []
    # Each declaration was put to the test on real fixes, not vacuously.
    assert all(count > 0 for count in checked.values()), checked


REUSABLE = """\
on:
  workflow_call:
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: echo hello
  call:
    uses: ./.github/workflows/other.yml
"""


def test_a_declaration_that_leaves_out_a_reader_is_caught(monkeypatch) -> None:
    """A job-permissions fix writes a job's `permissions:`, which changes what
    gha-missing-permissions finds about the workflow: declaring that it reaches no other rule is
    wrong, and the check says so (it is stricter than comparing fixed files: here the stale
    gha-missing-permissions fix happens to write the same text as the one it should be)."""
    monkeypatch.setattr(JobPermissions, "fixes_reach", frozenset())
    rules = _every_rule()
    violations, _ = reach_violations(iter([("ci.yml", REUSABLE)]), rules)
    assert violations == ["ci.yml: a gha-job-permissions fix changed gha-missing-permissions"]


_FIX = ("analyze", "--offline", "--no-cache", "-j", "1", "--fix=all", "--format", "json")


def _fix_copy(source: Path, destination: Path) -> tuple[int, dict[str, object]]:
    shutil.copytree(source, destination)
    result = CliRunner().invoke(
        cli,
        [*_FIX, str(destination)],
    )
    report = json.loads(result.stdout)
    report.pop("tool", None)
    return result.exit_code, report


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.mark.parametrize("repository", sorted(p.name for p in REAL.iterdir() if p.is_dir()))
def test_fixing_a_checkout_writes_the_same_bytes_as_running_every_rule_again(
    tmp_path: Path, monkeypatch, repository: str
) -> None:
    """``mendbot analyze --fix=all`` on a real checkout, with the declared reaches and with
    every rule re-run after every fix: the same files, byte for byte, and the same report."""
    scoped = _fix_copy(REAL / repository, tmp_path / "scoped" / repository)
    for rule in RULES:
        monkeypatch.setattr(rule, "fixes_reach", None)
    everything = _fix_copy(REAL / repository, tmp_path / "everything" / repository)
    assert scoped == everything
    assert _tree(tmp_path / "scoped") == _tree(tmp_path / "everything")
