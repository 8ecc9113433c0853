"""``mendbot revert``: the exact revert of a merged remediation.

Two identities, one command: without ``--bundle-out`` it is the propose identity (it opens the
revert pull request on the forge, as it did before signed reverts existed); with
``--bundle-out`` it only reads the checkout and writes a signed revert bundle, for a job that
holds ``id-token: write`` and no write token — ``mendbot propose DIR`` then opens the pull
request from the verified bundle.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from bot.cli.console import EXIT_CLEAN, fail, make_console
from bot.cli.options import ForgeOptions, check_signing, forge_options, signing_options
from bot.errors import MendbotError


@click.command("revert")
@click.argument("target")
@forge_options
@click.option(
    "--reason",
    default="reverted by a release engineer",
    show_default=True,
    help="Why, for the pull request's body (and, with --bundle-out, the signed statement).",
)
@click.option(
    "--requested-by",
    envvar="GITHUB_ACTOR",
    default="a maintainer",
    show_default=True,
    help="Who asked (default: $GITHUB_ACTOR in GitHub Actions).",
)
@click.option(
    "--bundle-out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Do not open a pull request: write the signed revert bundle under this folder, from "
    "the checkout at --repo (read-only; `mendbot propose DIR/<name>` opens the pull request).",
)
@signing_options
@click.option(
    "--rollback",
    is_flag=True,
    help="With --bundle-out: the deploy job asks (a deployment did not hold): the statement's "
    "source is `detector` instead of `human-override`, and the pull request is labelled "
    "mendbot:rollback.",
)
def revert_command(
    forge: ForgeOptions,
    target: str,
    reason: str,
    requested_by: str,
    bundle_out: Path | None,
    sign_kind: str | None,
    signing_key: Path | None,
    rollback: bool,
) -> None:
    """Revert the merged remediation TARGET exactly: every path the remediation changed back to
    the commit before it, its attestation included, and nothing else the merging commit
    brought. Without --bundle-out, open the revert pull request (TARGET: the remediation id,
    or the number of the pull request that proposed it); with --bundle-out, write its signed
    bundle instead (TARGET: the remediation id). Once
    merged, mendbot does not propose that remediation again. Exit 0, 1 when later commits
    changed the same lines (named) or the merging commit changed them differently, 2 when
    TARGET was never merged or was reverted already, 3 in a shallow clone."""
    if bundle_out is None:
        if sign_kind or signing_key or rollback:
            raise click.UsageError("--sign, --signing-key and --rollback need --bundle-out")
        _open_pull_request(forge, target, reason, requested_by)
        return
    check_signing(sign_kind, signing_key)
    _write_bundle(
        forge.repo, target, bundle_out, reason, requested_by, sign_kind, signing_key, rollback
    )


def _open_pull_request(forge: ForgeOptions, target: str, reason: str, requested_by: str) -> None:
    from bot.propose.revert import propose_revert

    try:
        done = propose_revert(forge.build(), target, requested_by, reason)
    except MendbotError as exc:
        fail(exc)
    verb = (
        "opened"
        if done.created
        else "branch recreated for the open"
        if done.recreated
        else "already open:"
    )
    click.echo(
        f"{verb} #{done.number} ({done.branch}): reverts {done.remediation_id}, "
        f"merged in {done.merged_in[:12]}"
    )
    sys.exit(EXIT_CLEAN)


def _write_bundle(
    repo: Path,
    target: str,
    out: Path,
    reason: str,
    requested_by: str,
    sign_kind: str | None,
    signing_key: Path | None,
    rollback: bool,
) -> None:
    from bot.cli.options import make_signer
    from bot.provenance.layout import bundle_name
    from bot.provenance.run_context import in_github_actions
    from bot.provenance.signing.revert_bundle import write_revert_bundle

    kind = sign_kind or (
        "sigstore" if in_github_actions(os.environ) else "key" if signing_key else "none"
    )
    try:
        bundle_name(target)
        written = write_revert_bundle(
            repo,
            target,
            out,
            make_signer(kind, signing_key),
            requested_by=requested_by,
            reason=reason,
            rollback=rollback,
        )
    except MendbotError as exc:
        fail(exc)
    state = f"signed ({kind})" if written.signed else "UNSIGNED (dry run)"
    make_console(stderr=True).print(f"bundle: {written.path} [{state}]", markup=False)
    sys.exit(EXIT_CLEAN)
