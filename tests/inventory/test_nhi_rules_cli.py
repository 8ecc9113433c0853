"""The NHI rules as users meet them: ``mendbot inventory aws`` writes the inventory of a moto
account (IAM's clock pinned), then ``mendbot analyze`` (a real process) reports and fixes it;
the JSON report and the bytes on disk are checked."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_account import ACCOUNT, Account, aws_account, days_ago

from bot.desired import parse_desired
from bot.detectors.rule_registry import DESIRED_STATE_RULES
from clirun import run_mendbot

RELATIVE = f".mendbot/desired/aws-iam-access-key/{ACCOUNT}.yml"
NOW_ARG = ("--now", "2026-12-07T12:00:00Z")
UNUSED = "nhi-aws-unused-access-key"
INACTIVE = "nhi-aws-inactive-access-key"
NO_OWNER = "nhi-aws-key-without-owner"


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    with aws_account(monkeypatch) as made:
        yield made


def _keys(account: Account) -> dict[str, str]:
    """Two abandoned keys, an old Inactive one, a young unused one, an old one in use."""
    for user in ("legacy-backup", "old-etl", "retired", "new-service", "ci-deployer"):
        account.user(user, tags={"owner": "platform-team"})
    keys = {
        "abandoned": account.key("legacy-backup", created=days_ago(200)),
        "abandoned2": account.key("old-etl", created=days_ago(91)),
        "inactive": account.key("retired", created=days_ago(300), status="Inactive"),
        "young": account.key("new-service", created=days_ago(10)),
        "in_use": account.key("ci-deployer", created=days_ago(400)),
    }
    account.use(keys["in_use"], at=days_ago(2))
    account.reader()
    return keys


def _inventoried(account: Account, repo: Path) -> dict[str, str]:
    keys = _keys(account)
    done = run_mendbot("inventory", "aws", "--out", str(repo), env=account.env())
    assert done.returncode == 0, done.stderr
    return keys


def _report(repo: Path, *args: str) -> tuple[int, dict[str, Any]]:
    done = run_mendbot("analyze", str(repo), "--format", "json", *args)
    assert "Traceback" not in done.stderr
    return done.returncode, json.loads(done.stdout)


def _by_rule(report: dict[str, Any], rule: str) -> dict[str, dict[str, Any]]:
    return {f["evidence"]: f for f in report["findings"] if f["rule"] == rule}


def _status_route(repo: Path, key_id: str) -> list[object]:
    parsed = parse_desired(RELATIVE, (repo / RELATIVE).read_bytes())
    index = [key.id for key in parsed.keys].index(key_id)  # type: ignore[attr-defined]
    return ["keys", index, "status"]


def test_inventory_then_analyze_reports_every_abandoned_active_key(
    account: Account, tmp_path: Path
) -> None:
    keys = _inventoried(account, tmp_path)
    code, report = _report(tmp_path, *NOW_ARG)
    assert code == 1
    unused = _by_rule(report, UNUSED)
    assert set(unused) == {keys["abandoned"], keys["abandoned2"]}
    for name in ("abandoned", "abandoned2"):
        finding = unused[keys[name]]
        assert finding["path"] == RELATIVE
        assert finding["fix"]["disposition"] == "safe"
        assert finding["fix"]["reversibility"] == "reversible"
        assert finding["fix"]["blast_radius"] == "service"
        # The fix sets that key, and only that key, Inactive.
        assert finding["fix"]["patches"] == [
            {
                "op": "replace",
                "route": _status_route(tmp_path, keys[name]),
                "value": "Inactive",
                "document": 0,
            }
        ]
    message = unused[keys["abandoned"]]["message"]
    assert "never used since its creation on 2026-05-21 (200 days ago)" in message
    assert "nhi.unused_after_days: 90" in message
    assert report["errors"] == []


def test_zero_days_makes_every_never_used_key_count(account: Account, tmp_path: Path) -> None:
    keys = _inventoried(account, tmp_path)
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "mendbot.yml").write_text(
        "nhi:\n  unused_after_days: 0\n", encoding="utf-8"
    )
    code, report = _report(tmp_path, *NOW_ARG)
    assert code == 1
    unused = _by_rule(report, UNUSED)
    # Every never-used Active key; not the Inactive one, not the keys in use (the reader's
    # own key and the administrator's were used at NOW, ci-deployer's two days before).
    assert set(unused) == {keys["abandoned"], keys["abandoned2"], keys["young"]}
    assert "nhi.unused_after_days: 0" in unused[keys["young"]]["message"]


def test_fix_writes_only_those_status_lines(account: Account, tmp_path: Path) -> None:
    keys = _inventoried(account, tmp_path)
    path = tmp_path / RELATIVE
    before = path.read_bytes()
    done = run_mendbot("analyze", str(tmp_path), "--fix", *NOW_ARG)
    assert done.returncode == 1  # the keys without owner remain (report only)
    after = path.read_bytes()
    changed = [
        (old, new)
        for old, new in zip(before.split(b"\n"), after.split(b"\n"), strict=True)
        if old != new
    ]
    assert changed == [(b"    status: Active", b"    status: Inactive")] * 2
    parsed = parse_desired(RELATIVE, after)
    statuses = {key.id: key.status for key in parsed.keys}  # type: ignore[attr-defined]
    assert statuses[keys["abandoned"]] == statuses[keys["abandoned2"]] == "Inactive"
    assert statuses[keys["young"]] == statuses[keys["in_use"]] == "Active"
    again = run_mendbot("analyze", str(tmp_path), "--fix", *NOW_ARG)
    assert again.returncode == 1
    assert path.read_bytes() == after  # a second run changes nothing


def test_fix_keeps_comments_and_crlf(account: Account, tmp_path: Path) -> None:
    keys = _inventoried(account, tmp_path)
    path = tmp_path / RELATIVE
    text = path.read_text(encoding="utf-8")
    marker = f"  - id: {keys['abandoned']}\n"
    text = text.replace(marker, f"  # backup job, retired in May\n{marker}")
    path.write_bytes(text.replace("\n", "\r\n").encode("utf-8"))
    done = run_mendbot("analyze", str(tmp_path), "--fix", *NOW_ARG)
    assert done.returncode == 1, done.stderr
    after = path.read_bytes()
    assert b"  # backup job, retired in May\r\n" in after
    assert after.count(b"\r\n") == after.count(b"\n")
    expected = text.replace("\n", "\r\n").encode("utf-8")
    assert after != expected
    assert len(after) == len(expected) + 2 * len("In")  # two keys: Active -> Inactive


def test_a_suppression_on_the_key_is_a_decision(account: Account, tmp_path: Path) -> None:
    keys = _inventoried(account, tmp_path)
    path = tmp_path / RELATIVE
    text = path.read_text(encoding="utf-8")
    marker = f"  - id: {keys['abandoned']}\n"
    path.write_text(
        text.replace(marker, f"  - id: {keys['abandoned']}  # mendbot: ignore[{UNUSED}]\n"),
        encoding="utf-8",
    )
    before = path.read_bytes()
    _, report = _report(tmp_path, *NOW_ARG)
    assert set(_by_rule(report, UNUSED)) == {keys["abandoned2"]}
    run_mendbot("analyze", str(tmp_path), "--fix", *NOW_ARG)
    after = path.read_text(encoding="utf-8")
    entry = after.split(f"  - id: {keys['abandoned']}", 1)[1].split("\n  - id:", 1)[0]
    assert "status: Active" in entry
    assert before != path.read_bytes()  # the other key was still fixed


def test_a_rerun_of_the_inventory_keeps_what_people_wrote_in_the_file(
    account: Account, tmp_path: Path
) -> None:
    """A refresh rewrites the file from IAM, but a suppression (and any comment) a person
    wrote stays where it was: the kept key is not proposed for deactivation again."""
    keys = _inventoried(account, tmp_path)
    path = tmp_path / RELATIVE
    text = path.read_text(encoding="utf-8")
    marker = f"  - id: {keys['abandoned']}\n"
    decided = text.replace(
        marker,
        "  # kept on purpose: the nightly restore test uses it (ticket OPS-12)\n"
        f"  - id: {keys['abandoned']}  # mendbot: ignore[{UNUSED}]\n",
    )
    path.write_text(decided, encoding="utf-8")
    account.key("new-service", created=days_ago(1))  # the account changed meanwhile

    done = run_mendbot("inventory", "aws", "--out", str(tmp_path), env=account.env())

    assert done.returncode == 0, done.stderr
    after = path.read_text(encoding="utf-8")
    assert after != decided  # the new key was written
    assert (
        "  # kept on purpose: the nightly restore test uses it (ticket OPS-12)\n"
        f"  - id: {keys['abandoned']}  # mendbot: ignore[{UNUSED}]\n"
    ) in after
    assert after.count("# mendbot: ignore") == 1
    _, report = _report(tmp_path, *NOW_ARG)
    assert keys["abandoned"] not in _by_rule(report, UNUSED)
    again = run_mendbot("inventory", "aws", "--out", str(tmp_path), env=account.env())
    assert again.returncode == 0, again.stderr
    assert path.read_text(encoding="utf-8") == after  # nothing changed: not a byte


def test_an_inactive_key_past_its_cooling_period_is_deleted_only_with_fix_all(
    account: Account, tmp_path: Path
) -> None:
    keys = _keys(account)
    env = account.env()
    first = run_mendbot(
        "inventory", "aws", "--out", str(tmp_path), "--now", "2026-10-01T00:00:00Z", env=env
    )
    assert first.returncode == 0, first.stderr
    _, report = _report(tmp_path, *NOW_ARG)
    inactive = _by_rule(report, INACTIVE)
    assert set(inactive) == {keys["inactive"]}
    fix = inactive[keys["inactive"]]["fix"]
    assert (fix["disposition"], fix["reversibility"]) == ("unsafe", "irreversible")
    assert "Inactive since 2026-10-01 (67 days)" in inactive[keys["inactive"]]["message"]
    assert "nhi.delete_after_days: 30" in inactive[keys["inactive"]]["message"]
    path = tmp_path / RELATIVE
    before = path.read_bytes()
    run_mendbot("analyze", str(tmp_path), "--fix", *NOW_ARG)
    assert keys["inactive"].encode() in path.read_bytes()  # safe mode never deletes
    run_mendbot("analyze", str(tmp_path), "--fix=all", *NOW_ARG)
    parsed = parse_desired(RELATIVE, path.read_bytes())
    assert keys["inactive"] not in {k.id for k in parsed.keys}  # type: ignore[attr-defined]
    assert len(parsed.keys) == before.count(b"  - id: ") - 1  # type: ignore[attr-defined]
    # Not yet past the cooling period: nothing to delete.
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "mendbot.yml").write_text("nhi:\n  delete_after_days: 90\n")
    path.write_bytes(before)
    _, report = _report(tmp_path, *NOW_ARG)
    assert _by_rule(report, INACTIVE) == {}


def test_a_key_without_owner_is_reported_never_fixed(account: Account, tmp_path: Path) -> None:
    account.user("orphan")
    orphan = account.key("orphan", created=days_ago(5))
    account.reader()
    assert (
        run_mendbot("inventory", "aws", "--out", str(tmp_path), env=account.env()).returncode == 0
    )
    _, report = _report(tmp_path, *NOW_ARG)
    finding = _by_rule(report, NO_OWNER)[orphan]
    assert finding["fix"] is None
    assert "no known owner" in finding["message"]
    assert "tag the IAM user" in finding["no_fix_reason"]


def test_schema_errors_name_the_file_field_and_line(tmp_path: Path) -> None:
    path = tmp_path / RELATIVE
    path.parent.mkdir(parents=True)
    path.write_text(
        'kind: aws-iam-access-key\nversion: 1\naccount: "123456789012"\nkeys:\n'
        "  - id: AKIAEXAMPLEBACKUP001\n    user: backup\n    status: Disabled\n",
        encoding="utf-8",
    )
    before = path.read_bytes()
    code, report = _report(tmp_path, "--fix")
    assert code == 3
    [error] = report["errors"]
    assert error["path"] == RELATIVE
    assert error["message"].startswith("keys.0.status: Input should be 'Active' or 'Inactive'")
    assert "docs/schemas/desired-aws-iam-access-key.json" in error["message"]
    assert (error["line"], error["column"]) == (7, 5)
    assert path.read_bytes() == before
    path.write_text("kind: [\n", encoding="utf-8")
    code, report = _report(tmp_path)
    assert code == 3
    assert report["errors"][0]["path"] == RELATIVE


def test_a_file_named_explicitly_is_reported_from_its_repository(tmp_path: Path) -> None:
    path = tmp_path / "repo" / RELATIVE
    path.parent.mkdir(parents=True)
    path.write_text(DESIRED_STATE_RULES[0].example_before, encoding="utf-8")
    code, report = _report(path, *NOW_ARG)
    assert code == 1
    assert {f["path"] for f in report["findings"]} == {RELATIVE}


def test_a_folder_of_repositories_and_a_plain_folder(tmp_path: Path) -> None:
    example = DESIRED_STATE_RULES[0].example_before
    for repo in ("r1", "r2"):
        target = tmp_path / "all" / repo / RELATIVE
        target.parent.mkdir(parents=True)
        target.write_text(example, encoding="utf-8")
    (tmp_path / "all" / "r2" / ".github" / "workflows").mkdir(parents=True)
    code, report = _report(tmp_path / "all", *NOW_ARG)
    assert code == 1
    paths = {f["path"] for f in report["findings"] if f["rule"] == UNUSED}
    assert paths == {f"r1/{RELATIVE}", f"r2/{RELATIVE}"}
    # r1 holds no .github: its configuration still applies to it alone.
    (tmp_path / "all" / "r1" / ".github").mkdir()
    (tmp_path / "all" / "r1" / ".github" / "mendbot.yml").write_text(
        f"rules:\n  {UNUSED}:\n    enabled: false\n"
    )
    _, report = _report(tmp_path / "all", *NOW_ARG)
    assert {f["path"] for f in report["findings"] if f["rule"] == UNUSED} == {f"r2/{RELATIVE}"}


def test_a_symlinked_desired_folder_is_not_followed(tmp_path: Path) -> None:
    repo, outside = tmp_path / "repo", tmp_path / "outside"
    (outside / "aws-iam-access-key").mkdir(parents=True)
    (outside / "aws-iam-access-key" / f"{ACCOUNT}.yml").write_text(
        DESIRED_STATE_RULES[0].example_before
    )
    (repo / ".mendbot").mkdir(parents=True)
    (repo / ".mendbot" / "desired").symlink_to(outside)
    code, report = _report(repo, "--fix", *NOW_ARG)
    assert code == 3
    assert [e["path"] for e in report["errors"]] == [".mendbot/desired"]
    assert "symlink" in report["errors"][0]["message"]
    assert report["findings"] == []


def test_mendbot_rules_lists_the_nhi_rules() -> None:
    done = run_mendbot("rules", "--format", "json")
    rows = {row["id"]: row for row in json.loads(done.stdout)}
    assert rows[UNUSED]["fix"] == "safe"
    assert rows[INACTIVE]["fix"] == "unsafe"
    assert rows[NO_OWNER]["fix"] == "report only"


@pytest.mark.parametrize("rule", DESIRED_STATE_RULES, ids=lambda r: r.id)
def test_documented_example_is_what_the_rule_does(rule: Any, tmp_path: Path) -> None:
    path = tmp_path / rule.example_path
    path.parent.mkdir(parents=True)
    path.write_text(rule.example_before, encoding="utf-8")
    for name, text in rule.example_workflows.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    done = run_mendbot(
        "analyze", str(tmp_path), "--rule", rule.id, "--fix=all", "--now", rule.example_now
    )
    assert done.returncode in (0, 1), done.stderr
    assert rule.id in done.stdout
    assert path.read_text(encoding="utf-8") == rule.example_after


def test_a_remediation_of_a_key_without_owner_carries_ownership_unknown(
    make_repo: Any, tmp_path: Path
) -> None:
    repo = make_repo("account")
    orphaned = DESIRED_STATE_RULES[0].example_before.replace(
        '    owner: "storage-team"\n', "    owner: null\n"
    )
    repo.write(RELATIVE, orphaned)
    repo.write("README.md", "# account\n")
    repo.commit("inventory")
    inventory = (repo.path / RELATIVE).read_bytes()
    out = tmp_path / "bundles"
    done = run_mendbot(
        "analyze", str(repo.path), "--bundle-out", str(out), "--sign", "none", *NOW_ARG
    )
    assert done.returncode == 1, done.stderr
    [bundle] = list(out.rglob("plan.json"))
    plan = json.loads(bundle.read_text())
    assert plan["remediation"]["rules"] == [UNUSED]
    assert plan["remediation"]["risk"]["ownership"] == "unknown"
    assert plan["fixes"][0]["ownership"] == "unknown"
    statement = json.loads((bundle.parent / "statement.json").read_text())
    predicate = statement["predicate"]
    assert predicate["remediation"]["risk"]["ownership"] == "unknown"
    assert predicate["inputs"] == [
        {
            "name": f"inventory:{RELATIVE}",
            "uri": None,
            "digest": {"sha256": hashlib.sha256(inventory).hexdigest()},
        }
    ]
    assert (repo.path / RELATIVE).read_bytes() == inventory  # the checkout is never modified


def _bundled(repo: Any, out: Path) -> dict[str, Any]:
    done = run_mendbot(
        "analyze", str(repo.path), "--bundle-out", str(out), "--sign", "none", *NOW_ARG
    )
    assert done.returncode == 1, done.stderr
    [plan] = list(out.rglob("plan.json"))
    loaded: dict[str, Any] = json.loads(plan.read_text())
    return loaded


def test_a_deactivation_keeps_its_fingerprint_when_the_key_moves_in_the_file(
    account: Account, make_repo: Any, tmp_path: Path
) -> None:
    account.user("legacy-backup", tags={"owner": "storage"})
    victim = account.key("legacy-backup", created=days_ago(200))
    account.reader()
    repo = make_repo("account")
    repo.write("README.md", "# account\n")
    assert (
        run_mendbot("inventory", "aws", "--out", str(repo.path), env=account.env()).returncode == 0
    )
    repo.commit("inventory")
    first = _bundled(repo, tmp_path / "first")
    # A user listed before it appears: the key's entry moves down the file.
    account.user("aaa-new-service", tags={"owner": "web"})
    account.key("aaa-new-service", created=days_ago(1))
    assert (
        run_mendbot("inventory", "aws", "--out", str(repo.path), env=account.env()).returncode == 0
    )
    repo.commit("inventory refresh")
    second = _bundled(repo, tmp_path / "second")
    [before], [after] = first["fixes"], second["fixes"]
    assert before["target"] == after["target"] == f"aws-iam-access-key:{ACCOUNT}:{victim}"
    assert before["patches"][0]["route"] != after["patches"][0]["route"]
    assert first["remediation"]["fingerprint"] == second["remediation"]["fingerprint"]


def test_finding_ids_survive_a_refresh_that_moves_the_keys(
    account: Account, tmp_path: Path
) -> None:
    account.user("legacy-backup")  # no owner: reported by the ownership rule too
    victim = account.key("legacy-backup", created=days_ago(200))
    account.reader()
    assert (
        run_mendbot("inventory", "aws", "--out", str(tmp_path), env=account.env()).returncode == 0
    )
    _, first = _report(tmp_path, *NOW_ARG)
    # A user listed before it appears: every entry of the victim moves down the file.
    account.user("aaa-new-service", tags={"owner": "web"})
    account.key("aaa-new-service", created=days_ago(1))
    assert (
        run_mendbot("inventory", "aws", "--out", str(tmp_path), env=account.env()).returncode == 0
    )
    _, second = _report(tmp_path, *NOW_ARG)
    for rule in (UNUSED, NO_OWNER):
        before, after = _by_rule(first, rule)[victim], _by_rule(second, rule)[victim]
        assert before["line"] != after["line"]
        assert before["id"] == after["id"], rule
