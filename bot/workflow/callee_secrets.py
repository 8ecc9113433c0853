"""Which secrets a local reusable workflow reads and declares, for replacing ``secrets: inherit``.

A called workflow reads a secret only through the ``secrets`` context in its own expressions:
actions and scripts receive one when an expression hands it to them. So the secrets a callee
can use are the ``secrets.<NAME>`` (and ``secrets['NAME']``) references of its file, as long as
none of them reads the context as a whole (``toJSON(secrets)``, ``secrets[<expression>]``,
``secrets.*``) and it passes nothing on with ``secrets: inherit`` to a workflow of its own.
GitHub rejects an explicit ``secrets:`` entry the callee does not declare under
``on.workflow_call.secrets``, so an explicit list is possible only for declared names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.workflow.model import Workflow
from bot.workflow.template_scan import expressions

#: Always available to a called workflow, whatever the caller passes.
_IMPLICIT = frozenset({"github_token"})
#: The ``secrets`` context in an expression, and the name it reads when it reads one by name
#: (``secrets.NAME``, ``secrets['NAME']``); ``inputs.secrets`` is a property, not the context.
_SECRETS = re.compile(
    r"(?<![\w.'-])secrets\b(?:\s*\.\s*(?P<dotted>[A-Za-z_][\w-]*)\b(?!\s*[\[(])"
    r"|\s*\[\s*'(?P<quoted>[^']*)'\s*\])?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class CalleeSecrets:
    """What a called workflow does with secrets; see :func:`callee_secrets`."""

    reads: frozenset[str]
    """Lower-cased names the file reads by name (``GITHUB_TOKEN`` left out)."""
    declared: dict[str, bool]
    """``on.workflow_call.secrets`` as written: name → required."""
    whole: str | None
    """Why the callee's needs cannot be listed (the context read as a whole, an expression
    mendbot cannot parse, ``secrets: inherit`` passed on), or None."""

    def undeclared(self) -> list[str]:
        """Names read but not declared, as the file spells them (lower-cased)."""
        known = {name.lower() for name in self.declared}
        return sorted(self.reads - known)

    def explicit(self) -> dict[str, str]:
        """The ``secrets:`` mapping that passes exactly what the callee uses: every declared
        secret it reads or requires, spelled as declared, valued ``${{ secrets.NAME }}``."""
        return {
            name: "${{ secrets." + name + " }}"
            for name, required in self.declared.items()
            if required or name.lower() in self.reads
        }


def _strings(value: Any, route: tuple[str | int, ...]) -> list[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, str):
        return [(route, value)]
    found: list[tuple[tuple[str | int, ...], str]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(_strings(item, (*route, str(key))))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_strings(item, (*route, index)))
    return found


def _declared(callee: Workflow) -> dict[str, bool]:
    on = callee.data.get("on")
    call = on.get("workflow_call") if isinstance(on, dict) else None
    secrets = call.get("secrets") if isinstance(call, dict) else None
    if not isinstance(secrets, dict):
        return {}
    return {
        str(name): isinstance(spec, dict) and spec.get("required") is True
        for name, spec in secrets.items()
    }


def _scan(text: str, reads: set[str]) -> str | None:
    """Add the secrets ``text`` (an expression) reads by name to ``reads``; a reason when it
    reads the context any other way."""
    for found in _SECRETS.finditer(text):
        name = found["dotted"] or found["quoted"]
        if name is None:
            return f"`{text.strip()}` reads the `secrets` context as a whole or by a computed name"
        if name.lower() not in _IMPLICIT:
            reads.add(name.lower())
    return None


def callee_secrets(callee: Workflow) -> CalleeSecrets:
    """The secrets ``callee`` reads by name, declares, and whether it reads them all.

    The expressions are read as text, not parsed: every ``secrets`` word that is not a
    property of something else counts, so a reference inside an index or a string literal is
    never missed (at worst the callee is taken to read the context as a whole).
    """
    reads: set[str] = set()
    whole: str | None = None
    for job in callee.jobs:
        passed = job.data.get("secrets")
        if isinstance(passed, str) and passed.strip() == "inherit":
            whole = f"its job `{job.id}` passes every secret on with `secrets: inherit`"
    for route, text in _strings(callee.data, ()):
        if route and route[-1] == "if" and "${{" not in text:
            inners = [text]
        else:
            inners = [found.inner for found in expressions(text)]
        for inner in inners:
            why = _scan(inner, reads)
            whole = whole or why
    return CalleeSecrets(frozenset(reads), _declared(callee), whole)
