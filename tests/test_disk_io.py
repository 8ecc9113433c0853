"""Hostile checkouts through the real command: symlinked folders, FIFOs, deep nesting, line
endings, folders of repositories. Each test runs ``mendbot`` in a subprocess on files on disk
and checks the exit code and the bytes left on disk. The subprocess timeout only guards the
suite against a hang; it asserts nothing about speed.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from bot.analyze.fix_writer import write_all
from bot.errors import WriteError
from bot.safe_files import TooLargeError, linked_folder, read_regular
from testpaths import BASE_RULE_FLAGS, RULE_CASES

GUARD_SECONDS = 120

INSECURE = """\
on: push
env:
  ACTIONS_ALLOW_UNSECURE_COMMANDS: true
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: make
"""
INSECURE_FIXED = INSECURE.replace("  ACTIONS_ALLOW_UNSECURE_COMMANDS: true\n", "").replace(
    "env:", "env: {}"
)
WITH_CHECKOUT = """\
  lint:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
"""
COMPOSITE = RULE_CASES / "gha-insecure-commands" / "composite-action"


def mendbot(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``mendbot args…`` in a real process (the base rules unless ``--rule`` is given)."""
    if args[0] == "analyze" and "--rule" not in args:
        args = (*args, "--offline", *BASE_RULE_FLAGS)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=GUARD_SECONDS,
    )


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def report(done: subprocess.CompletedProcess[str]) -> dict:
    assert "Traceback" not in done.stderr, done.stderr
    return json.loads(done.stdout)


# --- 10.3: symlinked folders never redirect reads or writes ------------------------------------


@pytest.mark.parametrize("linked", [".github", ".github/workflows", ".github/actions"])
def test_symlinked_folder_outside_the_checkout_is_neither_read_nor_rewritten(
    tmp_path: Path, linked: str
) -> None:
    outside = tmp_path / "outside"
    outside_files = [
        write(outside / "workflows" / "ci.yml", INSECURE),
        write(
            outside / "actions" / "legacy" / "action.yml", (COMPOSITE / "input.yml").read_bytes()
        ),
    ]
    before = {p: p.read_bytes() for p in outside_files}
    repo = tmp_path / "repo"
    (repo / linked).parent.mkdir(parents=True)
    if linked == ".github":
        os.symlink(outside, repo / ".github")
    else:
        os.symlink(outside / Path(linked).name, repo / linked)
        write(repo / "action.yml", (COMPOSITE / "input.yml").read_bytes())

    done = mendbot("analyze", "repo", "--fix=all", "--format", "json", cwd=tmp_path)

    assert {p: p.read_bytes() for p in outside_files} == before
    assert done.returncode == 3
    errors = report(done)["errors"]
    assert [e["path"] for e in errors] == [linked]
    assert "is a symlink to a folder" in errors[0]["message"]
    assert "replace the link with a real folder" in errors[0]["message"]
    if linked != ".github":  # the checkout's own action is still fixed
        assert (repo / "action.yml").read_bytes() == (COMPOSITE / "expected.yml").read_bytes()


def test_named_file_below_a_symlinked_folder_is_refused(tmp_path: Path) -> None:
    outside = write(tmp_path / "outside" / "workflows" / "ci.yml", INSECURE)
    repo = tmp_path / "repo"
    repo.mkdir()
    os.symlink(tmp_path / "outside", repo / ".github")

    done = mendbot("analyze", ".github/workflows/ci.yml", "--fix=all", "--format", "json", cwd=repo)

    assert outside.read_text() == INSECURE
    assert done.returncode == 3
    (error,) = report(done)["errors"]
    assert error["message"].startswith(f"is reached through the symlink {repo / '.github'} ")


def test_symlinked_workflow_inside_the_checkout_stays_a_link(tmp_path: Path) -> None:
    shared = write(tmp_path / "shared" / "ci.yml", INSECURE)
    link = tmp_path / ".github" / "workflows" / "ci.yml"
    link.parent.mkdir(parents=True)
    os.symlink("../../shared/ci.yml", link)
    own = write(tmp_path / ".github" / "workflows" / "own.yml", INSECURE)

    done = mendbot("analyze", ".", "--fix=all", "--format", "json", cwd=tmp_path)

    assert link.is_symlink() and os.readlink(link) == "../../shared/ci.yml"
    assert shared.read_text() == INSECURE
    assert own.read_text() == INSECURE_FIXED
    assert done.returncode == 1  # the linked file's finding remains
    (finding,) = [f for f in report(done)["findings"] if not f["fix"]["applied"]]
    assert finding["path"] == ".github/workflows/ci.yml"
    assert "symlink to shared/ci.yml" in finding["fix"]["unfixable"]


