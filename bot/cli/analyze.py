"""``mendbot analyze``, ``rules``, ``config`` and ``key``: the analysis identity's commands.

Exit codes of ``mendbot analyze``: 0 nothing to report, 1 findings remain, 2 usage or
configuration error, 3 some inputs could not be read (the others were still analysed).
"""

from __future__ import annotations

import difflib
import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import click
from pydantic import BaseModel
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from bot.analyze.checkouts import analyze_named, enclosing_repository, scopes
from bot.analyze.fix_writer import write_all
from bot.analyze.online_rules import online_rule_facts
from bot.analyze.pipeline import Analysis, FixHold, analyze, is_selected
from bot.analyze.report.formats import REPORT_FORMATS, render_report
from bot.analyze.result_cache import ResultCache, run_settings
from bot.analyze.reverted import SHALLOW_WARNING, RevertedHold, note_reverted
from bot.api_url import checked_root
from bot.cli.console import EXIT_CLEAN, EXIT_FINDINGS, EXIT_INPUT_ERRORS, fail, make_console
from bot.cli.options import check_signing, signing_options
from bot.cli.times import parse_now
from bot.config import Config, find_config, json_schema, load_config
from bot.errors import MendbotError, WriteError
from bot.models import Fix, FixMode
from bot.resolvers.action_api import API_URL_VARIABLE, ActionApi, api_url_from_environment
from bot.resolvers.action_refs import RefResolver, default_cache_dir, timeout_from_environment
from bot.resolvers.image_registries import RegistryResolver, default_registry

PROGRESS_THRESHOLD = 50


@click.command("analyze")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(list(REPORT_FORMATS)),
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
    "action refs or image digests nor ask GitHub's API (pinning rules then report only; the "
    "online rules are skipped with a note).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the report to this file instead of standard output.",
)
@click.option(
    "--extra-report",
    "extra_reports",
    multiple=True,
    metavar="FORMAT=FILE",
    callback=lambda _ctx, _param, values: [_extra_report(v) for v in values],
    help="Also write the report in FORMAT to FILE (repeatable), e.g. `sarif=results.sarif`: one "
    "analysis, several reports (the GitHub Action writes SARIF and JSON beside its annotations).",
)
@click.option(
    "--bundle-out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write one signed remediation bundle per remediation under this folder "
    "(see docs/provenance.md); the checkout is never modified.",
)
@signing_options
@click.option(
    "--now",
    "now_text",
    metavar="TIME",
    help="The time the inventory rules measure ages to (`nhi.unused_after_days`, …), "
    "RFC 3339 (default: the clock).",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=None,
    help="Analyse files in this many worker processes (1: in this process; default: one per "
    "usable CPU, at most one per 100 files to analyse). The report is the same whatever the "
    "number.",
)
@click.option(
    "--cache-dir",
    type=click.Path(path_type=Path, file_okay=False),
    envvar="MENDBOT_CACHE_DIR",
    help="Where results of unchanged files are kept between runs (also MENDBOT_CACHE_DIR; "
    "default: $XDG_CACHE_HOME/mendbot, else ~/.cache/mendbot).",
)
@click.option("--no-cache", is_flag=True, help="Analyse every file again; read and write no cache.")
def analyze_command(
    paths: tuple[Path, ...],
    output_format: str,
    fix_mode: str | None,
    dry_run: bool,
    config_path: Path | None,
    rules: tuple[str, ...],
    offline: bool,
    output: Path | None,
    extra_reports: list[tuple[str, Path]],
    bundle_out: Path | None,
    sign_kind: str | None,
    signing_key: Path | None,
    now_text: str | None,
    jobs: int | None,
    cache_dir: Path | None,
    no_cache: bool,
) -> None:
    """Analyse workflows under PATHS (default: the current directory) and report findings.

    A directory contributes its .github/workflows/*.yml files and its desired-state files
    (.mendbot/desired/<kind>/*.yml, the inventory of `mendbot inventory`), or, without those
    folders, every YAML file below it.
    """
    unknown = [r for r in rules if r not in _rule_ids()]
    if unknown:
        raise click.BadParameter(
            f"unknown rule {unknown[0]!r}; known rules: {', '.join(_rule_ids())}",
            param_hint="--rule",
        )
    if dry_run and fix_mode is None:
        raise click.UsageError("--dry-run only makes sense with --fix")
    if bundle_out is not None and fix_mode is not None:
        raise click.UsageError("--bundle-out never writes to the checkout; drop --fix")
    if bundle_out is None and (sign_kind or signing_key):
        raise click.UsageError("--sign and --signing-key only apply with --bundle-out")
    check_signing(sign_kind, signing_key)
    if output is not None:
        _check_report_target(output)
    for _, extra_path in extra_reports:
        _check_report_target(extra_path, "'--extra-report'")
    now = parse_now(now_text)
    targets = list(paths) or [Path(".")]
    enclosing = enclosing_repository(targets)
    if enclosing is not None:
        root = enclosing
        targets = [Path(os.path.abspath(t)) for t in targets]
    else:
        root = targets[0] if len(targets) == 1 and targets[0].is_dir() else Path(".")
    try:
        config = load_config(config_path or find_config(root), RuleOptions())
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
            return load_config(find_config(scope_root), RuleOptions())

        caches: list[ResultCache] = []

        def result_cache(scope_config: Config, scope_root: Path) -> ResultCache | None:
            if no_cache:
                return None
            settings = run_settings(scope_config, scope_root, rules, mode, not offline)
            caches.append(ResultCache(cache_dir or default_cache_dir(), settings))
            return caches[-1]

        def run(hold: FixHold | None) -> Analysis:
            return _run_with_progress(
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
                        now=now,
                        jobs=jobs,
                        cache=result_cache(scope_config, scope_root),
                        hold=hold,
                    ),
                    implicit=not paths,
                ),
                enabled=output_format == "text",
            )

        result = run(None)
        held = RevertedHold.of(result, root, config.propose.allow_reverted)
        if held and mode is not None:
            # A reverted remediation is a person's decision: fix again without it.
            result = run(held)
        if mode is not None:
            _apply(result, root, dry_run=dry_run)
        if held and mode is not None:
            _say_held_back(held, [f for f in result.result.fixes if mode.allows(f.disposition)])
        if held.shallow and result.result.fixes:  # without fixes, nothing could come back
            make_console(stderr=True).print(
                SHALLOW_WARNING.format(root=root), markup=False, highlight=False
            )
        note_reverted(result, held)
        _report(result, output_format, output)
        for extra_format, extra_path in extra_reports:
            _report(result, extra_format, extra_path)
        _warn_fix_limits(result)
        _note_skipped_online_rules(
            config, rules, offline=offline, refs=refs, facts=caches[0].folder if caches else None
        )
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
                now,
                held,
            )
    except MendbotError as exc:
        fail(exc)
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
    now: datetime,
    held: RevertedHold,
) -> None:
    from bot.analyze.bundles import Skipped, bundle_remediations
    from bot.cli.options import make_signer
    from bot.provenance.run_context import in_github_actions

    kind = sign_kind or (
        "sigstore" if in_github_actions(os.environ) else "key" if signing_key else "none"
    )
    signer = make_signer(kind, signing_key)
    err = make_console(stderr=True)
    for outcome in bundle_remediations(
        result,
        root,
        config,
        out,
        signer,
        config_path=config_path,
        refs=refs,
        registry=registry,
        rules_now=now,
        hold=held,
    ):
        if isinstance(outcome, Skipped):
            err.print(f"no bundle for {outcome.remediation_id}: {outcome.reason}")
        else:
            state = f"signed ({kind})" if outcome.signed else "UNSIGNED (dry run)"
            err.print(f"bundle: {outcome.path} [{state}]")


