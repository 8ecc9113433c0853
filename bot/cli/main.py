"""The ``mendbot`` command line: thin commands over the library; the only place that exits.

Exit codes of ``mendbot analyze``: 0 nothing to report, 1 findings remain, 2 usage or
configuration error, 3 some inputs could not be read (the others were still analysed).
"""

from __future__ import annotations

import difflib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.text import Text

from bot import __version__
from bot.analyze.checkouts import analyze_named, enclosing_repository, scopes
from bot.analyze.fix_writer import write_all
from bot.analyze.pipeline import Analysis, analyze
from bot.cli.options import ForgeOptions, TrustOptions, forge_options, trust_options
from bot.config import Config, find_config, json_schema, load_config
from bot.detectors.rule_registry import RULES, rule_ids, rule_options
from bot.errors import MendbotError, WriteError
from bot.models import FixMode
from bot.report import github_annotations as github
from bot.report import json_report, sarif, text
from bot.resolvers.action_refs import RefResolver, default_cache_dir, timeout_from_environment
from bot.resolvers.image_registries import RegistryResolver, default_registry

if TYPE_CHECKING:
    from bot.forge.interface import GateForge
    from bot.gate.run import GateOptions, GateRun

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INPUT_ERRORS = 3

#: Show a progress bar on a terminal when a scan has at least this many files.
PROGRESS_THRESHOLD = 50


def _console(stderr: bool = False) -> Console:
    """A console that prints strings literally: messages carry paths, keys and branch names
    that may look like Rich markup (``[/x]``) or emoji codes (``:x:``); style goes through
    :class:`~rich.text.Text` instead."""
    console = _literal_console(stderr=stderr, soft_wrap=False)
    if not console.is_terminal:
        if stderr:
            # One message, one line: logs and scripts grep for whole lines and long paths.
            return _literal_console(stderr=True, soft_wrap=True)
        # Piped reports are read in logs and CI consoles, which are wider than 80 columns.
        console = _literal_console(stderr=False, soft_wrap=False, width=140)
    return console


