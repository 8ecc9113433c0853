"""A read-only view of a GitHub Actions workflow for rules: workflow → jobs → steps.

Every element knows its YAML route, so a rule can point at the exact key it is reporting and
describe its fix as route-addressed operations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from bot.models import Location
from bot.yamledit.document import Alias, Mapping, Node, Route, Sequence, YamlDocument

_USES = re.compile(r"^(?P<owner>[^/@\s]+)/(?P<repo>[^/@\s]+)(?P<subpath>/[^@\s]*)?@(?P<ref>\S+)$")


@dataclass(frozen=True)
class Uses:
    """A parsed ``uses:`` value: ``owner/repo[/path]@ref``, a local path, or a docker image."""

    raw: str
    owner: str = ""
    repo: str = ""
    subpath: str = ""
    ref: str = ""
    local: bool = False
    docker: bool = False

    @classmethod
    def parse(cls, raw: str) -> Uses:
        """Parse a ``uses:`` string; never fails (unknown shapes keep only ``raw``)."""
        text = raw.strip()
        if text.startswith("./") or text.startswith("$/"):
            return cls(raw=raw, local=True)
        if text.startswith("docker://"):
            return cls(raw=raw, docker=True)
        match = _USES.match(text)
        if not match:
            return cls(raw=raw)
        return cls(
            raw=raw,
            owner=match["owner"],
            repo=match["repo"],
            subpath=_normal_subpath(match["subpath"] or ""),
            ref=match["ref"],
        )

    @property
    def slug(self) -> str:
        """``owner/repo[/path]`` lower-cased, for comparisons with known actions."""
        base = f"{self.owner}/{self.repo}".lower()
        return f"{base}/{self.subpath.lower()}" if self.subpath else base

    def is_action(self, slug: str) -> bool:
        """Whether this names the action ``slug`` (``owner/repo[/path]``, any ref)."""
        return self.slug == slug.lower()


def _normal_subpath(subpath: str) -> str:
    """The path inside the repository as GitHub resolves it: empty segments and ``.`` dropped,
    ``..`` applied (``checkout/``, ``codeql-action/./init``, ``cache/save/../save``). A path
    whose ``..`` climbs out of the repository is kept as written: it names no known action."""
    parts: list[str] = []
    for part in subpath.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return subpath.strip("/")
            parts.pop()
            continue
        parts.append(part)
    return "/".join(parts)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Workflow:
    """A parsed workflow file."""

    path: str
    """Repository-relative path with ``/`` separators."""
    doc: YamlDocument = field(repr=False)
    data: dict[str, Any] = field(repr=False)
    root: Path | None = field(default=None, repr=False, compare=False)
    """The repository's root on disk, when known: lets rules read files the workflow names
    (a local reusable workflow, ``jobs.<id>.uses: ./.github/workflows/x.yml``)."""
    kind: str = "workflow"
    """``workflow``; ``action`` for an ``action.yml`` (only composite steps are visited);
    ``dependabot`` for ``.github/dependabot.yml`` (only rules that ask for it see it)."""

    @cached_property
    def action_steps(self) -> list[Step]:
        """The steps of a composite action (``runs.steps``); empty for workflows."""
        runs = self.data.get("runs") if self.kind == "action" else None
        if not isinstance(runs, dict):
            return []
        return Job(self, "<composite>", runs, base=("runs",)).steps

    @cached_property
    def jobs(self) -> list[Job]:
        """The jobs, in document order (entries that are not mappings are skipped)."""
        if self.kind != "workflow":
            return []
        return [
            Job(self, str(job_id), job)
            for job_id, job in _mapping(self.data.get("jobs")).items()
            if isinstance(job, dict)
        ]

    @property
    def env(self) -> dict[str, Any]:
        """Workflow-level ``env:``."""
        return _mapping(self.data.get("env"))

    @cached_property
    def triggers(self) -> frozenset[str]:
        """Event names under ``on:`` (a string, a list or a mapping of events)."""
        raw = self.data.get("on")
        if isinstance(raw, str):
            return frozenset({raw})
        if isinstance(raw, list):
            return frozenset(str(event) for event in raw if isinstance(event, str))
        if isinstance(raw, dict):
            return frozenset(str(event) for event in raw)
        return frozenset()

    @property
    def permissions(self) -> Any:
        """Workflow-level ``permissions:`` as written (None when absent)."""
        return self.data.get("permissions")

    def location(self, route: Route) -> Location:
        """Location of the key (or item) at ``route``, falling back to its nearest ancestor.

        A route through an alias is located at the alias (``*name``), not at the anchor.
        """
        alias = self._first_alias(route)
        if alias is not None:
            return Location(path=self.path, line=alias[0], column=alias[1], route=route)
        for depth in range(len(route), -1, -1):
            prefix = route[:depth]
            node = self.doc.key_node(prefix) or self.doc.lookup(prefix)
            if node is not None:
                return Location(
                    path=self.path, line=node.line + 1, column=node.column + 1, route=route
                )
        return Location(path=self.path, line=1, column=1, route=route)

    def _first_alias(self, route: Route) -> tuple[int, int] | None:
        """1-based position of the first alias along ``route``, if the route crosses one.

        One walk from the root that never follows an alias (it stops at the first).
        """
        node = self.doc.root()
        for key in route:
            child: Node | None = None
            if isinstance(node, Mapping) and isinstance(key, str):
                pair = node.get(key)
                child = pair[1] if pair else None
            elif isinstance(node, Sequence) and isinstance(key, int):
                child = node.items[key] if 0 <= key < len(node.items) else None
            if isinstance(child, Alias):
                return child.line + 1, child.column + 1
            if child is None:
                return None
            node = child
        return None


@dataclass(frozen=True)
class Job:
    """One entry of ``jobs:``."""

    workflow: Workflow
    id: str
    data: dict[str, Any] = field(repr=False)
    base: Route | None = None
    """Route of the step container when it is not ``jobs.<id>`` (``runs`` of an action)."""

    @property
    def route(self) -> Route:
        """``("jobs", <id>)``, or ``("runs",)`` for a composite action's steps."""
        return self.base if self.base is not None else ("jobs", self.id)

    @cached_property
    def steps(self) -> list[Step]:
        """The steps, in order (items that are not mappings are skipped, indexes kept).

        The members of a ``- parallel: [...]`` group are steps too, sharing the group's index
        (they run at the same time: none of them is "later" than another).
        """
        raw = self.data.get("steps")
        if not isinstance(raw, list):
            return []
        steps: list[Step] = []
        for i, item in enumerate(raw):
            if not isinstance(item, dict):
                continue
            group = item.get("parallel")
            if isinstance(group, list) and set(item) == {"parallel"}:
                steps.extend(
                    Step(self, i, member, (*self.route, "steps", i, "parallel", j))
                    for j, member in enumerate(group)
                    if isinstance(member, dict)
                )
            else:
                steps.append(Step(self, i, item))
        return steps

    @property
    def env(self) -> dict[str, Any]:
        """Job-level ``env:``."""
        return _mapping(self.data.get("env"))

    @property
    def permissions(self) -> Any:
        """Job-level ``permissions:`` as written (None when absent)."""
        return self.data.get("permissions")

    @cached_property
    def uses(self) -> Uses | None:
        """The reusable workflow this job calls (``jobs.<id>.uses``), if any."""
        raw = self.data.get("uses")
        return Uses.parse(raw) if isinstance(raw, str) else None

    @property
    def runs_on(self) -> list[str]:
        """Runner labels of ``runs-on`` (a string, a list, or a mapping's ``labels``)."""
        raw = self.data.get("runs-on")
        if isinstance(raw, dict):
            raw = raw.get("labels")
        if isinstance(raw, str):
            return [raw]
        if isinstance(raw, list):
            return [str(label) for label in raw]
        return []