def _say_held_back(held: RevertedHold, wanted: list[Fix]) -> None:
    """One line per reverted remediation whose fixes (of ``wanted``, those the fix mode
    applies) this run leaves out, and why."""
    err = make_console(stderr=True)
    for rid, reason in held.reasons(wanted).items():
        err.print(f"{rid}: {reason}", markup=False, highlight=False)


def _warn_fix_limits(result: Analysis) -> None:
    """One line per file whose fixing stopped at the round limit (never a silent stop)."""
    err = make_console(stderr=True)
    for limit in result.result.fix_limits:
        err.print(
            f"warning: {limit.path}: fixing stopped after {limit.rounds} rounds; "
            f"{limit.unfixed} finding(s) left unfixed (their fixes were not tried); "
            "run the fix again to continue"
        )


def _note_skipped_online_rules(
    config: Config,
    only: tuple[str, ...],
    *,
    offline: bool,
    refs: RefResolver | None,
    facts: Path | None,
) -> None:
    """One line on standard error per reason some enabled online rules checked nothing (or,
    for a rule with an offline list, only that list): never a silent gap. ``facts``: the
    result cache's folder that keeps what this needs of the rules (see
    :mod:`bot.analyze.online_rules`)."""
    has_api = refs is not None and refs.api is not None
    skipped: dict[str, list[str]] = {}
    for rule in online_rule_facts(facts):
        if not is_selected(rule.id, rule.enabled_by_default, config, only):
            continue
        reason = rule.reason(offline=offline, has_api=has_api)
        if reason is not None:
            coverage = rule.offline_coverage
            label = f"{rule.id} (but for {coverage})" if coverage else rule.id
            skipped.setdefault(reason, []).append(label)
    err = make_console(stderr=True)
    for reason, names in skipped.items():
        err.print(f"note: {reason}: skipped {', '.join(names)}", markup=False, highlight=False)


class RuleOptions(Mapping[str, "type[BaseModel] | None"]):
    """Each rule id mapped to the pydantic model of its options, for the configuration loader:
    the rules are imported when it first asks (a configuration that names a rule), not
    before (a rescan served by the cache loads no rule)."""

    @cached_property
    def _options(self) -> dict[str, type[BaseModel] | None]:
        from bot.detectors.rule_registry import rule_options

        return rule_options()

    def __getitem__(self, rule: str) -> type[BaseModel] | None:
        return self._options[rule]

    def __iter__(self) -> Iterator[str]:
        return iter(self._options)

    def __len__(self) -> int:
        return len(self._options)


