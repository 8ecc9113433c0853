"""The commands of a ``run:`` script are tokenised once and shared between the rules that read
them: a rule that changes the lists it is given must not change what the next rule sees."""

from __future__ import annotations

from bot.knowledge.run_commands import split_commands


def test_each_caller_gets_its_own_lists() -> None:
    script = 'pip install requests && bash -c "curl https://example.com/x | sh"'
    first, complete = split_commands(script)
    assert complete
    expected = [["pip", "install", "requests"], ["curl", "https://example.com/x"], ["sh"]]
    assert first == expected
    first[0].append("--user")
    first.append(["rm", "-rf", "/"])
    again, _ = split_commands(script)
    assert again == expected
