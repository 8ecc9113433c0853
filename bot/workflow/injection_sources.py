"""Where the value of an expression comes from, looked up in the workflow itself.

:func:`origin` refines :func:`bot.knowledge.contexts.provenance` for the contexts whose origin
the file can tell: ``matrix.<key>`` when the matrix writes every value out as a plain string,
``env.<NAME>`` when the workflow, job or step declares it (a literal, or expressions whose own
origin is then looked up). A value an earlier step may have changed through ``$GITHUB_ENV``
stays unknown.
"""

from __future__ import annotations

import re
from typing import Any

from bot.knowledge.contexts import Provenance, context_of_variable, provenance
from bot.workflow.expression_tree import ExpressionError, parse
from bot.workflow.expression_tree import contexts as tree_contexts
from bot.workflow.matrix import matrix_texts
from bot.workflow.model import Step
from bot.workflow.template_scan import Expression, expressions

#: Literal text no shell, PowerShell or JavaScript string gives a meaning to: letters, digits,
#: blanks and ``._+,:/=@-``.
_PLAIN_TEXT = re.compile(r"^[A-Za-z0-9 ._+,:/=@-]*$")
_ENV_CONTEXT = re.compile(r"^env\.(?P<name>[A-Za-z_][A-Za-z0-9_]*)$", re.IGNORECASE)
_RANK = {Provenance.ATTACKER: 0, Provenance.UNKNOWN: 1, Provenance.TRUSTED: 2}
_MAX_DEPTH = 4


def contexts_of(expression: Expression) -> list[str]:
    """The context paths an expression reads, from its parse tree so that string literals
    (``'github.event.issue.title'``) are not mistaken for contexts; the scanner's regular
    expression when the parser does not know the syntax or a call result is indexed."""
    try:
        node = parse(expression.inner)
    except ExpressionError:
        return expression.contexts()
    paths = [c.path for c in tree_contexts(node)]
    if any(p.startswith("<call>") for p in paths):
        return expression.contexts()
    spelled = {c.lower(): c for c in expression.contexts()}  # the text as written, for messages
    return [spelled.get(p, p) for p in paths]


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


def _github_env_written_before(step: Step) -> bool:
    """Whether an earlier ``run:`` of the job may set variables through ``$GITHUB_ENV``."""
    earlier = [s for s in step.job.steps if s.index < step.index]
    return any(s.run is not None and "GITHUB_ENV" in s.run for s in earlier)


def worst(origins: list[Provenance]) -> Provenance:
    """The least trusted of ``origins`` (trusted when empty)."""
    return min(origins, key=_RANK.__getitem__, default=Provenance.TRUSTED)


def text_origin(text: str, step: Step, depth: int = 0) -> Provenance:
    """The origin of a value written as ``text`` (a literal, or text with expressions)."""
    found = list(expressions(text))
    if not found:
        return Provenance.TRUSTED if _PLAIN_TEXT.match(text) else Provenance.UNKNOWN
    return worst([origin(c, step, depth + 1) for e in found for c in contexts_of(e)])


def origin(context: str, step: Step, depth: int = 0) -> Provenance:
    """How far the value of ``context`` can be trusted where ``step`` reads it."""
    base = provenance(context)
    if base is not Provenance.UNKNOWN or depth > _MAX_DEPTH:
        return base
    if context.lower().startswith("matrix"):
        texts = matrix_texts(step.job, context)
        if texts is not None and all(_PLAIN_TEXT.match(t) for t in texts):
            return Provenance.TRUSTED
        return base
    match = _ENV_CONTEXT.match(context)
    if match is None:
        return base
    value = declared_env(step, match["name"])
    if value is None or isinstance(value, (dict, list)):
        return base
    declared = text_origin(str(value), step, depth)
    if declared is Provenance.TRUSTED and _github_env_written_before(step):
        return base
    return declared


def variable_origin(step: Step, name: str) -> tuple[str, Provenance] | None:
    """Where the shell variable ``$name`` of a ``run:`` gets its value: the ``env:`` text it
    is declared with (or the context the runner exports it from) and that text's origin;
    None when neither the workflow nor the runner defines it."""
    value = declared_env(step, name)
    if value is not None and not isinstance(value, (dict, list)):
        return str(value), text_origin(str(value), step)
    context = context_of_variable(name)
    if context is not None:
        return "${{ " + context + " }}", provenance(context)
    return None