def test_writer_refuses_a_file_or_folder_swapped_for_a_link_after_the_analysis(
    tmp_path: Path,
) -> None:
    outside = write(tmp_path / "outside" / "ci.yml", INSECURE)
    repo = tmp_path / "repo"
    first = write(repo / ".github" / "workflows" / "a.yml", INSECURE)
    second = write(repo / ".github" / "workflows" / "b.yml", INSECURE)
    changes = {first: (INSECURE, INSECURE_FIXED), second: (INSECURE, INSECURE_FIXED)}
    second.unlink()
    os.symlink(outside, second)
    with pytest.raises(WriteError, match="mendbot never rewrites through a link") as refused:
        write_all(changes, repo)
    assert "fix the file the link points to" in (refused.value.advice or "")
    assert outside.read_text() == INSECURE
    assert first.read_text() == INSECURE  # rolled back: all or nothing

    second.unlink()
    workflows = repo / ".github" / "workflows"
    workflows.rename(repo / "moved")
    os.symlink(tmp_path / "outside", workflows)
    with pytest.raises(WriteError, match="symlinked folder"):
        write_all({workflows / "ci.yml": (INSECURE, INSECURE_FIXED)}, repo)
    assert outside.read_text() == INSECURE


def test_writer_refuses_a_file_edited_after_the_analysis_and_rolls_back_the_others(
    tmp_path: Path,
) -> None:
    """A person saves a file between the analysis and the write (here only its line endings
    change): the bytes no longer match what was analysed, so nothing is overwritten and the
    file written before it is restored."""
    repo = tmp_path / "repo"
    first = write(repo / ".github" / "workflows" / "a.yml", INSECURE)
    second = write(repo / ".github" / "workflows" / "b.yml", INSECURE)
    changes = {first: (INSECURE, INSECURE_FIXED), second: (INSECURE, INSECURE_FIXED)}
    edited = INSECURE.replace("\n", "\r\n").encode()
    second.write_bytes(edited)
    with pytest.raises(WriteError, match="changed on disk during the analysis"):
        write_all(changes, repo)
    assert second.read_bytes() == edited
    assert first.read_text() == INSECURE


def test_writer_rolls_back_when_a_target_was_deleted_after_the_analysis(tmp_path: Path) -> None:
    """The second file is gone when the write comes (an OS error, not a refusal): the error
    names it and the first file, already written, is restored."""
    repo = tmp_path / "repo"
    first = write(repo / ".github" / "workflows" / "a.yml", INSECURE)
    second = write(repo / ".github" / "workflows" / "b.yml", INSECURE)
    changes = {first: (INSECURE, INSECURE_FIXED), second: (INSECURE, INSECURE_FIXED)}
    second.unlink()
    with pytest.raises(WriteError, match=r"could not write .*b\.yml"):
        write_all(changes, repo)
    assert first.read_text() == INSECURE
    assert not second.exists()


