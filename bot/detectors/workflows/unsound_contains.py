"""``gha-unsound-contains``: ``contains('a b', x)`` used as "x is one of a, b"."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, ClassVar

from bot.detectors.interface import Detection, WorkflowRule
from bot.knowledge.contexts import Provenance, provenance
from bot.models import Confidence, Severity
from bot.risk import Disposition
from bot.workflow.expression_tree import Call, Context, Literal, Node, parse_condition, walk
from bot.workflow.model import Job, Workflow
from bot.yamledit.document import Route
from bot.yamledit.ops import RewriteFragment

#: Contexts a person outside the repository chooses (a branch name, a login) or that any
#: step of the job can set (``env``), on top of what :func:`provenance` calls attacker-set.
_CHOSEN = (
    "github.ref",
    "github.ref_name",
    "github.head_ref",
    "github.base_ref",
    "github.actor",
    "github.triggering_actor",
    "github.sha",
    "env",
    "inputs",
)
_SEPARATORS = re.compile(r"[\s,;|]+")
#: Items that can be written as JSON inside a single-quoted expression string unchanged.
_PLAIN_ITEM = re.compile(r"^[^\s'\"\\]+$")

FIX_REASON = (
    "the list keeps every value it names, and a value that is only part of it (`main` in "
    "`refs/heads/main`, `mai`, or text spanning two entries) stops matching: that is the "
    "bypass this closes, but a condition that relied on partial matches would change, so "
    "review it"
)


def _chosen(context: Context) -> bool:
    path = context.path
    return provenance(path) is Provenance.ATTACKER or any(
        path == c or path.startswith(c + ".") for c in _CHOSEN
    )


def unsound_calls(tree: Node) -> list[tuple[Literal, Context]]:
    """Each ``contains('<text>', <context>)`` in ``tree``: a substring test of a context."""
    found: list[tuple[Literal, Context]] = []
    for node in walk(tree):
        if not (isinstance(node, Call) and node.name == "contains" and len(node.args) == 2):
            continue
        text, value = node.args
        if isinstance(text, Literal) and isinstance(text.value, str) and isinstance(value, Context):
            found.append((text, value))
    return found


def as_list(text: str) -> str | None:
    """``fromJSON('["a", "b"]')`` for the list ``text`` spells (``'a b'``, ``'a,b'``), or None
    when an entry would need escaping or the text names nothing."""
    items = [item for item in _SEPARATORS.split(text) if item]
    if not items or not all(_PLAIN_ITEM.match(item) for item in items):
        return None
    return "fromJSON('" + json.dumps(items, ensure_ascii=False) + "')"


class UnsoundContains(WorkflowRule):
    """Report ``contains('<list as text>', <context>)`` conditions."""

    id: ClassVar[str] = "gha-unsound-contains"
    title: ClassVar[str] = "`contains()` on a string lets part of a name pass"
    description: ClassVar[str] = (
        "`contains('refs/heads/main refs/heads/develop', github.ref)` reads as \"the ref is "
        'main or develop", but on a string `contains` tests for a *substring*: a branch named '
        "`mai`, `heads/dev` or `main refs` passes too, and anyone who can push a branch (or "
        "open a pull request from a fork, for `github.head_ref`) can pick such a name. The "
        'fix turns the text into a list, `contains(fromJSON(\'["refs/heads/main", '
        '"refs/heads/develop"]\'), github.ref)`, which tests for a whole entry (still '
        "case-insensitively, as before). **Unsafe**: every value the list names still "
        "matches, and only values that are part of the text stop matching, which is the "
        "point, but a condition that relied on partial matches would change. Severity is "
        "**high** when the context is one a person outside the repository or an earlier step "
        "chooses (refs, actors, `env`, `inputs`, the event), **low** otherwise "
        "(`runner.name`); an entry with quotes, backslashes or no separator the list can be "
        "split on is reported without a fix.\n\n"
        "Compared with zizmor's `unsound-contains`: the same conditions (job and step `if:`); "
        "zizmor grades the rest informational and proposes no fix."
    )
    default_severity: ClassVar[Severity] = Severity.HIGH
    fix_disposition: ClassVar[Disposition | None] = Disposition.UNSAFE
    example_before: ClassVar[str] = """\
on: push
jobs:
  deploy:
    if: contains('refs/heads/main refs/heads/release', github.ref)
    runs-on: ubuntu-latest
    steps:
      - run: ./deploy.sh
"""
    example_after: ClassVar[str] = """\
on: push
jobs:
  deploy:
    if: contains(fromJSON('["refs/heads/main", "refs/heads/release"]'), github.ref)
    runs-on: ubuntu-latest
    steps:
      - run: ./deploy.sh
"""

    def visit_job(self, job: Job) -> Iterator[Detection]:
        """Check the job's ``if:`` and every step's ``if:``."""
        yield from self._check(job.workflow, (*job.route, "if"), job.data.get("if"))
        for step in job.steps:
            yield from self._check(job.workflow, (*step.route, "if"), step.data.get("if"))

    def _check(self, workflow: Workflow, route: Route, value: Any) -> Iterator[Detection]:
        if not isinstance(value, str):
            return
        parsed = parse_condition(value)
        if parsed is None:
            return
        tree, offset = parsed
        calls = unsound_calls(tree)
        if not calls:
            return
        chosen = [context for _, context in calls if _chosen(context)]
        context = (chosen or [calls[0][1]])[0]
        raw = value[offset + context.start : offset + context.end]
        finding = self.finding(
            workflow,
            route,
            f"`contains()` tests whether `{raw}` is a substring of a text, not one of its "
            "entries: "
            + (
                "a name that is part of an entry passes the check"
                if chosen
                else "a value that is part of an entry passes"
            ),
            evidence=value.strip(),
            severity=Severity.HIGH if chosen else Severity.LOW,
            confidence=Confidence.HIGH,
        )
        patches: list[RewriteFragment] = []
        for text, _ in calls:
            fragment = value[offset + text.start : offset + text.end]
            replacement = as_list(str(text.value))
            if replacement is None or "\n" in fragment or value.count(fragment) != 1:
                yield Detection(
                    finding,
                    None,
                    f"the entries of {fragment} cannot be told apart or written as a JSON list "
                    "unchanged; write `contains(fromJSON('[…]'), …)` by hand",
                )
                return
            patches.append(RewriteFragment(route=route, fragment=fragment, replacement=replacement))
        fix = self.fix(finding, "test for a whole entry of a list: " + FIX_REASON, patches)
        yield Detection(finding, fix)
