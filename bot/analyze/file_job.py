"""The job that analyses one file of a run, in this process or in a worker process.

This module imports every rule, the pipeline does not: :func:`bot.analyze.pipeline.analyze`
imports it only when a file must be analysed, so a rescan that finds every file in the result
cache loads no rule, while a worker's fork server, which preloads the job's module
(:mod:`bot.analyze.workers`), starts its workers with every rule loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bot.detectors.rule_registry  # noqa: F401 - loaded with the job: see the module docstring
from bot import outside_reads
from bot.analyze.pipeline import _analyse_guarded, _DesiredKit
from bot.analyze.result_cache import FileResult
from bot.analyze.workers import FileTask
from bot.config import Config
from bot.detectors.interface import WorkflowRule
from bot.detectors.suppression import ExternalIgnores
from bot.models import FixMode


@dataclass(frozen=True)
class FileJob:
    """Analyse one file with the run's rules, noting what it read besides the file; pickled
    into worker processes."""

    rules: Sequence[WorkflowRule]
    config: Config
    fix_mode: FixMode | None
    root: Path
    external: ExternalIgnores | None
    kit: _DesiredKit
    seen: dict[outside_reads.Read, Any] = field(default_factory=dict, compare=False)
    """What this run read outside its files: each read once per run (and per worker)."""

    def __call__(self, task: FileTask) -> FileResult:
        with outside_reads.recording() as reads, outside_reads.one_state(self.seen):
            outcome = _analyse_guarded(
                task.item,
                task.text,
                self.rules,
                self.config,
                self.fix_mode,
                self.root,
                self.external,
                self.kit,
            )
        return FileResult(outcome, frozenset(reads))
