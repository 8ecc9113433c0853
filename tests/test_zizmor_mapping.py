"""docs/zizmor-mapping.md: every zizmor audit has a row, and the rows say what the code does."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

from bot.detectors.aliases import ZIZMOR_AUDIT_CATALOGUE, ZIZMOR_AUDITS
from bot.detectors.rule_registry import get_rule
from bot.zizmor_mapping import render_zizmor_mapping
from testpaths import TESTS

REPO = TESTS.parent
DOC = REPO / "docs" / "zizmor-mapping.md"


def _rows() -> dict[str, list[str]]:
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("| `"):
            cells = [cell.strip() for cell in line.strip("|").split(" | ")]
            rows[cells[0].strip("`")] = cells
    return rows


def test_every_mapped_audit_is_in_the_catalogue_and_names_real_rules() -> None:
    catalogue = {audit.name for audit in ZIZMOR_AUDIT_CATALOGUE}
    assert len(catalogue) == len(ZIZMOR_AUDIT_CATALOGUE) == 42
    assert set(ZIZMOR_AUDITS) <= catalogue
    for rules in ZIZMOR_AUDITS.values():
        assert all(get_rule(rule) is not None for rule in rules)


def test_the_committed_page_has_one_row_per_audit_with_its_rules() -> None:
    assert DOC.read_text(encoding="utf-8") == render_zizmor_mapping()
    rows = _rows()
    assert list(rows) == [audit.name for audit in ZIZMOR_AUDIT_CATALOGUE]
    for audit, cells in rows.items():
        rules = ZIZMOR_AUDITS.get(audit, ())
        if not rules:
            assert cells[2] == "not yet"
        for rule in rules:
            assert f"[`{rule}`](rules.md#{rule})" in cells[2]
    assert rows["github-env"][3] == "unsafe"
    assert rows["unredacted-secrets"][3] == "report"
    assert "composite action" in rows["github-env"][5]


def test_docsgen_check_fails_when_the_page_drifts(tmp_path) -> None:
    docs = tmp_path / "docs"
    done = subprocess.run(
        [sys.executable, "-m", "bot.docsgen", "--docs", str(docs)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    page = docs / "zizmor-mapping.md"
    text = page.read_text(encoding="utf-8")
    drifted = text.replace(" audits are covered.", " audits are covered, and more.", 1)
    assert drifted != text
    page.write_text(drifted)
    done = subprocess.run(
        [sys.executable, "-m", "bot.docsgen", "--check", "--docs", str(docs)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert "zizmor-mapping.md is out of date" in done.stderr


def test_the_comparison_benchmark_compares_every_audit_or_says_why_not() -> None:
    """benchmarks/compare_zizmor.py takes its table from mendbot's: an audit is compared, or
    listed as skipped with its reason, never silently left out."""
    script = REPO / "benchmarks" / "compare_zizmor.py"
    spec = importlib.util.spec_from_file_location("compare_zizmor", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    compared, skipped = set(module.MAPPINGS), set(module.SKIPPED)
    assert not compared & skipped
    assert compared | skipped == {audit.name for audit in ZIZMOR_AUDIT_CATALOGUE}
    assert all(module.MAPPINGS[audit] == ZIZMOR_AUDITS[audit] for audit in compared)
    assert "archived-uses" in compared  # both tools know archived actions offline
