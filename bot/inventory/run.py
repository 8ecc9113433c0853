"""One ``mendbot inventory aws`` or ``mendbot inventory github`` run: read the account (the
repository), merge what the replaced file knew, render, check that it reads back, and write it
only when a byte changed."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.desired import (
    DESIRED_DIR,
    AwsIamAccessKeys,
    DesiredStateError,
    GithubNhi,
    GithubSettings,
    parse_desired,
)
from bot.inventory.aws import collect
from bot.inventory.aws_reader import connect
from bot.inventory.comments import carry_comments
from bot.inventory.errors import InventoryError
from bot.inventory.github import collect_nhi, collect_settings
from bot.inventory.github_reader import GithubReader, api_root, token_from_environment
from bot.inventory.owners import codeowners_of
from bot.inventory.render import render_access_keys
from bot.inventory.render_github import render_nhi, render_settings
from bot.inventory.write import check_repository, read_existing, write_file

AWS_KIND = "aws-iam-access-key"


@dataclass(frozen=True)
class InventoryRun:
    """What one run did."""

    path: str
    """The inventory file, relative to the repository."""
    written: bool
    """False when the file already held exactly these bytes (it was not touched)."""
    keys: int
    warnings: tuple[str, ...]
    """Keys whose status the replaced file asked for and IAM does not show, and comments of
    the replaced file whose key is gone."""


def inventory_aws(
    repository: Path, file_name: str | None, region: str | None, now: datetime
) -> InventoryRun:
    """Inventory the access keys of the AWS chain's account into ``repository``; raises
    :class:`InventoryError` (or :class:`~bot.desired.DesiredStateError`) with nothing
    written."""
    check_repository(repository)
    reader = connect(region)
    account = reader.account_id()
    relative = f"{DESIRED_DIR}/{AWS_KIND}/{file_name or account + '.yml'}"
    existing = read_existing(repository, relative)
    previous = _previous(relative, existing, account)
    inventory = collect(
        reader,
        account,
        previous=previous,
        file_owner=codeowners_of(repository, relative),
        now=now,
    )
    data, lost = _with_comments(relative, existing, render_access_keys(inventory))
    # The written file must read back as the model it came from (the rules and the deploy
    # job read it with the same parser).
    if parse_desired(relative, data) != inventory:
        raise InventoryError(f"{relative}: the rendered inventory does not read back; not written")
    written = write_file(repository, relative, data)
    warnings = _undeployed(previous, inventory) + lost
    return InventoryRun(relative, written, len(inventory.keys), warnings)


def _with_comments(
    relative: str, existing: bytes | None, rendered: str
) -> tuple[bytes, tuple[str, ...]]:
    """``rendered`` with the comments people wrote in the replaced file (an inline
    suppression is a decision: a refresh keeps it), and a warning per comment whose key is
    gone."""
    if existing is None:
        return rendered.encode("utf-8"), ()
    text, lost = carry_comments(existing.decode("utf-8", "replace"), rendered)
    return text.encode("utf-8"), tuple(
        f"{relative}: a comment was dropped, its entry is gone: {comment}" for comment in lost
    )


def _undeployed(previous: AwsIamAccessKeys | None, observed: AwsIamAccessKeys) -> tuple[str, ...]:
    """Keys whose status the replaced file asked for and IAM does not show: a merged change not
    deployed yet, or undone by someone. The file now says what IAM says; the user is told."""
    if previous is None:
        return ()
    now = {key.id: key.status for key in observed.keys}
    return tuple(
        f"{key.id} of {key.user} is {now[key.id]} in IAM, the file said {key.status}: a merged "
        "change not deployed yet, or undone since; check before committing this inventory"
        for key in previous.keys
        if key.id in now and now[key.id] != key.status
    )


def _previous(relative: str, raw: bytes | None, account: str) -> AwsIamAccessKeys | None:
    if raw is None:
        return None
    try:
        parsed = parse_desired(relative, raw)
    except DesiredStateError as exc:
        raise InventoryError(
            f"the existing inventory is not valid: {exc}",
            advice="fix or remove the file, then rerun; it was left unchanged",
        ) from None
    if not isinstance(parsed, AwsIamAccessKeys) or parsed.account != account:
        found = getattr(parsed, "account", "?")
        raise InventoryError(
            f"{relative} holds account {found}, the credentials are of account {account}",
            advice="use --account-file-name to give each account its own file",
        )
    return parsed


GITHUB_SETTINGS_KIND = "github-settings"
GITHUB_NHI_KIND = "github-nhi"


@dataclass(frozen=True)
class GithubInventoryRun:
    """What one ``mendbot inventory github`` run did."""

    files: tuple[tuple[str, bool], ...]
    """Each inventory file (relative to the repository) and whether it was written (False:
    it already held exactly these bytes)."""
    counts: str
    """What was found, for the summary line."""
    warnings: tuple[str, ...]
    """Settings the replaced file asked for and GitHub does not show, and comments of the
    replaced files whose entry is gone."""


def github_file_name(repository: str, existing: Iterable[str] = ()) -> str:
    """``<owner>--<name>.yml``, lower-cased: the file of ``repository`` under each GitHub kind's
    folder. GitHub's names are case-insensitive (``Acme/App`` is ``acme/app``), so a file of
    ``existing`` (names already in those folders) spelled the same but for case is the one,
    and no second file is made for the same repository."""
    owner, _, name = repository.partition("/")
    wanted = f"{owner}--{name}.yml".lower()
    return next((found for found in sorted(existing) if found.lower() == wanted), wanted)


def _existing_names(repository_dir: Path, kinds: Iterable[str]) -> list[str]:
    """The file names already in the folders of ``kinds`` (settings first)."""
    names: list[str] = []
    for kind in kinds:
        folder = repository_dir / DESIRED_DIR / kind
        if folder.is_dir() and not folder.is_symlink():
            names += sorted(p.name for p in folder.iterdir() if p.suffix == ".yml")
    return names


def inventory_github(
    repository_dir: Path, repository: str, api_url: str | None
) -> GithubInventoryRun:
    """Inventory the Actions settings and non-human identities of ``repository`` (``owner/name``)
    into ``repository_dir``, with the token of ``$GITHUB_TOKEN``/``$GH_TOKEN``; raises
    :class:`InventoryError` with nothing written (both files are rendered and checked before
    either is written)."""
    check_repository(repository_dir)
    root = api_root(api_url)
    reader = GithubReader(root, token_from_environment(), repository)
    try:
        settings = collect_settings(reader, repository)
        nhi = collect_nhi(reader, repository)
    finally:
        reader.close()
    name = github_file_name(
        repository, _existing_names(repository_dir, (GITHUB_SETTINGS_KIND, GITHUB_NHI_KIND))
    )
    settings_path = f"{DESIRED_DIR}/{GITHUB_SETTINGS_KIND}/{name}"
    nhi_path = f"{DESIRED_DIR}/{GITHUB_NHI_KIND}/{name}"
    settings_before = read_existing(repository_dir, settings_path)
    nhi_before = read_existing(repository_dir, nhi_path)
    previous = _previous_settings(settings_path, settings_before)
    spelled = _previous_nhi(nhi_path, nhi_before, repository)
    if previous is not None and previous.repository.lower() != repository.lower():
        raise InventoryError(
            f"{settings_path} holds repository {previous.repository}, not {repository}",
            advice="fix or remove the file, then rerun; it was left unchanged",
        )
    # The spelling the files already use is kept: a rerun with other case changes no byte.
    spelled = previous.repository if previous is not None else spelled or repository
    settings = settings.model_copy(update={"repository": spelled})
    nhi = nhi.model_copy(update={"repository": spelled})
    settings_data, settings_lost = _with_comments(
        settings_path, settings_before, render_settings(settings)
    )
    nhi_data, nhi_lost = _with_comments(nhi_path, nhi_before, render_nhi(nhi))
    rendered = ((settings_path, settings_data, settings), (nhi_path, nhi_data, nhi))
    for relative, data, model in rendered:
        # What is written must read back as the model it came from (the rules and the deploy
        # job read it with the same parser).
        if parse_desired(relative, data) != model:
            raise InventoryError(f"{relative}: the rendered inventory does not read back")
    files = tuple(
        (relative, write_file(repository_dir, relative, data)) for relative, data, _ in rendered
    )
    environment_secrets = sum(len(e.secrets) for e in nhi.environments)
    counts = (
        f"{len(nhi.secrets)} secrets, {len(nhi.variables)} variables, "
        f"{len(nhi.deploy_keys)} deploy keys, {len(nhi.environments)} environments "
        f"({environment_secrets} environment secrets)"
    )
    warnings = _settings_drift(previous, settings) + settings_lost + nhi_lost
    return GithubInventoryRun(files, counts, warnings)


def _settings_drift(previous: GithubSettings | None, observed: GithubSettings) -> tuple[str, ...]:
    """Settings the replaced file asked for and GitHub does not show: a merged change not
    deployed yet, or undone by someone. The file now says what GitHub says; the user is told."""
    if previous is None:
        return ()
    was = previous.actions.model_dump(mode="json")
    now = observed.actions.model_dump(mode="json")
    return tuple(
        f"actions.{name} is {json.dumps(now[name])} on GitHub, the file said "
        f"{json.dumps(was[name])}: a merged change not deployed yet, or undone since; check "
        "before committing this inventory"
        for name in sorted(was)
        if was[name] is not None and was[name] != now[name]
    )


def _previous_settings(relative: str, raw: bytes | None) -> GithubSettings | None:
    parsed = _parsed(relative, raw)
    return parsed if isinstance(parsed, GithubSettings) else None


def _previous_nhi(relative: str, raw: bytes | None, repository: str) -> str | None:
    """The repository the existing file names (None without one); raises
    :class:`InventoryError` when it is another repository (case aside)."""
    parsed = _parsed(relative, raw)
    if not isinstance(parsed, GithubNhi):
        return None
    if parsed.repository.lower() != repository.lower():
        raise InventoryError(
            f"{relative} holds repository {parsed.repository}, not {repository}",
            advice="fix or remove the file, then rerun; it was left unchanged",
        )
    return parsed.repository


def _parsed(relative: str, raw: bytes | None) -> object:
    if raw is None:
        return None
    try:
        return parse_desired(relative, raw)
    except DesiredStateError as exc:
        raise InventoryError(
            f"the existing inventory is not valid: {exc}",
            advice="fix or remove the file, then rerun; it was left unchanged",
        ) from None
