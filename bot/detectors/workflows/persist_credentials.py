"""``gha-persist-credentials``: checkout leaves the job token in ``.git/config``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import ClassVar

from bot.detectors.interface import Detection, WorkflowRule
from bot.detectors.permission_fixes import PERMISSION_READERS
from bot.knowledge import git_credentials as kb
from bot.models import Confidence, Severity
from bot.risk import Disposition
from bot.workflow.model import Step
from bot.yamledit.ops import MergeInto


def _is_false(value: object) -> bool:
    return value is False or (isinstance(value, str) and value.strip().lower() == "false")


def _gh_has_token(step: Step) -> bool:
    scopes = (step.env, step.job.env, step.workflow.env)
    return any(name in scope for scope in scopes for name in kb.GH_TOKEN_VARIABLES)


def credential_use(step: Step) -> tuple[str, str] | None:
    """How ``step`` uses persisted credentials: ``("needs", why)``, ``("might", why)`` or None.

    None only for a step known not to use them: an action on the inert list, or a script
    whose every command is on the allow-list (``bot/knowledge/git_credentials.yml``).
    """
    if step.uses is not None:
        slug = step.uses.slug
        pushing = None if step.uses.local or step.uses.docker else kb.pushing_action(slug)
        if pushing is not None:
            return "needs", f"`{step.name}` {pushing}"
        if step.uses.local or step.uses.docker or slug not in kb.INERT_ACTIONS:
            return "might", f"`{step.name}` is an action mendbot does not know"
        return None
    if step.run is None:
        return None
    shell = (step.shell or "bash").split()[0].rsplit("/", 1)[-1]
    if shell not in kb.POSIX_SHELLS:
        return "might", f"`{step.name}` runs a `shell: {step.shell}` script mendbot cannot read"
    verdict = kb.classify_script(step.run, gh_has_token=_gh_has_token(step))
    if verdict.use is kb.Use.NEEDS:
        return "needs", f"`{step.name}` runs `{verdict.command}`, which {verdict.why}"
    if verdict.use is kb.Use.UNKNOWN:
        return "might", f"`{step.name}` runs `{verdict.command}`, which {verdict.why}"
    return None


class PersistCredentials(WorkflowRule):
    """Report ``actions/checkout`` steps that persist the token when nothing needs it."""

    id: ClassVar[str] = "gha-persist-credentials"
    title: ClassVar[str] = "checkout persists credentials that no later step needs"
    description: ClassVar[str] = (
        "`actions/checkout` writes the job's `GITHUB_TOKEN` into `.git/config` unless "
        "`persist-credentials: false` is set. Every later step, and anything uploaded from the "
        "workspace (an artifact of the whole checkout, a cache), can then read the token. "
        "The fix adds `persist-credentials: false`. It is **safe** only when nothing later "
        "in the job can use the token: every later action is on mendbot's list of actions that "
        "never touch git, and every command of every later `run:` is on its allow-list of "
        "programs that never reach a git remote with the workspace's credentials (`echo`, test "
        "runners, linters, compilers, package installs, local `git` commands; "
        "`bot/knowledge/git_credentials.yml`). Any other later step (an unknown action, "
        "`make`, `python scripts/x.py`, `npm run …`, a `shell:` other than bash/sh) makes the "
        "fix **unsafe**, and the finding names that step. When a later step certainly needs "
        "the credentials (`git push`/`fetch`, `mkdocs gh-deploy`, `mike deploy --push`, "
        "`ghp-import -p`, `semantic-release`, `changeset publish`, `gh-pages`, `lerna "
        "publish`, `cargo release`, `gh pr checkout`, `gh` without `GH_TOKEN`, a pushing "
        "action) the fix is withheld (report only). An explicit `persist-credentials: true` "
        "is a person's decision: it is never changed, not even by `--fix=all`, and it is not "
        "reported when a later step needs the token, or when a later program mendbot cannot "
        "read is handed a GitHub token (a secret, `github.token`, a `*TOKEN*` variable): such a "
        "program works with the repository, and the person's choice is the best evidence that "
        "it pushes. Otherwise it is reported, low when a later program mendbot cannot read "
        "might still push, medium when no later step can use git.\n\n"
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
    # The fix writes one input of a checkout step; besides this rule, only the permissions a
    # job needs read it (a later push needs `contents: write` only with persisted credentials).
    fixes_reach: ClassVar[frozenset[str] | None] = PERMISSION_READERS
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
        uses = [(s, use) for s in step.later_steps() if (use := credential_use(s)) is not None]
        needs = [why for _, (kind, why) in uses if kind == "needs"]
        might = [why for _, (kind, why) in uses if kind == "might"]
        explicit = current is not None
        if explicit and any(kind == "might" and _talks_to_github(s) for s, (kind, _) in uses):
            # The person kept the token and a program mendbot cannot read is handed a GitHub
            # token: it works with the repository, quite possibly pushing with the persisted
            # credential (release scripts, sync bots). Their decision is the best evidence.
            return
        route = (*step.route, "with", "persist-credentials") if explicit else (*step.route, "uses")
        workflow = step.workflow
        evidence = f"uses: {step.uses.raw}"
        if needs:
            if explicit:
                return  # explicitly enabled and justified
            finding = self.finding(
                workflow,
                route,
                "checkout persists the job token in .git/config; a later step needs it "
                f"({needs[0]}), so no fix is proposed. Prefer passing a token to that step "
                "explicitly and setting `persist-credentials: false`.",
                evidence=evidence,
                confidence=Confidence.MEDIUM,
            )
            yield Detection(finding, None, f"a later step needs the credentials: {needs[0]}")
            return
        review = f"; {_listed(might)}, so review that nothing pushes" if might else ""
        if explicit:
            why = (
                f"`persist-credentials: {_written(step)}` is written explicitly: a person chose "
                "to keep the token, so mendbot reports it and never changes it"
            )
            finding = self.finding(
                workflow,
                route,
                "persist-credentials is enabled explicitly"
                + (review or " but no later step uses git")
                + "; set it to false by hand if nothing needs the token",
                evidence=evidence,
                confidence=Confidence.MEDIUM,
                # A later program mendbot cannot read might push: less sure, lower.
                severity=Severity.LOW if might else None,
            )
            yield Detection(finding, None, why)
            return
        message = (
            "checkout persists the job token in .git/config where every later step can read it"
        )
        finding = self.finding(workflow, route, message + review, evidence=evidence)
        patch = MergeInto(route=step.route, key="with", value={"persist-credentials": False})
        yield Detection(
            finding,
            self.fix(
                finding,
                "set persist-credentials: false",
                [patch],
                disposition=Disposition.UNSAFE if might else Disposition.SAFE,
            ),
        )


#: A GitHub token handed to a step: the job token, a secret named like one (``GITHUB``,
#: ``GH``, ``PAT``, ``BOT``: ``RELEASE_PAT``, ``GH_BOT_TOKEN``), an App token a step made, or
#: a ``*token*`` input. Other services' tokens (``SONAR_TOKEN``, ``NPM_TOKEN``) do not count.
_GITHUB_TOKEN_VALUE = re.compile(
    r"\$\{\{[^}]*\b(?:github\.token|secrets\.\w*(?:GITHUB|GH|PAT|BOT)\w*"
    r"|steps\.[\w-]+\.outputs\.token|inputs\.\w*token\w*)",
    re.IGNORECASE,
)
#: Environment variables the GitHub CLI and most tools read a GitHub token from.
_GITHUB_TOKEN_NAMES = frozenset(
    {"GH_TOKEN", "GITHUB_TOKEN", "GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN", "GITHUB_PAT"}
)


def _talks_to_github(step: Step) -> bool:
    """Whether ``step`` is handed a GitHub token (see :data:`_GITHUB_TOKEN_VALUE`) in its
    script, its inputs or its environment, or a variable GitHub tools read one from."""
    env = {**step.workflow.env, **step.job.env, **step.env}
    values = [str(v) for v in (*env.values(), *step.with_.values())]
    if step.run is not None:
        values.append(step.run)
    if any(str(name).upper() in _GITHUB_TOKEN_NAMES and value for name, value in env.items()):
        return True
    return any(_GITHUB_TOKEN_VALUE.search(value) for value in values)


def _listed(reasons: list[str]) -> str:
    """The first reasons, and how many more there are."""
    shown = "; ".join(reasons[:2])
    rest = len(reasons) - 2
    return shown + (f" (and {rest} more step{'s' if rest > 1 else ''})" if rest > 0 else "")


def _written(step: Step) -> str:
    """The explicit ``persist-credentials`` value as the file spells it."""
    node = step.workflow.doc.lookup((*step.route, "with", "persist-credentials"))
    if node is None:
        return str(step.with_.get("persist-credentials"))
    return step.workflow.doc.text[node.start : node.end].strip()
