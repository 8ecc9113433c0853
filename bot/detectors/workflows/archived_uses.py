"""``gha-archived-uses``: an action or reusable workflow from an archived repository."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import ClassVar

from bot.detectors.interface import Detection
from bot.detectors.online_uses import OnlineUsesRule
from bot.detectors.pinned_refs import UsesSite, pinned_comment, version_comment
from bot.knowledge.archived_actions import ArchivedAction, Successor, archived_action
from bot.models import Severity
from bot.resolvers.action_api import ApiLookupError
from bot.resolvers.action_refs import RefResolutionError
from bot.risk import Disposition
from bot.workflow.model import Step, Workflow
from bot.yamledit.ops import Add, Operation, Remove, Replace, SetComment


def _step_at(workflow: Workflow, site: UsesSite) -> Step | None:
    steps = [step for job in workflow.jobs for step in job.steps] + workflow.action_steps
    return next((step for step in steps if (*step.route, "uses") == site.route), None)


class ArchivedUses(OnlineUsesRule):
    """Report actions whose repository is archived; move to a recorded successor (unsafe)."""

    id: ClassVar[str] = "gha-archived-uses"
    title: ClassVar[str] = "action from an archived repository"
    description: ClassVar[str] = (
        "An archived repository gets no fixes any more, security fixes included, and its "
        "owner has said so. The rule knows a list of archived actions offline "
        "(`bot/knowledge/archived_actions.py`: `actions/create-release`, "
        "`actions/upload-release-asset`, `actions/setup-ruby`, `actions-rs/*`, …) and, online "
        "with a token, asks GitHub's API about every other repository "
        "(`GET /repos/{owner}/{repo}` → `archived`; cached like the refs). Where the list "
        "records a maintained successor, the fix replaces the step's `uses:` by the "
        "successor pinned to the commit of its release tag (`@<sha> # vX.Y.Z`, as "
        "`gha-unpinned-uses` writes it) and renames the inputs the list maps "
        "(`release_name` → `name`). It is **unsafe**: another action runs, and the finding "
        "says what still differs. No fix when the step passes an input the successor lacks, "
        "when a later step reads an output the successor does not set, or offline (the "
        "successor's commit needs the network).\n\n"
        "Compared with zizmor's `archived-uses`: zizmor reports from a list built into it; "
        "mendbot's list is smaller but the API covers every repository, and mendbot moves "
        "steps to a maintained successor where zizmor proposes no fix."
    )
    default_severity: ClassVar[Severity] = Severity.MEDIUM
    fix_disposition: ClassVar[Disposition | None] = Disposition.UNSAFE
    needs_api: ClassVar[bool] = True
    offline_coverage: ClassVar[str | None] = "the actions on mendbot's list of archived ones"

    def check(self, workflow: Workflow, site: UsesSite) -> Iterator[Detection]:
        """Report an archived repository, with the successor's fix where one is recorded."""
        uses = site.uses
        known = archived_action(f"{uses.owner}/{uses.repo}")
        if known is None:
            if not self._archived_upstream(uses.owner, uses.repo):
                return
            known = ArchivedAction(f"{uses.owner}/{uses.repo}".lower())
        where = f"{uses.owner}/{uses.repo}"
        successor = known.successor
        if successor is not None:
            advice = f"; its successor is {successor.action}"
            if successor.differences:
                advice += f" ({successor.differences})"
        elif known.advice:
            advice = f"; {known.advice}"
        else:
            advice = "; look for a maintained fork or replacement"
        finding = self.finding(
            workflow,
            site.route,
            f"{where} is archived: it gets no fixes, security fixes included{advice}",
            evidence=f"uses: {uses.raw}",
        )
        if successor is None:
            why = (
                "the replacement is not a drop-in one: move the step by hand"
                if known.advice
                else "no maintained successor is recorded for it"
            )
            yield Detection(finding, None, why)
            return
        operations = self._move(workflow, site, successor)
        if isinstance(operations, str):
            yield Detection(finding, None, operations)
            return
        title = f"replace archived {where} with {successor.action}"
        yield Detection(finding, self.fix(finding, title, operations))

    def _archived_upstream(self, owner: str, repo: str) -> bool:
        api = self.api()
        if isinstance(api, str):
            return False
        try:
            return api.repository(owner, repo).archived
        except ApiLookupError:
            return False

    def _move(
        self, workflow: Workflow, site: UsesSite, successor: Successor
    ) -> list[Operation] | str:
        """The operations moving the step to ``successor``, or why there are none."""
        step = _step_at(workflow, site)
        if step is None:
            return "only steps are moved to a successor"
        missing = [name for name in step.with_ if name not in successor.inputs]
        if missing:
            return f"{successor.action} has no input like `{missing[0]}`: move the step by hand"
        step_id = step.data.get("id")
        if isinstance(step_id, str):
            read = set(
                re.findall(rf"steps\.{re.escape(step_id)}\.outputs\.([\w-]+)", workflow.doc.text)
            )
            unknown = sorted(read - successor.outputs)
            if unknown:
                return (
                    f"a step reads `steps.{step_id}.outputs.{unknown[0]}`, which "
                    f"{successor.action} does not set: move the step by hand"
                )
        pin = self._pin(successor)
        if isinstance(pin, str):
            return pin
        sha, version = pin
        operations: list[Operation] = [
            Replace(route=site.route, value=f"{successor.action}@{sha}"),
            SetComment(
                route=site.route,
                comment=pinned_comment(version, version_comment(workflow, site.route)),
            ),
        ]
        with_route = (*step.route, "with")
        for old, value in step.with_.items():
            new = successor.inputs[old]
            if new == old:
                continue
            if not isinstance(value, str | int | float | bool):
                return f"the value of `{old}` is not a plain value: move the step by hand"
            operations += [
                Add(route=with_route, key=new, value=value, before=old),
                Remove(route=(*with_route, old)),
            ]
        return operations

    def _pin(self, successor: Successor) -> tuple[str, str] | str:
        """The commit and version comment of the successor's release tag, or why not."""
        refs = self.services.refs
        if refs is None:
            return "pinning the successor needs network; run without --offline"
        owner, repo = successor.action.split("/")
        try:
            tags = refs.refs(owner, repo)
        except RefResolutionError as exc:
            return str(exc)
        sha = tags.tags.get(successor.version)
        if sha is None:
            return f"{successor.action} has no tag {successor.version}"
        version = tags.version_tag_at(sha) or successor.version
        return sha, version if len(version) >= len(successor.version) else successor.version
