"""``gha-overprovisioned-secrets``: every secret handed to one place (``toJSON(secrets)``,
``secrets[<computed name>]``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from bot.detectors.interface import Detection, WorkflowRule
from bot.models import Severity
from bot.workflow.expression_sites import expression_sites
from bot.workflow.expression_tree import Call, Context, Node, walk
from bot.workflow.model import Workflow

NO_FIX = (
    "which secrets the receiving script or action reads is not written in the workflow; "
    "pass each one it needs by name (`${{ secrets.NAME }}`) by hand"
)


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
        "step needs by name. Report only: which secrets the receiving code reads is not in "
        "the workflow.\n\n"
        "Compared with zizmor's `overprovisioned-secrets`: the same expressions (in every "
        "value of the file, `if:` included), one finding per value."
    )
    default_severity: ClassVar[Severity] = Severity.MEDIUM
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
            yield Detection(finding, None, NO_FIX)