def _literal_console(*, stderr: bool, soft_wrap: bool, width: int | None = None) -> Console:
    return Console(
        stderr=stderr,
        soft_wrap=soft_wrap,
        width=width,
        highlight=False,
        markup=False,
        emoji=False,
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mendbot")
def cli() -> None:
    """mendbot: find security problems in GitHub Actions workflows and fix them safely."""


@cli.command("analyze")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "sarif", "github"]),
    default="text",
    show_default=True,
    help="Report format.",
)
@click.option(
    "--fix",
    "fix_mode",
    type=click.Choice([m.value for m in FixMode]),
    is_flag=False,
    flag_value="safe",
    default=None,
    help="Apply fixes: `--fix` or `--fix=safe` applies safe fixes, `--fix=all` unsafe ones too.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="With --fix: print the diff of the fixes instead of writing files.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Configuration file (default: .github/mendbot.yml under the analysed directory).",
)
@click.option(
    "--rule",
    "rules",
    multiple=True,
    metavar="ID",
    help="Run only this rule (repeatable). `mendbot rules` lists the ids.",
)
@click.option(
    "--offline",
    is_flag=True,
    envvar="MENDBOT_OFFLINE",
    help="No network request of mendbot's own (also MENDBOT_OFFLINE=1): here, do not resolve "
    "action refs or image digests (pinning rules then report only).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the report to this file instead of standard output.",
)
@click.option(
    "--bundle-out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write one signed remediation bundle per remediation under this folder "
    "(see docs/provenance.md); the checkout is never modified.",
)
@click.option(
    "--sign",
    "sign_kind",
    type=click.Choice(["sigstore", "key", "none"]),
    help="How --bundle-out bundles are signed. Default: sigstore in GitHub Actions, key with "
    "--signing-key, otherwise none (unsigned dry run).",
)
@click.option(
    "--signing-key",
    type=click.Path(path_type=Path, dir_okay=False),
    help="ECDSA P-256 PEM private key for --sign key (`mendbot key generate`).",
)
def analyze_command(
    paths: tuple[Path, ...],
    output_format: str,
    fix_mode: str | None,
    dry_run: bool,
    config_path: Path | None,
    rules: tuple[str, ...],
    offline: bool,
    output: Path | None,
    bundle_out: Path | None,
    sign_kind: str | None,
    signing_key: Path | None,
) -> None:
    """Analyse workflows under PATHS (default: the current directory) and report findings.

    A directory contributes its .github/workflows/*.yml files (or, without that folder, every
    YAML file below it); files are analysed as workflows.
    """
    unknown = [r for r in rules if r not in rule_ids()]
    if unknown:
        raise click.BadParameter(
            f"unknown rule {unknown[0]!r}; known rules: {', '.join(rule_ids())}",
            param_hint="--rule",
        )
    if dry_run and fix_mode is None:
        raise click.UsageError("--dry-run only makes sense with --fix")
    if bundle_out is not None and fix_mode is not None:
        raise click.UsageError("--bundle-out never writes to the checkout; drop --fix")
    if bundle_out is None and (sign_kind or signing_key):
        raise click.UsageError("--sign and --signing-key only apply with --bundle-out")
    if sign_kind == "key" and signing_key is None:
        raise click.UsageError("--sign key needs --signing-key FILE")
    if output is not None:
        _check_report_target(output)
    targets = list(paths) or [Path(".")]
    enclosing = enclosing_repository(targets)
    if enclosing is not None:
        root = enclosing
        targets = [Path(os.path.abspath(t)) for t in targets]
    else:
        root = targets[0] if len(targets) == 1 and targets[0].is_dir() else Path(".")
    try:
        config = load_config(config_path or find_config(root), rule_options())
        mode = FixMode(fix_mode) if fix_mode else None
        refs = None if offline else default_resolver()
        registry = None if offline else default_registry()
        if bundle_out is not None and len(scopes(targets, root)) > 1:
            raise click.UsageError(
                "--bundle-out makes bundles for one repository; name that repository"
            )

        def config_for(scope_root: Path) -> Config:
            if config_path is not None or scope_root == root:
                return config
            return load_config(find_config(scope_root), rule_options())

        result = _run_with_progress(
            lambda progress: analyze_named(
                targets,
                root,
                config_for,
                lambda scope_targets, scope_root, scope_config: analyze(
                    scope_targets,
                    scope_root,
                    scope_config,
                    only_rules=rules,
                    fix_mode=mode,
                    progress=progress,
                    refs=refs,
                    registry=registry,
                ),
                implicit=not paths,
            ),
            enabled=output_format == "text",
        )
        if mode is not None:
            _apply(result, root, dry_run=dry_run)
        _report(result, output_format, output)
        _warn_fix_limits(result)
        if bundle_out is not None:
            _write_bundles(
                result,
                root,
                config,
                config_path or find_config(root),
                bundle_out,
                sign_kind,
                signing_key,
                refs,
                registry,
            )
    except MendbotError as exc:
        _fail(exc)
    sys.exit(exit_code(result, wrote_fixes=mode is not None and not dry_run))


def _write_bundles(
    result: Analysis,
    root: Path,
    config: Config,
    config_path: Path | None,
    out: Path,
    sign_kind: str | None,
    signing_key: Path | None,
    refs: RefResolver | None,
    registry: RegistryResolver | None,
) -> None:
    from bot.analyze.bundles import Skipped, bundle_remediations
    from bot.provenance.run_context import in_github_actions
    from bot.provenance.signers import KeySigner, NoSigner, Signer, SigstoreSigner
    from bot.provenance.sigstore_config import client_trust_config

    kind = sign_kind or (
        "sigstore" if in_github_actions(os.environ) else "key" if signing_key else "none"
    )
    signer: Signer
    if kind == "key" and signing_key is not None:
        signer = KeySigner.from_file(signing_key)
    elif kind == "sigstore":
        signer = SigstoreSigner(client_trust_config(os.environ))
    else:
        signer = NoSigner()
    err = _console(stderr=True)
    for outcome in bundle_remediations(
        result, root, config, out, signer, config_path=config_path, refs=refs, registry=registry
    ):
        if isinstance(outcome, Skipped):
            err.print(f"no bundle for {outcome.remediation.id}: {outcome.reason}")
        else:
            state = f"signed ({kind})" if outcome.signed else "UNSIGNED (dry run)"
            err.print(f"bundle: {outcome.path} [{state}]")


