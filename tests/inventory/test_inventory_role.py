"""The inventory inside GitHub Actions: the analysis job's OIDC token is exchanged (by boto3's
standard web-identity provider, ``AWS_WEB_IDENTITY_TOKEN_FILE`` + ``AWS_ROLE_ARN``) for the
documented read-only role, whose trust policy pins the analysis workflow on the default branch
and no environment. The analysis token gets the inventory; the deploy job's and a pull
request's tokens are refused, and the role may read but never write."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from aws_account import EXAMPLES, Account, aws_account, days_ago, documented_policy

from clirun import run_mendbot
from local_sts import ACCOUNT
from oidc_issuer import REPOSITORY, REPOSITORY_ID, STS_AUDIENCE, OidcIssuer
from oidc_issuer import running as issuer_running

ROLE = "mendbot-inventory-read-only"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE}"
RELATIVE = f".mendbot/desired/aws-iam-access-key/{ACCOUNT}.yml"


def _trust(issuer: OidcIssuer) -> dict[str, object]:
    text = (EXAMPLES / "mendbot-inventory-trust-policy.json").read_text(encoding="utf-8")
    owner, repo = REPOSITORY.split("/")
    text = text.replace("token.actions.githubusercontent.com", issuer.host)
    for placeholder, value in {
        "ACCOUNT_ID": ACCOUNT,
        "OWNER": owner,
        "REPO": repo,
        "REPOSITORY_ID": REPOSITORY_ID,
    }.items():
        text = text.replace(f"<{placeholder}>", value)
    assert "<" not in text
    trust: dict[str, object] = json.loads(text)
    return trust


@pytest.fixture
def setup(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Account, OidcIssuer]]:
    with aws_account(monkeypatch) as account, issuer_running() as issuer:
        account.iam.create_open_id_connect_provider(
            Url=issuer.url, ClientIDList=[STS_AUDIENCE], ThumbprintList=["0" * 40]
        )
        account.iam.create_role(
            RoleName=ROLE,
            AssumeRolePolicyDocument=json.dumps(_trust(issuer)),
            MaxSessionDuration=3600,
        )
        account.iam.put_role_policy(
            RoleName=ROLE,
            PolicyName="mendbot-inventory",
            PolicyDocument=json.dumps(documented_policy()),
        )
        account.user("legacy-backup")
        account.key("legacy-backup", created=days_ago(200))
        yield account, issuer


def _run(account: Account, tmp_path: Path, token: str):
    token_file = tmp_path / "token"
    token_file.write_text(token, encoding="utf-8")
    env = account.env(AWS_WEB_IDENTITY_TOKEN_FILE=str(token_file), AWS_ROLE_ARN=ROLE_ARN)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        env.pop(name)
    repo = tmp_path / "repo"
    repo.mkdir(exist_ok=True)
    return repo, run_mendbot("inventory", "aws", "--out", str(repo), env=env)


def test_the_analysis_jobs_token_gets_the_read_only_role(
    setup: tuple[Account, OidcIssuer], tmp_path: Path
) -> None:
    account, issuer = setup
    token = issuer.analysis_token()
    repo, done = _run(account, tmp_path, token)
    assert done.returncode == 0, done.stderr
    assert "legacy-backup" in (repo / RELATIVE).read_text(encoding="utf-8")
    sessions = list(account.sts.sessions.values())
    assert [s.role_arn for s in sessions] == [ROLE_ARN]
    # The session may read, and is refused a write by the role's own policy.
    client = account.sts.session_client(sessions[0])
    assert client.list_users()["Users"]
    key = client.list_access_keys(UserName="legacy-backup")["AccessKeyMetadata"][0]
    with pytest.raises(Exception, match="AccessDenied"):
        client.update_access_key(
            UserName="legacy-backup", AccessKeyId=key["AccessKeyId"], Status="Inactive"
        )
    for secret in (token, *account.sts.secrets()):
        assert secret not in done.stdout + done.stderr


@pytest.mark.parametrize("who", ["deploy", "pull_request"])
def test_other_jobs_tokens_are_refused(
    setup: tuple[Account, OidcIssuer], tmp_path: Path, who: str
) -> None:
    account, issuer = setup
    token = (
        issuer.deploy_token(environment="production")
        if who == "deploy"
        else issuer.pull_request_token()
    )
    repo, done = _run(account, tmp_path, token)
    assert done.returncode == 2
    assert done.stderr.startswith(
        "error: AWS refused the credentials' sts:AssumeRoleWithWebIdentity (AccessDenied)"
    )
    assert "trust policy" in done.stderr
    assert "Traceback" not in done.stderr
    assert token not in done.stderr
    assert not (repo / ".mendbot").exists()
    assert account.sts.sessions == {}
