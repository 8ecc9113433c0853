"""Where the test data lives (tests never read outside the repository)."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).parent
REPO = TESTS.parent
CORPUS = TESTS / "corpus" / "zizmor"
RULE_CASES = TESTS / "rules"
DATA = TESTS / "data"

#: The foundation's two rules: framework tests restrict themselves to these, so that adding
#: rules does not change what those tests observe.
BASE_RULES = ("gha-persist-credentials", "gha-insecure-commands")
BASE_RULE_FLAGS = ("--rule", BASE_RULES[0], "--rule", BASE_RULES[1])
