"""The shortcuts that make a rescan cheap, and that each refuses to serve a stale result.

A rescan after editing one workflow must not analyse the others again, yet every shortcut
that saves work there must still miss when what a result depends on changed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import bot
from bot import outside_reads
from bot.analyze.inputs import Input
from bot.analyze.result_cache import MISS, FileResult, ResultCache
from clirun import run_mendbot

CALLEE = """\
on:
  workflow_call:
    inputs:
      tag: {type: string}
jobs:
  publish:
    runs-on: ubuntu-latest
    steps:
      - run: echo "publishing ${{ inputs.tag }}"
"""

CALLER = """\
on: issues
jobs:
  publish:
    uses: ./.github/workflows/publish.yml
    with:
      tag: ${{ github.event.issue.title }}
"""

FILLER = "on: push\njobs: {}\n"
LIMIT = outside_reads.WORKFLOW_FOLDER_LIMIT


def _crowded(root: Path, fillers: int) -> Path:
    """A repository whose workflow folder holds the callee, its caller and ``fillers``."""
    workflows = root / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "publish.yml").write_text(CALLEE, encoding="utf-8")
    (workflows / "triage.yml").write_text(CALLER, encoding="utf-8")
    for index in range(fillers):
        (workflows / f"filler{index:04}.yml").write_text(FILLER, encoding="utf-8")
    return workflows


def _callee_severities(root: Path, *args: str) -> list[str]:
    done = run_mendbot(
        "analyze", str(root), "--offline", "--format", "json", "-j", "1",
        "--rule", "gha-template-injection", *args,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    findings = json.loads(done.stdout)["findings"]
    return [f["severity"] for f in findings if f["path"].endswith("publish.yml")]


def test_a_folder_shrinking_below_the_limit_is_traced_again(tmp_path: Path) -> None:
    """Over the limit nobody reads the callers (the callee's input is whatever a caller
    passes); once the folder is small enough to read, the cached result must not hide the
    caller that passes an issue title."""
    cache = tmp_path / "cache"
    root = tmp_path / "repo"
    workflows = _crowded(root, LIMIT - 1)  # one more than the limit with callee and caller
    assert _callee_severities(root, "--cache-dir", str(cache)) == ["medium"]
    (workflows / "filler0000.yml").unlink()
    expected = _callee_severities(root, "--no-cache")
    assert expected == ["high"]
    assert _callee_severities(root, "--cache-dir", str(cache)) == expected


def _served_after(tmp_path: Path, fillers: int, change: str) -> bool:
    """Whether a result that read the workflow folder is served again after ``change``."""
    root = tmp_path / "repo"
    workflows = _crowded(root, fillers)
    item = Input(workflows / "publish.yml", ".github/workflows/publish.yml", False)
    reads = frozenset({(outside_reads.WORKFLOW_FOLDER, str(root))})
    first = ResultCache(tmp_path / "cache", {})
    first.store(first.key(item, root, CALLEE), FileResult(None, reads))
    first.save()
    if change == "edit":
        with (workflows / "filler0001.yml").open("a", encoding="utf-8") as handle:
            handle.write("# edited\n")
    elif change == "remove":
        (workflows / "filler0001.yml").unlink()
    elif change == "add":
        (workflows / "another.yaml").write_text(FILLER, encoding="utf-8")
    later = ResultCache(tmp_path / "cache", {})
    return later.load(later.key(item, root, CALLEE)) is not MISS


def test_editing_one_workflow_of_a_crowded_folder_keeps_the_others_results(
    tmp_path: Path,
) -> None:
    """Nothing reads the files of a folder over the limit: an edit of one does not
    invalidate every result that asked for the folder."""
    assert _served_after(tmp_path, LIMIT, "edit")


def test_a_crowded_folder_still_invalidates_when_its_size_crosses_the_limit(
    tmp_path: Path,
) -> None:
    assert not _served_after(tmp_path / "shrink", LIMIT - 1, "remove")
    assert not _served_after(tmp_path / "edit", LIMIT - 2, "edit")  # at the limit: read
    assert _served_after(tmp_path / "grow", LIMIT, "add")  # still over: still not read


FORMATS = ("text", "json", "sarif", "github")


def _every_report(root: Path, out: Path, *args: str) -> tuple[int, dict[str, bytes]]:
    """Run analyze on ``root`` writing every report format; the exit code and their bytes."""
    out.mkdir(parents=True)
    extra = [f"--extra-report={kind}={out / kind}" for kind in FORMATS[1:]]
    done = run_mendbot(
        "analyze", str(root), "--offline", "-j", "1", "-o", str(out / FORMATS[0]), *extra, *args
    )
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, {kind: (out / kind).read_bytes() for kind in FORMATS}


def test_a_rescan_of_a_crowded_folder_after_an_edit_writes_a_cold_runs_reports(
    tmp_path: Path,
) -> None:
    """The edited workflow is analysed again and every other result is served: each report
    is byte for byte what a run without the cache writes."""
    cache = ("--cache-dir", str(tmp_path / "cache"))
    root = tmp_path / "repo"
    workflows = _crowded(root, LIMIT)
    _every_report(root, tmp_path / "cold", *cache)
    edited = workflows / "filler0007.yml"
    edited.write_text(
        "on: issue_comment\njobs:\n  echo:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.event.comment.body }}\n",
        encoding="utf-8",
    )
    rescan = _every_report(root, tmp_path / "rescan", *cache)
    reference = _every_report(root, tmp_path / "reference", "--no-cache")
    assert rescan == reference
    assert b"filler0007.yml" in reference[1]["json"]  # the edit is in the report


def test_editing_a_rule_module_invalidates_every_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rule set's identity is derived from mendbot's installed code without importing it:
    a rule edited in place is a miss, even when the edit keeps the file's size and time."""
    installed = tmp_path / "site" / "bot"
    shutil.copytree(
        Path(bot.__file__).parent, installed, ignore=shutil.ignore_patterns("__pycache__")
    )
    monkeypatch.setattr(bot, "__file__", str(installed / "__init__.py"))
    root = tmp_path / "repo"
    workflows = _crowded(root, 0)
    item = Input(workflows / "publish.yml", ".github/workflows/publish.yml", False)

    def served() -> bool:
        cache = ResultCache(tmp_path / "cache", {})
        return cache.load(cache.key(item, root, CALLEE)) is not MISS

    first = ResultCache(tmp_path / "cache", {})
    first.store(first.key(item, root, CALLEE), FileResult(None))
    first.save()
    assert served()
    rule = installed / "detectors" / "workflows" / "template_injection.py"
    status = rule.stat()
    text = rule.read_text(encoding="utf-8")
    assert text.endswith("\n")
    rule.write_text(text[:-1] + "#", encoding="utf-8")  # the same size
    assert rule.stat().st_size == status.st_size
    os.utime(rule, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert not served()


RULES_MODULE = "bot.detectors.rule_registry"


def _scan(
    root: Path, cache: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[int, str, str, bool]:
    """A JSON scan through the command with ``python -X importtime``: the exit code, the
    report, standard error without the import lines, and whether the rules were imported."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "bot", "analyze", str(root), "--offline",
         "--format", "json", "-j", "1", "--cache-dir", str(cache), *args],
        capture_output=True, text=True, check=False, env=env,
    )  # fmt: skip
    lines = done.stderr.splitlines()
    imported = any(line.endswith(f" {RULES_MODULE}") for line in lines)
    said = "\n".join(line for line in lines if not line.startswith("import time:"))
    assert done.returncode in (0, 1, 3), said
    return done.returncode, done.stdout, said, imported


def test_a_rescan_served_whole_by_the_cache_imports_no_rule_and_says_the_same(
    tmp_path: Path,
) -> None:
    """Every file unchanged: no rule is imported, and the report, the exit code and the note
    about the online rules skipped are a cold run's. After an edit the rules are imported to
    analyse it, and the report is again a cold run's."""
    root = tmp_path / "repo"
    workflows = _crowded(root, 3)
    cache = tmp_path / "cache"
    cold = _scan(root, cache)
    assert cold[3] and "gha-impostor-commit" in cold[2]
    warm = _scan(root, cache)
    assert not warm[3]
    assert warm[:3] == cold[:3]
    (workflows / "filler0001.yml").write_text(CALLER.replace("issues", "push"), encoding="utf-8")
    edited = _scan(root, cache)
    assert edited[3]
    assert edited[:3] == _scan(root, tmp_path / "fresh")[:3]
    assert edited[1] != cold[1]


def test_the_note_about_online_rules_follows_the_configuration_without_the_rules(
    tmp_path: Path,
) -> None:
    """The configuration decides which online rules run; a warm run that imports no rule reads
    their facts from the cache and says what a cold run says. Facts truncated by an
    interrupted write are taken from the rules again."""
    root = tmp_path / "repo"
    _crowded(root, 0)
    config = root / ".github" / "mendbot.yml"
    disabled = "rules:\n  gha-impostor-commit:\n    enabled: false\n"
    cache = tmp_path / "cache"
    expected = {}
    for text in (disabled, "exclude: []\n"):
        config.write_text(text, encoding="utf-8")
        expected[text] = _scan(root, tmp_path / f"fresh{len(expected)}")
        assert _scan(root, cache)[:3] == expected[text][:3]  # analysed: the rules imported
    assert "gha-impostor-commit" not in expected[disabled][2]
    assert "gha-impostor-commit" in expected["exclude: []\n"][2]
    for text in (disabled, "exclude: []\n"):  # both served
        config.write_text(text, encoding="utf-8")
        warm = _scan(root, cache)
        # A configuration naming a rule has its options checked by the rule: imported.
        assert warm[3] == (text == disabled)
        assert warm[:3] == expected[text][:3]
    [facts] = cache.rglob("online-rules.facts")
    facts.write_bytes(facts.read_bytes()[:-20])
    again = _scan(root, cache)
    assert again[3]  # the facts were taken from the rules again
    assert again[:3] == expected["exclude: []\n"][:3]


def test_a_rule_changed_in_the_installed_code_invalidates_results_served_without_rules(
    tmp_path: Path,
) -> None:
    """The rule set's identity comes from the bytes of the installed code, not from the rules
    a warm run no longer imports: a rule whose message changed is run again, and the report
    carries its new message."""
    site = tmp_path / "site"
    shutil.copytree(
        Path(bot.__file__).parent, site / "bot", ignore=shutil.ignore_patterns("__pycache__")
    )
    env = {**os.environ, "PYTHONPATH": str(site), "PYTHONSAFEPATH": "1"}
    root = tmp_path / "repo"
    _crowded(root, 0)
    cache = tmp_path / "cache"
    before = _scan(root, cache, env=env)
    assert not _scan(root, cache, env=env)[3]  # served without the rules
    rule = site / "bot" / "detectors" / "workflows" / "template_injection.py"
    text = rule.read_text(encoding="utf-8")
    marker = 'title: ClassVar[str] = "'
    assert text.count(marker) == 1
    start = text.index(marker) + len(marker)
    rule.write_text(text[:start] + "Changed: " + text[start:], encoding="utf-8")
    after = _scan(root, cache, env=env)
    assert after[3]
    titles = [f["title"] for f in json.loads(after[1])["findings"]]
    assert any(title.startswith("Changed: ") for title in titles)
    assert after[1] != before[1]
    assert after[:3] == _scan(root, tmp_path / "fresh", env=env)[:3]


def test_yaml_that_does_not_parse_is_kept_like_a_result_and_never_outlives_its_bytes(
    tmp_path: Path,
) -> None:
    """The same bytes always fail to parse the same way: a rescan serves that error too (and
    so needs no rule), while the file, once repaired, is analysed again."""
    root = tmp_path / "repo"
    workflows = _crowded(root, 2)
    broken = workflows / "broken.yml"
    broken.write_text("on: push\njobs:\n  a: [\n", encoding="utf-8")
    cache = tmp_path / "cache"
    cold = _scan(root, cache)
    assert cold[0] == 3 and "broken.yml" in cold[1]
    warm = _scan(root, cache)
    assert not warm[3]
    assert warm[:3] == cold[:3]
    broken.write_text(CALLER.replace("issues", "push"), encoding="utf-8")
    repaired = _scan(root, cache)
    assert repaired[0] == 1 and "broken.yml" not in json.dumps(json.loads(repaired[1])["errors"])
    assert repaired[:3] == _scan(root, tmp_path / "fresh")[:3]
