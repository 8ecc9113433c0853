"""``mendbot fleet merge``: shards analysed in parallel merge into one sequential run's output.

The end-to-end test plans the organisation of 200 repositories on the test GitHub, runs each
shard as its own process (clone the shard's repositories, ``mendbot analyze`` the folder, one
``--bundle-out`` per repository: what the matrix job does), merges, and compares the bytes with
one ``mendbot analyze`` over every checkout. The other tests attack the merge with conflicting,
damaged and hostile shard folders.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ACTIVE, HOSTILE_NAME, ORG, Organisation
from fakegithub import TOKEN

from clirun import run_mendbot

ANALYZE = (sys.executable, "-m", "bot", "analyze")


def _env() -> dict[str, str]:
    return {**os.environ, "MENDBOT_OFFLINE": "1"}


def _shard_job(organisation: Organisation, shard: dict, work: Path) -> subprocess.Popen[str]:
    """Start what one matrix job does: check out its repositories, analyse them as one folder
    (reports), then each repository on its own (bundles). Exit 1 (findings) and 3 (a file
    could not be read; the report says which) are results, not failures."""
    checkouts = work / "repos"
    out = work / "out"
    out.mkdir(parents=True)
    for name in shard["repositories"]:
        organisation.clone(name, checkouts / name)
    script = """
set -u
"$@" repos --format json -o out/report.json --extra-report sarif=out/report.sarif
code=$?; [ "$code" -le 1 ] || [ "$code" -eq 3 ] || exit "$code"
for repo in $REPOSITORIES; do
  "$@" "repos/$repo" --bundle-out "out/bundles/$repo" --sign none --format json -o /dev/null
  code=$?; [ "$code" -le 1 ] || [ "$code" -eq 3 ] || exit "$code"
