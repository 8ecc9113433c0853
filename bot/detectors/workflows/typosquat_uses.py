"""``gha-typosquat-uses``: a ``uses:`` whose owner imitates the owner of a popular action."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, field_validator

from bot.detectors.interface import Detection, WorkflowRule
from bot.detectors.lookalike_names import LookalikeIndex
from bot.knowledge.popular_actions import popular_actions
from bot.models import Confidence, Severity
from bot.workflow.model import Job, Step, Uses, Workflow
from bot.yamledit.document import Route

_NO_FIX = (
    "mendbot cannot tell which action was meant: if it is the popular one, correct the owner "
    "and pin the commit you reviewed; if this owner is intended (a fork you trust), add it to "
    "`rules.gha-typosquat-uses.options.allow` or suppress the line"
)


class TyposquatOptions(BaseModel):
    """``rules.gha-typosquat-uses.options``."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    popular: tuple[str, ...] = ()
    """More `owner/repo` names to protect besides the shipped list (your organisation's own
    actions)."""
    allow: tuple[str, ...] = ()
    """`owner/repo` names that resemble a popular action on purpose (a fork you maintain):
    never reported."""

    @field_validator("popular", "allow")
    @classmethod
    def _owner_repo(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        for name in names:
            owner, slash, repo = name.partition("/")
            if not (owner and slash and repo) or "/" in repo:
                raise ValueError(f"{name!r} is not owner/repo")
        return tuple(name.lower() for name in names)


class TyposquatUses(WorkflowRule):
    """Report actions and reusable workflows whose name imitates a popular action."""

    id: ClassVar[str] = "gha-typosquat-uses"
    title: ClassVar[str] = "action name imitates a popular action"
    description: ClassVar[str] = (
        "A typosquatter registers an owner one keystroke away from a popular one (`action/"
        "checkout`, `actlons/checkout`, `dokcer/login-action`) and publishes a working copy of "
        "the action with a payload: a workflow that mistypes the name runs the squatter's code "
        "with the job's token and secrets. Reported: a step's, a composite action step's or a "
        "reusable workflow call's `uses:` whose repository name is that of a popular action "
        "(ignoring case, separators and look-alike characters) under an owner that is one "
        "typo away from the popular owner (a character left out, added, repeated, changed or "
        "two swapped; owners of four characters or more), uses look-alike characters (`0`/`o`, "
        "`1`/`l`/`i`, `rn`/`m`, `vv`/`w`), changes its separators (`astral_sh`) or joins the "
        "owner and the repository name (`actions-checkout/checkout`). The popular actions are "
        "an offline list of about 600 (`bot/knowledge/popular_actions.txt`, its sources in its "
        "header), so the rule works offline.\n\n"
        "Not reported, because precision matters more here than recall: a different owner "
        "with the same repository name that is not a near miss of the popular owner (forks "
        "and organisations' mirrors), an owner that publishes a listed action itself, and a "
        "misspelt repository under the popular owner (`actions/check-out`): only that owner "
        "can create it, so it fails instead of running someone else's code. High severity, "
        "medium confidence (offline, mendbot cannot tell whether the look-alike repository "
        "exists). Report only: which action was meant is for a person to say. Options: "
        "`popular` adds your own actions to protect, `allow` lists intended look-alikes.\n\n"
        "```yaml\nrules:\n  gha-typosquat-uses:\n    options:\n"
        "      popular: [my-org/deploy-action]\n      allow: [my-0rg/deploy-action]\n```\n\n"
        "Compared with zizmor's `typosquat-uses`: zizmor compares the whole `owner/repo` with "
        "its own list of popular actions by one omitted character, swapped words or keyboard "
        "typo, skipping the popular owner itself (low confidence offline, high when its API "
        "says the repository exists); mendbot also folds look-alike characters and separators "
        "and catches owners that join the owner and repository names, but ignores a typo in "
        "the repository name under an unrelated owner (zizmor reports `cations/checkout` and "
        "mendbot does too; neither reports `actions/chckout`)."
    )
    default_severity: ClassVar[Severity] = Severity.HIGH
    default_confidence: ClassVar[Confidence] = Confidence.MEDIUM
    options_model: ClassVar[type[BaseModel] | None] = TyposquatOptions
    example_before: ClassVar[str] = """\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actlons/checkout@v4
"""
    example_after: ClassVar[str] = example_before

    @cached_property
    def _options(self) -> TyposquatOptions:
        return self.options if isinstance(self.options, TyposquatOptions) else TyposquatOptions()

    @cached_property
    def _index(self) -> LookalikeIndex:
        return _shipped_index(self._options.popular)

    def visit_job(self, job: Job) -> Iterator[Detection]:
        """Check a reusable-workflow call's ``uses:``, then every step's."""
        if job.uses is not None:
            yield from self._check(job.workflow, (*job.route, "uses"), job.uses)
        for step in job.steps:
            yield from self.visit_step(step)

    def visit_step(self, step: Step) -> Iterator[Detection]:
        """Check a step's ``uses:``."""
        if step.uses is not None:
            yield from self._check(step.workflow, (*step.route, "uses"), step.uses)

    def _check(self, workflow: Workflow, route: Route, uses: Uses) -> Iterator[Detection]:
        if not uses.owner or not uses.repo:
            return
        name = f"{uses.owner}/{uses.repo}"
        if name.lower() in self._options.allow:
            return
        lookalike = self._index.resembles(uses.owner, uses.repo)
        if lookalike is None:
            return
        message = (
            f"`{name}` {lookalike.how} `{lookalike.popular}`, a popular action: whoever "
            f"controls the owner `{uses.owner}` runs code in this job with its token and secrets"
        )
        finding = self.finding(workflow, route, message, evidence=f"uses: {uses.raw.strip()}")
        yield Detection(finding, None, _NO_FIX)


_INDEXES: dict[tuple[str, ...], LookalikeIndex] = {}


def _shipped_index(extra: tuple[str, ...]) -> LookalikeIndex:
    """The index of the shipped list plus ``extra``, built once per process and list."""
    index = _INDEXES.get(extra)
    if index is None:
        index = _INDEXES[extra] = LookalikeIndex([*popular_actions(), *extra])
    return index
