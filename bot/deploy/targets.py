"""From a merge commit's change to deploy targets: exactly the objects that changed.

Each changed path belongs to one kind: a workflow file is ``git-workflow``; a file under
``.mendbot/desired/<kind>/`` is that kind; anything else (docs, code) has nothing to deploy.
Each path also belongs to the environments ``.github/mendbot.yml`` maps it to (``unmapped``
when none). A desired-state file gives one target: the objects whose state differs between the
merge's first parent (what the analysis saw) and the merge (what git asks for). Workflow files
give one target per environment: the workflows touched there.

Status changes are targets; removing objects is a :class:`Deletion` (irreversible: the plan
deploys it only under its stronger rules, as a target with ``deletion`` set); a change that
would create an object, or change a field no applier writes, is a :class:`Refusal` with the
reason (creating is never the fix of a finding).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.deploy.applier import State, Target
from bot.desired import (
    GIT_WORKFLOW,
    AwsIamAccessKeys,
    DesiredStateError,
    GithubNhi,
    GithubSettings,
    kind_of,
    parse_desired,
)
from bot.policy.gate_context import UNMAPPED_ENVIRONMENT, environments_of
from bot.provenance.changes import RawEntry

#: Where workflow files live.
WORKFLOWS_DIR = ".github/workflows/"


@dataclass(frozen=True)
class Deletion:
    """Objects a desired-state file no longer lists: removing them is irreversible."""

    kind: str
    environment: str
    source: str
    objects: tuple[str, ...]
    pre_image: State = field(default_factory=dict)
    """``object -> state`` the analysis saw (the file at the merge's parent)."""
    location: State = field(default_factory=dict)
    """Where the objects live (``{"account": …}``, ``{"repository": …}``)."""

    def target(self) -> Target:
        """The deletion as a target for a deleting applier: ``desired`` maps every object to
        None (absent)."""
        return Target(
            kind=self.kind,
            environment=self.environment,
            objects=self.objects,
            pre_image=dict(self.pre_image),
            desired=dict.fromkeys(self.objects),
            location=dict(self.location),
            source=self.source,
            deletion=True,
        )


@dataclass(frozen=True)
class Refusal:
    """A change in a desired-state file that no applier may make."""

    source: str
    environment: str
    reason: str


Planned = Target | Deletion | Refusal


def is_workflow(path: str) -> bool:
    """Whether ``path`` is a workflow file."""
    return path.startswith(WORKFLOWS_DIR) and path.endswith((".yml", ".yaml"))


def targets_of(
    entries: Sequence[RawEntry],
    read: Mapping[str, tuple[bytes | None, bytes | None]],
    environments: Mapping[str, Sequence[str]],
) -> list[Planned]:
    """The targets of a change. ``entries`` are its ``git diff --raw`` records (attestations
    left out by the caller); ``read[path]`` is the file's bytes at the parent and at the merge
    (None where absent). Raises :class:`DesiredStateError` for an unusable desired-state file."""
    planned: list[Planned] = []
    workflows: dict[str, dict[str, tuple[str | None, str | None]]] = {}
    for entry in sorted(entries, key=lambda e: e.path):
        names = environments_of([entry.path], environments) or (UNMAPPED_ENVIRONMENT,)
        if is_workflow(entry.path):
            before = None if set(entry.src_id) == {"0"} else entry.src_id
            after = None if set(entry.dst_id) == {"0"} else entry.dst_id
            for name in names:
                workflows.setdefault(name, {})[entry.path] = (before, after)
            continue
        if kind_of(entry.path) is None:
            continue
        before_raw, after_raw = read[entry.path]
        for name in names:
            planned.extend(_desired_targets(entry.path, name, before_raw, after_raw))
    for name, paths in sorted(workflows.items()):
        planned.append(
            Target(
                kind=GIT_WORKFLOW,
                environment=name,
                objects=tuple(sorted(paths)),
                pre_image={path: ids[0] for path, ids in paths.items()},
                desired={path: ids[1] for path, ids in paths.items()},
            )
        )
    return planned


def _desired_targets(
    path: str, environment: str, before_raw: bytes | None, after_raw: bytes | None
) -> list[Planned]:
    if before_raw is None:
        return [
            Refusal(path, environment, "a new desired-state file: inventories are not deployed")
        ]
    before = parse_desired(path, before_raw)
    if after_raw is None:
        return [Refusal(path, environment, "the desired-state file was deleted")]
    after = parse_desired(path, after_raw)
    if isinstance(before, AwsIamAccessKeys) and isinstance(after, AwsIamAccessKeys):
        return _access_keys(path, environment, before, after)
    if isinstance(before, GithubSettings) and isinstance(after, GithubSettings):
        return _settings(path, environment, before, after)
    if isinstance(before, GithubNhi) and isinstance(after, GithubNhi):
        return _github_nhi(path, environment, before, after)
    raise DesiredStateError(f"{path}: the kind changed between the parent and the merge")


def _access_keys(
    path: str, environment: str, before: AwsIamAccessKeys, after: AwsIamAccessKeys
) -> list[Planned]:
    if before.account != after.account:
        return [Refusal(path, environment, "the account id changed")]
    old = {key.id: key for key in before.keys}
    new = {key.id: key for key in after.keys}
    planned: list[Planned] = []
    added = sorted(set(new) - set(old))
    if added:
        planned.append(Refusal(path, environment, f"keys added: {', '.join(added)}"))
    removed = tuple(sorted(set(old) - set(new)))
    if removed:
        planned.append(
            Deletion(
                "aws-iam-access-key",
                environment,
                path,
                removed,
                pre_image={k: old[k].model_dump(mode="json") for k in removed},
                location={"account": before.account},
            )
        )
    changed: list[str] = []
    for key_id in sorted(set(old) & set(new)):
        was, now = old[key_id].model_dump(mode="json"), new[key_id].model_dump(mode="json")
        if was == now:
            continue
        others = sorted(k for k in was if k != "status" and was[k] != now[k])
        if others:
            planned.append(Refusal(path, environment, f"key {key_id}: {', '.join(others)} changed"))
        else:
            changed.append(key_id)
    if changed:
        planned.append(
            Target(
                kind="aws-iam-access-key",
                environment=environment,
                objects=tuple(changed),
                pre_image={k: old[k].model_dump(mode="json") for k in changed},
                desired={k: new[k].model_dump(mode="json") for k in changed},
                location={"account": after.account},
                source=path,
            )
        )
    return planned


def _settings(
    path: str, environment: str, before: GithubSettings, after: GithubSettings
) -> list[Planned]:
    if before.repository != after.repository:
        return [Refusal(path, environment, "the repository changed")]
    old: dict[str, Any] = before.actions.model_dump(mode="json")
    new: dict[str, Any] = after.actions.model_dump(mode="json")
    changed = sorted(name for name in new if new[name] != old[name])
    unmanaged = [name for name in changed if new[name] is None]
    if unmanaged:
        return [Refusal(path, environment, f"settings no longer managed: {', '.join(unmanaged)}")]
    if not changed:
        return []
    pre: State = {f"actions.{name}": old[name] for name in changed}
    desired: State = {f"actions.{name}": new[name] for name in changed}
    return [
        Target(
            kind="github-settings",
            environment=environment,
            objects=tuple(sorted(desired)),
            pre_image=pre,
            desired=desired,
            location={"repository": after.repository},
            source=path,
        )
    ]


def _github_nhi(path: str, environment: str, before: GithubNhi, after: GithubNhi) -> list[Planned]:
    """A ``github-nhi`` change: removing repository or environment secrets is a
    :class:`Deletion` (irreversible: secret values are write-only); any other change is
    observed state, never deployed."""
    if before.repository != after.repository:
        return [Refusal(path, environment, "the repository changed")]
    old, new = _secrets_of(before), _secrets_of(after)
    planned: list[Planned] = []
    removed = tuple(sorted(set(old) - set(new)))
    if removed:
        planned.append(
            Deletion(
                "github-nhi",
                environment,
                path,
                removed,
                pre_image={k: old[k].model_dump(mode="json") for k in removed},
                location={"repository": before.repository},
            )
        )
    if _without_secrets(before, set(new)) != _without_secrets(after, set(new)):
        was = _without_secrets(before, set(new)).model_dump(mode="json")
        now = _without_secrets(after, set(new)).model_dump(mode="json")
        fields = sorted(name for name in now if was[name] != now[name])
        planned.append(
            Refusal(
                path,
                environment,
                f"{', '.join(fields)} changed: github-nhi files are observed state (rerun "
                "`mendbot inventory github`); only removing a secret is a deployable change",
            )
        )
    return planned


def _secrets_of(inventory: GithubNhi) -> dict[str, Any]:
    """Every secret by object name: ``secret:<NAME>``, ``environment:<env>/secret:<NAME>``."""
    found: dict[str, Any] = {f"secret:{s.name}": s for s in inventory.secrets}
    for env in inventory.environments:
        found.update({f"environment:{env.name}/secret:{s.name}": s for s in env.secrets})
    return found


def _without_secrets(inventory: GithubNhi, kept: set[str]) -> GithubNhi:
    """``inventory`` holding only the secrets named in ``kept``."""
    return inventory.model_copy(
        update={
            "secrets": tuple(s for s in inventory.secrets if f"secret:{s.name}" in kept),
            "environments": tuple(
                env.model_copy(
                    update={
                        "secrets": tuple(
                            s
                            for s in env.secrets
                            if f"environment:{env.name}/secret:{s.name}" in kept
                        )
                    }
                )
                for env in inventory.environments
            ),
        }
    )
