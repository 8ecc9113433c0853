"""``gha-overprovisioned-secrets``: every secret handed to one place (``toJSON(secrets)``,
``secrets[<computed name>]``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import ClassVar

from bot.detectors.interface import Detection, WorkflowRule
from bot.models import Finding, Severity
from bot.risk import Disposition
from bot.workflow.expression_sites import ExpressionSite, expression_sites
from bot.workflow.expression_tree import Call, Context, Node, walk
from bot.workflow.model import Step, Workflow
from bot.workflow.posix_shell import POSIX_SHELLS
from bot.workflow.shell_quoting import shell_name
from bot.yamledit.ops import Replace

NO_FIX = (
    "which secrets the receiving script or action reads is not written in the workflow; "
    "pass each one it needs by name (`${{ secrets.NAME }}`) by hand"
)
_BY_NAME = "pass each secret it needs by name (`${{ secrets.NAME }}`) by hand"
#: The expressions the fix replaces: every secret as one JSON object, nothing else.
_WHOLE_OBJECT = frozenset({"tojson(secrets)", "format('{0}',tojson(secrets))"})
FIX_REASON = (
    "the variable then holds a JSON object of only the secrets the script reads with `jq`; "
    'a secret that is not set becomes `""` where `jq -r` printed `null` before: review it'
)
_JQ_OPTIONS = r"(?:\s+(?:-r|--raw-output|-e|--exit-status|-c))*"
_JQ_KEY = r"(?P<q>['\"]?)\.(?P<key>[A-Za-z_][A-Za-z0-9_]*)(?P=q)"


def _jq_reads(script: str, variable: str) -> list[str] | None:
    """The top-level keys ``script`` reads from ``$variable`` with ``jq``, when every use of
    the variable is ``echo "$V" | jq -r .KEY`` or ``jq -r .KEY <<< "$V"``; None otherwise."""
    reference = rf"\"?\$(?:{variable}\b|\{{{variable}\}})\"?"
    uses = len(re.findall(rf"\$(?:{variable}\b|\{{{variable}[}}:#%/])", script))
    reads = [
        *re.finditer(
            rf"\b(?:echo|printf\s+'%s')\s+{reference}\s*\|\s*jq{_JQ_OPTIONS}\s+{_JQ_KEY}", script
        ),
        *re.finditer(rf"\bjq{_JQ_OPTIONS}\s+{_JQ_KEY}\s*<<<\s*{reference}", script),
    ]
    if not uses or len(reads) != uses:
        return None
    return sorted({match["key"] for match in reads})


def explicit_secrets(step: Step, name: str) -> str | None:
    """The value replacing ``${{ toJSON(secrets) }}`` in ``step``'s ``env.<name>``: a JSON
    object of the secrets its POSIX script reads with ``jq``; None when that is not known."""
    script = step.run
    if script is None or re.search(rf"\benv\.{re.escape(name)}\b", str(step.data), re.I):
        return None
    if shell_name(step.shell, step.job.runs_on) not in POSIX_SHELLS:
        return None
    keys = _jq_reads(script, re.escape(name))
    if not keys:
        return None
    template = ", ".join(f'"{key}": {{{index}}}' for index, key in enumerate(keys))
    arguments = ", ".join(f"toJSON(secrets.{key})" for key in keys)
    return f"${{{{ format('{{{{{template}}}}}', {arguments}) }}}}"


def overprovisioning(tree: Node) -> list[str]:
    """How ``tree`` exposes more than one named secret: ``toJSON(secrets)`` (every secret)
    and ``secrets[<expression>]`` (whichever secret the computed name picks)."""
    found: list[str] = []
    for node in walk(tree):
        if isinstance(node, Call) and node.name == "tojson":
            if any(isinstance(a, Context) and a.parts == ("secrets",) for a in node.args):
                found.append("`toJSON(secrets)` serialises every secret")
        elif isinstance(node, Context) and node.parts[:2] == ("secrets", "?"):
            found.append("`secrets[…]` with a computed name can read any secret")
    return found


class OverprovisionedSecrets(WorkflowRule):
    """Report ``toJSON(secrets)`` and ``secrets[<expression>]``."""

    id: ClassVar[str] = "gha-overprovisioned-secrets"
    title: ClassVar[str] = "every secret handed to one place"
    description: ClassVar[str] = (
        "`${{ toJSON(secrets) }}` puts every secret the run can read (the repository's, the "
        "organisation's, the environment's) into one value, usually an environment variable "
        "of a script or an input of an action: anything running there, and anything it "
        "logs or uploads, holds all of them. `secrets[format('TOKEN_{0}', matrix.env)]` is the "
        "same in a smaller way: the computed name can pick any secret. Pass each secret the "
        "step needs by name. When a step's `env:` holds `${{ toJSON(secrets) }}` and its "
        'script reads that variable only with `jq` (`echo "$SECRETS" | jq -r .NPM_TOKEN`, '
        '`jq -r .X <<< "$SECRETS"`), the fix writes a JSON object of just those secrets '
        "(`${{ format('{{\"NPM_TOKEN\": {0}}}', toJSON(secrets.NPM_TOKEN)) }}`); "
        "`format('{0}', toJSON(secrets))` counts as the same value. **Unsafe**: a secret "
        'that is not set reads as `""` instead of `null`. Anywhere else which secrets the '
        "receiving code reads is not in the workflow, and the finding is reported only, "
        "saying who receives the value: the command a script hands the variable to whole "
        "(with its line), an action's input, or every program the script starts when it "
        "never reads the variable itself.\n\n"
        "Compared with zizmor's `overprovisioned-secrets`: the same expressions (in every "
        "value of the file, `if:` included), one finding per value; zizmor proposes no fix."
    )
    default_severity: ClassVar[Severity] = Severity.MEDIUM
    fix_disposition: ClassVar[Disposition | None] = Disposition.UNSAFE
    example_before: ClassVar[str] = """\
