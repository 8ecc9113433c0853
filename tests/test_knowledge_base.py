"""The permissions knowledge base and the run-command table: schema, coverage, evidence."""

from __future__ import annotations

from collections import Counter
from importlib import resources

import pytest

from bot.knowledge.git_credentials import Use, classify_script, git_table, parse_git_table
from bot.knowledge.permissions import (
    SCOPES,
    InputCondition,
    KnowledgeBaseError,
    knowledge_base,
    parse_knowledge_base,
)
from bot.knowledge.run_commands import api_call, parse_run_table, run_table, split_commands

KB_TEXT = resources.files("bot.knowledge").joinpath("actions.yml").read_text(encoding="utf-8")
ENTRY = """\
actions:
  - action: example/act
    token:
      - input: token
        default_token: true
    grants:
      - scope: contents
        level: write
        reason: to push
    evidence: [https://github.com/example/act/blob/0123/action.yml]
    confidence: high
"""


def test_every_entry_validates_and_there_are_at_least_100() -> None:
    kb = knowledge_base()
    assert len(kb.actions) >= 100
    assert parse_knowledge_base(KB_TEXT) == kb


def test_no_action_is_listed_twice() -> None:
    names = Counter(name for e in knowledge_base().actions for name in (e.action, *e.aliases))
    assert [name for name, count in names.items() if count > 1] == []


def test_every_entry_cites_the_action_it_describes() -> None:
    for entry in knowledge_base().actions:
        assert entry.evidence, entry.action
        owner_repo = "/".join(entry.action.split("/")[:2])
        assert any(owner_repo in url.lower() for url in entry.evidence), entry.action


def test_reasons_are_phrased_to_and_scopes_are_real() -> None:
    for entry in knowledge_base().actions:
        for grant in entry.grants:
            assert grant.reason.startswith("to "), entry.action
            assert grant.scope in SCOPES
            if grant.scope == "id-token":
                assert grant.via == "oidc", entry.action


def test_the_families_the_issue_names_are_covered() -> None:
    owners = Counter(e.action.split("/")[0] for e in knowledge_base().actions)
    for owner in (
        "actions",
        "github",
        "docker",
        "aws-actions",
        "google-github-actions",
        "azure",
        "peter-evans",
        "softprops",
    ):
        assert owners[owner] >= 1, owner


def test_lookup_is_case_insensitive_and_knows_aliases() -> None:
    kb = knowledge_base()
    assert kb.get("Actions/Checkout") is kb.get("actions/checkout")
    restore = kb.get("actions/cache/restore")
    assert restore is not None and restore.action == "actions/cache"
    assert kb.get("example/unknown") is None


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (ENTRY.replace("scope: contents", "scope: content"), "scope"),
        (ENTRY.replace("reason: to push", "reason: pushes"), "reason"),
        (ENTRY.replace("reason: to push", "reason: to push."), "reason"),
        (ENTRY.replace("confidence: high", "confidence: sure"), "confidence"),
        (
            ENTRY.replace(
                "    evidence: [https://github.com/example/act/blob/0123/action.yml]\n", ""
            ),
            "evidence",
        ),
        (ENTRY.replace("example/act\n", "Example/Act\n"), "lower-case"),
        (
            ENTRY.replace("    token:\n      - input: token\n        default_token: true\n", ""),
            "needs a .token. source",
        ),
        (ENTRY + ENTRY.replace("actions:\n", ""), "listed twice"),
        (ENTRY.replace("confidence: high", "confidence: high\n    colour: red"), "colour"),
        ("actions:\n  - {action: a/b, action: a/c}\n", "invalid YAML"),
    ],
)
def test_invalid_entries_are_rejected(bad: str, match: str) -> None:
    with pytest.raises(KnowledgeBaseError, match=match):
        parse_knowledge_base(bad)


def test_a_condition_has_exactly_one_test() -> None:
    InputCondition.model_validate({"input": "x", "equals": "true"})
    with pytest.raises(ValueError, match="exactly one"):
        InputCondition.model_validate({"input": "x", "equals": "a", "present": True})
    with pytest.raises(ValueError, match="exactly one"):
        InputCondition.model_validate({"input": "x"})


# -- run commands -----------------------------------------------------------------------------


def test_the_run_table_validates() -> None:
    table = run_table()
    assert len(table.rules) >= 30
    text = resources.files("bot.knowledge").joinpath("run_commands.yml").read_text("utf-8")
    assert parse_run_table(text) == table
    with pytest.raises(KnowledgeBaseError):
        parse_run_table(text.replace("token: git", "token: magic", 1))


def _grants(command: str) -> set[str]:
    table = run_table()
    (argv,), complete = split_commands(command)
    assert complete
    return {f"{g.scope}:{g.level}" for rule in table.matching(argv) for g in rule.grants}


