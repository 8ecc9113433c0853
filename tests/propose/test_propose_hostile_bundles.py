"""``mendbot propose`` on bundles whose files are links to devices or FIFOs: each such bundle
is refused with the file named, at once, and the intact bundle next to it is still proposed.

The command runs in a subprocess whose address space is capped, so reading ``/dev/zero``
fails fast instead of exhausting the machine's memory; the timeout only guards the suite
against a hang on a FIFO.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from bot.provenance.layout import PATCH, PLAN, STATEMENT
from bot.provenance.signing.signers import KeySigner

GUARD_SECONDS = 120
MEMORY_CAP = 2 * 1024 * 1024 * 1024


def _capped() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


@pytest.mark.parametrize(
    ("name", "hostile", "reason"),
    [
        (PLAN, "/dev/zero", "is a symlink"),
        (PATCH, "fifo", "is a FIFO, not a regular file"),
        (STATEMENT, "fifo", "is a FIFO, not a regular file"),
    ],
)
def test_bundle_file_that_is_a_device_link_or_fifo_is_refused_and_the_other_proposed(
    bench, signing_key, tmp_path: Path, name: str, hostile: str, reason: str
) -> None:
    bundles = sorted(bench.bundle(KeySigner(signing_key)).values())
    bad, good = bundles
    (bad / name).unlink()
    if hostile == "fifo":
        os.mkfifo(bad / name)
    else:
        os.symlink(hostile, bad / name)
    public = tmp_path / "mendbot.pub"
    public.write_bytes(
        signing_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    branches_before = bench.repo.git("branch", "--list", "mendbot/*")

    done = subprocess.run(
        [sys.executable, "-m", "bot", "propose", str(bad), str(good), "--forge", "local",
         "--repo", str(bench.repo.path), "--verify-key", str(public)],
        capture_output=True, text=True, check=False, timeout=GUARD_SECONDS,
        preexec_fn=_capped,
    )  # fmt: skip

    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 1
    output = done.stdout + done.stderr
    assert f"{bad / name} {reason}; the bundle is refused" in output
    assert branches_before == ""
    branches = bench.repo.git("branch", "--list", "mendbot/*").split()
    assert branches == [f"mendbot/{good.name.replace('--', '/', 1)}"]