on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - run: ./deploy.sh
        env:
          SECRETS: ${{ toJSON(secrets) }}
"""
    example_after: ClassVar[str] = example_before

    def visit_workflow(self, workflow: Workflow) -> Iterator[Detection]:
        """Check every expression of the file, once per value."""
        reported: set[tuple[str | int, ...]] = set()
        for site in expression_sites(workflow):
            found = overprovisioning(site.tree)
            if not found or site.route in reported:
                continue
            reported.add(site.route)
            finding = self.finding(
                workflow,
                site.route,
                f"{found[0]}: whatever receives this value holds secrets it may not need",
                evidence="${{ " + site.text + " }}",
            )
            yield self._detection(workflow, site, finding)

    def _detection(self, workflow: Workflow, site: ExpressionSite, finding: Finding) -> Detection:
        route = site.route
        step = _step_of(workflow, route)
        value = _value_at(workflow, route)
        if site.text.replace(" ", "").lower() not in _WHOLE_OBJECT:
            return Detection(finding, None, NO_FIX)
        if (
            step is None
            or route[:-1] != (*step.route, "env")
            or value.strip() != "${{ " + site.text + " }}"
        ):
            return Detection(finding, None, _no_fix_reason(step, route))
        replacement = explicit_secrets(step, str(route[-1]))
        if replacement is None:
            return Detection(finding, None, _no_fix_reason(step, route))
        fix = self.fix(
            finding,
            "pass only the secrets the script reads: " + FIX_REASON,
            [Replace(route=route, value=replacement)],
        )
        return Detection(finding, fix)


def _no_fix_reason(step: Step | None, route: tuple[str | int, ...]) -> str:
    """Why the secrets the receiver of ``toJSON(secrets)`` at ``route`` reads are not known:
    who receives the value, and how."""
    if step is None:
        return NO_FIX
    if route[: len(step.route) + 1] == (*step.route, "with") and step.uses is not None:
        return (
            f"`{step.uses.slug}` receives every secret in input `{route[-1]}`, and which of "
            f"them its code reads is not in the workflow: {_BY_NAME}"
        )
    script = step.run
    if route[:-1] != (*step.route, "env") or script is None:
        return NO_FIX
    name = re.escape(str(route[-1]))
    reference = re.compile(rf"\$(?:{name}\b|\{{{name}[}}:#%/])")
    for number, line in enumerate(script.splitlines(), 1):
        if reference.search(line) and not _JQ_READ.search(line):
            command = line.split()[0] if line.split() else line
            return (
                f"the script passes `${route[-1]}` on as a whole (line {number} of `run:`, "
                f"`{command}`), not key by key with `jq`: every secret reaches what runs "
                f"there, and which of them it uses is not in the workflow; {_BY_NAME}"
            )
    if reference.search(script) is None:
        return (
            f"the script never reads `${route[-1]}`, but every program it starts inherits it "
            f"from the environment, and which of them reads it is not in the workflow; "
            f"{_BY_NAME}"
        )
    return NO_FIX


#: A line that reads one key with ``jq`` (``echo "$V" | jq -r .KEY``, ``jq -r .KEY <<< "$V"``).
_JQ_READ = re.compile(rf"\bjq{_JQ_OPTIONS}\s+{_JQ_KEY}")


def _step_of(workflow: Workflow, route: tuple[str | int, ...]) -> Step | None:
    steps = [step for job in workflow.jobs for step in job.steps] + workflow.action_steps
    return next((s for s in steps if route[: len(s.route)] == s.route), None)


def _value_at(workflow: Workflow, route: tuple[str | int, ...]) -> str:
    value: object = workflow.data
    for key in route:
        value = value[key]  # type: ignore[index]
    return value if isinstance(value, str) else ""