def test_writer_refuses_a_target_swapped_for_a_fifo_and_rolls_back(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    first = write(repo / ".github" / "workflows" / "a.yml", INSECURE)
    second = write(repo / ".github" / "workflows" / "b.yml", INSECURE)
    changes = {first: (INSECURE, INSECURE_FIXED), second: (INSECURE, INSECURE_FIXED)}
    second.unlink()
    os.mkfifo(second)
    with pytest.raises(WriteError, match="is a FIFO, not a regular file; not overwritten"):
        write_all(changes, repo)
    assert first.read_text() == INSECURE


def test_writer_never_writes_through_a_link_planted_at_its_temporary_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the temporary name could be guessed (here the random source is made predictable),
    a link planted there must not redirect the write: the write fails and nothing changes."""
    monkeypatch.setattr("bot.analyze.fix_writer.secrets.token_hex", lambda _: "0" * 16)
    outside = write(tmp_path / "outside" / "secret.txt", "untouched\n")
    repo = tmp_path / "repo"
    target = write(repo / ".github" / "workflows" / "a.yml", INSECURE)
    os.symlink(outside, target.parent / f".a.yml.{'0' * 16}.mendbot")
    with pytest.raises(WriteError, match=r"could not write"):
        write_all({target: (INSECURE, INSECURE_FIXED)}, repo)
    assert outside.read_text() == "untouched\n"
    assert target.read_text() == INSECURE


def test_a_write_cut_short_by_a_full_disk_leaves_no_temporary_file(tmp_path: Path) -> None:
    """The disk fills while the second fixed file is written (a file-size limit on the real
    command makes the write fail with EFBIG): mendbot exits 3 naming that file, the first file
    is restored, the second is untouched, and no temporary file is left beside them."""
    workflows = tmp_path / "repo" / ".github" / "workflows"
    first = write(workflows / "a.yml", INSECURE)
    long_text = INSECURE + "".join(f"      - run: echo {n}\n" for n in range(400))
    second = write(workflows / "b.yml", long_text)
    limit = 4096
    assert len(INSECURE) < limit < len(long_text)

    def full_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "analyze",
            "repo",
            "--fix=all",
            "--offline",
            *BASE_RULE_FLAGS,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=GUARD_SECONDS,
        preexec_fn=full_disk,
    )

    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr
    assert "could not write" in done.stderr and "b.yml" in done.stderr
    assert first.read_text() == INSECURE
    assert second.read_text() == long_text
    assert sorted(p.name for p in workflows.iterdir()) == ["a.yml", "b.yml"]


def test_writer_keeps_the_mode_of_the_file_it_replaces(tmp_path: Path) -> None:
    """A fixed executable stays executable: the replacement takes the original's mode."""
    script = write(tmp_path / "repo" / "ci.yml", INSECURE)
    script.chmod(0o754)
    write_all({script: (INSECURE, INSECURE_FIXED)}, tmp_path / "repo")
    assert script.read_text() == INSECURE_FIXED
    assert script.stat().st_mode & 0o777 == 0o754


def test_configuration_that_is_a_link_out_of_the_checkout_is_refused(tmp_path: Path) -> None:
    """A checkout's ``.github/mendbot.yml`` linking to a file elsewhere on the machine is
    never read: the run stops with an error naming the file, and writes nothing."""
    write(tmp_path / "elsewhere.yml", "rules: {}\n")
    repo = tmp_path / "repo"
    workflow = write(repo / ".github" / "workflows" / "ci.yml", INSECURE)
    os.symlink("../../elsewhere.yml", repo / ".github" / "mendbot.yml")
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    done = mendbot("analyze", ".", "--fix", cwd=repo)
    assert done.returncode == 2, done.stderr
    assert ".github/mendbot.yml: the configuration is a symlink" in done.stderr
    assert "Traceback" not in done.stderr
    assert workflow.read_text() == INSECURE


def test_linked_folder_names_the_link_at_any_depth(tmp_path: Path) -> None:
    """The first symlinked folder between the root and a file, also the file's own folder."""
    repo = tmp_path / "repo"
    write(repo / "real" / "ci.yml", INSECURE)
    (repo / "a").mkdir()
    os.symlink(repo / "real", repo / "a" / "b")
    os.symlink(repo / "a", repo / "top")
    assert linked_folder(repo / "a" / "b" / "ci.yml", repo) == repo / "a" / "b"
    assert linked_folder(repo / "top" / "b" / "ci.yml", repo) == repo / "top"
    assert linked_folder(repo / "real" / "ci.yml", repo) is None


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs Linux /proc")
def test_a_file_whose_size_lies_is_still_cut_at_the_limit() -> None:
    """``/proc`` files report size 0 but have content, like a file that grows after it was
    opened: the byte limit holds on what is read, not on what the size said."""
    content = Path("/proc/self/cmdline").read_bytes()
    assert os.stat("/proc/self/cmdline").st_size == 0
    assert read_regular("/proc/self/cmdline", len(content)) == content
    with pytest.raises(TooLargeError, match=f"is {len(content)} bytes, over the"):
        read_regular("/proc/self/cmdline", len(content) - 1)


# --- 10.6: FIFOs, devices, deep nesting: per-file errors, never a hang or a crash --------------


def test_symlink_to_an_in_repo_fifo_is_an_error_and_the_neighbour_is_fixed(
    tmp_path: Path,
) -> None:
    os.mkfifo(tmp_path / "pipe")
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    os.symlink("../../pipe", workflows / "a.yml")
    good = write(workflows / "b.yml", INSECURE)

    done = mendbot("analyze", ".", "--fix=all", "--format", "json", cwd=tmp_path)

    assert done.returncode == 3
    result = report(done)
    assert [(e["path"], e["message"]) for e in result["errors"]] == [
        (".github/workflows/a.yml", "is a FIFO, not a regular file; not read")
    ]
    assert result["summary"]["fixes_applied"] == 1
    assert good.read_text() == INSECURE_FIXED


def test_fifo_yaml_in_a_folder_without_workflows_is_an_error(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "x.yml")
    write(tmp_path / "ci.yml", INSECURE)

    done = mendbot("analyze", ".", "--format", "json", cwd=tmp_path)

    assert done.returncode == 3
    result = report(done)
    assert [e["path"] for e in result["errors"]] == ["x.yml"]
    assert [f["path"] for f in result["findings"]] == ["ci.yml"]


def test_device_named_as_a_workflow_is_refused(tmp_path: Path) -> None:
    done = mendbot("analyze", "/dev/zero", "--format", "json", cwd=tmp_path)
    assert done.returncode == 3
    assert "is a device, not a regular file" in done.stdout


def test_deeply_nested_yaml_is_one_file_error_and_sarif_keeps_the_others(tmp_path: Path) -> None:
    deep = "on: push\njobs: {}\nx: " + "[" * 3000 + "]" * 3000 + "\n"
    write(tmp_path / ".github" / "workflows" / "deep.yml", deep)
    good = write(tmp_path / ".github" / "workflows" / "good.yml", INSECURE)

    done = mendbot("analyze", ".", "--fix=all", "--format", "sarif", cwd=tmp_path)

    assert done.returncode == 3
    (run,) = report(done)["runs"]
    assert [
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]
    ] == [".github/workflows/good.yml"]
    (notification,) = run["invocations"][0]["toolExecutionNotifications"]
    assert "nested too deeply" in notification["message"]["text"]
    assert good.read_text() == INSECURE_FIXED
    assert (tmp_path / ".github/workflows/deep.yml").read_text() == deep


