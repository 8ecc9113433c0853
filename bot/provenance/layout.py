"""The remediation bundle directory: ``OUT/<bundle-name>/`` and its files.

Remediation ids are ``<group>/<slug>-<fp8>`` and contain a ``/``; the directory (and the committed
attestation file) is named ``<group>--<slug>-<fp8>``. Groups and slugs are kebab-case with single
dashes, so ``--`` never occurs inside them and the mapping is reversible
(:func:`bundle_name` / :func:`remediation_id`).

Files: ``patch.diff`` (``git apply`` at the base commit), ``plan.json`` (findings, fixes, risk,
fingerprint), ``statement.json`` (the exact signed payload), ``attestation.sigstore.json`` (the
signed bundle; absent for ``--sign none``) and, for keyless signing,
``provenance.slsa.sigstore.json`` (a standard SLSA v1 provenance statement, same subjects).
A remediation reverted on the branch gets no bundle: its folder holds only ``reverted.txt``
(why), so that ``mendbot propose OUT/*/`` can say so; it proposes nothing for it.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bot.protocol import ATTESTATIONS_DIR
from bot.provenance.errors import BundleError
from bot.safe_files import UnsafeFileError, read_regular

PATCH = "patch.diff"
PLAN = "plan.json"
STATEMENT = "statement.json"
ATTESTATION = "attestation.sigstore.json"
SLSA = "provenance.slsa.sigstore.json"
#: In place of a bundle: the remediation was reverted on the branch, and why it has no bundle.
REVERTED_NOTE = "reverted.txt"
FILES = (PATCH, PLAN, STATEMENT, ATTESTATION, SLSA, REVERTED_NOTE)
#: Bound on each bundle file; a patch of many large workflows stays far below it.
MAX_FILE_BYTES = 64 * 1024 * 1024
#: Where the propose job commits the attestation, next to the fix.

_PART = r"[a-z0-9]+(?:-[a-z0-9]+)*"
_ID = re.compile(rf"^({_PART})/({_PART})$")
_NAME = re.compile(rf"^({_PART})--({_PART})$")


def bundle_name(remediation_id: str) -> str:
    """``group/slug`` → ``group--slug``; raises :class:`BundleError` for another shape."""
    match = _ID.match(remediation_id)
    if match is None:
        raise BundleError(f"remediation id {remediation_id!r} is not `<group>/<slug>`")
    return f"{match[1]}--{match[2]}"


def remediation_id(name: str) -> str | None:
    """The remediation id a bundle directory name stands for (None if it is not one)."""
    match = _NAME.match(name)
    return f"{match[1]}/{match[2]}" if match else None


def committed_attestation_path(remediation_id: str) -> str:
    """``.mendbot/attestations/<bundle-name>.sigstore.json``: where the attestation is committed."""
    return f"{ATTESTATIONS_DIR}/{bundle_name(remediation_id)}.sigstore.json"


@dataclass(frozen=True)
class BundleFiles:
    """The contents of one bundle directory; optional files are None when absent."""

    patch: bytes
    plan: bytes
    statement: bytes
    attestation: bytes | None = None
    slsa: bytes | None = None


def write(out: Path, remediation_id: str, files: BundleFiles) -> Path:
    """Write ``out/<bundle-name>/`` atomically (a complete folder renamed into place).

    An existing bundle folder of the same name is replaced only if it holds nothing but
    bundle files; raises :class:`BundleError` otherwise or when writing fails.
    """
    target = out / bundle_name(remediation_id)
    return _replace(
        target,
        {
            PATCH: files.patch,
            PLAN: files.plan,
            STATEMENT: files.statement,
            ATTESTATION: files.attestation,
            SLSA: files.slsa,
        },
    )


def write_reverted_note(out: Path, remediation_id: str, reason: str) -> Path:
    """Write ``out/<bundle-name>/reverted.txt`` (and nothing else) for a remediation that gets
    no bundle because it was reverted; replaces a bundle folder as :func:`write` does."""
    note = f"{remediation_id}: {reason}\n".encode()
    return _replace(out / bundle_name(remediation_id), {REVERTED_NOTE: note})


def _replace(target: Path, contents: dict[str, bytes | None]) -> Path:
    """Write ``contents`` as the folder ``target``, atomically, replacing a folder that holds
    nothing but bundle files."""
    out = target.parent
    try:
        out.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=out))
        for name, data in contents.items():
            if data is not None:
                (scratch / name).write_bytes(data)
        if target.exists():
            foreign = [p.name for p in target.iterdir() if p.name not in FILES]
            if foreign or not target.is_dir():
                shutil.rmtree(scratch)
                raise BundleError(
                    f"{target} exists and holds files that are not bundle files "
                    f"({', '.join(sorted(foreign)) or 'not a folder'}); not replaced",
                    advice="choose an empty --bundle-out folder",
                )
            shutil.rmtree(target)
        scratch.rename(target)
    except OSError as exc:
        raise BundleError(f"cannot write the bundle {target}: {exc.strerror or exc}") from None
    return target


def read(path: Path) -> tuple[str, BundleFiles]:
    """The folder's name and files; raises :class:`BundleError` if it is not a bundle.

    Each file must be a regular file (not a link, FIFO or device) of at most
    :data:`MAX_FILE_BYTES`: a hostile bundle can neither block the reader nor exhaust memory.
    """
    if not path.is_dir():
        raise BundleError(
            f"{path} is not a bundle folder",
            advice="pass a folder written by `mendbot analyze --bundle-out OUT` (OUT/<name>)",
        )

    def load(name: str) -> bytes | None:
        try:
            return read_regular(path / name, MAX_FILE_BYTES)
        except FileNotFoundError:
            return None
        except UnsafeFileError as exc:
            raise BundleError(
                f"{path / name} {exc.reason}; the bundle is refused",
                advice="bundle files are regular files written by `mendbot analyze --bundle-out`",
            ) from None
        except OSError as exc:
            raise BundleError(f"cannot read {path / name}: {exc.strerror}") from None

    statement = load(STATEMENT)
    if statement is None:
        raise BundleError(f"{path} has no {STATEMENT}; it is not a mendbot bundle")
    files = BundleFiles(
        patch=load(PATCH) or b"",
        plan=load(PLAN) or b"",
        statement=statement,
        attestation=load(ATTESTATION),
        slsa=load(SLSA),
    )
    return path.resolve().name, files
