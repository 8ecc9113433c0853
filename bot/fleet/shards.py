"""Balanced shards: repositories split by their number of workflows, the same way every run.

Greedy longest-processing-time scheduling: repositories in decreasing order of workflows
(ties by name) each go to the shard with the least work so far (ties to the lowest shard), which
is within 4/3 of the best possible longest shard. Inputs in any order give the same shards.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

#: GitHub Actions accepts at most 256 jobs from one matrix.
MAX_SHARDS = 256


@dataclass(frozen=True)
class Repository:
    """One repository of the organisation and how many workflow files it has."""

    name: str
    workflows: int


@dataclass(frozen=True)
class Shard:
    """One matrix job: its number (from 1), its repositories (sorted) and their workflows."""

    number: int
    repositories: tuple[str, ...]
    workflows: int


def balance(repositories: Iterable[Repository], shards: int) -> list[Shard]:
    """Split ``repositories`` into at most ``shards`` non-empty shards of about equal work."""
    if not 1 <= shards <= MAX_SHARDS:
        raise ValueError(f"shards must be between 1 and {MAX_SHARDS}, not {shards}")
    ordered = sorted(repositories, key=lambda r: (-r.workflows, r.name))
    count = min(shards, len(ordered))
    heap = [(0, index) for index in range(count)]
    members: list[list[str]] = [[] for _ in range(count)]
    load = [0] * count
    for repository in ordered:
        work, index = heapq.heappop(heap)
        members[index].append(repository.name)
        load[index] = work + repository.workflows
        heapq.heappush(heap, (load[index], index))
    return [
        Shard(number=index + 1, repositories=tuple(sorted(members[index])), workflows=load[index])
        for index in range(count)
    ]


def matrix(shards: list[Shard]) -> dict[str, Any]:
    """The ``strategy.matrix`` object of the analysis job: ``{"include": [...]}`` and nothing
    else (any other key would become a matrix dimension)."""
    return {
        "include": [
            {
                "shard": shard.number,
                "repositories": list(shard.repositories),
                "workflows": shard.workflows,
            }
            for shard in shards
        ]
    }
