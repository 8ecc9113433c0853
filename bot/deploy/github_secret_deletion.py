"""Deleting GitHub Actions secrets a ``github-nhi`` file no longer lists: irreversible (a
secret's value is write-only), so it happens only when nothing says the secret is in use.

A deletion target names ``secret:<NAME>`` (a repository secret) or
``environment:<env>/secret:<NAME>`` objects present in
``.mendbot/desired/github-nhi/<owner>--<name>.yml`` at the merge's first parent and absent at
the merge; the plan hands it over only with ``deploy.allow_irreversible`` and a gate decision
from a policy demanding the stronger approvals.

* ``connect``: an installation token of the deployer App narrowed to the one repository and
  ``secrets: write`` (``environments: write`` for environment secrets), as for settings.
* ``snapshot``: ``GET`` each secret (name and dates; GitHub never returns a value).
* ``precheck``: the secret must still exist with the ``updated_at`` the analysis saw (a secret
  set again since was rotated: someone uses it), and no workflow or composite action of the
  merge commit may reference it, by the same scan the ``nhi-github-unused-secret`` rule runs
  (:mod:`bot.secret_references`); when that scan cannot tell (a ``secrets: inherit`` to another
  repository, ``toJSON(secrets)``, an unreadable file, no workflow at all) nothing is deleted.
* ``apply``: ``DELETE`` each secret, stopping at the first failure.
* ``validate``: ``GET`` answers 404 for each.
* ``compensate``: impossible; it raises, and the deploy job records the failure without asking
  for a revert.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Self
from urllib.parse import quote

from bot import git as gitcmd
from bot.deploy.applier import DeployContext, Grant, State, Target
from bot.deploy.deletion import Deletion
from bot.deploy.github_token import GitHubApi, GitHubApiError, mint_installation_token
from bot.errors import MendbotError
from bot.secret_references import SecretReferences, scan_references

KIND = "github-nhi"
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_OBJECT = re.compile(
    r"^(?:environment:(?P<environment>[^/\s]{1,255})/)?secret:(?P<name>[A-Za-z_][A-Za-z0-9_]*)$"
)
#: Where the rule reads workflow and composite-action files (as the analysis discovers them).
_WORKFLOWS = ".github/workflows/"
_ACTIONS = ".github/actions/"
_ACTION_FILES = ("action.yml", "action.yaml")


class SecretDeletionError(MendbotError):
    """A secret deletion this applier cannot make: nothing was deleted."""

    exit_code = 2


class GithubSecretDeletion(Deletion):
    """Deletes repository and environment Actions secrets nothing references."""

    kind: ClassVar[str] = KIND
    compensation: ClassVar[str] = (
        "none possible: a secret's value is write-only, nobody can restore a deleted one; "
        "nothing to revert"
    )

    def __init__(self, repository: str, api: GitHubApi, workdir: Path | None, merge_sha: str):
        self._repository = repository
        self._api = api
        self._workdir = workdir
        """The local repository holding the merge commit (its workflows are scanned)."""
        self._merge_sha = merge_sha

    @classmethod
    def connect(cls, target: Target, context: DeployContext) -> tuple[Self, Grant]:
        """Check the deletion target names secrets of the repository deployed from (on GitHub;
        a local forge's repository is a URL), then mint a token for it with exactly the
        permissions deleting its secrets needs."""
        repository = check_deletion(target)
        deployed_from = context.repository
        if _REPOSITORY.match(deployed_from) and deployed_from.lower() != repository.lower():
            # Reviewed in deployed_from, whose workflows the precheck scans: they say nothing
            # of which of another repository's secrets are used.
            raise SecretDeletionError(
                f"{target.source or repository}: the secrets are those of {repository}, and this "
                f"deploy job deploys {deployed_from}; nothing was deleted",
                advice=f"delete {repository}'s secrets from {repository}'s own mendbot deploy job",
            )
        permissions: dict[str, str] = {}
        for secret in target.objects:
            scope = "environments" if _environment(secret) else "secrets"
            permissions[scope] = "write"
        grant = mint_installation_token(context, repository, permissions)
        workdir = context.forge.workdir if context.forge is not None else None
        return cls(repository, grant.api(), workdir, context.merge_sha), grant

    def snapshot(self, target: Target) -> State:
        """``object -> {"name", "created_at", "updated_at"}`` as GitHub reports it now, None
        for a secret that does not exist."""
        return {secret: self._read(secret) for secret in target.objects}

    def precheck(self, target: Target, live: State) -> list[str]:
        """One line per secret that is gone, was set again since the analysis saw it, or that
        the merge commit's workflows reference (or may reference)."""
        drift = []
        for secret in target.objects:
            now, seen = live.get(secret), target.pre_image.get(secret) or {}
            if now is None:
                drift.append(f"{secret} of {self._repository} no longer exists: nothing deleted")
                continue
            if now.get("updated_at") != seen.get("updated_at"):
                drift.append(
                    f"{secret} of {self._repository} was set at {now.get('updated_at')}, the "
                    f"analysis saw it set at {seen.get('updated_at')}: someone rotated it, so "
                    "it is in use; nothing deleted"
                )
        drift += self._references(target)
        return drift

    def apply(self, target: Target) -> None:
        """``DELETE`` each secret, in order, stopping at the first failure."""
        for secret in target.objects:
            self._api.request(
                "DELETE", self._path(secret), f"delete {secret} of {self._repository}"
            )

    def label(self, target: Target, obj: str) -> str:
        """``<secret> of <owner/name>``."""
        del target
        return f"{obj} of {self._repository}"

    def still_listed(self, target: Target, obj: str) -> str | None:
        """An empty detail while GitHub still answers for the secret, None once it is 404."""
        del target
        return None if self._read(obj) is None else ""

    def not_compensable(self, target: Target) -> MendbotError:
        """A :class:`SecretDeletionError`: a deleted secret cannot be restored."""
        return SecretDeletionError(f"{', '.join(target.objects)}: {self.compensation}")

    # -- helpers -----------------------------------------------------------------------------
    def _read(self, secret: str) -> dict[str, Any] | None:
        try:
            body = self._api.request(
                "GET", self._path(secret), f"read {secret} of {self._repository}"
            )
        except GitHubApiError as exc:
            if exc.status == 404:
                return None
            raise
        if not isinstance(body, Mapping):
            raise SecretDeletionError(f"GitHub answered {secret} with something not an object")
        return {key: body.get(key) for key in ("name", "created_at", "updated_at")}

    def _path(self, secret: str) -> str:
        environment, name = _environment(secret), _name(secret)
        if environment:
            place = quote(environment, safe="")
            return f"/repos/{self._repository}/environments/{place}/secrets/{name}"
        return f"/repos/{self._repository}/actions/secrets/{name}"

    def _references(self, target: Target) -> list[str]:
        """Why the merge commit's workflows say a secret may be in use, one line each."""
        if self._workdir is None:
            return ["the merge commit's workflows cannot be read: nothing deleted"]
        scanned = merge_references(self._workdir, self._merge_sha)
        if scanned.files == 0:
            return [
                f"the merge commit {self._merge_sha[:12]} has no workflow or action file, so "
                "which secrets are used cannot be told: nothing deleted"
            ]
        if scanned.all_secrets_reasons:
            return [
                f"any secret may be in use at {self._merge_sha[:12]} "
                f"({'; '.join(scanned.all_secrets_reasons)}): nothing deleted"
            ]
        return [
            f"{secret} is referenced by a workflow or action of the merge commit "
            f"{self._merge_sha[:12]}: it is in use; nothing deleted"
            for secret in target.objects
            if scanned.is_referenced(_name(secret))
        ]


def merge_references(workdir: Path, commit: str) -> SecretReferences:
    """The secret references of ``commit``'s workflow and composite-action files (as the rule
    reads them: ``.github/workflows``, ``action.yml`` at the root and under
    ``.github/actions``), a file that is not UTF-8 counted as unreadable."""
    listing = gitcmd.run(workdir, "ls-tree", "-r", "-z", "--full-tree", commit)
    wanted: dict[str, str] = {}
    for record in listing.split(b"\0"):
        if not record:
            continue
        meta, _, raw_path = record.partition(b"\t")
        path = raw_path.decode("utf-8", "surrogateescape")
        _mode, kind, object_id = meta.decode().split()
        if kind == "blob" and _scanned(path):
            wanted[path] = object_id
    blobs = gitcmd.read_blobs(workdir, wanted.values())
    files: list[tuple[str, str | None]] = []
    for path, object_id in wanted.items():
        try:
            files.append((path, blobs[object_id].decode("utf-8")))
        except UnicodeDecodeError:
            files.append((path, None))
    return scan_references(files)


def _scanned(path: str) -> bool:
    if path.startswith(_WORKFLOWS):
        return path.endswith((".yml", ".yaml"))
    if path in _ACTION_FILES:
        return True
    return path.startswith(_ACTIONS) and path.rsplit("/", 1)[-1] in _ACTION_FILES


def check_deletion(target: Target) -> str:
    """The repository of a well-formed secret deletion; raises :class:`SecretDeletionError`."""
    where = target.source or KIND
    repository = str(target.location.get("repository", ""))
    if not target.deletion or not target.objects:
        raise SecretDeletionError(f"{where}: not a deletion of secrets")
    if not _REPOSITORY.match(repository) or {".", ".."} & set(repository.split("/")):
        raise SecretDeletionError(f"{where}: no repository (owner/name) to delete secrets of")
    for secret in target.objects:
        if _OBJECT.match(secret) is None or target.desired.get(secret) is not None:
            raise SecretDeletionError(
                f"{where}: {secret!r} is not a secret the file stopped listing"
            )
    return repository


def _environment(secret: str) -> str | None:
    match = _OBJECT.match(secret)
    return match["environment"] if match else None


def _name(secret: str) -> str:
    match = _OBJECT.match(secret)
    return match["name"] if match else secret
