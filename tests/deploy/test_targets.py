"""From a merge's change to deploy targets: exactly the objects whose desired state changed, and
a refusal for every change no applier may make (unit tests of :mod:`bot.deploy.targets`)."""

from __future__ import annotations

import pytest

from bot.deploy.applier import Target
from bot.deploy.desired import DesiredStateError
from bot.deploy.targets import Deletion, Refusal, targets_of
from bot.provenance.changes import RawEntry

KEYS = ".mendbot/desired/aws-iam-access-key/123456789012.yml"
SETTINGS = ".mendbot/desired/github-settings/acme--app.yml"
ENVIRONMENTS = {"production": [".mendbot/desired/**", ".github/workflows/deploy.yml"]}

KEYS_BEFORE = b"""\
kind: aws-iam-access-key
account: "123456789012"
keys:
  - {id: AKIAAAAAAAAAAAAAAAAA, user: ci, status: Active, last_used: {date: "2026-01-02T00:00:00Z"}}
  - {id: AKIABBBBBBBBBBBBBBBB, user: ops, status: Active}
"""


def _entry(path: str, before: bool = True, after: bool = True) -> RawEntry:
    return RawEntry(
        src_mode="100644" if before else "000000",
        dst_mode="100644" if after else "000000",
        src_id="1" * 40 if before else "0" * 40,
        dst_id="2" * 40 if after else "0" * 40,
        status="M" if before and after else "A" if after else "D",
        path=path,
    )


def _plan(path: str, before: bytes | None, after: bytes | None):
    entry = _entry(path, before is not None, after is not None)
    return targets_of([entry], {path: (before, after)}, ENVIRONMENTS)


def test_a_status_change_is_a_target_of_exactly_that_key() -> None:
    after = KEYS_BEFORE.replace(b"user: ci, status: Active", b"user: ci, status: Inactive")
    [target] = _plan(KEYS, KEYS_BEFORE, after)
    assert isinstance(target, Target)
    assert (target.kind, target.environment) == ("aws-iam-access-key", "production")
    assert target.objects == ("AKIAAAAAAAAAAAAAAAAA",)
    assert target.pre_image["AKIAAAAAAAAAAAAAAAAA"]["status"] == "Active"
    assert target.desired["AKIAAAAAAAAAAAAAAAAA"]["status"] == "Inactive"
    assert target.location == {"account": "123456789012"}
    assert target.source == KEYS


def test_an_added_key_is_refused() -> None:
    after = KEYS_BEFORE + b"  - {id: AKIACCCCCCCCCCCCCCCC, user: new, status: Active}\n"
    [refusal] = _plan(KEYS, KEYS_BEFORE, after)
    assert isinstance(refusal, Refusal) and "AKIACCCCCCCCCCCCCCCC" in refusal.reason


def test_a_removed_key_is_a_deletion() -> None:
    after = b"\n".join(line for line in KEYS_BEFORE.split(b"\n") if b"AKIABBBB" not in line)
    [deletion] = _plan(KEYS, KEYS_BEFORE, after)
    assert isinstance(deletion, Deletion) and deletion.objects == ("AKIABBBBBBBBBBBBBBBB",)


@pytest.mark.parametrize(
    ("old", "new"),
    [(b"user: ci,", b"user: root,"), (b'"2026-01-02T00:00:00Z"', b'"2026-12-01T00:00:00Z"')],
    ids=["owner", "last-used"],
)
def test_a_change_of_anything_but_the_status_is_refused(old: bytes, new: bytes) -> None:
    after = KEYS_BEFORE.replace(b"ci, status: Active", b"ci, status: Inactive").replace(old, new)
    planned = _plan(KEYS, KEYS_BEFORE, after)
    assert [type(p) for p in planned] == [Refusal]


def test_another_account_is_refused() -> None:
    after = KEYS_BEFORE.replace(b'"123456789012"', b'"999999999999"')
    [refusal] = _plan(KEYS, KEYS_BEFORE, after)
    assert isinstance(refusal, Refusal) and "account" in refusal.reason


def test_new_and_deleted_desired_state_files_are_refused() -> None:
    assert [type(p) for p in _plan(KEYS, None, KEYS_BEFORE)] == [Refusal]
    assert [type(p) for p in _plan(KEYS, KEYS_BEFORE, None)] == [Refusal]


def test_an_invalid_file_is_an_error_naming_the_field() -> None:
    after = KEYS_BEFORE.replace(b"ci, status: Active", b"ci, status: Disabled")
    with pytest.raises(DesiredStateError, match=r"123456789012\.yml: keys\.0\.status"):
        _plan(KEYS, KEYS_BEFORE, after)


