"""``gha-spoofable-bot-check``: ``if:`` trusts ``github.actor`` to identify a bot."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from bot.detectors.interface import Detection, WorkflowRule
from bot.models import Confidence, Severity
from bot.risk import Disposition
from bot.workflow import expression_tree as expr
from bot.workflow.model import Job, Workflow
from bot.yamledit.document import Route, Scalar
from bot.yamledit.ops import Operation, Replace, RewriteFragment

#: Contexts naming whoever caused the run: spoofable by making a bot act on your behalf.
ACTOR_NAMES = frozenset({"github.actor", "github.triggering_actor", "github.event.sender.login"})
ACTOR_IDS = frozenset({"github.actor_id", "github.event.sender.id"})
AUTHOR_NAME = "github.event.pull_request.user.login"
AUTHOR_ID = "github.event.pull_request.user.id"

#: Numeric ids of well-known bots (user ids, and dependabot's app id, which people confuse).
BOT_IDS = {
    "49699333": "dependabot[bot]",
    "29110": "dependabot (app id)",
    "27856297": "dependabot-preview[bot]",
    "29139614": "renovate[bot]",
    "41898282": "github-actions[bot]",
}

#: Events whose payload has ``pull_request.user``: the author, whom nobody else can spoof.
PR_EVENTS = frozenset(
    {"pull_request", "pull_request_target", "pull_request_review", "pull_request_review_comment"}
)


@dataclass(frozen=True)
class _Check:
    """A bot comparison inside a condition, and the context spans to rewrite."""

    bot: str
    dominant: bool
    spans: tuple[tuple[int, int, str], ...]


def _literal_text(node: expr.Node) -> str | None:
    if isinstance(node, expr.Literal):
        if isinstance(node.value, str):
            return node.value
        if isinstance(node.value, float) and node.value.is_integer():
            return str(int(node.value))
    if isinstance(node, expr.Call) and node.name == "fromjson" and len(node.args) == 1:
        return _literal_text(node.args[0])
    return None


def _bot_in(text: str, kind: str) -> str | None:
    """The bot ``text`` names (a ``…[bot]`` login or a known bot id), for messages."""
    if kind == "name":
        lowered = text.lower()
        at = lowered.find("[bot]")
        if at < 0:
            return None
        start = max(lowered.rfind(c, 0, at) for c in "'\" ,[") + 1
        name = text[start : at + 5]
        return f"`{name}`" if name != "[bot]" else "any `…[bot]` account"
    return next((f"`{BOT_IDS[i]}` (id {i})" for i in BOT_IDS if i in text), None)


def _comparison(node: expr.Node) -> tuple[str, list[expr.Context]] | None:
    """``(bot, actor contexts)`` when ``node`` compares the actor with a bot."""
    if isinstance(node, expr.Binary) and node.op == "==":
        operands = [(node.left, node.right), (node.right, node.left)]
    elif isinstance(node, expr.Call) and node.name in ("contains", "startswith", "endswith"):
        operands = [(a, b) for a in node.args for b in node.args if a is not b]
    else:
        return None
    for ctx, other in operands:
        if not isinstance(ctx, expr.Context):
            continue
        kind = "name" if ctx.path in ACTOR_NAMES else "id" if ctx.path in ACTOR_IDS else None
        text = _literal_text(other)
        if kind is None or text is None:
            continue
        if kind == "id" and isinstance(node, expr.Binary) and text not in BOT_IDS:
            continue
        bot = _bot_in(text, kind)
        if bot is not None:
            return bot, [ctx]
    return None


def find_checks(tree: expr.Node) -> list[_Check]:
    """Every bot comparison in ``tree``; ``dominant`` when nothing but ``||`` sits above it,
    so the comparison alone can make the whole condition true."""
    found: list[_Check] = []

    def visit(node: expr.Node, dominant: bool) -> None:
        hit = _comparison(node)
        if hit is not None:
            bot, ctxs = hit
            spans = tuple(
                (c.start, c.end, AUTHOR_NAME if c.path in ACTOR_NAMES else AUTHOR_ID) for c in ctxs
            )
            found.append(_Check(bot, dominant, spans))
            return
        if isinstance(node, expr.Binary):
            keep = dominant and node.op == "||"
            visit(node.left, keep)
            visit(node.right, keep)
        elif isinstance(node, expr.Unary):
            visit(node.operand, False)
        elif isinstance(node, expr.Call):
            for arg in node.args:
                visit(arg, False)

    visit(tree, True)
    return found


class SpoofableBotCheck(WorkflowRule):
    """Report ``if:`` conditions that identify a bot by ``github.actor``."""

    id: ClassVar[str] = "gha-spoofable-bot-check"
    title: ClassVar[str] = "bot check trusts the spoofable actor"
    description: ClassVar[str] = (
        "`github.actor` (and `triggering_actor`, `actor_id`, `event.sender`) is whoever caused "
        "the latest event, not who wrote the pull request. An attacker can get "
        "`dependabot[bot]` to be the actor on their own pull request (by having Dependabot "
        "update a branch of their fork, then opening the pull request from it), so "
        "`if: github.actor == 'dependabot[bot]'` lets them through to whatever the check "
        "guards: auto-merge, secrets, a write token. The pull request's author "
        "(`github.event.pull_request.user.login`, `…user.id` for ids) cannot be spoofed that "
        "way.\n\n"
        "The fix rewrites the actor context to the author context in place (the rest of the "
        "condition is untouched). It is **unsafe** (a condition changes) and offered only when "
        "every trigger of the workflow carries a pull request (`pull_request`, "
        "`pull_request_target`, `pull_request_review`, `pull_request_review_comment`): under "
        "any other event `github.event.pull_request` is empty and the rewritten condition "
        "would always be false. Under `workflow_run` the finding is high but report only; "
        "under events that only people with write access (or apps they installed) cause "
        "(`push`, `schedule`, `status`, …) nothing is reported: an outsider cannot pose as "
        "the bot there. Comparisons inside `contains`, "
        "`startsWith` and `endsWith` count too. Confidence is high when the comparison alone "
        "can make the condition true, medium when it is combined with `&&`. Conditions written "
        "as block scalars (`if: |`) are rewritten in place, context by context; when that "
        "cannot reproduce the intended condition exactly (the context's text also occurs "
        "inside a string there) they are reported without a fix.\n\n"
        "Compared with zizmor's `bot-conditions`: the same `==` comparisons are found; mendbot "
        "also finds bot checks inside `contains(fromJSON('[…]'), github.actor)`, "
        "`startsWith`/`endsWith`. zizmor offers its rewrite as a *safe* fix under every "
        "trigger, which on `push`, `schedule` or `workflow_run` turns the condition "
        "permanently false, and grades every finding high."
    )
    default_severity: ClassVar[Severity] = Severity.HIGH
    fix_disposition: ClassVar[Disposition | None] = Disposition.UNSAFE
    example_before: ClassVar[str] = """\