def _warn_fix_limits(result: Analysis) -> None:
    """One line per file whose fixing stopped at the round limit (never a silent stop)."""
    err = _console(stderr=True)
    for limit in result.result.fix_limits:
        err.print(
            f"warning: {limit.path}: fixing stopped after {limit.rounds} rounds; "
            f"{limit.unfixed} finding(s) left unfixed (their fixes were not tried); "
            "run the fix again to continue"
        )


def default_resolver() -> RefResolver:
    """A resolver for ``$GITHUB_SERVER_URL`` using ``$GITHUB_TOKEN``/``$GH_TOKEN`` if set and
    ``$MENDBOT_GIT_TIMEOUT`` seconds per repository."""
    token = os.environ.get("GITHUB_TOKEN") or os.environ.get("GH_TOKEN")
    return RefResolver(
        cache_dir=default_cache_dir(),
        token=token,
        timeout_seconds=timeout_from_environment(os.environ),
    )


def exit_code(result: Analysis, *, wrote_fixes: bool) -> int:
    """The documented exit code for an analysis (see the module docstring)."""
    if any(not error.skipped for error in result.result.errors):
        return EXIT_INPUT_ERRORS
    applied = result.result.applied_ids if wrote_fixes else frozenset()
    if any(f.id not in applied for f in result.result.findings):
        return EXIT_FINDINGS
    return EXIT_CLEAN


def _run_with_progress(
    job: Callable[[Callable[[int, int], None] | None], Analysis], *, enabled: bool
) -> Analysis:
    console = _console(stderr=True)
    if not (enabled and console.is_terminal):
        return job(None)
    with Progress(
        TextColumn("analysing"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("analyse", total=None)

        def advance(done: int, total: int) -> None:
            if total >= PROGRESS_THRESHOLD:
                bar.update(task, completed=done, total=total)

        return job(advance)


def _apply(result: Analysis, root: Path, *, dry_run: bool) -> None:
    changes = {
        result.paths[name]: (outcome.original, outcome.fixed)
        for name, outcome in result.files.items()
        if outcome.fixed is not None
    }
    if dry_run:
        for name, outcome in sorted(result.files.items()):
            if outcome.fixed is not None:
                sys.stderr.write(unified_diff(name, outcome.original, outcome.fixed))
        return
    write_all(changes, root)


def unified_diff(name: str, before: str, after: str) -> str:
    """A ``git diff``-style unified diff of one file."""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"a/{name}",
        tofile=f"b/{name}",
    )
    return "".join(lines)


def _check_report_target(output: Path) -> None:
    """Refuse an ``--output`` that cannot be written before anything is analysed or fixed."""
    folder = output.parent
    if not folder.is_dir():
        raise click.BadParameter(
            f"the folder {str(folder)!r} does not exist; create it or choose another file",
            param_hint="'-o' / '--output'",
        )
    if output.is_dir():
        raise click.BadParameter(f"{str(output)!r} is a folder", param_hint="'-o' / '--output'")
    if not os.access(folder, os.W_OK):
        raise click.BadParameter(
            f"the folder {str(folder)!r} is not writable", param_hint="'-o' / '--output'"
        )


def _report(result: Analysis, output_format: str, output: Path | None) -> None:
    try:
        _render_report(result, output_format, output)
    except OSError as exc:
        raise WriteError(
            f"cannot write the report to {output}: {exc.strerror}",
            advice="fixes, if any, were written; rerun with another --output",
        ) from None


def _render_report(result: Analysis, output_format: str, output: Path | None) -> None:
    if output_format == "text":
        if output is not None:
            with output.open("w", encoding="utf-8") as handle:
                text.render(result, Console(file=handle, width=160, no_color=True))
        else:
            text.render(result, _console())
        return
    if output_format == "json":
        rendered = json_report.render(result)
    elif output_format == "sarif":
        rendered = sarif.render(result)
    else:
        rendered = github.render_annotations(result)
        github.write_step_summary(result)
    if output is not None:
        output.write_text(rendered, encoding="utf-8")
    else:
        sys.stdout.write(rendered)


def _fail(exc: MendbotError) -> None:
    _error(exc)
    sys.exit(exc.exit_code)


@cli.command("rules")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text")
def rules_command(output_format: str) -> None:
    """List every rule with its severity and fix disposition."""
    rows = [
        {
            "id": rule.id,
            "title": rule.title,
            "severity": rule.default_severity.value,
            "fix": rule.fix_disposition.value if rule.fix_disposition else "report only",
            "docs": rule.docs_url(),
        }
        for rule in RULES
    ]
    if output_format == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    width = max(len(row["id"]) for row in rows)
    for row in rows:
        click.echo(f"{row['id']:<{width}}  {row['severity']:<8} {row['fix']:<12} {row['title']}")


@cli.group("config")
def config_group() -> None:
    """Inspect and validate the .github/mendbot.yml configuration."""


@config_group.command("schema")
def config_schema_command() -> None:
    """Print the JSON Schema of .github/mendbot.yml (for editors)."""
    click.echo(json.dumps(json_schema(), indent=2))


@config_group.command("check")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False), required=False)
def config_check_command(path: Path | None) -> None:
    """Validate a configuration file (default: .github/mendbot.yml)."""
    target = path or find_config(Path("."))
    if target is None:
        click.echo("no configuration file found; the defaults apply")
        return
    try:
        load_config(target, rule_options())
    except MendbotError as exc:
        _fail(exc)
    click.echo(f"{target}: valid")


