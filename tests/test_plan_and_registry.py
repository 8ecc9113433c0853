"""Remediation grouping and fingerprints; rule identity declared once and unique."""

from __future__ import annotations

import pytest

from bot.analyze.pipeline import analyze
from bot.analyze.plan import fingerprint, group
from bot.config import Config
from bot.detectors.interface import WorkflowRule
from bot.detectors.rule_registry import RULES
from bot.models import Fix, Severity
from bot.risk import Disposition
from bot.yamledit.ops import Remove
from testpaths import BASE_RULES

WORKFLOW = """\
on: push
env:
  ACTIONS_ALLOW_UNSECURE_COMMANDS: true
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
  b:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
"""


def _fix(path: str, route: tuple[str, ...], rule: str = "gha-insecure-commands") -> Fix:
    return Fix(
        finding="f" + path,
        rule=rule,
        path=path,
        title="remove it",
        disposition=Disposition.UNSAFE,
        patches=(Remove(route=route),),
    )


def test_fingerprint_is_stable_and_order_independent() -> None:
    one, two = _fix("a.yml", ("env", "X")), _fix("b.yml", ("env", "Y"))
    assert fingerprint([one, two]) == fingerprint([two, one])
    assert fingerprint([one]) != fingerprint([two])
    assert len(fingerprint([one])) == 64


def test_group_one_remediation_per_rule_and_file(workflows) -> None:
    root = workflows({"ci.yml": WORKFLOW, "other.yml": WORKFLOW})
    fixes = analyze([root], root, Config(), only_rules=BASE_RULES).result.fixes
    remediations = group(fixes)
    assert [r.id.rsplit("-", 1)[0] for r in remediations] == [
        "gha-insecure-commands/ci",
        "gha-insecure-commands/other",
        "gha-persist-credentials/ci",
        "gha-persist-credentials/other",
    ]
    persist = remediations[2]
    assert len(persist.fixes) == 2  # both checkouts of ci.yml in one PR
    assert persist.disposition == Disposition.SAFE
    # Re-running the analysis gives the same ids: a rerun proposes nothing new.
    again = group(analyze([root], root, Config(), only_rules=BASE_RULES).result.fixes)
    assert [r.id for r in again] == [r.id for r in remediations]


def test_rule_ids_are_unique_kebab_case_with_family() -> None:
    ids = [rule.id for rule in RULES]
    assert len(ids) == len(set(ids))
    assert all(rule.family() == "gha" for rule in RULES)


def test_rule_identity_is_validated_at_declaration() -> None:
    with pytest.raises(TypeError, match="kebab-case"):

        class Bad(WorkflowRule):  # pragma: no cover - the class statement itself fails
            id = "NoFamily"
            title = "t"
            description = "d"
            default_severity = Severity.LOW


def test_a_fix_is_never_safer_than_its_rule_declares(workflows) -> None:
    root = workflows({"ci.yml": WORKFLOW})
    for fix in analyze([root], root, Config(), only_rules=BASE_RULES).result.fixes:
        rule = next(r for r in RULES if r.id == fix.rule)
        if rule.fix_disposition is Disposition.UNSAFE:
            assert fix.disposition is Disposition.UNSAFE
