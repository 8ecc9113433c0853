"""The analysis pipeline: read inputs, run rules, and (optionally) fix to a fix-point.

Nothing here writes files: :func:`analyze` returns the new text of every file it would change,
and the caller decides whether to write it (see :mod:`bot.analyze.fix_writer`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache as once
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.analyze.desired_state import (
    DesiredRun,
    analyse_desired,
    is_desired_state,
    needs_workflows,
    repository_usage,
)
from bot.analyze.inputs import Input, discover, read_texts
from bot.analyze.result_cache import MISS, CacheKey, FileResult, ResultCache
from bot.analyze.workers import FileTask, prepare_workers, run_files, worker_count
from bot.config import Config, find_zizmor_config, load_zizmor_config
from bot.detectors.desired_rule import DesiredStateRule
from bot.detectors.interface import Detection, RuleServices, WorkflowRule
from bot.detectors.nhi.workflow_usage import WorkflowUsage
from bot.detectors.suppression import ExternalIgnores, external_ignores, is_suppressed, protected_by
from bot.models import AnalysisResult, FileError, Finding, Fix, FixLimit, FixMode, Unfixed
from bot.resolvers.action_refs import RefResolver, action_repositories
from bot.resolvers.image_registries import RegistryResolver
from bot.workflow.model import Workflow
from bot.yamledit.document import SourceText, YamlDocument, YamlParseError
from bot.yamledit.engine import Edited, apply_operations, apply_together

if TYPE_CHECKING:
    from bot.analyze.file_job import FileJob

#: Bound on fix rounds per file. Each round applies one fix, or a run of fixes the engine
#: proves independent, and re-runs the rules once; a file that needs more rounds keeps the
#: rest of its fixes unapplied and says so (:class:`~bot.models.FixLimit`), never silently.
MAX_FIX_ROUNDS = 200

#: The module of the file job (:class:`bot.analyze.file_job.FileJob`), imported only when a
#: file must be analysed; the fork server of the workers preloads it.
FILE_JOB_MODULE = "bot.analyze.file_job"

#: Says why a fix must not be applied (a person's earlier decision), or None to let it be.
FixHold = Callable[[Fix], str | None]


@dataclass
class FileOutcome:
    """What happened to one file: its original and (when fixed) new text."""

    original: str
    fixed: str | None = None


@dataclass
class Analysis:
    """An :class:`AnalysisResult` plus the texts needed to write or preview fixes."""

    result: AnalysisResult
    files: dict[str, FileOutcome] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)
    """Repository-relative name → file on disk, for every analysed file."""


class NotAWorkflow(Exception):
    """The document parses but is not a workflow (empty, a list, a scalar, no ``jobs``)."""


class InvalidFile(FileError):
    """The error of a file its bytes alone decide (YAML that does not parse, a named file that
    is not a workflow): the same bytes always give it, so the result cache keeps it."""


def is_selected(
    rule_id: str, enabled_by_default: bool, config: Config, only: Sequence[str] = ()
) -> bool:
    """Whether the rule runs: named with ``--rule`` when any is (``only``), then as
    configured, else when named, else its default."""
    if only and rule_id not in only:
        return False
    configured = config.settings(rule_id).enabled
    if configured is not None:
        return configured
    return rule_id in only or enabled_by_default


def select_rules(
    config: Config, only: Sequence[str] = (), services: RuleServices | None = None
) -> list[WorkflowRule]:
    """Instantiate the enabled rules (all, or just ``only``) with configured severities."""
    from bot.detectors.rule_registry import RULES  # see :mod:`bot.analyze.file_job`

    rules = []
    for rule_cls in RULES:
        if not is_selected(rule_cls.id, rule_cls.enabled_by_default, config, only):
            continue
        settings = config.settings(rule_cls.id)
        rules.append(rule_cls(settings.severity, settings.options, services))
    return rules


def select_desired_rules(config: Config, only: Sequence[str] = ()) -> list[DesiredStateRule]:
    """Instantiate the enabled desired-state rules (all, or just ``only``)."""
    from bot.detectors.rule_registry import DESIRED_STATE_RULES

    rules = []
    for rule_cls in DESIRED_STATE_RULES:
        if not is_selected(rule_cls.id, rule_cls.enabled_by_default, config, only):
            continue
        settings = config.settings(rule_cls.id)
        rules.append(rule_cls(settings.severity, settings.options))
    return rules


def parse_workflow(relative: str, text: str, root: Path | None = None) -> Workflow:
    """Parse workflow text; raises :class:`YamlParseError` or :class:`NotAWorkflow`.

    ``root`` is the repository on disk, for rules that read files the workflow refers to.
    """
    try:
        body = SourceText.from_text(text).body
    except YamlParseError:
        # Mixed or bare-CR line breaks: readable for detection; the edit engine refuses fixes.
        body = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    doc = YamlDocument.parse(body)
    if len(doc.roots) > 1:
        raise NotAWorkflow("a workflow holds one YAML document, this file has several")
    data = doc.data()
    if data is None:
        raise NotAWorkflow("the file is empty")
    if not isinstance(data, dict):
        raise NotAWorkflow(f"the document is a {_kind(data)}, not a mapping")
    if isinstance(data.get("jobs"), dict):
        return Workflow(relative, doc, data, root)
    if isinstance(data.get("runs"), dict):
        return Workflow(relative, doc, data, root, kind="action")
    if isinstance(data.get("updates"), list) and "version" in data:
        return Workflow(relative, doc, data, root, kind="dependabot")
    raise NotAWorkflow("there is no `jobs:` mapping (workflow) nor `runs:` mapping (action)")


def _kind(value: object) -> str:
    return "list" if isinstance(value, list) else "scalar"


def detect(
    workflow: Workflow,
    rules: Iterable[WorkflowRule],
    config: Config,
    external: ExternalIgnores | None = None,
) -> list[Detection]:
    """Run ``rules`` on ``workflow``, dropping findings a person suppressed: inline
    (``# mendbot: ignore[…]``, ``# zizmor: ignore[…]``), by ``rules.<id>.ignore`` in the
    configuration, or by ``external`` (a ``zizmor.yml``'s ignores)."""
    detections: list[Detection] = []
    # Only an `ignore[…]` comment can suppress: one look at the text rather than one per
    # finding, which made detection quadratic in the size of the file.
    may_suppress = "ignore[" in workflow.doc.text
    for rule in rules:
        # A rule the configuration does not mention has default settings, which ignore no
        # path; asking the configuration would build those settings once per rule and file.
        if rule.id in config.rules and config.ignored(rule.id, workflow.path):
            continue
        for detection in rule.visit_workflow(workflow):
            finding = detection.finding
            owner = _owner_line(workflow, finding) if may_suppress else None
            if may_suppress and is_suppressed(workflow.doc, finding, owner):
                continue
            if external is not None and external.ignored(workflow.doc, finding):
                continue
            detections.append(detection)
    return detections


def load_external_ignores(root: Path) -> ExternalIgnores | None:
    """The suppressions of the repository's ``zizmor.yml``, if it has one; raises
    :class:`ConfigError` for a malformed one."""
    path = find_zizmor_config(root)
    if path is None:
        return None
    return external_ignores(load_zizmor_config(path), str(path))


def _owner_line(workflow: Workflow, finding: Finding) -> int | None:
    route = finding.location.route
    if len(route) >= 4 and route[0] == "jobs" and route[2] == "steps":
        return workflow.location(route[:4]).line
    return None


class RuleCrash(Exception):
    """A rule raised; reported as that file's error naming the rule, never a traceback."""


def _detect_safely(
    workflow: Workflow,
    rules: Sequence[WorkflowRule],
    config: Config,
    external: ExternalIgnores | None = None,
) -> list[Detection]:
    try:
        return detect(workflow, rules, config, external)
    except Exception as exc:  # a rule bug must not stop the other files
        raise RuleCrash(f"internal error in a rule: {type(exc).__name__}: {exc}") from exc


@dataclass
class FixRun:
    """What fixing one file to a fix-point did."""

    text: str
    """The final text (the input text when nothing was applied)."""
    applied: set[str] = field(default_factory=set)
    """Ids of the findings whose fix was applied."""
    refused: dict[str, str] = field(default_factory=dict)
    """Finding id → why its fix was not applied."""
    left: int = 0
    """Fixes still to try when :data:`MAX_FIX_ROUNDS` stopped fixing (0: fixing finished)."""


def fix_to_fixpoint(
    workflow: Workflow,
    text: str,
    rules: Sequence[WorkflowRule],
    config: Config,
    mode: FixMode,
    detections: list[Detection] | None = None,
    external: ExternalIgnores | None = None,
    *,
    together: bool = True,
    hold: FixHold | None = None,
) -> FixRun:
    """Apply allowed fixes round by round, re-running the rules after each round.

    A round applies the next fix alone, or together with the fixes of the same rule that
    follow it when the YAML engine proves their edits independent (:func:`apply_together`)
    and the rules, run again, find exactly the same detections minus those fixed: the result
    is then the text that applying them one at a time gives, at the cost of one round. When
    either check fails, the round applies the next fix alone (and that rule's fixes stay one
    at a time for this file).

    After a round of one rule's fixes the rules run again; when that rule declares the rules
    its fixes can reach (:attr:`~bot.detectors.interface.Rule.fixes_reach`), only those and
    itself run, and the other rules' detections are kept.

    ``detections`` are the rules' results on ``text`` when the caller already has them;
    ``together=False`` applies every fix alone and runs every rule after each (the reference
    the rounds must agree with).
    A fix ``hold`` gives a reason for is never applied: it is refused with that reason.
    A fix that does not make its own finding disappear is rolled back: a fix must resolve
    what it claims to. A fix that would rewrite a line carrying a suppression of its rule is
    refused: that place is a person's decision. The rules run once per text: a refused fix
    leaves the text, and so the detections, as they were. When :data:`MAX_FIX_ROUNDS` rounds
    did not finish, the fixes not yet tried are refused with a reason naming the limit, and
    :attr:`FixRun.left` counts them.
    """
    run = FixRun(text)
    current = workflow
    if detections is None:
        detections = _detect_safely(workflow, rules, config, external)
    # Rules whose fixes turned out not to be independent here (all of them without together).
    alone: set[str] = set() if together else {rule.id for rule in rules}
    for _ in range(MAX_FIX_ROUNDS):
        pending = _pending(detections, mode, run, hold)
        if not pending:
            return run
        batch = _fix_together(
            current, run.text, pending, rules, config, detections, alone, external, together
        )
        if batch is not None:
            run.text, detections, current, fixed = batch
            run.applied.update(fixed)
            continue
        candidate = pending[0]
        assert candidate.fix is not None  # noqa: S101 - _pending keeps fixable detections
        directive = protected_by(current.doc, candidate.fix.rule, candidate.fix.patches)
        if directive is not None:
            run.refused[candidate.finding.id] = (
                f"line {directive.line + 1} carries `# {directive.tool}: ignore"
                f"[{', '.join(directive.ids)}]`: a person marked it as intended, so mendbot "
                "does not edit it"
            )
            continue
        outcome = apply_operations(run.text, candidate.fix.patches)
        if not isinstance(outcome, Edited):
            run.refused[candidate.finding.id] = outcome.reason
            continue
        if not outcome.changed:
            run.refused[candidate.finding.id] = "the fix changes nothing, yet the finding remains"
            continue
        updated = parse_workflow(workflow.path, outcome.text, workflow.root)
        after = _detect_after_fix(
            updated, rules, config, external, detections, candidate.finding.rule, together
        )
        if any(d.finding.id == candidate.finding.id for d in after):
            run.refused[candidate.finding.id] = "the fix did not resolve the finding; rolled back"
            continue
        run.applied.add(candidate.finding.id)
        run.text, detections, current = outcome.text, after, updated
    pending = _pending(detections, mode, run, hold)
    run.left = len(pending)
    for detection in pending:
        run.refused[detection.finding.id] = (
            f"not tried: fixing this file stopped after {MAX_FIX_ROUNDS} rounds; "
            "run the fix again to continue"
        )
    return run


def _pending(
    detections: Sequence[Detection], mode: FixMode, run: FixRun, hold: FixHold | None = None
) -> list[Detection]:
    """The detections whose fix the mode allows and that were neither applied nor refused;
    those ``hold`` stops are recorded in ``run.refused`` with its reason instead."""
    pending = []
    for d in detections:
        if (
            d.fix is None
            or not mode.allows(d.fix.disposition)
            or d.finding.id in run.refused
            or d.finding.id in run.applied
        ):
            continue
        reason = hold(d.fix) if hold is not None else None
        if reason is not None:
            run.refused[d.finding.id] = reason
            continue
        pending.append(d)
    return pending


def _fix_together(
    workflow: Workflow,
    text: str,
    pending: Sequence[Detection],
    rules: Sequence[WorkflowRule],
    config: Config,
    detections: Sequence[Detection],
    alone: set[str],
    external: ExternalIgnores | None,
    scoped: bool = True,
) -> tuple[str, list[Detection], Workflow, set[str]] | None:
    """Apply the next fix and the independent fixes of its rule after it in one round.

    ``workflow`` is the parsed ``text``. Returns the new text, the detections on it, its
    parsed workflow and the ids fixed, or None (nothing changed) when fewer than two fixes
    can go together. A fix on a line a person suppressed its rule on ends the run: it is
    refused on its own.
    """
    rule = pending[0].finding.rule
    if rule in alone:
        return None
    batch = list(itertools.takewhile(lambda d: d.finding.rule == rule, pending))
    if "ignore[" in workflow.doc.text:  # only then can a suppression protect a line
        batch = list(
            itertools.takewhile(
                lambda d: (
                    d.fix is not None
                    and protected_by(workflow.doc, d.fix.rule, d.fix.patches) is None
                ),
                batch,
            )
        )
    if len(batch) < 2:
        return None
    edited = apply_together(text, [d.fix.patches for d in batch if d.fix is not None])
    if edited is None:
        return None
    fixed = {d.finding.id for d in batch[: edited.count]}
    updated = parse_workflow(workflow.path, edited.text, workflow.root)
    after = _detect_after_fix(updated, rules, config, external, detections, rule, scoped)
    unchanged = [(d.finding.id, d.fix) for d in detections if d.finding.id not in fixed]
    if [(d.finding.id, d.fix) for d in after] != unchanged:
        # A fix changed what the rules see beyond its own finding: one at a time keeps the
        # order in which each fix is computed on the text the previous one left.
        alone.add(rule)
        return None
    return edited.text, after, updated, fixed


def _detect_after_fix(
    workflow: Workflow,
    rules: Sequence[WorkflowRule],
    config: Config,
    external: ExternalIgnores | None,
    before: Sequence[Detection],
    fixed_rule: str,
    scoped: bool,
) -> list[Detection]:
    """The rules' detections on ``workflow``, the text a round of ``fixed_rule``'s fixes left.

    When ``scoped`` and that rule declares the rules its fixes can reach, only it and those
    run again; every other rule's detections are taken from ``before`` (its detections on the
    text before the round), which its declaration promises are still what it would find.
    Either way the list is in the order :func:`detect` gives: rule by rule.
    """
    fixer = next((rule for rule in rules if rule.id == fixed_rule), None)
    reach = fixer.fixes_reach if scoped and fixer is not None else None
    if reach is None:
        return _detect_safely(workflow, rules, config, external)
    rerun = {fixed_rule, *reach}
    fresh = _by_rule(
        _detect_safely(workflow, [r for r in rules if r.id in rerun], config, external)
    )
    kept = _by_rule(before)
    return [
        detection
        for rule in rules
        for detection in (fresh if rule.id in rerun else kept).get(rule.id, ())
    ]


def _by_rule(detections: Iterable[Detection]) -> dict[str, list[Detection]]:
    grouped: dict[str, list[Detection]] = {}
    for detection in detections:
        grouped.setdefault(detection.finding.rule, []).append(detection)
    return grouped


def analyze(
    targets: Sequence[Path],
    root: Path,
    config: Config,
    *,
    only_rules: Sequence[str] = (),
    fix_mode: FixMode | None = None,
    progress: Callable[[int, int], None] | None = None,
    refs: RefResolver | None = None,
    registry: RegistryResolver | None = None,
    now: datetime | None = None,
    jobs: int | None = 1,
    cache: ResultCache | None = None,
    hold: FixHold | None = None,
) -> Analysis:
    """Analyse ``targets`` (files or directories below ``root``).

    With ``fix_mode``, also compute the fixed text of every file (nothing is written), leaving
    out the fixes ``hold`` gives a reason for (reported unfixed with that reason).
    ``refs`` resolves action refs for pinning and ``registry`` image digests; without them
    the analysis is offline. ``now`` is the time desired-state rules measure ages to (default:
    the clock). ``jobs`` worker processes analyse the files (1: this process; None: as many as
    pays, :func:`~bot.analyze.workers.auto_jobs`); ``cache``
    serves the results of files analysed before with the same inputs (see
    :mod:`bot.analyze.result_cache`). Neither changes the result.
    Unreadable or invalid inputs become errors in the result; the others are analysed.
    """
    services = RuleServices(refs=refs, registry=registry, repository_root=root)
    external = load_external_ignores(root)
    inputs, errors = discover(targets, root)
    inputs = [item for item in inputs if not config.excluded(item.relative)]
    if cache is None and hold is None and worker_count(jobs, len(inputs)):
        # Every file will be analysed in workers: their fork server imports the rules on
        # another CPU while this process reads the files. (With a cache, only a miss starts it.)
        prepare_workers(FILE_JOB_MODULE)
    usage = (
        repository_usage(root) if any(needs_workflows(item.relative) for item in inputs) else None
    )
    moment = now or datetime.now(UTC)
    if hold is not None:
        # What is held comes from the branch's history, which the result cache does not key
        # on: a held run (only after a revert) is analysed in this process and never cached.
        jobs, cache = 1, None

    @once
    def file_job() -> FileJob:
        """The run's rules, made when a file must be analysed: a rescan that finds every
        file in the cache imports no rule."""
        from bot.analyze.file_job import FileJob

        rules = [
            rule
            for rule in select_rules(config, only_rules, services)
            if external is None or rule.id not in external.disabled
        ]
        kit = _DesiredKit(select_desired_rules(config, only_rules), moment, usage, hold)
        return FileJob(rules, config, fix_mode, root, external, kit)

    # Each file is read once: the cache keys, the prefetch and the analysis use this text.
    texts = read_texts(inputs)
    if refs is not None:
        _prefetch(refs, file_job().rules, texts)
    findings: list[Finding] = []
    fixes: list[Fix] = []
    applied: list[str] = []
    unfixed: list[Unfixed] = []
    limits: list[FixLimit] = []
    analysis = Analysis(result=AnalysisResult())
    analysed = 0
    tasks = [FileTask(item, text) for item, text in zip(inputs, texts, strict=True)]
    outcomes = _outcomes(file_job, tasks, root, jobs, cache, progress)
    for item, outcome in zip(inputs, outcomes, strict=True):
        if outcome is None:
            continue
        if isinstance(outcome, FileError):
            errors.append(outcome)
            continue
        analysed += 1
        detections, text, run = outcome
        fixed = run.text if run is not None and run.text != text else None
        applied_ids = run.applied if run is not None else set()
        refused = run.refused if run is not None else {}
        if run is not None and run.left:
            limits.append(FixLimit(path=item.relative, rounds=MAX_FIX_ROUNDS, unfixed=run.left))
        analysis.files[item.relative] = FileOutcome(original=text, fixed=fixed)
        analysis.paths[item.relative] = item.path
        for detection in detections:
            findings.append(detection.finding)
            fid = detection.finding.id
            if detection.fix is not None:
                fixes.append(detection.fix)
            if fid in applied_ids:
                applied.append(fid)
            elif fid in refused and detection.fix is not None:
                unfixed.append(_unfixed(detection.fix, refused[fid]))
            elif detection.fix is None and detection.no_fix_reason:
                unfixed.append(
                    Unfixed(
                        finding=fid,
                        rule=detection.finding.rule,
                        path=detection.finding.location.path,
                        reason=detection.no_fix_reason,
                    )
                )
    if any(is_desired_state(fix.path) for fix in fixes):
        from bot.analyze.second_order import agentic_use, mark_second_order

        fixes = list(mark_second_order(fixes, agentic_use(root)))
    analysis.result = AnalysisResult(
        findings=tuple(findings),
        fixes=tuple(fixes),
        applied=tuple(applied),
        unfixed=tuple(unfixed),
        errors=tuple(errors),
        files_analysed=analysed,
        fix_limits=tuple(limits),
    )
    return analysis


def _prefetch(
    refs: RefResolver, rules: Sequence[WorkflowRule], texts: Sequence[str | FileError | None]
) -> None:
    """Ask for the refs (and the API's answers) of every action the files use at once, when
    a rule of the run needs them."""
    from bot.detectors.online_uses import OnlineUsesRule
    from bot.detectors.pinned_refs import RefRule

    if not any(isinstance(rule, RefRule) for rule in rules):
        return
    repositories = action_repositories(text for text in texts if isinstance(text, str))
    refs.prefetch(repositories)
    if refs.api is not None and any(
        isinstance(rule, OnlineUsesRule) and rule.needs_api for rule in rules
    ):
        refs.api.prefetch(repositories)


def _lost(task: FileTask, why: str) -> FileResult:
    return FileResult(FileError(path=task.item.relative, message=f"not analysed: {why}"))


def _outcomes(
    job: Callable[[], FileJob],
    tasks: Sequence[FileTask],
    root: Path,
    jobs: int | None,
    cache: ResultCache | None,
    progress: Callable[[int, int], None] | None,
) -> list[_Outcome | FileError | None]:
    """Every input's outcome, in order: from the cache when it holds one, else analysed."""
    found: dict[int, _Outcome | FileError | None] = {}
    keys: dict[int, tuple[CacheKey, str]] = {}
    if cache is not None:
        for index, task in enumerate(tasks):
            item, text = task.item, task.text
            if item.link_target or is_desired_state(item.relative):
                continue  # links are fixed through their target; inventories age with "now"
            if not isinstance(text, str):
                continue
            keys[index] = (cache.key(item, root, text), text)
        # Every file is keyed before any entry is checked: an entry that depends on other
        # files (the workflow folder) is checked against the texts just read, not read again.
        for index, (key, text) in keys.items():
            cached = cache.load(key)
            if cached is not MISS:
                found[index] = _restored(cached, text)
    missing = [index for index in range(len(tasks)) if index not in found]
    # Without a file to analyse, no job is made: no rule is imported.
    results = []
    if missing:
        if worker_count(jobs, len(missing)):
            # Before this process imports the rules (job()): the fork server imports them on
            # the other CPU meanwhile instead of after it (a no-op when already started).
            prepare_workers(FILE_JOB_MODULE)
        results = run_files(job(), [tasks[i] for i in missing], jobs, _lost, progress)
    for index, result in zip(missing, results, strict=True):
        found[index] = result.outcome
        if cache is not None and index in keys and _storable(result.outcome):
            cache.store(keys[index][0], result)
    if cache is not None:
        cache.save()
    return [found[index] for index in range(len(tasks))]


def _storable(outcome: _Outcome | FileError | None) -> bool:
    """Whether the cache may keep ``outcome``: a result, or an error its bytes alone decide;
    never another error (a crash, a worker lost), which the next run may not repeat."""
    return not isinstance(outcome, FileError) or isinstance(outcome, InvalidFile)


def _restored(cached: Any, text: str) -> _Outcome | FileError | None:
    if cached is None or isinstance(cached, FileError):
        return cached
    detections, run = cached
    if run is None:
        return detections, text, None
    return (
        detections,
        text,
        FixRun(run["text"], set(run["applied"]), dict(run["refused"]), run["left"]),
    )


def _unfixed(fix: Fix, reason: str) -> Unfixed:
    return Unfixed(finding=fix.finding, rule=fix.rule, path=fix.path, reason=reason)


_Outcome = tuple[list[Detection], str, FixRun | None]


@dataclass(frozen=True)
class _DesiredKit:
    """What desired-state files are analysed with: their rules, the analysis' "now", and the
    fixes held back (see :func:`analyze`)."""

    rules: Sequence[DesiredStateRule]
    now: datetime
    usage: WorkflowUsage | None = None
    """What the repository's workflows read, when a GitHub inventory file is analysed."""
    hold: FixHold | None = None


def _analyse_guarded(
    item: Input,
    text: str | FileError | None,
    rules: Sequence[WorkflowRule],
    config: Config,
    fix_mode: FixMode | None,
    root: Path | None = None,
    external: ExternalIgnores | None = None,
    kit: _DesiredKit | None = None,
) -> _Outcome | FileError | None:
    """:func:`_analyse_one`, with any failure on this file turned into this file's error.

    One hostile or unexpected file (nesting deep enough to exhaust the interpreter's stack, a
    parser or engine bug) must never cost the other files their findings and fixes.
    """
    try:
        outcome = _analyse_one(
            item, text, rules, config, None if item.link_target else fix_mode, root, external, kit
        )
    except RecursionError:
        return FileError(
            path=item.relative,
            message="the YAML is nested too deeply to analyse; not analysed",
        )
    except Exception as exc:  # one file's failure must not stop the others
        return FileError(
            path=item.relative,
            message=f"internal error while analysing the file: {type(exc).__name__}: {exc}",
        )
    if item.link_target and fix_mode is not None and isinstance(outcome, tuple):
        detections, text, _ = outcome
        reason = (
            f"the file is a symlink to {item.link_target} and links are never rewritten: "
            f"fix {item.link_target} instead"
        )
        refused = {
            d.finding.id: reason
            for d in detections
            if d.fix is not None and fix_mode.allows(d.fix.disposition)
        }
        return detections, text, FixRun(text, refused=refused)
    return outcome


def _analyse_one(
    item: Input,
    text: str | FileError | None,
    rules: Sequence[WorkflowRule],
    config: Config,
    fix_mode: FixMode | None,
    root: Path | None = None,
    external: ExternalIgnores | None = None,
    kit: _DesiredKit | None = None,
) -> _Outcome | FileError | None:
    if text is None or isinstance(text, FileError):
        return text
    if is_desired_state(item.relative):
        kit = kit or _DesiredKit((), datetime.now(UTC))
        desired = analyse_desired(
            item.relative, text, kit.rules, config, fix_mode, kit.now, kit.usage, hold=kit.hold
        )
        if isinstance(desired, FileError):
            return desired
        return _desired_outcome(desired, text, fix_mode)
    try:
        workflow = parse_workflow(item.relative, text, root)
    except YamlParseError as exc:
        return InvalidFile(
            path=item.relative, message=exc.message, line=exc.line, column=exc.column
        )
    except NotAWorkflow as exc:
        if not item.explicit:
            return None
        return InvalidFile(path=item.relative, message=f"not a workflow: {exc}")
    try:
        detections = _detect_safely(workflow, rules, config, external)
        if fix_mode is None:
            return detections, text, None
        run = fix_to_fixpoint(
            workflow,
            text,
            rules,
            config,
            fix_mode,
            detections,
            external=external,
            hold=kit.hold if kit is not None else None,
        )
    except RuleCrash as exc:
        return FileError(path=item.relative, message=str(exc))
    except (YamlParseError, NotAWorkflow) as exc:
        return FileError(path=item.relative, message=f"a fix produced invalid YAML: {exc}")
    return detections, text, run


def _desired_outcome(run: DesiredRun, original: str, fix_mode: FixMode | None) -> _Outcome:
    if fix_mode is None:
        return run.detections, original, None
    return run.detections, original, FixRun(run.text, applied=run.applied, refused=run.refused)
