"""``mendbot inventory aws --out REPO`` as users meet it: a real process reads moto's IAM (its
authorization enforcement on) with an identity holding only the documented read-only policy,
and writes ``.mendbot/desired/aws-iam-access-key/<account>.yml``; the bytes on disk are checked.
Failures (a missing permission, an unreachable endpoint, a bad ``--out``, a symlinked folder)
exit 2 with one clear line and write nothing; secrets never appear in any output."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from aws_account import ACCOUNT, READER, Account, aws_account, days_ago, documented_policy
from botocore.exceptions import ClientError

from bot.desired import parse_desired
from bot.inventory.aws_reader import PAGE_SIZE, READ_ACTIONS
from clirun import run_mendbot

RELATIVE = f".mendbot/desired/aws-iam-access-key/{ACCOUNT}.yml"
#: Every IAM/STS action the inventory may send (GetCallerIdentity needs no permission).
READS = {action.split(":")[1] for action in READ_ACTIONS} | {"GetCallerIdentity"}


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    with aws_account(monkeypatch) as made:
        yield made


def _assert_no_secret(account: Account, *texts: str) -> None:
    for secret in account.secrets:
        for text in texts:
            assert secret not in text


def _inventory(account: Account, repo: Path, *args: str, **env: str):
    """Run the command; the front then holds exactly the actions this run sent."""
    account.front.actions.clear()
    account.front.pages.clear()
    return run_mendbot("inventory", "aws", "--out", str(repo), *args, env=account.env(**env))


def _three_users(account: Account) -> dict[str, str]:
    account.user("ci-deployer", tags={"Owner": "platform-team"})
    account.user("legacy-backup")
    account.user("reporting", tags={"team": "data"})
    keys = {
        "used": account.key("ci-deployer", created=days_ago(400)),
        "abandoned": account.key("legacy-backup", created=days_ago(200)),
        "disabled": account.key("reporting", created=days_ago(300), status="Inactive"),
    }
    account.use(keys["used"], at=days_ago(3))
    account.reader()
    return keys


def test_inventory_reads_with_the_read_only_policy_and_writes_the_file(
    account: Account, tmp_path: Path
) -> None:
    keys = _three_users(account)
    done = _inventory(account, tmp_path, "--now", "2026-12-07T12:00:00Z")
    assert done.returncode == 0, done.stderr
    assert done.stderr == f"wrote {RELATIVE} (5 access keys)\n"
    text = (tmp_path / RELATIVE).read_bytes().decode("utf-8")
    # Only reads went to AWS, each of them allowed by moto's enforcement.
    assert set(account.front.actions) == READS
    parsed = parse_desired(RELATIVE, text.encode())
    by_user = {key.user: key for key in parsed.keys}  # type: ignore[attr-defined]
    assert [key.user for key in parsed.keys] == sorted(by_user)  # type: ignore[attr-defined]
    assert set(by_user) == {"ci-deployer", "legacy-backup", "moto-admin", READER, "reporting"}
    assert text.count("\n  - id: ") == 5
    section = text.split(f"  - id: {keys['abandoned']}\n", 1)[1].split("\n  - id:", 1)[0]
    assert section == (
        '    user: "legacy-backup"\n'
        "    status: Active\n"
        '    created: "2026-05-21T12:00:00Z"\n'
        "    last_used:\n"
        "      date: null\n"
        "      service: null\n"
        "      region: null\n"
        "    owner: null"
    )
    assert by_user["ci-deployer"].owner == "platform-team"
    assert by_user["ci-deployer"].last_used.date == "2026-12-04T12:00:00Z"
    assert by_user["ci-deployer"].last_used.service == "iam"
    assert by_user["reporting"].owner == "data"
    assert by_user["reporting"].status == "Inactive"
    assert by_user["reporting"].inactive_since == "2026-12-07T12:00:00Z"
    assert text.startswith(f"# IAM access keys of AWS account {ACCOUNT}, as `mendbot inventory")
    assert "\r" not in text
    _assert_no_secret(account, done.stdout, done.stderr, text)


def test_the_read_only_identity_is_refused_a_write(account: Account) -> None:
    keys = _three_users(account)
    client = boto3.client(
        "iam",
        endpoint_url=account.front.url,
        region_name="us-east-1",
        aws_access_key_id=account.reader_key,
        aws_secret_access_key=account.reader_secret,
    )
    assert client.list_users()["Users"]  # the same identity may read
    with pytest.raises(ClientError) as refused:
        client.update_access_key(
            UserName="legacy-backup", AccessKeyId=keys["abandoned"], Status="Inactive"
        )
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert account.status("legacy-backup", keys["abandoned"]) == "Active"


def test_a_rerun_on_an_unchanged_account_changes_no_byte(account: Account, tmp_path: Path) -> None:
    _three_users(account)
    first = _inventory(account, tmp_path)
    assert first.returncode == 0, first.stderr
    path = tmp_path / RELATIVE
    before, stamp = path.read_bytes(), path.stat().st_mtime_ns
    # Another day, nothing changed in the account: not a byte, not even the file's time.
    second = _inventory(account, tmp_path, "--now", "2026-12-09T08:00:00Z")
    assert second.returncode == 0, second.stderr
    assert second.stderr == f"unchanged: {RELATIVE} (5 access keys)\n"
    assert path.read_bytes() == before
    assert path.stat().st_mtime_ns == stamp
    assert sorted(os.listdir(path.parent)) == [path.name]  # no temporary file left


def test_inactive_since_and_a_hand_written_owner_survive_a_rerun(
    account: Account, tmp_path: Path
) -> None:
    keys = _three_users(account)
    assert _inventory(account, tmp_path, "--now", "2026-11-01T00:00:00Z").returncode == 0
    path = tmp_path / RELATIVE
    text = path.read_text(encoding="utf-8")
    marker = f"  - id: {keys['abandoned']}\n"
    head, tail = text.split(marker, 1)
    tail = tail.replace("    owner: null", '    owner: "storage-team"', 1)
    path.write_text(head + marker + tail, encoding="utf-8")
    assert _inventory(account, tmp_path, "--now", "2026-12-07T12:00:00Z").returncode == 0
    parsed = parse_desired(RELATIVE, path.read_bytes())
    by_id = {key.id: key for key in parsed.keys}  # type: ignore[attr-defined]
    assert by_id[keys["abandoned"]].owner == "storage-team"
    assert by_id[keys["disabled"]].inactive_since == "2026-11-01T00:00:00Z"


def test_owner_from_a_codeowners_line_naming_the_inventory_file(
    account: Account, tmp_path: Path
) -> None:
    keys = _three_users(account)
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "CODEOWNERS").write_text(
        "* @org/everyone\n/.mendbot/desired/aws-iam-access-key/ @org/security\n", encoding="utf-8"
    )
    assert _inventory(account, tmp_path).returncode == 0
    parsed = parse_desired(RELATIVE, (tmp_path / RELATIVE).read_bytes())
    by_id = {key.id: key for key in parsed.keys}  # type: ignore[attr-defined]
    assert by_id[keys["abandoned"]].owner == "@org/security"
    assert by_id[keys["used"]].owner == "platform-team"  # a tag on the user wins


@pytest.mark.parametrize("catch_all", ["*", "/**", "**"])
def test_a_catch_all_codeowners_line_names_no_owner(
    account: Account, tmp_path: Path, catch_all: str
) -> None:
    """``* @org/maintainers`` says who reviews code: it must not make every untagged key
    owned (which would let its deactivation merge without the person an unowned key needs)."""
    keys = _three_users(account)
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "CODEOWNERS").write_text(
        f"/docs/ @org/writers\n{catch_all} @org/maintainers\n", encoding="utf-8"
    )
    assert _inventory(account, tmp_path).returncode == 0
    parsed = parse_desired(RELATIVE, (tmp_path / RELATIVE).read_bytes())
    by_id = {key.id: key for key in parsed.keys}  # type: ignore[attr-defined]
    assert by_id[keys["abandoned"]].owner is None
    assert by_id[keys["used"]].owner == "platform-team"


def test_a_users_iam_path_is_recorded_for_the_deploy_session(
    account: Account, tmp_path: Path
) -> None:
    """The deploy session is scoped to the user's ARN, which holds its path: the inventory
    records a path other than ``/`` (and writes nothing for ``/``)."""
    account.user("etl", path="/ci/nightly/")
    account.user("web")
    etl = account.key("etl", created=days_ago(100))
    web = account.key("web", created=days_ago(100))
    account.reader()
    assert _inventory(account, tmp_path).returncode == 0
    text = (tmp_path / RELATIVE).read_text(encoding="utf-8")
    assert f'  - id: {etl}\n    user: "etl"\n    user_path: "/ci/nightly/"\n' in text
    assert f'  - id: {web}\n    user: "web"\n    status: Active\n' in text
    parsed = parse_desired(RELATIVE, text.encode())
    paths = {key.user: key.user_path for key in parsed.keys}  # type: ignore[attr-defined]
    assert paths["etl"] == "/ci/nightly/" and paths["web"] == "/"


def test_more_users_than_one_page(account: Account, tmp_path: Path) -> None:
    for number in range(PAGE_SIZE + 3):
        account.user(f"svc-{number:03d}")
    account.key("svc-102", created=days_ago(100))
    account.reader()
    done = _inventory(account, tmp_path)
    assert done.returncode == 0, done.stderr
    assert account.front.pages["ListUsers"] == 2
    text = (tmp_path / RELATIVE).read_text(encoding="utf-8")
    assert 'user: "svc-102"' in text  # on the second page
    # Every user's keys were listed: the 103 above, the reader and the test's administrator.
    assert account.front.actions.count("ListAccessKeys") == PAGE_SIZE + 3 + 2


def test_a_missing_permission_is_named_and_nothing_is_written(
    account: Account, tmp_path: Path
) -> None:
    _three_users(account)
    account.iam.put_user_policy(
        UserName=READER,
        PolicyName="mendbot-inventory",
        PolicyDocument=json.dumps(documented_policy(without="iam:GetAccessKeyLastUsed")),
    )
    done = _inventory(account, tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("error: AWS refused iam:GetAccessKeyLastUsed (AccessDenied)")
    assert "allow iam:GetAccessKeyLastUsed" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / ".mendbot").exists()
    _assert_no_secret(account, done.stdout, done.stderr)


def test_an_existing_file_is_left_whole_when_the_inventory_fails(
    account: Account, tmp_path: Path
) -> None:
    _three_users(account)
    assert _inventory(account, tmp_path).returncode == 0
    before = (tmp_path / RELATIVE).read_bytes()
    account.iam.put_user_policy(
        UserName=READER,
        PolicyName="mendbot-inventory",
        PolicyDocument=json.dumps(documented_policy(without="iam:ListUserTags")),
    )
    done = _inventory(account, tmp_path)
    assert done.returncode == 2
    assert "iam:ListUserTags" in done.stderr
    assert (tmp_path / RELATIVE).read_bytes() == before


def test_an_unreachable_endpoint_is_a_clear_error(account: Account, tmp_path: Path) -> None:
    account.reader()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    done = _inventory(account, tmp_path, AWS_ENDPOINT_URL=closed)
    assert done.returncode == 2
    assert done.stderr.startswith("error: cannot reach the AWS endpoint for sts:GetCallerIdentity")
    assert "AWS_ENDPOINT_URL" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / ".mendbot").exists()


def test_service_endpoint_variables_are_honoured(account: Account, tmp_path: Path) -> None:
    _three_users(account)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    done = _inventory(
        account,
        tmp_path,
        AWS_ENDPOINT_URL=closed,
        AWS_ENDPOINT_URL_IAM=account.front.url,
        AWS_ENDPOINT_URL_STS=account.front.url,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / RELATIVE).is_file()


def test_out_must_be_an_existing_folder(account: Account, tmp_path: Path) -> None:
    account.reader()
    afile = tmp_path / "file"
    afile.write_text("x", encoding="utf-8")
    for out, state in ((afile, "is not a folder"), (tmp_path / "missing", "does not exist")):
        done = _inventory(account, out)
        assert done.returncode == 2
        assert done.stderr.startswith(f"error: --out {out}: {state}")
        assert "Traceback" not in done.stderr
    assert afile.read_text(encoding="utf-8") == "x"
    assert not (tmp_path / "missing").exists()


def test_a_symlinked_folder_is_never_written_through(account: Account, tmp_path: Path) -> None:
    _three_users(account)
    repo, elsewhere = tmp_path / "repo", tmp_path / "elsewhere"
    repo.mkdir()
    elsewhere.mkdir()
    (repo / ".mendbot").symlink_to(elsewhere)
    done = _inventory(account, repo)
    assert done.returncode == 2
    assert "symlinked folder" in done.stderr
    assert "Traceback" not in done.stderr
    assert list(elsewhere.iterdir()) == []


def test_a_file_name_of_its_own(account: Account, tmp_path: Path) -> None:
    _three_users(account)
    done = _inventory(account, tmp_path, "--account-file-name", "staging.yml")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / ".mendbot/desired/aws-iam-access-key/staging.yml").is_file()
    bad = _inventory(account, tmp_path, "--account-file-name", "../escape.yml")
    assert bad.returncode == 2
    assert "not a plain file name" in bad.stderr
    assert not (tmp_path / ".mendbot/desired/escape.yml").exists()


_BOOT = """
import atexit, json, os, sys
def _dump():
    names = sorted(m for m in sys.modules if m.startswith(("bot.", "boto3", "botocore")))
    with open(os.environ["MENDBOT_TEST_MODULES"], "w", encoding="utf-8") as handle:
        json.dump(names, handle)
