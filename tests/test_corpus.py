"""zizmor's MIT test corpus: every file analysed without a crash; every fix sound and idempotent."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.analyze.pipeline import analyze, parse_workflow
from bot.config import Config
from bot.models import FixMode
from testpaths import CORPUS

FILES = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix in (".yml", ".yaml"))


def test_corpus_is_present() -> None:
    assert len(FILES) > 200
    assert (CORPUS / "LICENSE.zizmor").is_file()


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(CORPUS).as_posix())
def test_file_is_analysed_and_fixed_soundly(path: Path, tmp_path: Path) -> None:
    analysis = analyze([path], CORPUS, Config(), fix_mode=FixMode.ALL)
    name = path.relative_to(CORPUS).as_posix()
    for error in analysis.result.errors:
        # Only deliberately broken inputs, or files that are not workflows, may be refused.
        assert error.path == name
        assert "internal error" not in error.message
        assert name.startswith("invalid/") or error.message.startswith("not a workflow")
    outcome = analysis.files.get(name)
    if outcome is None or outcome.fixed is None:
        return
    fixed = outcome.fixed
    parse_workflow(name, fixed)  # the output parses as a workflow
    assert fixed.startswith("\ufeff") == outcome.original.startswith("\ufeff")
    assert ("\r\n" in fixed) == ("\r\n" in outcome.original)
    again = tmp_path / path.name
    again.write_bytes(fixed.encode("utf-8"))
    second = analyze([again], tmp_path, Config(), fix_mode=FixMode.ALL)
    assert second.result.errors == ()
    assert second.files[path.name].fixed is None, "a second run changed the file again"


def test_corpus_yields_findings_and_fixes() -> None:
    analysis = analyze([CORPUS], CORPUS, Config(), fix_mode=FixMode.ALL)
    rules = {f.rule for f in analysis.result.findings}
    assert rules >= {"gha-persist-credentials", "gha-insecure-commands"}
    assert len(analysis.result.applied) >= 10
    assert analysis.result.files_analysed > 150
