"""Analyse what the user named, repository by repository, and say when a name yields nothing.

A folder holding several checkouts (``DIR/r1/.github/…``, ``DIR/r2/.github/…``) is analysed one
repository at a time: each repository is the root its rules see and its own
``.github/mendbot.yml`` applies (unless ``--config`` names one file for all). Reports name every
file relative to the folder the user named, so the repositories' results merge into one report.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.analyze.inputs import is_repository
from bot.analyze.pipeline import Analysis, analyze
from bot.config import Config
from bot.models import AnalysisResult, FileError, Finding, Fix, Unfixed


@dataclass(frozen=True)
class Scope:
    """One analysis run: the folder its rules and configuration see, and what it reads."""

    root: Path
    targets: tuple[Path, ...]
    prefix: str
    """Prepended to the scope's report names to make them relative to the report root."""


def scopes(targets: Sequence[Path], report_root: Path) -> list[Scope]:
    """Split ``targets`` into one scope per repository, plus one for everything else.

    A named folder that is a repository (it holds ``.github``) is one scope; a named folder
    that is not contributes a scope per repository below it (found without following links,
    never inside another repository) and its remaining YAML files to the shared scope.
    """
    shared: list[Path] = []
    found: list[Scope] = []
    for target in targets:
        if not target.is_dir():
            shared.append(target)
            continue
        repositories = [target] if is_repository(target) else _repositories_below(target)
        found += [Scope(r, (r,), _prefix(r, report_root)) for r in repositories]
        if not is_repository(target):
            shared.append(target)
    if shared:
        found.append(Scope(report_root, tuple(shared), ""))
    return found


def enclosing_repository(targets: Sequence[Path]) -> Path | None:
    """The one repository every target lies inside (below its top, not the top itself), when
    there is one: run from ``.github/workflows`` or on a single workflow file, the repository's
    own configuration applies and paths are reported from its top, as in every other run.

    The top is the nearest folder with ``.git``, else the nearest with ``.github``; a target
    that is itself a repository, or targets in different repositories, give None.
    """
    tops = set()
    for target in targets:
        absolute = Path(os.path.abspath(target))
        if absolute.is_dir() and is_repository(absolute):
            return None
        top = _nearest(absolute, lambda folder: (folder / ".git").exists())
        top = top or _nearest(absolute, is_repository)
        if top is None:
            return None
        tops.add(top)
    return tops.pop() if len(tops) == 1 else None


def _nearest(path: Path, marks: Callable[[Path], bool]) -> Path | None:
    for folder in path.parents:
        if marks(folder):
            return folder
    return None


def _repositories_below(folder: Path) -> list[Path]:
    repositories: list[Path] = []
    for dirpath, dirnames, _ in os.walk(folder, followlinks=False):
        keep = []
        for name in sorted(dirnames):
            child = Path(dirpath) / name
            if name.startswith(".git"):  # as discovery: `.git`, `.github` hold no checkouts
                continue
            if is_repository(child) and not child.is_symlink():
                repositories.append(child)
            else:
                keep.append(name)
        dirnames[:] = keep
    return repositories


def _prefix(folder: Path, report_root: Path) -> str:
    try:
        relative = folder.absolute().relative_to(report_root.absolute()).as_posix()
    except ValueError:
        relative = folder.as_posix()
    return "" if relative == "." else f"{relative}/"


def analyze_named(
    targets: Sequence[Path],
    report_root: Path,
    config_for: Callable[[Path], Config],
    run: Callable[[Sequence[Path], Path, Config], Analysis] | None = None,
    *,
    implicit: bool = False,
) -> Analysis:
    """Analyse ``targets`` scope by scope (see :func:`scopes`) and merge the results.

    ``config_for(root)`` gives each scope's configuration (it may raise
    :class:`~bot.errors.ConfigError`); ``run`` analyses one scope (default: :func:`analyze`
    with no options). Each target that yields no analysed file gets an error saying so, so a
    named path never looks like a clean result; with ``implicit`` (the user named nothing,
    the current folder is the default) it is a warning instead.
    """
    analyse = run or (lambda t, r, c: analyze(t, r, c))
    merged = Analysis(result=AnalysisResult())
    for scope in scopes(targets, report_root):
        part = analyse(list(scope.targets), scope.root, config_for(scope.root))
        _merge(merged, _prefixed(part, scope.prefix) if scope.prefix else part)
    errors = list(merged.result.errors)
    for target in targets:
        name = _prefix(target, report_root).rstrip("/") or "."
        if _analysed_any(merged, name) or _failed(errors, name):
            continue
        errors.append(
            FileError(
                path=name if name != "." else str(target),
                message=_nothing_message(target),
                skipped=implicit,
            )
        )
    merged.result = merged.result.model_copy(update={"errors": tuple(errors)})
    return merged


def _nothing_message(target: Path) -> str:
    if target.is_dir():
        return (
            "nothing analysed: no workflow (.github/workflows/*.yml), composite action, "
            "Dependabot configuration or desired-state file (.mendbot/desired/) was found here"
        )
    return "nothing analysed: the file was skipped (see above) or excluded by the configuration"


def _under(name: str, target: str) -> bool:
    return target == "." or name == target or name.startswith(f"{target}/")


def _analysed_any(analysis: Analysis, target: str) -> bool:
    return any(_under(name, target) for name in analysis.files)


def _failed(errors: Sequence[FileError], target: str) -> bool:
    return any(not e.skipped and _under(e.path, target) for e in errors)


def _merge(into: Analysis, part: Analysis) -> None:
    a, b = into.result, part.result
    into.result = AnalysisResult(
        findings=a.findings + b.findings,
        fixes=a.fixes + b.fixes,
        applied=a.applied + b.applied,
        unfixed=a.unfixed + b.unfixed,
        errors=a.errors + b.errors,
        files_analysed=a.files_analysed + b.files_analysed,
        fix_limits=a.fix_limits + b.fix_limits,
    )
    into.files.update(part.files)
    into.paths.update(part.paths)


def _prefixed(analysis: Analysis, prefix: str) -> Analysis:
    """``analysis`` with every report name prefixed (finding ids follow their new paths)."""
    ids: dict[str, str] = {}

    def finding(f: Finding) -> Finding:
        # Built anew rather than copied: a copy would carry the cached id of the old path.
        fields = {name: getattr(f, name) for name in Finding.model_fields}
        location = f.location.model_copy(update={"path": prefix + f.location.path})
        moved = Finding(**{**fields, "location": location})
        ids[f.id] = moved.id
        return moved

    result = analysis.result
    findings = tuple(finding(f) for f in result.findings)

    def fix(x: Fix) -> Fix:
        return x.model_copy(update={"path": prefix + x.path, "finding": ids.get(x.finding, "")})

    def unfixed(u: Unfixed) -> Unfixed:
        return u.model_copy(update={"path": prefix + u.path, "finding": ids.get(u.finding, "")})

    moved = Analysis(
        result=AnalysisResult(
            findings=findings,
            fixes=tuple(fix(x) for x in result.fixes),
            applied=tuple(ids.get(i, i) for i in result.applied),
            unfixed=tuple(unfixed(u) for u in result.unfixed),
            errors=tuple(e.model_copy(update={"path": prefix + e.path}) for e in result.errors),
            files_analysed=result.files_analysed,
            fix_limits=tuple(
                limit.model_copy(update={"path": prefix + limit.path})
                for limit in result.fix_limits
            ),
        )
    )
    moved.files = {prefix + name: outcome for name, outcome in analysis.files.items()}
    moved.paths = {prefix + name: path for name, path in analysis.paths.items()}
    return moved
