"""``gha-unsound-ternary``: ``cond && '' || 'other'``, a ternary whose true value is falsy."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from bot.detectors.interface import Detection, WorkflowRule
from bot.models import Severity
from bot.risk import Disposition
from bot.workflow.expression_sites import expression_sites
from bot.workflow.expression_tree import (
    Binary,
    Context,
    Literal,
    Node,
    Unknown,
    evaluate,
    truthy,
    walk,
)
from bot.workflow.model import Workflow
from bot.yamledit.ops import Operation, Replace, RewriteFragment

FIX_REASON = (
    "today the expression yields the value after `||` whatever the condition is; the "
    "rewrite yields the value after `&&` when the condition holds, as written, which changes "
    "what the run does: review it"
)


#: Keys under which a rewritten expression's value is one a step reads as text or a condition.
_REWRITTEN_KEYS = frozenset({"env", "with", "run", "if"})


def _or_operands(node: Node) -> list[Node]:
    if isinstance(node, Binary) and node.op == "||":
        return [*_or_operands(node.left), *_or_operands(node.right)]
    return [node]


def _constant(node: Node) -> bool:
    """Whether ``node`` reads no context: its value is written in the file."""
    return not any(isinstance(child, Context) for child in walk(node))


def falsy_true_values(tree: Node) -> list[Binary]:
    """Each ``cond && <falsy constant>`` that is followed by ``|| …`` in ``tree``: a
    pseudo-ternary that can never yield its true value."""
    found: list[Binary] = []
    for node in walk(tree):
        if not (isinstance(node, Binary) and node.op == "||") or _constant(node):
            continue
        operands = _or_operands(node)
        for operand in operands[:-1]:
            if not (isinstance(operand, Binary) and operand.op == "&&"):
                continue
            value = evaluate(operand.right, {})
            if not isinstance(value, Unknown) and not truthy(value) and not _constant(operand):
                found.append(operand)
    return list({(n.start, n.end): n for n in found}.values())


class UnsoundTernary(WorkflowRule):
    """Report ``cond && <falsy> || other`` expressions."""

    id: ClassVar[str] = "gha-unsound-ternary"
    title: ClassVar[str] = "pseudo-ternary can never yield its true value"
    description: ClassVar[str] = (
        "Expressions have no `?:`, so workflows write `cond && 'a' || 'b'`. That works only "
        "when `'a'` is truthy: with `''`, `0`, `false` or `null` after `&&`, the `&&` is "
        "falsy whatever `cond` is and the expression always yields `'b'`, so the branch the "
        "author wrote for `cond` never happens (a flag never set, a step never skipped). "
        "The fix swaps the branches, `!(cond) && 'b' || ''`, when the other value is a truthy "
        "literal, which is the ternary the author meant. **Unsafe**: it changes what the run "
        "does today; other shapes are reported with the advice.\n\n"
        "Compared with zizmor's `unsound-ternary`: the same literal falsy values (zizmor also "
        "folds constant calls such as `format('{0}', '')`), in `${{ … }}` and in bare `if:`; "
        "zizmor proposes no fix."
    )
    default_severity: ClassVar[Severity] = Severity.LOW
    fix_disposition: ClassVar[Disposition | None] = Disposition.UNSAFE
    example_before: ClassVar[str] = """\
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: ./test.sh
        env:
          COVERAGE: ${{ github.ref == 'refs/heads/main' && '' || '--no-coverage' }}
"""
    example_after: ClassVar[str] = """\
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: ./test.sh
        env:
          COVERAGE: ${{ !(github.ref == 'refs/heads/main') && '--no-coverage' || '' }}
"""

    def visit_workflow(self, workflow: Workflow) -> Iterator[Detection]:
        """Check every expression of the file, once per value."""
        reported: set[tuple[str | int, ...]] = set()
        for site in expression_sites(workflow):
            found = falsy_true_values(site.tree)
            if not found or site.route in reported:
                continue
            reported.add(site.route)
            operand = found[0]
            falsy = site.text[operand.right.start : operand.right.end]
            finding = self.finding(
                workflow,
                site.route,
                f"`&& {falsy} ||` is always falsy, so this expression never yields {falsy}: "
                "the value after `||` is used whatever the condition is",
                evidence="${{ " + site.text + " }}",
            )
            rewritten = ternary_rewrite(site.text, site.tree)
            value = _value_at(workflow, site.route)
            if (
                rewritten is None
                or "\n" in site.text
                or value.count(site.text) != 1
                or not _REWRITTEN_KEYS.intersection(str(key) for key in site.route)
            ):
                yield Detection(
                    finding,
                    None,
                    "mendbot rewrites only `cond && <falsy> || <truthy literal>` alone in its "
                    "`${{ … }}` of an `env:`, `with:`, `run:` or `if:` (elsewhere, such as "
                    "`runs-on`, the falsy value may not be valid); swap the branches by hand: "
                    "`!(cond) && <other> || <falsy>`",
                )
                continue
            patch: Operation = (
                # A bare `if:` starting with `!` would read as a YAML tag: let the engine
                # choose a quoting.
                Replace(route=site.route, value=rewritten)
                if value.strip() == site.text
                else RewriteFragment(route=site.route, fragment=site.text, replacement=rewritten)
            )
            fix = self.fix(finding, "swap the branches of the ternary: " + FIX_REASON, [patch])
            yield Detection(finding, fix)


def ternary_rewrite(text: str, tree: Node) -> str | None:
    """``!(cond) && other || falsy`` for a ``text`` that is exactly ``cond && falsy ||
    other`` with ``other`` a truthy literal; None for any other shape."""
    if not (isinstance(tree, Binary) and tree.op == "||"):
        return None
    left, other = tree.left, tree.right
    if not (isinstance(left, Binary) and left.op == "&&" and isinstance(other, Literal)):
        return None
    if not truthy(other.value) or not isinstance(left.right, Literal):
        return None
    condition = text[left.left.start : left.left.end]
    falsy = text[left.right.start : left.right.end]
    return f"!({condition}) && {text[other.start : other.end]} || {falsy}"


def _value_at(workflow: Workflow, route: tuple[str | int, ...]) -> str:
    value: Any = workflow.data
    for key in route:
        value = value[key]
    return value if isinstance(value, str) else ""