# --- 11.1: CRLF and BOM files are fixed, byte for byte ---------------------------------------


@pytest.mark.parametrize(
    ("bom", "newline"),
    [(b"", "\n"), (b"", "\r\n"), (b"\xef\xbb\xbf", "\r\n"), (b"\xef\xbb\xbf", "\n")],
    ids=["LF", "CRLF", "CRLF+BOM", "BOM"],
)
def test_line_endings_and_bom_survive_a_fix(tmp_path: Path, bom: bytes, newline: str) -> None:
    def encoded(text: str) -> bytes:
        return bom + text.replace("\n", newline).encode("utf-8")

    release = write(tmp_path / ".github" / "workflows" / "release.yml", encoded(INSECURE))
    other = write(tmp_path / ".github" / "workflows" / "other.yml", INSECURE)

    done = mendbot("analyze", ".", "--fix=all", "--format", "json", cwd=tmp_path)

    assert done.returncode == 0, done.stdout + done.stderr
    assert report(done)["summary"]["fixes_applied"] == 2
    assert release.read_bytes() == encoded(INSECURE_FIXED)
    assert other.read_text() == INSECURE_FIXED


def test_mixed_line_endings_are_refused_with_advice_and_the_others_fixed(tmp_path: Path) -> None:
    mixed = INSECURE.replace("\n", "\r\n", 3).encode("utf-8")
    release = write(tmp_path / ".github" / "workflows" / "release.yml", mixed)
    other = write(tmp_path / ".github" / "workflows" / "other.yml", INSECURE)

    done = mendbot("analyze", ".", "--fix=all", "--format", "json", cwd=tmp_path)

    assert done.returncode == 1
    (finding,) = [f for f in report(done)["findings"] if not f["fix"]["applied"]]
    assert finding["path"] == ".github/workflows/release.yml"
    assert "normalise the file's line endings first" in finding["fix"]["unfixable"]
    assert release.read_bytes() == mixed
    assert other.read_text() == INSECURE_FIXED


# --- 11.2: folders of checkouts, and named paths that yield nothing ---------------------------


def test_folder_of_repositories_is_analysed_repository_by_repository(tmp_path: Path) -> None:
    r1 = write(tmp_path / "r1" / ".github" / "workflows" / "ci.yml", INSECURE)
    r2 = write(tmp_path / "r2" / ".github" / "workflows" / "ci.yml", INSECURE)
    write(
        tmp_path / "r2" / ".github" / "mendbot.yml",
        "version: 1\nrules:\n  gha-insecure-commands:\n    ignore: ['.github/workflows/ci.yml']\n",
    )
    nested = write(tmp_path / "group" / "r3" / ".github" / "workflows" / "ci.yml", INSECURE)

    done = mendbot("analyze", ".", "--format", "json", cwd=tmp_path)
    result = report(done)
    assert done.returncode == 1
    assert result["summary"]["files"] == 3
    assert sorted(f["path"] for f in result["findings"]) == [
        "group/r3/.github/workflows/ci.yml",
        "r1/.github/workflows/ci.yml",
    ]  # r2's own configuration ignores its file

    done = mendbot("analyze", ".", "--fix=all", "--format", "json", cwd=tmp_path)
    assert done.returncode == 0
    assert r1.read_text() == nested.read_text() == INSECURE_FIXED
    assert r2.read_text() == INSECURE


