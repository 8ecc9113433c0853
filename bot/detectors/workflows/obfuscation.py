"""``gha-obfuscation``: ``uses:`` paths and expressions written to hide what they are."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any, ClassVar

from bot.detectors.interface import Detection, WorkflowRule
from bot.models import Finding, Location, Severity
from bot.risk import Disposition
from bot.workflow import constant_fold
from bot.workflow import expression_tree as expr
from bot.workflow.model import Uses, Workflow
from bot.workflow.template_scan import expressions
from bot.yamledit.document import Route, Scalar
from bot.yamledit.ops import Replace, RewriteFragment

_NO_FIX_CLIMBS = (
    "the path climbs out of the repository, so it names no action GitHub can find: fix the "
    "reference by hand"
)
_NO_FIX_WHOLE = (
    "the expression is the whole value: its constant would change the value's YAML type, "
    "so write it by hand"
)
_NO_FIX_WITH = "the inputs are computed at run time: write them out as a mapping by hand"


def _scalars(value: Any, route: Route) -> Iterator[tuple[Route, str]]:
    """Every string in ``value`` (a parsed YAML tree) with its route."""
    if isinstance(value, str):
        yield route, value
    elif isinstance(value, dict):
        for key, child in value.items():
            yield from _scalars(child, (*route, str(key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _scalars(child, (*route, index))


def _odd_components(raw: str) -> list[str]:
    """The ``.``, ``..`` and empty components of a ``uses:`` path (``owner/repo/<path>@ref``)."""
    path = raw.strip().split("@", 1)[0]
    components = path.split("/")[2:]
    odd = []
    for component in components:
        if component in (".", ".."):
            odd.append(f"`{component}`")
        elif component == "":
            odd.append("an empty component")
    return sorted(set(odd))


def line_in_scalar(workflow: Workflow, route: Route, value: str, offset: int) -> Location:
    """Where ``offset`` of the scalar at ``route`` is: its own line inside a literal block
    scalar (whose lines are the value's lines), else the scalar's key."""
    base = workflow.location(route)
    node = workflow.doc.lookup(route)
    if isinstance(node, Scalar) and node.style == "|":
        line = node.line + 2 + value[:offset].count("\n")
        return Location(path=base.path, line=line, column=base.column, route=route)
    return base


class Obfuscation(WorkflowRule):
    """Report ``uses:`` paths with ``.``/``..``/empty components, expressions that are
    constants, and ``with:`` computed by an expression; rewrite the first two plainly."""

    id: ClassVar[str] = "gha-obfuscation"
    title: ClassVar[str] = "obfuscated workflow feature"
    description: ClassVar[str] = (
        "GitHub accepts spellings that hide what a workflow does from reviewers and from "
        "pattern-matching tools (a deny-list of actions, a cache-poisoning check): "
        "`uses: actions/checkout/.@v4`, `actions/cache/save/../save@v4` or "
        "`actions/checkout////@v4` name ordinary actions; `${{ '' }}`, "
        "`${{ format('{0}', 'a') }}` or `${{ 1 != 2 }}` are constants dressed as expressions "
        "(they can split a word a reviewer searches for: `cu${{ '' }}rl`). Reported: `uses:` "
        "paths (steps and reusable-workflow calls) with `.`, `..` or empty components; "
        "expressions anywhere in the file whose value is a constant (only literals, "
        "operators and `format`, `startsWith`, `endsWith`, `contains`), and constant parts "
        "of larger expressions; `with:` given as one expression (its inputs cannot be "
        "read).\n\n"
        "The fixes are **safe**: the `uses:` path is written in its plain form (the action "
        "GitHub resolves is the same; a path that climbs out of the repository names no "
        "action and is only reported); a constant expression is replaced by the text the "
        "runner would have put there, and a constant part by its literal, computed with "
        "GitHub's own rules (`||` and `&&` return an operand, strings compare "
        "case-insensitively). `fromJSON`/`toJSON` of literals are not folded: their values "
        "are structured.\n\n"
        "Compared with zizmor's `obfuscation` (regular persona): the same three kinds of "
        "findings; both fix paths and constants. mendbot locates an expression inside a "
        "block scalar on its own line. zizmor's pedantic persona also reports computed "
        "indexes (`fromJSON(x)[matrix.target]`), which mendbot does not."
    )
    default_severity: ClassVar[Severity] = Severity.LOW
    fix_disposition: ClassVar[Disposition | None] = Disposition.SAFE
    example_before: ClassVar[str] = """\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout/.@v4
"""
    example_after: ClassVar[str] = """\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
"""

    def visit_workflow(self, workflow: Workflow) -> Iterator[Detection]:
        """Check every ``uses:``, every expression and every step's ``with:``."""
        steps = [step for job in workflow.jobs for step in job.steps]
        for step in [*steps, *workflow.action_steps]:
            raw = step.data.get("uses")
            if isinstance(raw, str):
                yield from self._uses(workflow, (*step.route, "uses"), raw)
            inputs = step.data.get("with")
            if isinstance(inputs, str) and "${{" in inputs:
                finding = self.finding(
                    workflow,
                    (*step.route, "with"),
                    "`with:` is one expression: the step's inputs cannot be read before it runs",
                    evidence=inputs,
                    severity=Severity.INFO,
                )
                yield Detection(finding, None, _NO_FIX_WITH)
        for job in workflow.jobs:
            if job.uses is not None:
                yield from self._uses(workflow, (*job.route, "uses"), job.uses.raw)
        for route, value in _scalars(workflow.data, ()):
            if "${{" in value:
                yield from self._expressions(workflow, route, value)

    def _uses(self, workflow: Workflow, route: Route, raw: str) -> Iterator[Detection]:
        odd = _odd_components(raw)
        parsed = Uses.parse(raw)
        if not odd or not parsed.owner or parsed.local or parsed.docker:
            return
        message = f"`uses: {raw.strip()}` hides the action's path behind {' and '.join(odd)}"
        finding = self.finding(workflow, route, message, evidence=raw.strip())
        if ".." in parsed.subpath.split("/"):
            yield Detection(finding, None, _NO_FIX_CLIMBS)
            return
        plain = f"{parsed.owner}/{parsed.repo}"
        plain += f"/{parsed.subpath}" if parsed.subpath else ""
        plain += f"@{parsed.ref}"
        fix = self.fix(finding, f"write `{plain}`", [Replace(route=route, value=plain)])
        yield Detection(finding, fix)

    def _expressions(self, workflow: Workflow, route: Route, value: str) -> Iterator[Detection]:
        """One detection per constant (or expression with constant parts) of the scalar; a
        repeated one is fixed everywhere in the scalar at once."""
        counts = Counter(found.text for found in expressions(value))
        done: set[str] = set()
        for found in expressions(value):
            if found.text in done:
                continue
            done.add(found.text)
            try:
                tree = expr.parse(found.inner)
            except expr.ExpressionError:
                continue
            location = line_in_scalar(workflow, route, value, found.start)
            times = counts[found.text]
            suffix = f" ({times} times)" if times > 1 else ""
            try:
                folded = constant_fold.fold(tree)
            except constant_fold.NotConstant:
                pass
            else:
                text = constant_fold.render(folded)
                message = f"`{found.text}` is a constant: the runner always writes `{text}`"
                finding = self.located_finding(location, message + suffix, evidence=found.text)
                if value.strip() != found.text:
                    yield self._rewrite(finding, route, found.text, text, times)
                elif route[-1:] == ("if",) and isinstance(folded, bool):
                    title = f"write `if: {text}`"
                    fix = self.fix(finding, title, [Replace(route=route, value=folded)])
                    yield Detection(finding, fix)
                else:
                    yield Detection(finding, None, _NO_FIX_WHOLE)
                continue
            parts = constant_fold.constant_parts(tree)
            if not parts:
                continue
            replaced = found.text
            spelled_parts = []
            for part in parts:
                source = found.inner[part.start : part.end]
                spelled = constant_fold.literal(constant_fold.fold(part))
                spelled_parts.append(f"`{source}` is `{spelled}`")
                replaced = replaced.replace(source, spelled, 1)
            message = f"constant parts inside `{found.text}`: " + ", ".join(spelled_parts)
            finding = self.located_finding(location, message + suffix, evidence=found.text)
            yield self._rewrite(finding, route, found.text, replaced, times)

    def _rewrite(
        self, finding: Finding, route: Route, fragment: str, replacement: str, times: int
    ) -> Detection:
        """The fix replacing every ``times`` occurrence of ``fragment`` in the scalar."""
        if any("\n" in t or "\r" in t for t in (fragment, replacement)):
            return Detection(finding, None, "the expression spans lines")
        rewrite = RewriteFragment(route=route, fragment=fragment, replacement=replacement)
        title = f"replace `{fragment}` with `{replacement}`"
        return Detection(finding, self.fix(finding, title, [rewrite] * times))