done
"""
    env = {**_env(), "REPOSITORIES": " ".join(shard["repositories"])}
    return subprocess.Popen(
        ["bash", "-c", script, "shard", *ANALYZE],
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _files(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def fleet_run(organisation: Organisation, tmp_path: Path):
    """Plan in 3 shards, run the shards in parallel, return (plan file, shard output folders)."""
    plan = tmp_path / "plan.json"
    planned = run_mendbot(
        "fleet", "plan", "--org", ORG, "--shards", "3", "--output", str(plan),
        "--api-url", organisation.github.base_url, env={**_env(), "GITHUB_TOKEN": TOKEN},
    )  # fmt: skip
    assert planned.returncode == 0, planned.stderr
    shards = json.loads(plan.read_text(encoding="utf-8"))["include"]
    jobs = [
        _shard_job(organisation, shard, tmp_path / f"shard-{shard['shard']}") for shard in shards
    ]
    for job in jobs:
        _, err = job.communicate()
        assert job.returncode == 0, err
    return plan, [tmp_path / f"shard-{shard['shard']}" / "out" for shard in shards]


def test_parallel_shards_merge_into_one_sequential_runs_bytes(organisation, fleet_run, tmp_path):
    plan, shard_outs = fleet_run
    every = tmp_path / "sequential"
    for name in ACTIVE:
        organisation.clone(name, every / "repos" / name)
    sequential = subprocess.run(
        [*ANALYZE, "repos", "--format", "json", "-o", "report.json",
         "--extra-report", "sarif=report.sarif"],
        cwd=every, env=_env(), capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert sequential.returncode == 3, "a broken workflow is an input error, in both runs"
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")

    done = run_mendbot(
        "fleet", "merge", *map(str, reversed(shard_outs)), "--out", str(tmp_path / "merged"),
        "--plan", str(plan), "--summary", str(summary),
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    merged = _files(tmp_path / "merged")
    assert merged["report.json"] == (every / "report.json").read_bytes()
    assert merged["report.sarif"] == (every / "report.sarif").read_bytes()
    report = json.loads(merged["report.json"])
    assert {f["path"].split("/")[0] for f in report["findings"]} == set(ACTIVE) - {"svc.web"}
    assert report["summary"]["errors"] == 1
    bundles = {name for name in merged if name.startswith("bundles/")}
    from_shards = {f"bundles/{n}" for out in shard_outs for n in _files(out / "bundles")}
    assert bundles == from_shards and len(bundles) > 20
    for name in bundles:
        owner = next(out for out in shard_outs if (out / name).is_file())
        assert merged[name] == (owner / name).read_bytes()
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n## mendbot fleet: 9 repositories"), "appended"
    for name in ACTIVE:
        assert f"| `{name}` |" in text, f"{name} listed, clean or not"
    assert "| `svc.web` | 0 |" in text
    # Hostile file names reach the summary only inside code spans (no live HTML, mention, link).
    assert HOSTILE_NAME.split("`")[1].strip() in text
    outside_code = re.sub(r"`[^`\n]*`", "", text)
    for live in ("<img", "@octocat", "](javascript"):
        assert live not in outside_code
    # A shard folder uploaded twice (a re-run job) counts once.
    twice = run_mendbot(
        "fleet", "merge", *map(str, shard_outs), str(shard_outs[0]), "--out", str(tmp_path / "b")
    )
    assert twice.returncode == 0, twice.stderr
    assert _files(tmp_path / "b") == merged
    assert f"skipped {shard_outs[0]}: the same report as an earlier shard" in twice.stderr


def _shard(folder: Path, findings: list[dict], bundles: dict[str, bytes] | None = None) -> Path:
    """A shard folder written by hand: a JSON report with ``findings`` and ``bundles``."""
    folder.mkdir(parents=True)
    report = {
        "tool": {"name": "mendbot", "version": "1.0.0"},
        "summary": {"files": 1, "findings": len(findings)},
        "findings": findings,
        "errors": [],
        "fix_limits": [],
        "reverted": [],
    }
    (folder / "report.json").write_text(json.dumps(report), encoding="utf-8")
    for name, data in (bundles or {}).items():
        (folder / "bundles" / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / "bundles" / name).write_bytes(data)
    return folder


def _finding(path: str) -> dict:
    return {"id": path, "path": path, "line": 1, "rule": "r", "severity": "low", "message": "m"}


def test_two_different_bundles_under_one_name_are_a_conflict_naming_both(tmp_path):
    one = _shard(tmp_path / "one", [_finding("a/x.yml")], {"a/fix-1/patch.diff": b"one\n"})
    two = _shard(tmp_path / "two", [_finding("b/x.yml")], {"a/fix-1/patch.diff": b"two\n"})
    out = tmp_path / "out"

    done = run_mendbot("fleet", "merge", str(one), str(two), "--out", str(out))

    assert done.returncode == 3
    assert "two different bundles named a/fix-1/patch.diff" in done.stderr
    assert str(one / "bundles" / "a" / "fix-1" / "patch.diff") in done.stderr
    assert str(two / "bundles" / "a" / "fix-1" / "patch.diff") in done.stderr
    assert not out.exists(), "nothing written"
    assert list(tmp_path.glob(".out*")) == []


def test_one_repository_in_two_shards_is_a_conflict(tmp_path):
    one = _shard(tmp_path / "one", [_finding("a/x.yml")])
    two = _shard(tmp_path / "two", [_finding("a/y.yml"), _finding("b/x.yml")])

    done = run_mendbot("fleet", "merge", str(one), str(two), "--out", str(tmp_path / "out"))

    assert done.returncode == 3
    assert f"repository 'a' is in both {one / 'report.json'} and {two / 'report.json'}" in (
        done.stderr.replace("\n", "")
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: p.write_text("{", encoding="utf-8"), "report.json: not JSON"),
        (lambda p: p.unlink(), "report.json: missing"),
        (
            lambda p: p.write_text(p.read_text().replace('"findings": [{', '"findings": [7, {')),
            "report.json: findings[0] must be an object",
        ),
        (
            lambda p: p.write_text(p.read_text().replace('"1.0.0"', '"2.0.0"')),
            "was written by mendbot 2.0.0",
        ),
    ],
)
def test_a_damaged_shard_is_a_clear_error_and_writes_nothing(tmp_path, damage, message):
    good = _shard(tmp_path / "good", [_finding("a/x.yml")])
    bad = _shard(tmp_path / "bad", [_finding("b/x.yml")])
    damage(bad / "report.json")

    done = run_mendbot("fleet", "merge", str(good), str(bad), "--out", str(tmp_path / "out"))

    assert done.returncode == 3, done.stderr
    assert message in done.stderr.replace("\n", "")
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


def test_an_existing_output_folder_is_never_overwritten(tmp_path):
    shard = _shard(tmp_path / "s", [_finding("a/x.yml")])
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine", encoding="utf-8")

    done = run_mendbot("fleet", "merge", str(shard), "--out", str(out))

    assert done.returncode == 2
    assert "already exists and is not an empty folder" in done.stderr
    assert _files(out) == {"keep.txt": b"mine"}
