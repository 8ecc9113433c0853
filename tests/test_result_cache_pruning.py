"""The result cache removes what no run will use again, without breaking runs that share it.

Packs of an earlier version of mendbot (or an earlier layout) and temporary files of
interrupted writes go once nothing touched them for an hour; packs of the installed code
(another repository or configuration) once unused for 30 days. A run reading or writing the
cache while another prunes it loses at most a cached result, never a result or a report.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bot.analyze import result_cache
from bot.analyze.inputs import Input
from bot.analyze.result_cache import MISS, FileResult, ResultCache
from bot.models import FileError
from clirun import run_mendbot

WORKFLOW = """\
on: issues
jobs:
  triage:
    runs-on: ubuntu-latest
    steps:
      - run: echo "${{ github.event.issue.title }}"
"""

HOUR = 3600
DAY = 24 * HOUR


def _repository(root: Path) -> Path:
    workflows = root / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "triage.yml").write_text(WORKFLOW, encoding="utf-8")
    return root


def _analyse(root: Path, cache: Path, *args: str) -> str:
    done = run_mendbot(
        "analyze", str(root), "--offline", "--format", "json", "-j", "1",
        "--cache-dir", str(cache), *args,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    return done.stdout


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def _plant(path: Path, data: bytes, age: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    _age(path, age)
    return path


def test_a_run_removes_what_no_run_will_use_and_keeps_the_rest(tmp_path: Path) -> None:
    """Through the command: another code's packs, an old layout's and an interrupted write's
    temporary file go after an hour untouched; this code's packs of another configuration stay
    for 30 days unused; the run's own results are served as before."""
    root = _repository(tmp_path / "repo")
    cache = tmp_path / "cache"
    cold = _analyse(root, cache)
    [own] = cache.rglob("*.pack")
    current = own.parent
    packs = []
    for rules in (["gha-template-injection"], ["gha-template-injection", "gha-unpinned-uses"]):
        known = set(current.glob("*.pack"))
        _analyse(root, cache, *(arg for rule in rules for arg in ("--rule", rule)))
        [pack] = set(current.glob("*.pack")) - known  # another configuration's pack
        packs.append(pack)
    analysis = cache / "analysis"
    other_code = _plant(analysis / "v3" / ("0" * 32) / "a.pack", b"old", 2 * HOUR)
    old_layout = _plant(analysis / "v2" / "b.pack", b"old", 2 * HOUR)
    interrupted = _plant(current / ".tmp-x", b"half", 2 * HOUR)
    recent_other_code = _plant(analysis / "v3" / ("1" * 32) / "c.pack", b"new", HOUR / 2)
    _age(packs[0], 2 * DAY)  # unused for two days: kept
    _age(packs[1], 31 * DAY)  # unused for 31 days: removed
    _age(analysis / "pruned", 2 * HOUR)  # the last prune was two hours ago

    assert _analyse(root, cache) == cold

    assert not other_code.exists() and not other_code.parent.exists()
    assert not old_layout.exists() and not old_layout.parent.exists()
    assert not interrupted.exists()
    assert recent_other_code.exists()
    assert own.exists()
    assert packs[0].exists()
    assert not packs[1].exists()


def test_a_pack_read_again_counts_as_used(tmp_path: Path) -> None:
    """A warm run writes no pack, yet its pack is in use: reading it renews its time, so a
    repository analysed every day keeps its results however old they are."""
    root = _repository(tmp_path / "repo")
    cache = tmp_path / "cache"
    cold = _analyse(root, cache)
    [pack] = cache.rglob("*.pack")
    _age(pack, 29 * DAY)
    assert _analyse(root, cache) == cold
    assert time.time() - pack.stat().st_mtime < HOUR
    _age(cache / "analysis" / "pruned", 2 * HOUR)
    assert _analyse(root, cache) == cold
    assert pack.exists()


def test_pruning_runs_at_most_once_an_hour(tmp_path: Path) -> None:
    root = _repository(tmp_path / "repo")
    cache = tmp_path / "cache"
    _analyse(root, cache)
    foreign = _plant(cache / "analysis" / "v2" / "b.pack", b"old", 2 * HOUR)
    _analyse(root, cache)  # pruned a moment ago, at the first run
    assert foreign.exists()
    _age(cache / "analysis" / "pruned", 2 * HOUR)
    _analyse(root, cache)
    assert not foreign.exists()


def _item(root: Path) -> Input:
    return Input(root / "a.yml", "a.yml", True)