@cli.command("verify")
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
    from bot.provenance.repository import repository_of
    from bot.provenance.verify import verify_bundle
    from bot.report.verification import render_json, render_text

    try:
        target = for_repository or repository_of(repo, os.environ)
        result = verify_bundle(
            bundle_dir, repo=repo, head=head, base=base, trust=trust.build(), repository=target
        )
    except MendbotError as exc:
        _fail(exc)
    click.echo(render_json(result) if output_format == "json" else render_text(result), nl=False)
    sys.exit(EXIT_CLEAN if result.ok else EXIT_FINDINGS)


@cli.command("propose")
@click.argument(
    "bundle_dirs", nargs=-1, required=True, type=click.Path(path_type=Path, file_okay=False)
)
@forge_options
@trust_options
def propose_command(
    bundle_dirs: tuple[Path, ...], forge: ForgeOptions, trust: TrustOptions
) -> None:
    """Verify remediation bundles and open or update one pull request per remediation (exit 1
    if any bundle was refused, 3 if the forge failed on some bundle while the others were
    proposed; held-back ones are listed)."""
    from bot.propose.job import Status, propose, render_outcomes

    try:
        verifier = trust.build()
        host = forge.build()
        config = load_config(find_config(host.workdir), rule_options())
        outcomes = propose(
            list(bundle_dirs), host, verifier, config.propose, environments=config.environments
        )
    except MendbotError as exc:
        _fail(exc)
    click.echo(render_outcomes(outcomes), nl=False)
    statuses = {o.status for o in outcomes}
    if Status.FAILED in statuses:
        sys.exit(EXIT_INPUT_ERRORS)
    sys.exit(EXIT_FINDINGS if Status.REFUSED in statuses else EXIT_CLEAN)


@cli.group("policy")
def policy_group() -> None:
    """Check, test and evaluate merge-gate policies (docs/policies.md)."""


def policy_folder(command: Callable[..., None]) -> Callable[..., None]:
    """The policy folder of every ``policy`` command: ``[DIR]`` or ``--policies DIR``, default
    ``policies/``; giving both (differently) is a usage error."""
    command = click.option(
        "--policies",
        "option_directory",
        type=click.Path(path_type=Path, file_okay=False),
        help="Folder of policy files (the same as the DIR argument).",
    )(command)
    return click.argument(
        "directory",
        required=False,
        type=click.Path(path_type=Path, file_okay=False),
    )(command)


def _policy_directory(directory: Path | None, option_directory: Path | None) -> Path:
    if directory is not None and option_directory is not None and directory != option_directory:
        raise click.UsageError(f"two policy folders given: {directory} and {option_directory}")
    return directory or option_directory or Path("policies")


