"""``gha-persist-credentials``: checkout leaves the job token in ``.git/config``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from bot.detectors.interface import Detection, WorkflowRule
from bot.detectors.workflows.model import Step
from bot.knowledge import git_credentials as kb
from bot.models import Confidence, Disposition, Severity
from bot.yamledit import MergeInto, Replace


def _is_false(value: object) -> bool:
    return value is False or (isinstance(value, str) and value.strip().lower() == "false")


def _gh_has_token(step: Step) -> bool:
    scopes = (step.env, step.job.env, step.workflow.env)
    return any(name in scope for scope in scopes for name in kb.GH_TOKEN_VARIABLES)


def credential_use(step: Step) -> tuple[str, str] | None:
    """How ``step`` uses persisted credentials: ``("needs", why)``, ``("might", why)`` or None."""
    if step.uses is not None:
        slug = step.uses.slug
        if slug in kb.PUSHING_ACTIONS:
            return "needs", f"`{step.name}` {kb.PUSHING_ACTIONS[slug]}"
        if step.uses.local or slug not in kb.INERT_ACTIONS:
            return "might", f"`{step.name}` is an action mendbot does not know"
        return None
    script = step.run or ""
    if kb.NEEDS_CREDENTIALS.search(script):
        return "needs", f"`{step.name}` runs an authenticated git command"
    if kb.GH_CLI.search(script) and not _gh_has_token(step):
        return "needs", f"`{step.name}` runs `gh` without GH_TOKEN, relying on git credentials"
    if kb.MIGHT_USE_GIT.search(script):
        return "might", f"`{step.name}` runs git or a local script"
    return None


class PersistCredentials(WorkflowRule):
    """Report ``actions/checkout`` steps that persist the token when nothing needs it."""

    id: ClassVar[str] = "gha-persist-credentials"
    title: ClassVar[str] = "checkout persists credentials that no later step needs"
    description: ClassVar[str] = (
        "`actions/checkout` writes the job's `GITHUB_TOKEN` into `.git/config` unless "
        "`persist-credentials: false` is set. Every later step, and anything uploaded from the "
        "workspace (an artifact of the whole checkout, a cache), can then read the token. "
        "The fix adds `persist-credentials: false`. It is **safe** when every later step is "
        "known not to use git; **unsafe** when a later step runs git, a local script or an "
        "action mendbot does not know; and withheld (report only) when a later step certainly "
        "needs the credentials (`git push`, `gh` without `GH_TOKEN`, a pushing action).\n\n"
        "Compared with zizmor's `artipacked`: `persist-credentials: ${{ … }}` and a `with:` "
        "that is one expression (`with: ${{ fromJSON(…) }}`) are decided at run time, so "
        "mendbot reports neither (zizmor reports the first with its pedantic persona). "
        "mendbot resolves `uses:` paths as GitHub does, so `actions/checkout/@…`, "
        "`actions/checkout////@…` and `actions/checkout/.@…` are checkouts too (zizmor does "
        "not recognise them). zizmor's fix is always unsafe; mendbot's is safe when no later "
        "step can use git."
    )
    default_severity: ClassVar[Severity] = Severity.MEDIUM
    fix_disposition: ClassVar[Disposition | None] = Disposition.SAFE
    example_before: ClassVar[str] = """\
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4  # fetch sources
      - uses: actions/setup-node@v4
"""
    example_after: ClassVar[str] = """\
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4  # fetch sources
        with:
          persist-credentials: false
      - uses: actions/setup-node@v4
"""

    def visit_step(self, step: Step) -> Iterator[Detection]:
        """Check one checkout step against what the later steps of its job do."""
        if step.uses is None or not step.uses.is_action("actions/checkout"):
            return
        raw_with = step.data.get("with")
        if isinstance(raw_with, str) and "${{" in raw_with:
            return  # `with: ${{ … }}` decides every input at run time, this one included
        current = step.with_.get("persist-credentials")
        if _is_false(current):
            return
        if isinstance(current, str) and "${{" in current:
            return
        uses = [(s, credential_use(s)) for s in step.later_steps()]
        needs = [why for _, use in uses if use and use[0] == "needs" for why in [use[1]]]
        might = [why for _, use in uses if use and use[0] == "might" for why in [use[1]]]
        explicit = current is not None
        route = (*step.route, "with", "persist-credentials") if explicit else (*step.route, "uses")
        workflow = step.workflow
        if needs:
            if explicit:
                return  # explicitly enabled and justified
            finding = self.finding(
                workflow,
                route,
                "checkout persists the job token in .git/config; a later step needs it "
                f"({needs[0]}), so no fix is proposed. Prefer passing a token to that step "
                "explicitly and setting `persist-credentials: false`.",
                evidence=f"uses: {step.uses.raw}",
                confidence=Confidence.MEDIUM,
            )
            yield Detection(finding, None, f"a later step needs the credentials: {needs[0]}")
            return
        message = (
            "checkout persists the job token in .git/config where every later step can read it"
            if not explicit
            else "persist-credentials is enabled explicitly but no later step uses git"
        )
        if might:
            message += f"; {might[0]}, so review that it does not push"
        finding = self.finding(workflow, route, message, evidence=f"uses: {step.uses.raw}")
        disposition = Disposition.UNSAFE if might or explicit else Disposition.SAFE
        if explicit:
            patch = Replace(route=route, value=False)
        else:
            patch = MergeInto(route=step.route, key="with", value={"persist-credentials": False})  # type: ignore[assignment]
        yield Detection(
            finding,
            self.fix(finding, "set persist-credentials: false", [patch], disposition=disposition),
        )
