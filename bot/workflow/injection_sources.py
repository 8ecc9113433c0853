"""Where the value of an expression comes from, looked up in the workflow itself.

:func:`origin` refines :func:`bot.knowledge.contexts.provenance` for the contexts whose origin
the file can tell, and reports a value as trusted only when no one without write access can
have chosen it (or gain anything from it):

* ``matrix.<path>`` when the matrix writes every value out (else the origin of the
  expressions it is computed from);
* ``env.<NAME>`` from its ``env:`` declaration and the earlier steps that may write it
  through ``$GITHUB_ENV``;
* ``inputs.<name>``: a ``workflow_dispatch`` input (only writers dispatch a workflow), unless
  ``workflow_call`` declares it too with a free-text type;
* ``steps.<id>.outputs.<name>`` and ``needs.<job>.outputs.<name>``: outputs of well-known
  actions whose values are constrained, and outputs the repository's own code computes (a
  ``run:``, a local action or reusable workflow) from trusted values, in a run only writers
  or a pull request's author can start (see :mod:`run_starters`), unless the script reads
  the network, the event payload, artifacts or commit history;
* ``github.ref``/``github.ref_name`` in such a run.

Whatever else mendbot cannot trace stays unknown (reported at medium severity), except in a
workflow only pull-request events start, where the author already owns the run.
"""

from __future__ import annotations

import fnmatch
import re
from contextvars import ContextVar
from typing import Any

from bot.knowledge.contexts import Provenance, context_of_variable, provenance
from bot.knowledge.events import (
    CONSTRAINED_INPUT_TYPES,
    GITHUB_SCRIPT_READS_OUTSIDER_TEXT,
    OUTSIDER_ACTION_OUTPUTS,
    TRUSTED_ACTION_OUTPUTS,
)
from bot.workflow.expression_tree import Binary, Call, ExpressionError, Node, Unary, parse
from bot.workflow.expression_tree import contexts as tree_contexts
from bot.workflow.matrix import matrix_is_static
from bot.workflow.model import Job, Step, Workflow
from bot.workflow.permission_needs import load_local_workflow
from bot.workflow.run_starters import (
    Starters,
    calling_jobs,
    calling_steps,
    dispatched_by_workflows,
    starters,
)
from bot.workflow.template_scan import Expression, expressions

_ENV_CONTEXT = re.compile(r"^env\.(?P<name>[A-Za-z_][A-Za-z0-9_]*)$", re.IGNORECASE)
_INPUT = re.compile(r"^(?P<event>github\.event\.)?inputs\.(?P<name>[\w-]+)$", re.IGNORECASE)
_STEP_OUTPUT = re.compile(r"^steps\.(?P<id>[\w-]+)\.outputs\.(?P<name>[\w-]+)$", re.IGNORECASE)
_JOB_OUTPUT = re.compile(
    r"^(?:needs|jobs)\.(?P<job>[\w-]+)\.outputs\.(?P<name>[\w-]+)$", re.IGNORECASE
)
_RUN_REFS = ("github.ref", "github.ref_name")
#: What a script may read that an outsider wrote even in a run a writer started: the issues,
#: pull requests and runs gh reads, the event payload, downloaded artifacts, commit messages
#: and other history, a pull request's files (``gh pr checkout``). Only gh's reading
#: commands count: ``gh pr create`` prints the URL GitHub gives the new pull request.
#: Global options git and gh take before their command (``git --no-pager -C dir log``). An
#: option's name starts with a letter or digit and its value never with ``-``, so each word
#: is read one way only: a line of many options is matched in linear time, not tried in
#: every way of splitting it.
_GIT_OPTIONS = r"(?:\s+--?\w[\w-]*(?:=\S*|\s+(?!-)\S+)?)*"
#: gh's command groups and the verbs of each that print what others wrote (options may stand
#: before the group and between it and the verb: ``gh pr --repo o/r view 1``).
_GH_READS = (
    r"api|search"
    rf"|issue{_GIT_OPTIONS}\s+(?:view|list|status)"
    rf"|pr{_GIT_OPTIONS}\s+(?:view|list|diff|checks|status|checkout)"
    rf"|gist{_GIT_OPTIONS}\s+(?:view|list|clone)"
    rf"|run{_GIT_OPTIONS}\s+(?:view|list|download|watch)"
    rf"|release{_GIT_OPTIONS}\s+(?:view|list|download)"
)
#: GitHub's REST or GraphQL endpoints that return issues, pull requests, comments or
#: commits, read without gh (``curl "$GITHUB_API_URL/repos/o/r/pulls/1"``).
_GITHUB_API_READS = (
    r"(?:api\.github\.com|\bGITHUB_API_URL\b\}?)/\S*?"
    r"\b(?:issues|pulls|comments|commits|search|discussions)\b"
    r"|api\.github\.com/graphql|\bGITHUB_GRAPHQL_URL\b"
)
_READS_OUTSIDER_TEXT = re.compile(
    rf"\bgh{_GIT_OPTIONS}\s+(?:{_GH_READS})\b"
    rf"|{_GITHUB_API_READS}"
    rf"|\bgit{_GIT_OPTIONS}\s+(?:log|show|shortlog|notes|cat-file|format-patch|rev-list"
    r"|blame)\b"
    r"|GITHUB_EVENT_PATH|artifact",
    re.IGNORECASE,
)
#: What a script may read whose author mendbot cannot tell: the network, another branch or
#: repository fetched with git.
_READS_ELSEWHERE = re.compile(
    r"\b(?:curl|wget|Invoke-WebRequest|Invoke-RestMethod|iwr|irm)\b"
    rf"|\bgh{_GIT_OPTIONS}\s+repo\s+(?:view|clone)\b"
    rf"|\bgit{_GIT_OPTIONS}\s+(?:fetch|pull|clone|checkout|switch|merge|cherry-pick|am|apply"
    r"|for-each-ref|diff)\b",
    re.IGNORECASE,
)
_RANK = {
    Provenance.ATTACKER: 0,
    Provenance.CALLER: 1,
    Provenance.OUTSIDE_TEXT: 2,
    Provenance.UNKNOWN: 3,
    Provenance.TRUSTED: 4,
}
_MAX_DEPTH = 16
#: Index past every step: job outputs are evaluated after the job's last step.
_AFTER_ALL_STEPS = 1 << 30