SETTINGS_BEFORE = b"""\
kind: github-settings
repository: acme/app
actions: {default_workflow_permissions: write, can_approve_pull_request_reviews: true}
"""


def test_settings_targets_name_only_the_changed_settings() -> None:
    after = SETTINGS_BEFORE.replace(b"true", b"false")
    [target] = _plan(SETTINGS, SETTINGS_BEFORE, after)
    assert isinstance(target, Target)
    assert target.objects == ("actions.can_approve_pull_request_reviews",)
    assert target.pre_image == {"actions.can_approve_pull_request_reviews": True}
    assert target.location == {"repository": "acme/app"}


def test_a_setting_that_stops_being_managed_is_refused() -> None:
    after = SETTINGS_BEFORE.replace(b", can_approve_pull_request_reviews: true", b"")
    [refusal] = _plan(SETTINGS, SETTINGS_BEFORE, after)
    assert isinstance(refusal, Refusal) and "no longer managed" in refusal.reason


def test_a_file_whose_kind_disagrees_with_its_folder_is_an_error() -> None:
    wrong = SETTINGS_BEFORE.replace(b"kind: github-settings", b"kind: aws-iam-access-key")
    with pytest.raises(DesiredStateError):
        _plan(SETTINGS, wrong, wrong)


def test_workflows_give_one_target_per_environment_and_other_files_none() -> None:
    entries = [
        _entry(".github/workflows/deploy.yml"),
        _entry(".github/workflows/ci.yml"),
        _entry("README.md"),
    ]
    planned = targets_of(entries, {}, ENVIRONMENTS)
    assert [(t.kind, t.environment, t.objects) for t in planned] == [  # type: ignore[union-attr]
        ("git-workflow", "production", (".github/workflows/deploy.yml",)),
        ("git-workflow", "unmapped", (".github/workflows/ci.yml",)),
    ]


def test_crlf_and_bom_desired_state_files_read_as_their_lf_twins() -> None:
    after = KEYS_BEFORE.replace(b"user: ci, status: Active", b"user: ci, status: Inactive")
    crlf = _plan(KEYS, KEYS_BEFORE.replace(b"\n", b"\r\n"), after.replace(b"\n", b"\r\n"))
    bom = _plan(KEYS, b"\xef\xbb\xbf" + KEYS_BEFORE, b"\xef\xbb\xbf" + after)
    assert crlf == bom == _plan(KEYS, KEYS_BEFORE, after)


def test_a_symlinked_desired_state_file_is_refused() -> None:
    """git stores a symlink as a blob holding the target's path: that is no desired state."""
    with pytest.raises(DesiredStateError, match=r"123456789012\.yml"):
        _plan(KEYS, b"../../../etc/keys.yml", b"../../../etc/other.yml")


GITHUB_NHI = ".mendbot/desired/github-nhi/acme--app.yml"
NHI_BEFORE = b"""\
kind: github-nhi
repository: acme/app
secrets:
  - {name: NPM_TOKEN, updated_at: "2024-06-01T10:00:00Z"}
  - {name: OLD_DEPLOY_TOKEN}
deploy_keys:
  - {id: 71, title: pusher, read_only: false}
environments:
  - name: production
    secrets: [{name: DB}]
"""


def test_a_removed_github_secret_is_a_deletion_of_that_secret_only() -> None:
    after = NHI_BEFORE.replace(b"  - {name: OLD_DEPLOY_TOKEN}\n", b"")
    [deletion] = _plan(GITHUB_NHI, NHI_BEFORE, after)
    assert isinstance(deletion, Deletion)
    assert (deletion.kind, deletion.objects) == ("github-nhi", ("secret:OLD_DEPLOY_TOKEN",))


def test_a_removed_environment_secret_is_a_deletion_naming_its_environment() -> None:
    after = NHI_BEFORE.replace(b"secrets: [{name: DB}]", b"secrets: []")
    [deletion] = _plan(GITHUB_NHI, NHI_BEFORE, after)
    assert isinstance(deletion, Deletion)
    assert deletion.objects == ("environment:production/secret:DB",)


def test_any_other_github_nhi_change_is_observed_state_and_refused() -> None:
    after = NHI_BEFORE.replace(b"read_only: false", b"read_only: true").replace(
        b"2024-06-01", b"2025-06-01"
    )
    [refusal] = _plan(GITHUB_NHI, NHI_BEFORE, after)
    assert isinstance(refusal, Refusal)
    assert refusal.reason.startswith("deploy_keys, secrets changed: github-nhi files are observed")