@pytest.mark.parametrize(
    ("command", "grants"),
    [
        ("git push origin HEAD:main", {"contents:write"}),
        ("git -C site -c user.name=bot push", {"contents:write"}),
        ("git commit -am 'x'", set()),
        ("git fetch --tags", {"contents:read"}),
        ("gh release create v1 --generate-notes", {"contents:write"}),
        ("gh release upload v1 dist/*", {"contents:write"}),
        ("gh pr create --fill", {"pull-requests:write"}),
        ("gh pr merge --auto --squash 12", {"pull-requests:write", "contents:write"}),
        ("gh pr -R o/r edit 3 --add-label x", {"pull-requests:write"}),
        ("gh issue comment 1 --body hi", {"issues:write"}),
        ("gh issue list", {"issues:read"}),
        ("gh run rerun 42 --failed", {"actions:write"}),
        ("docker login ghcr.io -u me --password-stdin", {"packages:write", "packages:read"}),
        ("npm publish --provenance", {"id-token:write", "packages:write"}),
        ("cosign sign --yes ghcr.io/o/i@sha256:0", {"id-token:write"}),
        ("cosign sign --key env://KEY img", set()),
        ("mkdocs gh-deploy --force", {"contents:write"}),
        (
            "sudo -E env A=1 npx semantic-release",
            {"contents:write", "issues:write", "pull-requests:write"},
        ),
        ("cargo +nightly publish", {"id-token:write"}),
        ("bun publish --dry-run", set()),
    ],
)
def test_run_commands_map_to_grants(command: str, grants: set[str]) -> None:
    assert _grants(command) == grants


def test_scripts_split_into_simple_commands() -> None:
    script = "\n".join(
        [
            "set -e",
            "VERSION=$(git describe --tags)",
            'git add . && git commit -m "release ${{ github.ref_name }}" || true',
            "cat <<'END' > notes.md",
            "git push --force origin main",
            "END",
            'gh pr create --title "a',
            'b" | tee out',
            "bash -c 'gh release upload v1 x.tgz'",
            "echo \\",
            "  done",
        ]
    )
    commands, complete = split_commands(script)
    assert complete
    programs = [" ".join(argv[:3]) for argv in commands]
    assert "git push --force" not in programs  # heredoc bodies are text, not commands
    assert programs == [
        "set -e",
        "git describe --tags",
        "git add .",
        "git commit -m",
        "true",
        "cat <<END >",
        "gh pr create",
        "tee out",
        "gh release upload",
        "echo done",
    ]


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("gh api repos/{owner}/{repo}/pulls", ("pull-requests", "read")),
        ("gh api -X POST repos/o/r/issues -f title=x", ("issues", "write")),
        ("gh api repos/o/r/issues/1/comments -f body=x", ("issues", "write")),
        ("gh api --method=DELETE repos/:owner/:repo/git/refs/heads/x", ("contents", "write")),
        ("gh api repos/${{ github.repository }}/releases", ("contents", "read")),
        ("gh api -XPATCH repos/$GITHUB_REPOSITORY/check-runs/1", ("checks", "write")),
        ("gh api user", ("contents", "none")),
        ("gh api graphql -f query=x", None),
        ("gh api -X PUT repos/o/r/collaborators/u", None),
    ],
)
def test_gh_api_calls_derive_their_scope(command: str, expected: object) -> None:
    (argv,), _ = split_commands(command)
    call = api_call(argv)
    assert call is not None
    assert call.scope(run_table()) == expected


def test_the_git_credentials_table_validates_and_is_consistent() -> None:
    table = git_table()
    pushers = {program for entry in table.uses_credentials for program in entry.programs()}
    # a program that can push is never allowed whatever its arguments
    assert not pushers & set(table.inert_programs)
    assert not pushers & set(run_table().inert)
    with pytest.raises(KnowledgeBaseError, match=r"git_credentials\.yml"):
        parse_git_table("uses_credentials: [{program: git, why: x, push: true}]\n")


@pytest.mark.parametrize(
    ("script", "use"),
    [
        ("uv run mike deploy --push dev", Use.NEEDS),
        ("uv run --group docs mike deploy --push --update-aliases dev", Use.NEEDS),
        ("sudo -u runner git push origin HEAD", Use.NEEDS),
        ("python3 -m mkdocs gh-deploy --force", Use.NEEDS),
        ("while ! git pull --rebase; do sleep 5; done", Use.NEEDS),
        ("trap 'git push origin HEAD' EXIT", Use.NEEDS),
        ("pnpm dlx semantic-release", Use.NEEDS),
        ("mike deploy dev", Use.UNKNOWN),
        ("python scripts/release.py", Use.UNKNOWN),
        ("make docs", Use.UNKNOWN),
        ("npm run deploy", Use.UNKNOWN),
        ("${{ inputs.command }}", Use.UNKNOWN),
        ("pip install -e .\npython -m pytest -q\ngit diff --exit-code", Use.NONE),
        ("git config --global user.name bot && git commit -am x", Use.NONE),
    ],
)
def test_scripts_are_judged_by_the_allow_list(script: str, use: Use) -> None:
    assert classify_script(script, gh_has_token=True).use is use