on: pull_request_target
jobs:
  automerge:
    runs-on: ubuntu-latest
    if: github.actor == 'dependabot[bot]'  # only Dependabot PRs
    steps:
      - run: gh pr merge --auto --squash "$PR_URL"
        env:
          PR_URL: ${{ github.event.pull_request.html_url }}
"""
    example_after: ClassVar[str] = """\
on: pull_request_target
jobs:
  automerge:
    runs-on: ubuntu-latest
    if: github.event.pull_request.user.login == 'dependabot[bot]'  # only Dependabot PRs
    steps:
      - run: gh pr merge --auto --squash "$PR_URL"
        env:
          PR_URL: ${{ github.event.pull_request.html_url }}
"""

    def visit_job(self, job: Job) -> Iterator[Detection]:
        """Check the job's ``if:`` and every step's ``if:``."""
        if job.workflow.kind != "workflow":
            return
        yield from self._check(job.workflow, (*job.route, "if"), job.data.get("if"), "job")
        for step in job.steps:
            yield from self._check(job.workflow, (*step.route, "if"), step.data.get("if"), "step")

    def _check(
        self, workflow: Workflow, route: Route, value: Any, what: str
    ) -> Iterator[Detection]:
        if not isinstance(value, str):
            return
        parsed = expr.parse_condition(value)
        if parsed is None:
            return
        tree, offset = parsed
        checks = find_checks(tree)
        if not checks:
            return
        bot = checks[0].bot
        confidence = Confidence.HIGH if any(c.dominant for c in checks) else Confidence.MEDIUM
        triggers = workflow.triggers
        trusts = f"this {what}'s condition trusts the actor to be {bot}"
        spoofable = (
            f"{trusts}; the actor is whoever caused the latest event, which an attacker can "
            "arrange to be the bot"
        )
        spans = sorted((s for c in checks for s in c.spans), reverse=True)
        rewritten = value
        for start, end, replacement in spans:
            rewritten = rewritten[: offset + start] + replacement + rewritten[offset + end :]
        if triggers and triggers <= PR_EVENTS:
            finding = self.finding(
                workflow,
                route,
                spoofable + "; check the pull request's author instead",
                evidence=f"if: {value}",
                confidence=confidence,
            )
            node = workflow.doc.lookup(route)
            patches: list[Operation] = [Replace(route=route, value=rewritten)]
            if isinstance(node, Scalar) and node.style in ("|", ">"):
                # Replace cannot re-render a block scalar; rewrite each context in place.
                # Each op rewrites the first occurrence left: longer fragments first (so
                # `github.actor_id` goes before `github.actor`), and only when replaying the
                # ops on the text gives exactly the intended condition.
                edits = sorted(
                    ((value[offset + a : offset + b], new) for a, b, new in spans),
                    key=lambda edit: -len(edit[0]),
                )
                replayed = value
                for old, new in edits:
                    replayed = replayed.replace(old, new, 1)
                if replayed != rewritten:
                    yield Detection(
                        finding,
                        None,
                        "the condition is a block scalar where the actor context's text also "
                        "occurs elsewhere, so it cannot be rewritten in place safely: replace it "
                        f"by hand with `{rewritten.strip()}`",
                    )
                    return
                patches = [
                    RewriteFragment(route=route, fragment=old, replacement=new)
                    for old, new in edits
                ]
            fix = self.fix(finding, "check the pull request author instead of the actor", patches)
            yield Detection(finding, fix)
            return
        others = sorted(triggers - PR_EVENTS)
        if triggers & PR_EVENTS:
            reason = (
                f"the workflow also runs on `{others[0]}`, where `github.event.pull_request` "
                "does not exist and the author check would always be false"
            )
            message, severity, level = f"{spoofable}; no fix: {reason}", Severity.HIGH, confidence
        elif "workflow_run" in triggers:
            reason = (
                "under `workflow_run` there is no pull-request author in the event to check "
                "instead; verify the triggering run's pull request by hand"
            )
            message, severity, level = f"{spoofable}; no fix: {reason}", Severity.HIGH, confidence
        elif "workflow_call" in triggers:
            reason = (
                "this reusable workflow runs under its caller's event; the author check is only "
                "valid when every caller is a pull-request workflow"
            )
            message = f"{spoofable} if a caller runs on pull requests; no fix: {reason}"
            severity, level = Severity.MEDIUM, Confidence.LOW
        else:
            # `push`, `schedule`, `status`, …: only someone who can already write to the
            # repository (or an app it installed) causes these events, so nobody outside can
            # pose as the bot: there is nothing spoofable to report.
            return
        finding = self.finding(
            workflow,
            route,
            message,
            evidence=f"if: {value}",
            confidence=level,
            severity=severity,
        )
        yield Detection(finding, None, reason)