def contexts_of(expression: Expression) -> list[str]:
    """The context paths an expression reads, from its parse tree so that string literals
    (``'github.event.issue.title'``) are not mistaken for contexts; the scanner's regular
    expression when the parser does not know the syntax or a call result is indexed."""
    try:
        node = parse(expression.inner)
    except ExpressionError:
        return expression.contexts()
    if _boolean_valued(node):
        return []  # expands to `true` or `false`, whatever the contexts hold
    paths = [c.path for c in tree_contexts(node)]
    if any(p.startswith("<call>") for p in paths):
        return expression.contexts()
    spelled = {c.lower(): c for c in expression.contexts()}  # the text as written, for messages
    return [spelled.get(p, p) for p in paths]


#: Operators and functions whose result is always ``true`` or ``false``.
_COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})
_BOOLEAN_FUNCTIONS = frozenset(
    {"contains", "startswith", "endswith", "success", "failure", "always", "cancelled"}
)


def _boolean_valued(node: Node) -> bool:
    """Whether the expression ``node`` always evaluates to a boolean (a comparison, a ``!``,
    ``contains()``…; ``&&`` and ``||`` return one of their operands, so only when both are)."""
    if isinstance(node, Unary):
        return True
    if isinstance(node, Call):
        return node.name in _BOOLEAN_FUNCTIONS
    if isinstance(node, Binary):
        if node.op in _COMPARISONS:
            return True
        return (
            node.op in ("&&", "||") and _boolean_valued(node.left) and _boolean_valued(node.right)
        )
    return False


def command_origin(command: str) -> Provenance:
    """What the output of a shell ``command`` (a ``$( … )``) can hold: outsiders' text when
    it reads issues, pull requests, the event payload, artifacts or history; unknown when it
    reads the network or other branches; trusted otherwise (only the variables it expands
    can bring more, and callers trace those)."""
    if _READS_OUTSIDER_TEXT.search(command):
        return Provenance.OUTSIDE_TEXT
    if _READS_ELSEWHERE.search(command):
        return Provenance.UNKNOWN
    return Provenance.TRUSTED


def declared_env(step: Step, name: str) -> Any:
    """The value ``env.<name>`` is declared with for ``step`` (step, then job, then workflow
    ``env:``); None when not declared."""
    for scope in (step.env, step.job.env, step.workflow.env):
        if name in scope:
            return scope[name]
        # The `env` context is case-insensitive in expressions (`env.mode` reads MODE).
        for key, value in scope.items():
            if str(key).lower() == name.lower():
                return value
    return None


