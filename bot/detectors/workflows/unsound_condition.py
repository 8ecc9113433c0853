"""``gha-unsound-condition``: an ``if:`` that is a string, so it is always true."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, ClassVar

from bot.detectors.interface import Detection, WorkflowRule
from bot.models import Severity
from bot.risk import Disposition
from bot.workflow.model import Job, Workflow
from bot.yamledit.document import Route
from bot.yamledit.ops import Replace

_FENCE = re.compile(r"\$\{\{.*?\}\}", re.DOTALL)


def unsound(condition: Any) -> str | None:
    """Why ``condition`` is always true, or None when it is evaluated as an expression.

    GitHub evaluates ``if:`` as an expression only when the whole value is one ``${{ … }}``
    (or has no fence at all); any text around a fence — a block scalar's trailing newline,
    a space, a second fence — turns it into a non-empty string, which is truthy.
    """
    if not isinstance(condition, str) or "${{" not in condition:
        return None
    fences = _FENCE.findall(condition)
    stripped = condition.strip()
    if len(fences) == 1 and stripped == fences[0]:
        if condition == stripped:
            return None
        return "whitespace around the `${{ … }}` (a block scalar's trailing newline?)"
    return "text outside the `${{ … }}` fence makes it a string"


class UnsoundCondition(WorkflowRule):
    """Report ``if:`` values that GitHub treats as an always-true string."""

    id: ClassVar[str] = "gha-unsound-condition"
    title: ClassVar[str] = "`if:` condition is always true"
    description: ClassVar[str] = (
        "GitHub evaluates `if:` as an expression only when the whole value is a single "
        "`${{ … }}` (or has no fence). `if: |` followed by a fenced expression keeps the block "
        'scalar\'s trailing newline, so the value is the *string* `"${{ … }}\\n"`, which is '
        "always true: the guard you wrote never applies. The fix strips the newline (`|` → "
        "`|-`, `>` → `>-`) or the surrounding spaces. **Safe**: it makes the condition mean "
        "what it says; a value with text or several fences around the expression is reported "
        "only, because the intended expression is for a person to write."
    )
    default_severity: ClassVar[Severity] = Severity.HIGH
    fix_disposition: ClassVar[Disposition | None] = Disposition.SAFE
    example_before: ClassVar[str] = """\
on: pull_request
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - if: |
          ${{ github.event.pull_request.merged }}
        run: ./deploy.sh
"""
    example_after: ClassVar[str] = """\
on: pull_request
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - if: |-
          ${{ github.event.pull_request.merged }}
        run: ./deploy.sh
"""

    def visit_job(self, job: Job) -> Iterator[Detection]:
        """Check the job's ``if:`` and every step's ``if:``."""
        yield from self._check(job.workflow, (*job.route, "if"), job.data.get("if"))
        for step in job.steps:
            yield from self._check(job.workflow, (*step.route, "if"), step.data.get("if"))

    def _check(self, workflow: Workflow, route: Route, condition: Any) -> Iterator[Detection]:
        why = unsound(condition)
        if why is None:
            return
        assert isinstance(condition, str)  # noqa: S101 - unsound() only accepts strings
        finding = self.finding(
            workflow,
            route,
            f"this condition is always true: {why}",
            evidence=condition.strip(),
        )
        if len(_FENCE.findall(condition)) != 1 or condition.strip() != _FENCE.findall(condition)[0]:
            yield Detection(
                finding, None, "the intended single expression is for a person to write"
            )
            return
        patch = Replace(route=route, value=condition.strip())
        yield Detection(
            finding, self.fix(finding, "evaluate the condition as an expression", [patch])
        )
