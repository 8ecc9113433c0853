"""Comments of a replaced inventory file land on the same entries of the refreshed text,
whatever lines they are on (a property over the rendered GitHub identities file)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.inventory.comments import carry_comments

RENDERED = """\
# Non-human identities of GitHub repository acme/app (header: the inventory's own)
kind: github-nhi
version: 1
repository: "acme/app"
secrets:
  - name: NPM_TOKEN
    created_at: "2024-02-01T10:00:00Z"
    updated_at: "2024-06-01T10:00:00Z"
  - name: OLD_DEPLOY_TOKEN
    created_at: "2021-03-02T09:14:00Z"
    updated_at: "2021-03-02T09:14:00Z"
variables: []
deploy_keys:
  - id: 71
    title: "release # pusher, it's \\"quoted\\""
    read_only: false
environments:
  - name: "production"
    protection_rules:
      - type: "wait_timer"
        wait_timer: 30
    secrets:
      - name: NPM_TOKEN
        created_at: null
        updated_at: null
"""
LINES = RENDERED.split("\n")
HEADER = 1
CONTENT = [i for i, line in enumerate(LINES) if i >= HEADER and line.strip()]
_COMMENT = st.text(alphabet="abc #[]:'\"-", max_size=20).map(lambda t: ("# " + t.strip()).strip())


@settings(max_examples=200, deadline=None)
@given(
    trailing=st.dictionaries(st.sampled_from(CONTENT), _COMMENT, max_size=6),
    # Comments before the first field are the header, the inventory's own.
    before=st.dictionaries(st.sampled_from(CONTENT[1:]), _COMMENT, max_size=4),
)
def test_every_comment_returns_to_its_line(
    trailing: dict[int, str], before: dict[int, str]
) -> None:
    commented: list[str] = []
    for index, line in enumerate(LINES):
        if index in before:
            indent = line[: len(line) - len(line.lstrip(" "))]
            commented.append(indent + before[index])
        commented.append(f"{line}  {trailing[index]}" if index in trailing else line)
    text, lost = carry_comments("\n".join(commented), RENDERED)
    assert text == "\n".join(commented)
    assert lost == ()


def test_a_comment_inside_quotes_is_no_comment() -> None:
    text, lost = carry_comments(RENDERED, RENDERED)
    assert (text, lost) == (RENDERED, ())


def test_the_same_name_in_two_lists_keeps_each_comment_apart() -> None:
    old = RENDERED.replace(
        "      - name: NPM_TOKEN\n", "      - name: NPM_TOKEN  # the environment's own\n"
    )
    text, _ = carry_comments(old, RENDERED)
    assert text == old
    assert text.count("# the environment's own") == 1


def test_a_comment_whose_entry_is_gone_is_returned() -> None:
    old = RENDERED.replace("  - id: 71\n", "  # keep\n  - id: 71  # mendbot: ignore[x]\n")
    without_key = RENDERED.replace(
        '  - id: 71\n    title: "release # pusher, it\'s \\"quoted\\""\n    read_only: false\n',
        "",
    )
    assert without_key != RENDERED
    text, lost = carry_comments(old, without_key)
    assert text == without_key
    assert sorted(lost) == [
        "deploy_keys.[id=71].id: # keep",
        "deploy_keys.[id=71].id: # mendbot: ignore[x]",
    ]