def worst(origins: list[Provenance]) -> Provenance:
    """The least trusted of ``origins`` (trusted when empty)."""
    return min(origins, key=_RANK.__getitem__, default=Provenance.TRUSTED)


def text_origin(text: str, step: Step, depth: int = 0) -> Provenance:
    """The origin of a value written as ``text`` (a literal, or text with expressions)."""
    found = list(expressions(text))
    if not found:
        return Provenance.TRUSTED  # written in the file by whoever owns the run
    return worst([origin(c, step, depth + 1) for e in found for c in contexts_of(e)])


#: The contexts traced during one look-up, by context, the step reading it and depth: the
#: steps that may write an ``env.X`` (each reading ``env.X``) and workflows calling each
#: other would otherwise be walked once per path through them (exponential).
_TRACED: ContextVar[dict[tuple[object, ...], Provenance] | None] = ContextVar(
    "_TRACED", default=None
)


def origin(context: str, step: Step, depth: int = 0) -> Provenance:
    """How far the value of ``context`` can be trusted where ``step`` reads it (each context
    is traced once per reading step and depth within one look-up)."""
    base = provenance(context)
    if base is not Provenance.UNKNOWN or depth > _MAX_DEPTH:
        return base
    memo = _TRACED.get()
    token = None
    if memo is None:
        memo = {}
        token = _TRACED.set(memo)
    # A step the tracing builds to stand for "after the job" or "where a caller passes its
    # inputs" has no data of its own: the index and the empty data tell it from a real one.
    workflow = step.workflow
    key = (
        context.lower(),
        workflow.root,
        workflow.path,
        step.job.id,
        step.index,
        bool(step.data),
        depth,
    )
    try:
        if key not in memo:
            memo[key] = _traced_where_read(context, step, depth)
        return memo[key]
    finally:
        if token is not None:
            _TRACED.reset(token)


def _traced_where_read(context: str, step: Step, depth: int) -> Provenance:
    traced = _traced(context, step, depth)
    untraced = (Provenance.UNKNOWN, Provenance.OUTSIDE_TEXT)
    if traced in untraced and starters(step.workflow) is Starters.PR_AUTHOR:
        return Provenance.TRUSTED
    return traced


def _traced(context: str, step: Step, depth: int) -> Provenance:
    """The origin of a context :func:`provenance` cannot tell, from the workflow's text."""
    lower = context.lower()
    if lower.startswith("matrix"):
        return _matrix_origin(context, step, depth)
    if lower in _RUN_REFS:
        # A ref a writer pushed, or one GitHub names (refs/pull/N/merge, the base branch).
        writers = starters(step.workflow) is not Starters.ANYONE
        return Provenance.TRUSTED if writers else Provenance.UNKNOWN
    if found := _INPUT.match(context):
        return _input_origin(
            step.workflow, found["name"], depth, dispatch_payload=bool(found["event"])
        )
    if found := _STEP_OUTPUT.match(context):
        return _step_output_origin(step.job, found["id"], found["name"], step.index, depth)
    if found := _JOB_OUTPUT.match(context):
        return _job_output_origin(step.workflow, found["job"], found["name"], depth)
    if found := _ENV_CONTEXT.match(context):
        return _env_origin(step, found["name"], depth)
    return Provenance.UNKNOWN