@policy_group.command("init")
@click.argument(
    "directory",
    required=False,
    default=Path("policies"),
    type=click.Path(path_type=Path, file_okay=False),
)
def policy_init_command(directory: Path) -> None:
    """Write mendbot's default policies into DIR (default: policies/) to adapt and commit;
    never overwrites a file (exit 0 written, 2 nothing written)."""
    from bot.policy.defaults import write_defaults

    try:
        written = write_defaults(directory)
    except MendbotError as exc:
        _fail(exc)
    for path in written:
        click.echo(f"wrote {path}")
    click.echo(
        f"next: adapt them, check with `mendbot policy lint {directory}` and "
        f"`mendbot policy test {directory}`, and commit them on the default branch"
    )


@policy_group.command("test")
@policy_folder
def policy_test_command(directory: Path | None, option_directory: Path | None) -> None:
    """Run the inline tests of every policy in DIR (default: policies/): exit 0 all pass,
    1 a case failed, 2 invalid policies."""
    from bot.policy.render import render_tests
    from bot.policy.schema import load_directory
    from bot.policy.testing import check, run_tests

    directory = _policy_directory(directory, option_directory)
    try:
        policy_set = load_directory(directory)
    except MendbotError as exc:
        _fail(exc)
    problems = check(policy_set)
    for problem in problems:
        click.echo(f"error: {problem}", err=True)
    results = run_tests(policy_set.policies)
    click.echo(render_tests(results), nl=False)
    if problems:
        sys.exit(EXIT_USAGE)
    sys.exit(EXIT_FINDINGS if any(not r.passed for r in results) else EXIT_CLEAN)


@policy_group.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
def policy_check_command(files: tuple[Path, ...]) -> None:
    """Validate policy files (schema, CEL syntax, identifiers): exit 0 valid, 1 not."""
    from bot.policy.schema import PolicySet, load_file
    from bot.policy.testing import check

    bad = 0
    for path in files:
        policy_set = PolicySet()
        try:
            for document in load_file(path):
                policy_set.add(document)
        except MendbotError as exc:
            click.echo(f"error: {exc}", err=True)
            bad += 1
            continue
        problems = check(policy_set)
        for problem in problems:
            click.echo(f"error: {problem}", err=True)
        bad += bool(problems)
        if not problems:
            click.echo(f"{path}: valid")
    sys.exit(EXIT_FINDINGS if bad else EXIT_CLEAN)


@policy_group.command("lint")
@policy_folder
def policy_lint_command(directory: Path | None, option_directory: Path | None) -> None:
    """Validate a policy folder DIR (default: policies/) as the gate loads it: schema, unique
    names, CEL syntax, unknown identifiers and functions (exit 0 valid, 1 not)."""
    from bot.policy.schema import load_directory
    from bot.policy.testing import check

    directory = _policy_directory(directory, option_directory)
    try:
        policy_set = load_directory(directory)
    except MendbotError as exc:
        click.echo(f"error: {exc.diagnostics()}", err=True)
        sys.exit(EXIT_FINDINGS)
    problems = check(policy_set)
    for problem in problems:
        click.echo(f"error: {problem}", err=True)
    if problems:
        sys.exit(EXIT_FINDINGS)
    counts = (len(policy_set.policies), len(policy_set.exceptions), len(policy_set.windows))
    click.echo(
        f"{directory}: valid ({counts[0]} policies, {counts[1]} exceptions, {counts[2]} windows; "
        f"{policy_set.digest})"
    )
    sys.exit(EXIT_CLEAN)