@dataclass(frozen=True)
class Step:
    """One entry of a job's ``steps:``."""

    job: Job
    index: int
    data: dict[str, Any] = field(repr=False)
    nested_route: Route | None = None
    """Route of a step inside a ``parallel:`` group (``…steps[i].parallel[j]``)."""

    @property
    def route(self) -> Route:
        """``("jobs", <id>, "steps", <index>)``, or the route inside its ``parallel:`` group."""
        return self.nested_route or (*self.job.route, "steps", self.index)

    @property
    def workflow(self) -> Workflow:
        """The workflow this step belongs to."""
        return self.job.workflow

    @cached_property
    def uses(self) -> Uses | None:
        """The parsed ``uses:``, or None for a ``run:`` step."""
        raw = self.data.get("uses")
        return Uses.parse(raw) if isinstance(raw, str) else None

    @property
    def run(self) -> str | None:
        """The ``run:`` script, if this is a run step."""
        raw = self.data.get("run")
        return raw if isinstance(raw, str) else None

    @property
    def shell(self) -> str | None:
        """The step's shell: its ``shell:``, else the job's or workflow's ``defaults.run.shell``."""
        for scope in (self.data, self.job.data.get("defaults"), self.workflow.data.get("defaults")):
            if not isinstance(scope, dict):
                continue
            if scope is self.data:
                value = scope.get("shell")
            else:
                run = scope.get("run")
                value = run.get("shell") if isinstance(run, dict) else None
            if isinstance(value, str):
                return value
        return None

    @property
    def with_(self) -> dict[str, Any]:
        """The step's ``with:`` inputs."""
        return _mapping(self.data.get("with"))

    @property
    def env(self) -> dict[str, Any]:
        """Step-level ``env:``."""
        return _mapping(self.data.get("env"))

    @property
    def name(self) -> str:
        """A label for messages: the step's ``name``, its ``uses``, or its position."""
        for key in ("name", "uses", "id"):
            value = self.data.get(key)
            if isinstance(value, str) and value:
                return value
        script = (self.run or "").strip().splitlines()
        if script:
            first = script[0] if len(script[0]) <= 40 else script[0][:39] + "…"
            return f"run: {first}"
        return f"step {self.index + 1}"

    def later_steps(self) -> list[Step]:
        """The steps of the same job that run after this one."""
        return [s for s in self.job.steps if s.index > self.index]