def test_repository_with_only_dependabot_configuration_is_analysed(tmp_path: Path) -> None:
    case = RULE_CASES / "gha-dependabot-cooldown" / "missing-and-empty"
    write(tmp_path / ".github" / "dependabot.yml", (case / "input.yml").read_bytes())

    done = mendbot(
        "analyze", ".", "--offline", "--rule", "gha-dependabot-cooldown", "--format", "json",
        cwd=tmp_path,
    )  # fmt: skip

    assert done.returncode == 1
    result = report(done)
    assert result["summary"]["files"] == 1
    assert {f["path"] for f in result["findings"]} == {".github/dependabot.yml"}


@pytest.mark.parametrize("named", ["docs", "big.yml", "link.yml"])
def test_a_named_path_that_yields_nothing_is_an_error(tmp_path: Path, named: str) -> None:
    write(tmp_path / "docs" / "notes.yml", "title: not a workflow\n")
    write(tmp_path / "big.yml", INSECURE + "# " + "x" * (5 * 1024 * 1024) + "\n")
    write(tmp_path.parent / f"{tmp_path.name}-elsewhere.yml", INSECURE)
    os.symlink(tmp_path.parent / f"{tmp_path.name}-elsewhere.yml", tmp_path / "link.yml")

    done = mendbot("analyze", named, "--format", "json", cwd=tmp_path)

    assert done.returncode == 3
    result = report(done)
    assert result["summary"]["files"] == 0
    assert any(
        e["path"] == named and e["message"].startswith("nothing analysed") and not e["skipped"]
        for e in result["errors"]
    )


def test_an_empty_current_folder_warns_but_is_not_an_error(tmp_path: Path) -> None:
    done = mendbot("analyze", "--format", "json", cwd=tmp_path)
    assert done.returncode == 0
    (warning,) = report(done)["errors"]
    assert warning["skipped"] and warning["message"].startswith("nothing analysed")


def test_named_folder_that_is_a_link_inside_a_repository_is_refused(tmp_path: Path) -> None:
    outside = write(tmp_path / "outside" / "ci.yml", INSECURE)
    repo = tmp_path / "repo"
    (repo / ".github").mkdir(parents=True)
    os.symlink(tmp_path / "outside", repo / ".github" / "workflows")

    done = mendbot("analyze", ".github/workflows", "--fix=all", "--format", "json", cwd=repo)

    assert outside.read_text() == INSECURE
    assert done.returncode == 3
    assert "is reached through the symlink" in report(done)["errors"][0]["message"]


@pytest.mark.parametrize("named", [".", "ci.yml"])
@pytest.mark.parametrize("marker", [".git", None])
def test_run_inside_a_repository_uses_its_configuration_and_fixes_its_file(
    tmp_path: Path, named: str, marker: str | None
) -> None:
    """From `.github/workflows` (or on one file there) the repository's own configuration
    applies, paths are reported from the repository's top, and --fix writes the named file."""
    repo = tmp_path / "repo"
    workflow = write(repo / ".github" / "workflows" / "ci.yml", INSECURE + WITH_CHECKOUT)
    write(
        repo / ".github" / "mendbot.yml", "rules:\n  gha-persist-credentials:\n    enabled: false\n"
    )
    if marker:
        (repo / marker).mkdir()
    done = mendbot("analyze", named, "--fix", "--format", "json", cwd=workflow.parent)
    data = report(done)
    assert {f["rule"] for f in data["findings"]} == {"gha-insecure-commands"}
    assert {f["path"] for f in data["findings"]} == {".github/workflows/ci.yml"}
    assert done.returncode == 1  # the insecure-commands fix is unsafe: not applied by --fix
    assert workflow.read_text() == INSECURE + WITH_CHECKOUT
    done = mendbot("analyze", named, "--fix=all", "--format", "json", cwd=workflow.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    assert workflow.read_text() == INSECURE_FIXED + WITH_CHECKOUT