def _rule_ids() -> list[str]:
    from bot.detectors.rule_registry import rule_ids

    return rule_ids()


def default_resolver() -> RefResolver:
    """A resolver for ``$GITHUB_SERVER_URL`` using ``$GITHUB_TOKEN``/``$GH_TOKEN`` if set and
    ``$MENDBOT_GIT_TIMEOUT`` seconds per repository; with a token, it also asks GitHub's API
    (:func:`default_api`) about the same repositories. Raises
    :class:`~bot.api_url.UnsafeUrlError` when the server is plain http to another host: the
    SHAs pinned from its answers could be changed on the way (a ``file://`` mirror is fine)."""
    server = os.environ.get("GITHUB_SERVER_URL")
    if server and not server.lower().startswith("file://"):
        server = checked_root(server, name="GITHUB_SERVER_URL")
    token = os.environ.get("GITHUB_TOKEN") or os.environ.get("GH_TOKEN")
    timeout = timeout_from_environment(os.environ)
    return RefResolver(
        server or None,
        cache_dir=default_cache_dir(),
        token=token,
        timeout_seconds=timeout,
        api=default_api(token, timeout),
    )


def default_api(token: str | None, timeout: float) -> ActionApi | None:
    """GitHub's API at ``$GITHUB_API_URL`` (else derived from ``$GITHUB_SERVER_URL``) with
    ``token``; None without a token or for a ``file://`` git mirror, which has no API. Raises
    :class:`~bot.api_url.UnsafeUrlError` for plain http to another host: the token would
    travel unencrypted."""
    if not token:
        return None
    explicit = bool(os.environ.get(API_URL_VARIABLE))
    root = api_url_from_environment(os.environ)
    if not explicit and root.lower().startswith("file://"):
        return None
    root = checked_root(root, name=API_URL_VARIABLE if explicit else "GITHUB_SERVER_URL")
    return ActionApi(root, token, cache_dir=default_cache_dir(), timeout_seconds=timeout)


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
    console = make_console(stderr=True)
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


def _extra_report(value: str) -> tuple[str, Path]:
    """``FORMAT=FILE`` of ``--extra-report``, checked."""
    kind, sep, path = value.partition("=")
    if not sep or not path or kind not in REPORT_FORMATS:
        raise click.BadParameter(
            f"{value!r}: expected FORMAT=FILE with FORMAT one of {', '.join(REPORT_FORMATS)}",
            param_hint="'--extra-report'",
        )
    return kind, Path(path)


def _check_report_target(output: Path, option: str = "'-o' / '--output'") -> None:
    """Refuse a report file (of ``option``) that cannot be written before anything is
    analysed or fixed."""
    folder = output.parent
    if not folder.is_dir():
        raise click.BadParameter(
            f"the folder {str(folder)!r} does not exist; create it or choose another file",
            param_hint=option,
        )
    if output.is_dir():
        raise click.BadParameter(f"{str(output)!r} is a folder", param_hint=option)
    if not os.access(folder, os.W_OK):
        raise click.BadParameter(f"the folder {str(folder)!r} is not writable", param_hint=option)


def _report(result: Analysis, output_format: str, output: Path | None) -> None:
    try:
        _render_report(result, output_format, output)
    except OSError as exc:
        raise WriteError(
            f"cannot write the report to {output}: {exc.strerror}",
            advice="fixes, if any, were written; rerun with another --output",
        ) from None


def _render_report(result: Analysis, output_format: str, output: Path | None) -> None:
    if output is None:
        render_report(result, output_format, make_console())
        return
    # surrogateescape: a file name that is not UTF-8 is written back as the bytes it has on
    # disk, as on standard output, instead of failing half-way through the report.
    with output.open("w", encoding="utf-8", errors="surrogateescape") as handle:
        render_report(result, output_format, Console(file=handle, width=160, no_color=True))


@click.command("rules")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text")
def rules_command(output_format: str) -> None:
    """List every rule with its severity, fix disposition and whether it runs by default."""
    from bot.detectors.rule_registry import ALL_RULES

    rows: list[dict[str, Any]] = [
        {
            "id": rule.id,
            "title": rule.title,
            "severity": rule.default_severity.value,
            "fix": rule.fix_disposition.value if rule.fix_disposition else "report only",
            "enabled_by_default": rule.enabled_by_default,
            "docs": rule.docs_url(),
        }
        for rule in ALL_RULES
    ]
    if output_format == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    width = max(len(row["id"]) for row in rows)
    for row in rows:
        off = "" if row["enabled_by_default"] else " (off by default)"
        click.echo(
            f"{row['id']:<{width}}  {row['severity']:<8} {row['fix']:<12} {row['title']}{off}"
        )


@click.group("config")
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
        load_config(target, RuleOptions())
    except MendbotError as exc:
        fail(exc)
    click.echo(f"{target}: valid")