def _strings(value: Any) -> list[str]:
    """Every string inside ``value`` (a scalar, list or mapping)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [t for v in value for t in _strings(v)]
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in (*_strings(k), *_strings(v))]
    return []


def _matrix_origin(context: str, step: Step, depth: int) -> Provenance:
    """Trusted when the matrix writes the value out; else the origin of every expression the
    matrix is computed from (``${{ fromJSON(needs.setup.outputs.names) }}``)."""
    if matrix_is_static(step.job, context):
        return Provenance.TRUSTED
    strategy = step.job.data.get("strategy")
    matrix = strategy.get("matrix") if isinstance(strategy, dict) else None
    computed = [t for t in _strings(matrix) if "${{" in t]
    if not computed:
        return Provenance.UNKNOWN
    return worst([text_origin(t, step, depth) for t in computed])


def _input_origin(
    workflow: Workflow, name: str, depth: int, *, dispatch_payload: bool
) -> Provenance:
    """``inputs.<name>``: set by whoever dispatches the workflow (a writer), or by a caller:
    the repository's own callers are read (the value each passes, where it passes it); a
    caller mendbot cannot see chooses any free text (only a boolean or number type
    constrains it)."""
    if workflow.kind == "action":
        return _action_input_origin(workflow, name, depth)
    if workflow.kind != "workflow" or not workflow.triggers:
        return Provenance.UNKNOWN
    if dispatch_payload or "workflow_call" not in workflow.triggers:
        return _dispatch_input_origin(workflow, name)
    on = workflow.data.get("on")
    call = on.get("workflow_call") if isinstance(on, dict) else None
    declared = call.get("inputs") if isinstance(call, dict) else None
    if declared is None:
        return Provenance.TRUSTED  # no input declared: a caller cannot pass any
    if not isinstance(declared, dict):
        return Provenance.UNKNOWN
    spec = _named(declared, name)
    if spec is None:
        return Provenance.TRUSTED  # not declared for callers: empty when called
    kind = spec.get("type") if isinstance(spec, dict) else None
    if kind in CONSTRAINED_INPUT_TYPES:
        return Provenance.TRUSTED
    jobs = calling_jobs(workflow)
    if not jobs:
        called = Provenance.CALLER
    else:
        default = spec.get("default") if isinstance(spec, dict) else None
        called = worst(
            [
                _passed_origin(_named(job.data.get("with"), name), default, Step(job, 0, {}), depth)
                for job in jobs
            ]
        )
    if "workflow_dispatch" in workflow.triggers:
        return worst([called, _dispatch_input_origin(workflow, name)])
    return called


def _action_input_origin(action: Workflow, name: str, depth: int) -> Provenance:
    """An input of a composite action: what each step of the repository's workflows that uses
    it passes; a caller mendbot cannot see chooses it when no workflow of the repository uses
    the action (or it is published: its users are other repositories)."""
    steps = calling_steps(action)
    if not steps:
        return Provenance.CALLER
    spec = _named(action.data.get("inputs"), name)
    default = spec.get("default") if isinstance(spec, dict) else None
    return worst([_passed_origin(_named(s.with_, name), default, s, depth) for s in steps])


def _passed_origin(value: Any, default: Any, caller: Step, depth: int) -> Provenance:
    """The origin of the value a caller passes for an input (``with:``), or of the input's
    declared default when it passes none, evaluated where the caller evaluates it."""
    chosen = value if value is not None else default
    if chosen is None or isinstance(chosen, (dict, list)):
        return Provenance.TRUSTED if chosen is None else Provenance.UNKNOWN
    return text_origin(str(chosen), caller, depth)


def _dispatch_input_origin(workflow: Workflow, name: str) -> Provenance:
    """A ``workflow_dispatch`` input: chosen by a writer, unless a workflow of the repository
    dispatches runs itself and the input is free text: it may carry the text of whatever
    started that one (an issue title), so it counts as outsiders' text."""
    if not dispatched_by_workflows(workflow):
        return Provenance.TRUSTED
    on = workflow.data.get("on")
    dispatch = on.get("workflow_dispatch") if isinstance(on, dict) else None
    declared = dispatch.get("inputs") if isinstance(dispatch, dict) else None
    spec = _named(declared, name)
    if spec is None:
        return Provenance.TRUSTED  # GitHub refuses a dispatch with an undeclared input
    kind = spec.get("type", "string") if isinstance(spec, dict) else "string"
    return Provenance.TRUSTED if kind in CONSTRAINED_INPUT_TYPES else Provenance.OUTSIDE_TEXT


def _step_output_origin(job: Job, step_id: str, name: str, before: int, depth: int) -> Provenance:
    """``steps.<id>.outputs.<name>`` read by a step at index ``before``."""
    producer = next(
        (
            s
            for s in job.steps
            if s.index < before and str(s.data.get("id", "")).lower() == step_id.lower()
        ),
        None,
    )
    if producer is None:
        return Provenance.UNKNOWN
    uses = producer.uses
    if uses is not None and uses.owner:
        outsider = OUTSIDER_ACTION_OUTPUTS.get(uses.slug, ())
        if any(fnmatch.fnmatchcase(name.lower(), pattern) for pattern in outsider):
            return Provenance.OUTSIDE_TEXT
        script = producer.with_.get("script") if uses.is_action("actions/github-script") else None
        if isinstance(script, str) and GITHUB_SCRIPT_READS_OUTSIDER_TEXT.search(script):
            return Provenance.OUTSIDE_TEXT
        known = TRUSTED_ACTION_OUTPUTS.get(uses.slug, {})
        if name.lower() not in known:
            return Provenance.UNKNOWN
        repeated = known[name.lower()]
        value = producer.with_.get(repeated) if repeated else None
        return Provenance.TRUSTED if value is None else text_origin(str(value), producer, depth)
    return _own_code_origin(producer, depth)


