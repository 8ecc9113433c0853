"""Which identities agentic workflows use, read from workflow files on disk
(``bot.analyze.second_order``), for the kinds the AWS end-to-end test does not reach: secrets
named by a fix, repository settings, and workflows that cannot be read."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.analyze.second_order import agentic_use, mark_second_order
from bot.knowledge.agentic import agentic_table, parse_agentic_table
from bot.knowledge.permissions import KnowledgeBaseError
from bot.models import Fix
from bot.risk import Disposition

AGENT = """\
on: issue_comment
jobs:
  triage:
    runs-on: ubuntu-latest
    steps:
      - uses: google-github-actions/run-gemini-cli@v0
        with:
          gemini_api_key: ${{ secrets.GEMINI_KEY }}
        env:
          GH_TOKEN: ${{ secrets['DEPLOY_TOKEN'] }}
"""
CI = """\
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: make test
        env:
          NPM_TOKEN: ${{ secrets.NPM_TOKEN }}
"""
INHERIT = """\
on: push
permissions: {id-token: write}
jobs:
  call:
    uses: ./.github/workflows/release.yml
    secrets: inherit
"""


def _fix(path: str, target: str | None = None) -> Fix:
    return Fix(
        finding="f" * 16,
        rule="some-rule",
        path=path,
        title="change it",
        disposition=Disposition.UNSAFE,
        patches=(),
        target=target,
    )


Workflows = Callable[[dict[str, str | bytes]], Path]
SECRET_FILE = ".mendbot/desired/github-nhi/acme--app.yml"
SETTINGS_FILE = ".mendbot/desired/github-settings/acme--app.yml"


def test_a_secret_is_second_order_when_an_agentic_workflow_references_it(
    workflows: Workflows,
) -> None:
    root = workflows({"triage.yml": AGENT, "ci.yml": CI})
    use = agentic_use(root)
    assert use.workflows == (".github/workflows/triage.yml",)
    assert use.secrets == {"GEMINI_KEY", "DEPLOY_TOKEN"}
    assert use.uses(_fix(SECRET_FILE, "github-nhi:acme/app:secret:DEPLOY_TOKEN"))
    assert use.uses(_fix(SECRET_FILE, "github-nhi:acme/app:environment:prod/secret:GEMINI_KEY"))
    # Only the plain CI job holds NPM_TOKEN.
    assert not use.uses(_fix(SECRET_FILE, "github-nhi:acme/app:secret:NPM_TOKEN"))
    # A deploy key is no secret: any agentic workflow makes its change second-order.
    assert use.uses(_fix(SECRET_FILE, "github-nhi:acme/app:deploy-key:7"))
    assert use.uses(_fix(SETTINGS_FILE))  # a setting reaches every agentic workflow
    assert not use.uses(_fix(".github/workflows/ci.yml"))  # a workflow edit is no identity


def test_passing_every_secret_on_from_an_oidc_job_makes_every_secret_second_order(
    workflows: Workflows,
) -> None:
    root = workflows({"release.yml": INHERIT, "ci.yml": CI})
    use = agentic_use(root)
    assert use.inherit_secrets == (".github/workflows/release.yml",)
    assert use.uses(_fix(SECRET_FILE, "github-nhi:acme/app:secret:NPM_TOKEN"))


AGENT_WITH = """\
on: issue_comment
jobs:
  triage:
    runs-on: ubuntu-latest
    steps:
      - uses: anthropics/claude-code-action@v1
        with:
          anthropic_api_key: ${{ secrets.ANTHROPIC_KEY }}
STEP
"""


@pytest.mark.parametrize(
    "step",
    [
        # an action input, in another case (input names are case-insensitive)
        "      - uses: aws-actions/configure-aws-credentials@v4\n"
        "        with:\n          AWS-ACCESS-KEY-ID: ${{ secrets.KEY_ID }}",
        # written to the environment of the later steps
        '      - run: echo "AWS_ACCESS_KEY_ID=${{ secrets.KEY_ID }}" >> "$GITHUB_ENV"',
        "      - run: aws configure set aws_access_key_id ${{ secrets.KEY_ID }}",
        # the agent's own environment input
        "        env:\n          aws_access_key_id: ${{ secrets.KEY_ID }}",
    ],
)
def test_a_static_aws_key_reaching_an_agent_any_way_makes_key_changes_second_order(
    workflows: Workflows, step: str
) -> None:
    use = agentic_use(workflows({"triage.yml": AGENT_WITH.replace("STEP", step)}))
    assert use.static_aws == (".github/workflows/triage.yml#triage",)
    assert use.uses(_fix(".mendbot/desired/aws-iam-access-key/123456789012.yml"))


def test_an_agent_reading_every_secret_makes_every_secret_second_order(
    workflows: Workflows,
) -> None:
    step = "        env:\n          ALL: ${{ join(secrets.*, ' ') }}"
    use = agentic_use(workflows({"triage.yml": AGENT_WITH.replace("STEP", step)}))
    assert use.uses(_fix(SECRET_FILE, "github-nhi:acme/app:secret:ANY_OTHER"))


def test_an_agent_assuming_a_role_holds_no_static_key(workflows: Workflows) -> None:
    step = (
        "      - uses: aws-actions/configure-aws-credentials@v4\n"
        "        with:\n          role-to-assume: arn:aws:iam::123456789012:role/triage"
    )
    use = agentic_use(workflows({"triage.yml": AGENT_WITH.replace("STEP", step)}))
    assert use.static_aws == ()
    assert not use.uses(_fix(SECRET_FILE, "github-nhi:acme/app:secret:ANY_OTHER"))


def test_without_agentic_workflows_nothing_is_second_order(workflows: Workflows) -> None:
    root = workflows({"ci.yml": CI, "broken.yml": "jobs: [\n", "notes.txt": "x"})
    use = agentic_use(root)
    fixes = (_fix(SETTINGS_FILE), _fix(SECRET_FILE, "github-nhi:acme/app:secret:NPM_TOKEN"))
    assert mark_second_order(fixes, use) == fixes
    assert not any(fix.model_dump().get("second_order") for fix in fixes)


def test_a_symlinked_workflow_folder_is_not_followed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "triage.yml").write_text(AGENT, encoding="utf-8")
    (tmp_path / "repo" / ".github").mkdir(parents=True)
    (tmp_path / "repo" / ".github" / "workflows").symlink_to(elsewhere)
    assert agentic_use(tmp_path / "repo").workflows == ()


def test_the_agentic_table_lists_sources_and_matches_families() -> None:
    table = agentic_table()
    assert all(entry.source.startswith("https://") for entry in table.agents)
    assert table.agentic("github/copilot-swe-agent") is not None
    assert table.agentic("anthropics/claude-code-action") is not None
    assert table.agentic("actions/checkout") is None
    with pytest.raises(KnowledgeBaseError, match=r"agentic\.yml"):
        parse_agentic_table("agents: [{action: x/y, why: w}]\ntoken_minters: []\n")
