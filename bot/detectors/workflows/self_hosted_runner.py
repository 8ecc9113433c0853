"""``gha-self-hosted-runner``: a job runs on a self-hosted runner."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.detectors.interface import Detection, WorkflowRule
from bot.models import Confidence, Severity
from bot.workflow import expression_tree as expr
from bot.workflow.model import Job

NO_FIX = (
    "moving a job to a GitHub-hosted runner changes its hardware, network and installed "
    "software; decide by hand (or make the self-hosted runners ephemeral and isolated)"
)

#: Triggers through which people without write access start runs.
_OUTSIDE_TRIGGERS = frozenset({"pull_request", "pull_request_target", "issue_comment", "fork"})
#: Triggers only people (or tokens) with write access to the repository can cause: pushing,
#: scheduling, dispatching, releasing, creating or deleting refs, deploying, merge queues.
WRITERS_ONLY = frozenset(
    {
        "push",
        "schedule",
        "workflow_dispatch",
        "repository_dispatch",
        "merge_group",
        "release",
        "create",
        "delete",
        "deployment",
        "deployment_status",
        "registry_package",
        "page_build",
    }
)


class SelfHostedRunnerOptions(BaseModel):
    """``rules.gha-self-hosted-runner.options``."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    visibility: Literal["public", "private", "unknown"] = "unknown"
    """The repository's visibility: mendbot cannot tell offline. ``public`` makes findings
    high, ``private`` low, ``unknown`` medium."""
    labels: tuple[str, ...] = Field(default=())
    """Extra runner labels (``fnmatch`` globs, case-insensitive) that name self-hosted runners,
    for runners targeted without the ``self-hosted`` label."""


_SEVERITY = {"public": Severity.HIGH, "private": Severity.LOW, "unknown": Severity.MEDIUM}


