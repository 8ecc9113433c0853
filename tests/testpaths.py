"""Where the test data lives (tests never read outside the repository)."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).parent
REPO = TESTS.parent
CORPUS = TESTS / "corpus" / "zizmor"
RULE_CASES = TESTS / "rules"
DATA = TESTS / "data"