atexit.register(_dump)
sys.argv[0] = "mendbot"
from bot.cli.app import main
main()
"""


def _modules(args: list[str], env: dict[str, str], record: Path) -> list[str]:
    env = {**env, "MENDBOT_TEST_MODULES": str(record)}
    done = subprocess.run(
        [sys.executable, "-c", _BOOT, *args], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(record.read_text(encoding="utf-8"))
    return loaded


def test_the_inventory_loads_only_the_analysis_side_and_others_never_load_boto3(
    account: Account, tmp_path: Path
) -> None:
    _three_users(account)
    loaded = _modules(
        ["inventory", "aws", "--out", str(tmp_path)], account.env(), tmp_path / "m.json"
    )
    forbidden = ("bot.forge", "bot.policy", "bot.propose", "bot.gate", "bot.deploy")
    forbidden += ("bot.detectors", "bot.analyze")
    assert [m for m in loaded if m.startswith(forbidden)] == []
    assert "boto3" in loaded
    for args in (["--version"], ["rules"]):
        assert not [m for m in _modules(args, account.env(), tmp_path / "n.json") if "boto" in m]


def test_a_status_iam_does_not_show_is_reported(account: Account, tmp_path: Path) -> None:
    keys = _three_users(account)
    assert _inventory(account, tmp_path).returncode == 0
    path = tmp_path / RELATIVE
    text = path.read_text(encoding="utf-8")
    marker = f"  - id: {keys['abandoned']}\n"
    head, tail = text.split(marker, 1)
    path.write_text(head + marker + tail.replace("status: Active", "status: Inactive", 1))
    done = _inventory(account, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith(
        f"warning: {keys['abandoned']} of legacy-backup is Active in IAM, the file said Inactive"
    )
    assert path.read_text(encoding="utf-8") == text  # the file says what IAM says


def test_an_existing_files_permissions_are_kept(account: Account, tmp_path: Path) -> None:
    keys = _three_users(account)
    assert _inventory(account, tmp_path).returncode == 0
    path = tmp_path / RELATIVE
    assert path.stat().st_mode & 0o777 == 0o644
    path.chmod(0o640)
    account.use(keys["abandoned"], at=days_ago(1))
    assert _inventory(account, tmp_path).returncode == 0
    assert "2026-12-06T12:00:00Z" in path.read_text(encoding="utf-8")
    assert path.stat().st_mode & 0o777 == 0o640