class SelfHostedRunner(WorkflowRule):
    """Report jobs whose ``runs-on`` selects a self-hosted runner."""

    id: ClassVar[str] = "gha-self-hosted-runner"
    title: ClassVar[str] = "job runs on a self-hosted runner"
    description: ClassVar[str] = (
        "Self-hosted runners are not wiped between jobs unless they are set up to be "
        "ephemeral: a job that runs untrusted code (a pull request from a fork, a compromised "
        "dependency) can persist on the machine, read later jobs' secrets and reach the "
        "network the runner sits in. GitHub advises against them in public repositories. A job "
        "is reported when `runs-on` includes the `self-hosted` label or a label from the "
        "`labels` option, when a matrix used in `runs-on` can expand to one, and (with low "
        "confidence) when it names a runner `group` (groups usually hold self-hosted runners, "
        "but also larger GitHub-hosted ones). A workflow whose every trigger only people with "
        "write access can cause (`push`, `schedule`, `workflow_dispatch`, "
        "`repository_dispatch`, `merge_group`, `release`, `create`, `delete`, `deployment`, "
        "`deployment_status`, `registry_package`, `page_build`) is not reported: whoever can "
        "start it can already push code that runs on the runner. `workflow_call` counts as "
        "unknown (the caller decides), so a reusable workflow stays reported. "
        "Whether the repository is public cannot be known "
        "offline: set `visibility`. Findings are **high** for `public`, **low** for `private` "
        "and **medium** for `unknown` (the default). Report only.\n\n"
        "```yaml\n"
        "rules:\n"
        "  gha-self-hosted-runner:\n"
        "    options:\n"
        "      visibility: public            # public | private | unknown\n"
        '      labels: ["gpu-*", build-farm]  # runner labels that are self-hosted (globs)\n'
        "```\n\n"
        "Compared with zizmor's `self-hosted-runner` (an auditor-persona audit): the same "
        "jobs, matrix expansions included; neither resolves other expressions "
        "(`${{ inputs.runner }}`). zizmor has no notion of custom self-hosted labels or of the "
        "repository's visibility and grades every finding medium."
    )
    default_severity: ClassVar[Severity] = Severity.MEDIUM
    options_model: ClassVar[type[BaseModel] | None] = SelfHostedRunnerOptions
    example_before: ClassVar[str] = """\
on: pull_request
jobs:
  test:
    runs-on: [self-hosted, linux, x64]
    steps:
      - run: make test
"""
    example_after: ClassVar[str] = example_before

    @property
    def _options(self) -> SelfHostedRunnerOptions:
        options = self.options
        return (
            options if isinstance(options, SelfHostedRunnerOptions) else SelfHostedRunnerOptions()
        )

    def _self_hosted(self, label: str) -> bool:
        lowered = label.strip().lower()
        if lowered == "self-hosted":
            return True
        return any(fnmatch.fnmatchcase(lowered, p.lower()) for p in self._options.labels)

    def visit_job(self, job: Job) -> Iterator[Detection]:
        """Check the job's ``runs-on``."""
        raw = job.data.get("runs-on")
        if raw is None:
            return
        how, confidence = self._classify(job, raw)
        if how is None:
            return
        triggers = job.workflow.triggers
        if triggers and triggers <= WRITERS_ONLY:
            return  # whoever can start it can already push code that runs there
        visibility = self._options.visibility
        outside = sorted(job.workflow.triggers & _OUTSIDE_TRIGGERS)
        if visibility == "unknown":
            message = (
                f"this job {how}; if the repository is public, anyone who can trigger it may run "
                "code on that machine (set `visibility` in this rule's options to grade this)"
            )
        elif visibility == "public":
            message = f"this job {how} in a public repository, where self-hosted runners are unsafe"
        else:
            message = f"this job {how}; the repository is private, so only members can trigger it"
        if outside and visibility != "private":
            message += f"; the workflow runs on `{outside[0]}`, which outside contributors trigger"
        finding = self.finding(
            job.workflow,
            (*job.route, "runs-on"),
            message,
            evidence=f"runs-on: {raw}",
            confidence=confidence,
            severity=_SEVERITY[visibility],
        )
        yield Detection(finding, None, NO_FIX)

    def _classify(self, job: Job, raw: Any) -> tuple[str | None, Confidence]:
        if isinstance(raw, dict) and "group" in raw:
            labels = raw.get("labels")
            listed = [labels] if isinstance(labels, str) else labels
            if isinstance(listed, list) and any(self._self_hosted(str(x)) for x in listed):
                return "runs on a self-hosted runner", Confidence.HIGH
            return f"runs in the runner group `{raw.get('group')}`", Confidence.LOW
        labels = job.runs_on
        if any(self._self_hosted(label) for label in labels):
            return "runs on a self-hosted runner", Confidence.HIGH
        for label in labels:
            values = _matrix_values(job, label)
            if values and any(self._self_hosted(v) for v in values):
                return (
                    "runs on a self-hosted runner for some matrix combinations",
                    Confidence.HIGH,
                )
        return None, Confidence.LOW


def _matrix_values(job: Job, label: str) -> list[str]:
    """The labels a ``${{ matrix.<key> }}`` label can expand to (empty when unknown)."""
    bare = expr.fenced(label)
    if bare is None:
        return []
    try:
        tree = expr.parse(bare)
    except expr.ExpressionError:
        return []
    if not isinstance(tree, expr.Context) or len(tree.parts) < 2:
        return []
    if tree.parts[0] != "matrix":
        return []
    strategy = job.data.get("strategy")
    matrix = strategy.get("matrix") if isinstance(strategy, dict) else None
    if not isinstance(matrix, dict):
        return []
    key = next((k for k in matrix if str(k).lower() == tree.parts[1]), None)
    found: list[Any] = []
    if key is not None and isinstance(matrix[key], list):
        excluded = [
            entry[key]
            for entry in matrix.get("exclude") or []
            if isinstance(entry, dict) and list(entry) == [key]
        ]
        found.extend(v for v in matrix[key] if v not in excluded)
    for entry in matrix.get("include") or []:
        if isinstance(entry, dict):
            for k, v in entry.items():
                if str(k).lower() == tree.parts[1]:
                    found.append(v)
    values: list[str] = []
    rest = tree.parts[2:]
    for value in found:
        for part in rest:
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, dict):
            value = value.get("labels")
        if isinstance(value, str):
            values.append(value)
        elif isinstance(value, list):
            values.extend(str(v) for v in value)
    return values
