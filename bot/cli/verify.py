"""``mendbot verify``: check a remediation bundle against what merging a commit changes."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from bot.cli.console import EXIT_CLEAN, EXIT_FINDINGS, fail
from bot.cli.options import TrustOptions, trust_options
from bot.errors import MendbotError


@click.command("verify")
@click.argument("bundle_dir", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--repo",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("."),
    show_default=True,
    help="The git repository holding the base commit and the head to check.",
)
@click.option("--head", default="HEAD", show_default=True, help="The commit that applies the fix.")
@click.option(
    "--for-repository",
    "for_repository",
    metavar="URL",
    help="The repository the bundle must have been made for (default: "
    "$GITHUB_SERVER_URL/$GITHUB_REPOSITORY when set, else --repo's origin remote, else the --repo "
    "folder itself).",
)
@click.option(
    "--base",
    default=None,
    help="The branch or commit --head merges into; the change checked is what merging it "
    "changes there. Default: the branch the attestation names (base.ref, else origin's). "
    "For a merged change: --head the merge or squash commit, --base its first parent.",
)
@trust_options
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text")
def verify_command(
    bundle_dir: Path,
    repo: Path,
    head: str,
    for_repository: str | None,
    base: str | None,
    trust: TrustOptions,
    output_format: str,
) -> None:
    """Verify a remediation bundle against what merging --head into --base changes (exit 0
    only if every check holds; otherwise each failed check is printed with what to do)."""
    from bot.provenance.verification.render import render_json, render_text
    from bot.provenance.verification.repository import repository_of
    from bot.provenance.verification.verifier import verify_bundle

    try:
        target = for_repository or repository_of(repo, os.environ)
        result = verify_bundle(
            bundle_dir, repo=repo, head=head, base=base, trust=trust.build(), repository=target
        )
    except MendbotError as exc:
        fail(exc)
    click.echo(render_json(result) if output_format == "json" else render_text(result), nl=False)
    sys.exit(EXIT_CLEAN if result.ok else EXIT_FINDINGS)
