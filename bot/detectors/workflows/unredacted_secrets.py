"""``gha-unredacted-secrets``: a value computed from a secret (``fromJSON(secrets.X).y``),
which GitHub does not mask in logs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from bot.detectors.interface import Detection, WorkflowRule
from bot.models import Severity
from bot.workflow.expression_sites import expression_sites
from bot.workflow.expression_tree import Call, Context, Node, walk
from bot.workflow.model import Workflow

NO_FIX = (
    "store each field you need as a secret of its own (`secrets.DB_PASSWORD`) and use it by "
    "name: GitHub masks a secret's exact value only"
)


def _calls(tree: Node) -> Iterator[Call]:
    """Every call in ``tree``, including those whose result is indexed (``f(x).key``)."""
    for node in walk(tree):
        if isinstance(node, Call):
            yield node
        elif isinstance(node, Context) and node.base is not None:
            yield from _calls(node.base)


def decoded_secrets(tree: Node) -> list[str]:
    """The secrets ``tree`` decodes with ``fromJSON`` (``secrets.db``; ``secrets`` for all)."""
    return [
        ".".join(arg.parts)
        for call in _calls(tree)
        if call.name == "fromjson"
        for arg in call.args
        if isinstance(arg, Context) and arg.parts[:1] == ("secrets",)
    ]


class UnredactedSecrets(WorkflowRule):
    """Report ``fromJSON(secrets.…)``: the decoded value escapes log masking."""

    id: ClassVar[str] = "gha-unredacted-secrets"
    title: ClassVar[str] = "value decoded from a secret is not masked in logs"
    description: ClassVar[str] = (
        "GitHub masks a secret in logs by searching for its exact text. "
        "`${{ fromJSON(secrets.CREDENTIALS).password }}` is a different text (a field of the "
        "JSON, with its escapes undone), so when a script or an action prints it, it is "
        "printed in clear, in logs anyone with read access to the repository can see. Store "
        "each field as a secret of its own and use it by name. Report only: the secrets are "
        "set up outside the workflow.\n\n"
        "Compared with zizmor's `unredacted-secrets`: the same expressions (every value of the "
        "file), one finding per value."
    )
    default_severity: ClassVar[Severity] = Severity.MEDIUM
    example_before: ClassVar[str] = """\
on: push
jobs:
  migrate:
    runs-on: ubuntu-latest
    steps:
      - run: ./migrate.sh
        env:
          DB_PASSWORD: ${{ fromJSON(secrets.DATABASE).password }}
"""
    example_after: ClassVar[str] = example_before

    def visit_workflow(self, workflow: Workflow) -> Iterator[Detection]:
        """Check every expression of the file, once per value."""
        reported: set[tuple[str | int, ...]] = set()
        for site in expression_sites(workflow):
            secrets = decoded_secrets(site.tree)
            if not secrets or site.route in reported:
                continue
            reported.add(site.route)
            finding = self.finding(
                workflow,
                site.route,
                f"`fromJSON({secrets[0]})` computes a value GitHub does not mask: printed by "
                "anything that receives it, it appears in clear in the logs",
                evidence="${{ " + site.text + " }}",
            )
            yield Detection(finding, None, NO_FIX)