def _own_code_origin(producer: Step, depth: int) -> Provenance:
    """What the repository's own code (a ``run:`` or a local action) computes: an outsider's
    when the step reads an outsider's value; trusted when only writers or a pull request's
    author start the run, every value the step reads is trusted, and a script reads nothing
    an outsider may have written elsewhere; else unknown."""
    if producer.run is not None:
        read = [producer.run]
    elif producer.uses is not None and producer.uses.local:
        read = _strings(producer.with_)
    else:
        return Provenance.UNKNOWN
    for scope in (producer.env, producer.job.env, producer.workflow.env):
        read.extend(_strings(scope))
    found = worst([text_origin(t, producer, depth) for t in read])
    if found in (Provenance.ATTACKER, Provenance.CALLER):
        return found
    if producer.run is not None and _READS_OUTSIDER_TEXT.search(producer.run):
        return Provenance.OUTSIDE_TEXT
    if starters(producer.workflow) is Starters.ANYONE:
        return Provenance.UNKNOWN
    if producer.run is not None and _READS_ELSEWHERE.search(producer.run):
        return Provenance.UNKNOWN
    return found


def _job_output_origin(workflow: Workflow, job_id: str, name: str, depth: int) -> Provenance:
    """``needs.<job>.outputs.<name>`` (``jobs.<job>.outputs.<name>`` in a reusable workflow's
    outputs): the job's ``outputs:`` text, evaluated after its last step; for a job calling a
    local reusable workflow, that workflow's own output."""
    job = next((j for j in workflow.jobs if j.id.lower() == job_id.lower()), None)
    if job is None:
        return Provenance.UNKNOWN
    if job.uses is not None:
        return _called_output_origin(workflow, job.uses.raw, name, depth)
    value = _named(job.data.get("outputs"), name)
    if not isinstance(value, str):
        return Provenance.UNKNOWN
    return text_origin(value, Step(job, _AFTER_ALL_STEPS, {}), depth)


def _called_output_origin(workflow: Workflow, uses: str, name: str, depth: int) -> Provenance:
    """Output ``name`` of the local reusable workflow ``uses`` (``./.github/workflows/x.yml``)
    as its ``on.workflow_call.outputs`` computes it; unknown for another repository's."""
    callee = load_local_workflow(workflow, uses.strip())
    on = callee.data.get("on") if callee is not None else None
    call = on.get("workflow_call") if isinstance(on, dict) else None
    output = _named(call.get("outputs") if isinstance(call, dict) else None, name)
    value = output.get("value") if isinstance(output, dict) else None
    if callee is None or not callee.jobs or not isinstance(value, str):
        return Provenance.UNKNOWN
    # `jobs.<id>.outputs.<name>` is all the value can read: any job of the callee anchors it.
    return text_origin(value, Step(callee.jobs[0], _AFTER_ALL_STEPS, {}), depth)


def _named(mapping: Any, name: str) -> Any:
    """The value of key ``name`` in ``mapping``, compared case-insensitively; None if absent."""
    if not isinstance(mapping, dict):
        return None
    return next((v for k, v in mapping.items() if str(k).lower() == name.lower()), None)


def _env_origin(step: Step, name: str, depth: int) -> Provenance:
    """``env.<name>``: its ``env:`` declaration, and every earlier ``run:`` of the job that
    writes ``$GITHUB_ENV`` (any of them may set it)."""
    value = declared_env(step, name)
    if isinstance(value, (dict, list)):
        return Provenance.UNKNOWN
    writers = [
        s for s in step.job.steps if s.index < step.index and s.run and "GITHUB_ENV" in s.run
    ]
    if value is None and not any(name.lower() in (s.run or "").lower() for s in writers):
        return Provenance.UNKNOWN  # set by an action, or not at all
    origins = [_own_code_origin(s, depth) for s in writers]
    if value is not None:
        origins.append(text_origin(str(value), step, depth))
    return worst(origins)


def variable_origin(step: Step, name: str) -> tuple[str, Provenance] | None:
    """Where the shell variable ``$name`` of a ``run:`` gets its value: the ``env:`` text it
    is declared with (or the context the runner exports it from) and that text's origin;
    None when neither the workflow nor the runner defines it."""
    value = declared_env(step, name)
    if value is not None and not isinstance(value, (dict, list)):
        return str(value), text_origin(str(value), step)
    context = context_of_variable(name)
    if context is not None:
        return "${{ " + context + " }}", origin(context, step)
    return None
