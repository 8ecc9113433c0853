"""``gha-forbidden-uses``: actions the repository's own allow or deny list rules out."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.detectors.interface import Detection, WorkflowRule
from bot.models import Severity
from bot.workflow.model import Uses, Workflow
from bot.yamledit.document import Route

_PATTERN = r"^(\*|[^/@\s*]+/(\*|[^/@\s*]+(/[^@\s]+)?))(@[^\s*]+)?$"
_NO_FIX = "which action to use instead is the repository's decision: replace the step by hand"


class ForbiddenUsesOptions(BaseModel):
    """``rules.gha-forbidden-uses.options``: exactly one of ``allow`` and ``deny``."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    allow: tuple[str, ...] | None = Field(default=None)
    """Only actions matching one of these patterns may be used; every other is reported."""
    deny: tuple[str, ...] | None = Field(default=None)
    """Actions matching one of these patterns are reported; every other may be used."""

    @model_validator(mode="after")
    def _one_list(self) -> ForbiddenUsesOptions:
        if self.allow is not None and self.deny is not None:
            raise ValueError("set either `allow` or `deny`, not both")
        for pattern in (*(self.allow or ()), *(self.deny or ())):
            if not re.match(_PATTERN, pattern):
                raise ValueError(
                    f"{pattern!r} is not an action pattern: write `*`, `owner/*`, "
                    "`owner/repo`, `owner/repo/path` or `owner/repo/*`, optionally with `@ref`"
                )
        return self


def matches(pattern: str, uses: Uses) -> bool:
    """Whether ``uses`` is one of the actions ``pattern`` names (owner and repository
    case-insensitively; ``owner/repo`` covers the repository's sub-path actions too; a ref,
    when given, must be the one written)."""
    slug_pattern, _, ref = pattern.partition("@")
    if ref and ref != uses.ref:
        return False
    slug_pattern = slug_pattern.lower()
    repository = f"{uses.owner}/{uses.repo}".lower()
    return fnmatch.fnmatchcase(uses.slug, slug_pattern) or fnmatch.fnmatchcase(
        repository, slug_pattern
    )


class ForbiddenUses(WorkflowRule):
    """Report ``uses:`` of actions outside the configured allow list or inside the deny list."""

    id: ClassVar[str] = "gha-forbidden-uses"
    title: ClassVar[str] = "action forbidden by the repository's policy"
    description: ClassVar[str] = (
        "An organisation may decide which third-party actions its workflows may run (only "
        "its own and GitHub's, or anything but a few it distrusts). Configure one list; "
        "without one the rule reports nothing:\n\n"
        "```yaml\n"
        "rules:\n"
        "  gha-forbidden-uses:\n"
        "    options:\n"
        "      allow:            # or deny:, not both\n"
        "        - actions/*\n"
        "        - github/codeql-action\n"
        "        - pypa/gh-action-pypi-publish@release/v1\n"
        "```\n\n"
        "A pattern is `*`, `owner/*`, `owner/repo` (its sub-path actions included), "
        "`owner/repo/path` or `owner/repo/*`, optionally with `@ref` (then only that ref "
        "matches); owners and repositories compare case-insensitively. Steps and "
        "reusable-workflow calls are checked; local (`./…`) and `docker://` uses are not. "
        "A malformed pattern is a configuration error naming the pattern. Report only.\n\n"
        "Compared with zizmor's `forbidden-uses` (configured in `zizmor.yml` under "
        "`rules.forbidden-uses.config`): the same patterns and semantics; mendbot reads its "
        "own `.github/mendbot.yml`."
    )
    default_severity: ClassVar[Severity] = Severity.HIGH
    options_model: ClassVar[type[BaseModel] | None] = ForbiddenUsesOptions

    def visit_workflow(self, workflow: Workflow) -> Iterator[Detection]:
        """Check every step's and every job's ``uses:``."""
        options = self.options
        if not isinstance(options, ForbiddenUsesOptions):
            return
        if options.allow is None and options.deny is None:
            return
        steps = [step for job in workflow.jobs for step in job.steps]
        for step in [*steps, *workflow.action_steps]:
            if step.uses is not None:
                yield from self._check(workflow, (*step.route, "uses"), step.uses, options)
        for job in workflow.jobs:
            if job.uses is not None:
                yield from self._check(workflow, (*job.route, "uses"), job.uses, options)

    def _check(
        self, workflow: Workflow, route: Route, uses: Uses, options: ForbiddenUsesOptions
    ) -> Iterator[Detection]:
        if uses.local or uses.docker or not uses.owner:
            return
        if options.allow is not None:
            if any(matches(p, uses) for p in options.allow):
                return
            why = "is not on the allow list of `rules.gha-forbidden-uses`"
        else:
            denied = next((p for p in options.deny or () if matches(p, uses)), None)
            if denied is None:
                return
            why = f"matches `{denied}` on the deny list of `rules.gha-forbidden-uses`"
        message = f"`{uses.raw.strip()}` {why}"
        finding = self.finding(workflow, route, message, evidence=uses.raw.strip())
        yield Detection(finding, None, _NO_FIX)
