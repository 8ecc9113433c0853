"""What the ``mendbot revert`` tests share (with the ``keys`` fixture of this folder's
conftest): the analysis and propose runs that bring the two persist-credentials remediations of
``workflow_repo`` to the local forge as CI runs them (real processes)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from clirun import run_mendbot


def branch_names(repo) -> set[str]:
    """The repository's branches."""
    return set(repo.git("for-each-ref", "--format=%(refname:short)", "refs/heads").split())


def bundle(
    repo, keys: tuple[Path, Path], out: Path, *, at: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``mendbot analyze --bundle-out`` of the checkout ``at`` (default: the repository)."""
    done = run_mendbot(
        "analyze", str(at or repo.path), "--offline", "--rule", "gha-persist-credentials",
        "--bundle-out", str(out), "--sign", "key", "--signing-key", str(keys[0]),
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    return done


def propose_bundles(repo, keys: tuple[Path, Path], out: Path) -> subprocess.CompletedProcess[str]:
    """``mendbot propose`` of every bundle under ``out`` on the local forge."""
    bundles = sorted(str(p) for p in out.iterdir() if p.is_dir())
    return run_mendbot(
        "propose", *bundles, "--forge", "local", "--repo", str(repo.path),
        "--verify-key", str(keys[1]),
    )  # fmt: skip


def analyze_and_propose(
    repo, keys: tuple[Path, Path], out: Path
) -> subprocess.CompletedProcess[str]:
    """:func:`bundle` then :func:`propose_bundles` of the checkout as it is."""
    bundle(repo, keys, out)
    return propose_bundles(repo, keys, out)
