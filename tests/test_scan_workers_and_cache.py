"""``mendbot analyze --jobs N`` and the result cache, through the real command on files on disk.

Whatever the number of workers and whatever the cache holds, the reports are the bytes a
single-process run without cache writes; a worker that dies costs one file, reported by name;
the cache never serves a result whose inputs changed, including the other files it read.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.analyze.inputs import Input
from bot.analyze.result_cache import MISS, FileResult, ResultCache
from bot.analyze.workers import CRASH_HOOK
from clirun import run_mendbot
from testpaths import TESTS

REAL = TESTS / "corpus" / "real"

PUBLISH = """\
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
on: ISSUES
jobs:
  publish:
    uses: ./.github/workflows/publish.yml
    with:
      tag: ${{ github.event.issue.title }}
"""


def _reports(root: Path, out: Path, *args: str) -> tuple[int, dict[str, bytes]]:
    """Run analyze on ``root`` writing text, JSON and SARIF reports; their bytes by format."""
    out.mkdir(parents=True, exist_ok=True)
    done = run_mendbot(
        "analyze",
        str(root),
        "--offline",
        "-o",
        str(out / "text"),
        "--extra-report",
        f"json={out / 'json'}",
        "--extra-report",
        f"sarif={out / 'sarif'}",
        *args,
    )
    assert done.returncode in (0, 1, 3), done.stderr
    return done.returncode, {name: (out / name).read_bytes() for name in ("text", "json", "sarif")}


#: Repositories of the real corpus these tests analyse again and again: 85 files in four
#: styles (reusable-workflow heavy, matrix heavy, composite actions, many triggers).
SAMPLE = ("astral-sh--uv", "pallets--flask", "sigstore--sigstore-python", "woodruffw--gha-hazmat")


@pytest.fixture
def real_corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "real"
    for name in SAMPLE:
        shutil.copytree(REAL / name, corpus / name)
    return corpus


def test_reports_are_identical_whatever_the_number_of_workers(
    real_corpus: Path, tmp_path: Path
) -> None:
    code, reference = _reports(real_corpus, tmp_path / "j1", "--jobs", "1", "--no-cache")
    assert json.loads(reference["json"])["summary"]["files"] > 30
    for jobs in ("2", "4"):
        assert _reports(real_corpus, tmp_path / f"j{jobs}", "--jobs", jobs, "--no-cache") == (
            code,
            reference,
        )


def test_a_warm_cache_writes_the_same_reports(real_corpus: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    reference = _reports(real_corpus, tmp_path / "plain", "--no-cache")
    cold = _reports(real_corpus, tmp_path / "cold", "--cache-dir", str(cache), "--jobs", "2")
    packs = sorted(cache.rglob("*.pack"))
    assert packs, "the cold run stored its results"
    stored = [(pack.stat().st_ino, pack.read_bytes()) for pack in packs]
    warm = _reports(real_corpus, tmp_path / "warm", "--cache-dir", str(cache))
    assert cold == reference
    assert warm == reference
    # Every result was served: the warm run rewrote nothing and left no temporary file.
    assert [(pack.stat().st_ino, pack.read_bytes()) for pack in packs] == stored
    assert sorted(cache.rglob("*.pack")) == packs
    assert not list(cache.rglob(".tmp-*"))


def test_a_worker_that_dies_costs_one_file_reported_by_name(
    real_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, reference = _reports(real_corpus, tmp_path / "ok", "--jobs", "1", "--no-cache")
    victim = "pallets--flask/.github/workflows/tests.yaml"
    assert (real_corpus / victim).is_file()
    monkeypatch.setenv(CRASH_HOOK, victim)
    code, crashed = _reports(real_corpus, tmp_path / "crash", "--jobs", "2", "--no-cache")
    assert code == 3  # as for any file that could not be analysed
    report = json.loads(crashed["json"])
    errors = [e for e in report["errors"] if e["path"] == victim]
    assert len(errors) == 1
    assert "killed (SIGKILL)" in errors[0]["message"]
    expected = json.loads(reference["json"])
    assert report["summary"]["files"] == expected["summary"]["files"] - 1
    others = [f for f in expected["findings"] if f["path"] != victim]
    assert [f for f in report["findings"] if f["path"] != victim] == others
    assert f"error: {victim}: not analysed: the worker process" in crashed["text"].decode()


def _repository(root: Path, trigger: str) -> Path:
    workflows = root / ".github" / "workflows"
    workflows.mkdir(parents=True, exist_ok=True)
    (workflows / "publish.yml").write_text(PUBLISH, encoding="utf-8")
    (workflows / "triage.yml").write_text(CALLER.replace("ISSUES", trigger), encoding="utf-8")
    return root


def _publish_findings(root: Path, *args: str) -> list[tuple[str, str]]:
    done = run_mendbot(
        "analyze", str(root), "--offline", "--format", "json", "--rule",
        "gha-template-injection", *args,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    return [
        (f["path"], f["severity"])
        for f in json.loads(done.stdout)["findings"]
        if f["path"].endswith("publish.yml")
    ]


def test_cross_file_tracing_is_the_same_in_workers(tmp_path: Path) -> None:
    """The callee's finding depends on its caller, read from disk by whichever worker
    analyses the callee."""
    root = _repository(tmp_path / "repo", "issues")
    for i in range(6):  # enough files for both workers to get some
        (root / ".github" / "workflows" / f"other{i}.yml").write_text(
            PUBLISH.replace("workflow_call", "push"), encoding="utf-8"
        )
    single = _publish_findings(root, "--jobs", "1", "--no-cache")
    assert single == [(".github/workflows/publish.yml", "high")]
    assert _publish_findings(root, "--jobs", "2", "--no-cache") == single


def test_editing_a_caller_changes_the_callees_cached_result(tmp_path: Path) -> None:
    """publish.yml's bytes do not change, its caller's do: the cached result of publish.yml
    must not be served (an outsider's issue title becomes a writer's push)."""
    cache = tmp_path / "cache"
    root = _repository(tmp_path / "repo", "issues")
    assert _publish_findings(root, "--cache-dir", str(cache)) == [
        (".github/workflows/publish.yml", "high")
    ]
    caller = root / ".github" / "workflows" / "triage.yml"
    caller.write_text(
        CALLER.replace("ISSUES", "push").replace("github.event.issue.title", "github.sha"),
        encoding="utf-8",
    )
    assert _publish_findings(root, "--cache-dir", str(cache)) == []
    caller.unlink()  # no caller left: the input is whatever a caller passes
    assert _publish_findings(root, "--cache-dir", str(cache)) == [
        (".github/workflows/publish.yml", "medium")
    ]


def test_a_truncated_or_corrupt_pack_is_never_served(tmp_path: Path) -> None:
    """An interrupted write (a truncated pack) or a tampered one is ignored and rewritten."""
    cache = tmp_path / "cache"
    root = _repository(tmp_path / "repo", "issues")
    expected = _publish_findings(root, "--cache-dir", str(cache))
    assert expected
    packs = sorted(cache.rglob("*.pack"))
    assert len(packs) == 1
    for pack in packs:
        data = pack.read_bytes()
        pack.write_bytes(data[: len(data) // 2])
    assert _publish_findings(root, "--cache-dir", str(cache)) == expected
    for pack in sorted(cache.rglob("*.pack")):
        check, _, content = pack.read_bytes().partition(b"\n")
        lines = []
        for line in content.splitlines():  # rewritten whole: every entry is there again
            name, _, entry = line.partition(b"\t")
            tampered = json.loads(entry)
            tampered["outcome"] = {"kind": "none"}  # hide the file's findings
            lines.append(name + b"\t" + json.dumps(tampered).encode() + b"\n")
        assert len(lines) == 2
        pack.write_bytes(check + b"\n" + b"".join(lines))
    assert _publish_findings(root, "--cache-dir", str(cache)) == expected
    assert not list(cache.rglob(".tmp-*"))


_SETTINGS = st.fixed_dictionaries(
    {
        "config": st.sampled_from([{}, {"rules": {"x": {"enabled": False}}}]),
        "rules": st.sampled_from([[], ["gha-template-injection"]]),
    }
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=st.text(max_size=40),
    other_text=st.text(max_size=40),
    path=st.sampled_from(["a.yml", "b.yml", "sub/a.yml"]),
    other_path=st.sampled_from(["a.yml", "b.yml", "sub/a.yml"]),
    run=_SETTINGS,
    other_run=_SETTINGS,
    version_changed=st.booleans(),
)
def test_the_cache_serves_only_the_same_bytes_path_settings_and_version(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    text: str,
    other_text: str,
    path: str,
    other_path: str,
    run: dict[str, object],
    other_run: dict[str, object],
    version_changed: bool,
) -> None:
    folder = tmp_path_factory.mktemp("cache")
    root = tmp_path_factory.mktemp("repo")
    first = ResultCache(folder, run)
    first.store(first.key(Input(root / path, path, True), root, text), FileResult(None))
    first.save()
    with monkeypatch.context() as patch:
        if version_changed:
            patch.setattr("bot.__version__", "999.0.0")
        later = ResultCache(folder, other_run)
        served = later.load(later.key(Input(root / other_path, other_path, True), root, other_text))
    same = (text, path, run, False) == (other_text, other_path, other_run, version_changed)
    assert (served is not MISS) == same


def test_the_automatic_worker_count_keeps_small_repositories_in_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.analyze import workers

    monkeypatch.setattr(workers, "usable_cpus", lambda: 4)
    assert [workers.auto_jobs(n) for n in (0, 1, 99, 100, 250, 399, 400, 5000)] == [
        1, 1, 1, 1, 2, 3, 4, 4,
    ]  # fmt: skip