def test_a_run_whose_pack_is_pruned_while_it_reads_keeps_its_results(tmp_path: Path) -> None:
    """Run A has read its pack when run B removes it (unused for long): A still serves what
    it read, and A's write at its end recreates the folder B removed, complete."""
    root = tmp_path
    folder = tmp_path / "cache"
    first = ResultCache(folder, {})
    first.store(first.key(_item(root), root, "x"), FileResult(None))
    first.save()
    [pack] = folder.rglob("*.pack")

    reader = ResultCache(folder, {})
    key = reader.key(_item(root), root, "x")
    assert reader.load(key) is None  # read: the pack is in memory now
    _age(pack, 31 * DAY)
    removed = result_cache.prune(folder / "analysis", first.folder, time.time())
    assert pack in removed and first.folder in removed  # the folder was left empty
    assert reader.load(key) is None  # still served from what was read
    other = reader.key(Input(root / "b.yml", "b.yml", True), root, "y")
    reader.store(other, FileResult(FileError(path="b.yml", message="stored")))
    reader.save()

    later = ResultCache(folder, {})
    assert later.load(later.key(_item(root), root, "x")) is None
    served = later.load(later.key(Input(root / "b.yml", "b.yml", True), root, "y"))
    assert isinstance(served, FileError) and served.message == "stored"


def test_a_fresh_write_is_never_pruned(tmp_path: Path) -> None:
    """A temporary file being written and a pack just renamed into place have the time of
    now: pruning at that moment leaves both."""
    folder = tmp_path / "cache"
    cache = ResultCache(folder, {})
    cache.store(cache.key(_item(tmp_path), tmp_path, "x"), FileResult(None))
    cache.save()
    writing = _plant(cache.folder / ".tmp-writing", b"half", 0)
    [pack] = folder.rglob("*.pack")
    assert result_cache.prune(folder / "analysis", cache.folder, time.time()) == []
    assert writing.exists() and pack.exists()


CONCURRENT = """\
import sys
from pathlib import Path
from bot.analyze import result_cache
from bot.cli.app import main
result_cache.PRUNE_EVERY_SECONDS = 0  # every run prunes, at the same time as the others
main()
"""


def test_concurrent_runs_that_all_prune_write_a_cold_runs_report(tmp_path: Path) -> None:
    """Six runs of two configurations at once on one cache, every one of them pruning (an old
    code's and an old layout's packs are there to remove): each writes the report a run
    without cache writes, and the cache serves both configurations afterwards."""
    root = _repository(tmp_path / "repo")
    for index in range(20):
        (root / ".github" / "workflows" / f"copy{index}.yml").write_text(WORKFLOW, encoding="utf-8")
    cache = tmp_path / "cache"
    script = tmp_path / "run.py"
    script.write_text(CONCURRENT, encoding="utf-8")
    configurations = [(), ("--rule", "gha-template-injection")]
    scan = ["analyze", str(root), "--offline", "--format", "json"]
    cached = [sys.executable, str(script), *scan, "-j", "1", "--cache-dir", str(cache)]
    expected = {args: run_mendbot(*scan, "--no-cache", *args).stdout for args in configurations}
    for turn in range(2):
        for age_name in ("v2", "v3/" + "0" * 32):
            _plant(cache / "analysis" / age_name / f"old{turn}.pack", b"old", 2 * HOUR)
        children = [
            (
                args,
                subprocess.Popen(
                    [*cached, *args],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                ),
            )
            for args in configurations * 3
        ]
        for args, child in children:
            stdout, stderr = child.communicate(timeout=300)
            assert child.returncode == 1, stderr
            assert "Traceback" not in stderr
            assert stdout == expected[args]
    assert not list((cache / "analysis").rglob("old*.pack"))
    assert len(list(cache.rglob("*.pack"))) == 2
    for pack in cache.rglob("*.pack"):
        check, _, content = pack.read_bytes().partition(b"\n")
        assert check.decode() == hashlib.sha256(content).hexdigest()
        assert len(content.splitlines()) == 21
        assert all(json.loads(line.partition(b"\t")[2])["key"] for line in content.splitlines())


def test_a_result_naming_a_file_that_is_not_utf8_is_served(tmp_path: Path) -> None:
    """Entries are read by a parser that refuses the escape of a lone surrogate, which a file
    name that is not UTF-8 has: such an entry is read the slower way, not missed forever."""
    name = os.fsdecode(b"ci\xff.yml")
    item = Input(tmp_path / name, name, True)
    first = ResultCache(tmp_path / "cache", {})
    error = FileError(path=name, message=f"about {name}")
    first.store(first.key(item, tmp_path, "x"), FileResult(error))
    first.save()
    later = ResultCache(tmp_path / "cache", {})
    served = later.load(later.key(item, tmp_path, "x"))
    assert served is not MISS
    assert served == error