@policy_group.command("eval")
@click.option(
    "--context",
    "context_file",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="The context JSON (docs/policy-context.schema.json).",
)
@policy_folder
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text")
def policy_eval_command(
    context_file: Path, directory: Path | None, option_directory: Path | None, output_format: str
) -> None:
    """Decide on a context with the policies in DIR (default: policies/): exit 0 allowed,
    1 not allowed, 2 error."""
    from bot.errors import UsageError
    from bot.policy.decide import decide
    from bot.policy.render import render_decision
    from bot.policy.schema import load_directory

    directory = _policy_directory(directory, option_directory)
    context_advice = (
        "pass a JSON object shaped like docs/policy-context.schema.json, for example the "
        "`context` of `mendbot policy explain --pr N --format json`"
    )
    try:
        policy_set = load_directory(directory)
        try:
            context = json.loads(context_file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise UsageError(
                f"{context_file}: cannot read the context: {exc.strerror}", advice=context_advice
            ) from None
        except ValueError as exc:
            raise UsageError(
                f"{context_file}: the context is not valid JSON: {exc}", advice=context_advice
            ) from None
        if not isinstance(context, dict):
            raise UsageError(
                f"{context_file}: the context must be a JSON object", advice=context_advice
            )
    except MendbotError as exc:
        _fail(exc)
    decision = decide(policy_set, context)
    if output_format == "json":
        payload = decision.to_json() | {"policy_digest": policy_set.digest}
        click.echo(json.dumps(payload, indent=2, sort_keys=True))
    else:
        click.echo(render_decision(decision), nl=False)
    sys.exit(EXIT_CLEAN if decision.outcome == "allow" else EXIT_FINDINGS)


def _gate_setup(
    forge: ForgeOptions,
    trust: TrustOptions,
    now: str | None,
    *,
    report: bool,
    status_sha: str | None = None,
    target_url: str | None = None,
) -> tuple[GateForge, GateOptions]:
    """The forge and the gate's options; usage and forge errors exit 2."""
    from datetime import UTC, datetime

    from bot.gate.run import GateOptions

    if now is None:
        clock = datetime.now(UTC)
    else:
        try:
            clock = datetime.fromisoformat(now.replace("Z", "+00:00"))
        except ValueError:
            raise click.BadParameter(
                f"{now!r} is not an RFC 3339 time", param_hint="--now"
            ) from None
        if clock.tzinfo is None:
            raise click.BadParameter("give a time zone (e.g. Z)", param_hint="--now")
    try:
        options = GateOptions(
            trust=trust.build(),
            now=clock.astimezone(UTC),
            report=report,
            status_sha=status_sha,
            target_url=target_url,
        )
        return forge.build(), options
    except MendbotError as exc:
        _error(exc)
        sys.exit(EXIT_USAGE)


def _error(exc: MendbotError) -> None:
    _print_error(exc.diagnostics())


def _print_error(message: str) -> None:
    """``error: <message>`` on standard error, the message exactly as given."""
    _console(stderr=True).print(Text.assemble(("error:", "red"), " ", message))


def _gate_one(forge: GateForge, number: int, options: GateOptions) -> GateRun | None:
    """One decision; None (after printing why) when the forge failed for this pull request."""
    from bot.gate.run import evaluate

    try:
        return evaluate(forge, number, options)
    except MendbotError as exc:
        _error(exc)
        return None
    except Exception as exc:  # NOTE(gate): a crash must exit 2 (error), never 1 (decided).
        _print_error(
            f"the gate failed on #{number}: {type(exc).__name__}: {exc}\n"
            "  hint: nothing was allowed (the status stays pending or error); please report "
            "this with the command line"
        )
        return None


def _run_url() -> str | None:
    """The Actions run that is deciding, for the status link."""
    server, repository, run = (
        os.environ.get(name) for name in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    )
    return f"{server}/{repository}/actions/runs/{run}" if server and repository and run else None


def _allowed(run: GateRun) -> bool:
    return run.decision.outcome == "allow" and not run.superseded


@cli.command("gate")
@click.option("--pr", "number", type=int, help="The pull request to decide on.")
@click.option(
    "--all-open",
    is_flag=True,
    help="Decide on every open pull request (the scheduled run: windows open and close).",
)
@forge_options
@trust_options
@click.option("--now", help="Decide as of this RFC 3339 time instead of the clock (replays).")
@click.option(
    "--record",
    type=click.Path(path_type=Path),
    help="Write the decision record (JSON: context, digests, outcome, what was reported) to "
    "this file; with --all-open, this folder gets one pr-<number>.json per pull request.",
)
@click.option(
    "--merge-group-sha",
    help="In a merge queue (merge_group event): post the status on this commit.",
)
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text")
def gate_command(
    number: int | None,
    all_open: bool,
    forge: ForgeOptions,
    trust: TrustOptions,
    now: str | None,
    record: Path | None,
    merge_group_sha: str | None,
    output_format: str,
) -> None:
    """Decide whether pull request --pr (or every open one) may merge and report it on the
    forge: commit status mendbot/policy, one sticky comment, a gate:* label (exit 0 allowed,
    1 not allowed, 2 usage or configuration error, 3 a pull request could not be decided)."""
    from bot.gate.run import write_record
    from bot.policy.render import render_decision

    if (number is None) == (not all_open):
        raise click.UsageError("give exactly one of --pr N and --all-open")
    if all_open and merge_group_sha:
        raise click.UsageError("--merge-group-sha decides one pull request: use --pr")
    host, options = _gate_setup(
        forge, trust, now, report=True, status_sha=merge_group_sha, target_url=_run_url()
    )
    if number is not None:
        numbers = [number]
    else:
        try:
            numbers = host.open_pull_numbers()
        except MendbotError as exc:
            _error(exc)
            sys.exit(EXIT_INPUT_ERRORS)
    runs: list[GateRun] = []
    failed = False
    for each in numbers:
        run = _gate_one(host, each, options)
        if run is None:
            failed = True
            continue
        runs.append(run)
        if record is not None:
            write_record(record / f"pr-{each}.json" if all_open else record, run.record)
        if output_format == "text":
            if all_open:
                click.echo(f"#{each}: ", nl=False)
            click.echo(render_decision(run.decision), nl=False)
            for line in run.reported:
                click.echo(f"reported: {line}")
    if output_format == "json":
        records = [run.record for run in runs]
        click.echo(
            json.dumps(
                records if all_open else records[0] if records else {}, indent=2, sort_keys=True
            )
        )
    if failed:
        sys.exit(EXIT_INPUT_ERRORS)
    sys.exit(EXIT_CLEAN if all(_allowed(run) for run in runs) else EXIT_FINDINGS)


@policy_group.command("explain")
@click.option("--pr", "number", type=int, required=True, help="The pull request to explain.")
@forge_options
@trust_options
@click.option("--now", help="Decide as of this RFC 3339 time instead of the clock.")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text")
def policy_explain_command(
    number: int,
    forge: ForgeOptions,
    trust: TrustOptions,
    now: str | None,
    output_format: str,
) -> None:
    """Show the context the gate builds for --pr, every policy's result and why, without
    reporting anything (exit codes of gate)."""
    from bot.policy.render import render_decision

    host, options = _gate_setup(forge, trust, now, report=False)
    run = _gate_one(host, number, options)
    if run is None:
        sys.exit(EXIT_INPUT_ERRORS)
    if output_format == "json":
        click.echo(json.dumps(run.record, indent=2, sort_keys=True))
    else:
        click.echo("context:")
        click.echo(json.dumps(run.record["context"], indent=2, sort_keys=True))
        if run.gathered is not None:
            for note in run.gathered.attestation.notes:
                click.echo(f"provenance note: {note}")
        click.echo(render_decision(run.decision), nl=False)
        click.echo(f"policies: {run.record['policy_source']} ({run.record['policy_digest']})")
    sys.exit(EXIT_CLEAN if _allowed(run) else EXIT_FINDINGS)


@cli.group("key")
def key_group() -> None:
    """Manage local signing keys for --sign key."""


@key_group.command("generate")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Folder for mendbot.key (private, mode 0600) and mendbot.pub.",
)
def key_generate_command(out: Path) -> None:
    """Create an ECDSA P-256 key pair for signing remediation bundles."""
    from bot.provenance.keys import generate

    try:
        keys = generate(out)
    except MendbotError as exc:
        _fail(exc)
    click.echo(f"private key: {keys.private} (keep it secret)")
    click.echo(f"public key:  {keys.public} (give it to verifiers: --verify-key)")
    click.echo(f"hint:        {keys.hint}")


@cli.command("demo")
@click.option(
    "--workdir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where to create the demo repository (default: a new temporary directory).",
)
def demo_command(workdir: Path | None) -> None:
    """Run the whole chain locally on a bundled insecure example repository."""
    from bot.demo import run_demo

    try:
        run_demo(_console(), workdir)
    except MendbotError as exc:
        _fail(exc)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="mendbot")
