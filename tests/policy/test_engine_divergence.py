"""The two CEL engines, side by side: constructs policies use agree; known divergences are pinned.

A pinned divergence that disappears (an engine upgrade fixed it) fails here on purpose, so the
docs (docs/policies.md#engines) get updated.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from policy_engines import ENGINES

from bot.policy.engine import CelError, PolicyEngine, evaluate_once

ACTIVATION: dict[str, Any] = {
    "pr": {"number": 7, "labels": ["a", "b"], "author": "ann", "x": None},
    "approvals": [{"user": "bob", "teams": ["security"], "state": "APPROVED"}],
    "now": datetime(2026, 3, 4, 10, tzinfo=UTC),
}


def run(engine: PolicyEngine, expression: str) -> Any:
    try:
        return evaluate_once(engine, expression, ACTIVATION)
    except CelError:
        return "error"


AGREE = [
    ("'a' in pr.labels", True),
    ("pr.labels.exists_one(l, l == 'a')", True),
    ("approvals.filter(a, 'security' in a.teams).map(a, a.user)", ["bob"]),
    ("approvals.all(a, a.user != pr.author)", True),
    ("has(pr.x) && pr.x == null", True),
    ("has(pr.nope)", False),
    ("pr.nope == 1", "error"),
    ("false && pr.nope == 1", False),
    ("pr.nope == 1 || true", True),
    ("now == timestamp('2026-03-04T10:00:00Z')", True),
    ("now - duration('1h') < now", True),
    ("9223372036854775807 + 1 > 0", "error"),
    ("1 / 0 == 0", "error"),
    ("'deploy/prod/a.yaml'.startsWith('deploy/prod/')", True),
    ("'abc'.matches('^a[a-z]+$')", True),
    ("size(pr.labels) == 2 && size(pr) == 4", True),
    ("int('12') == 12 && string(7) == '7'", True),
    ("pr.number > 5 ? 'big' : 'small'", "big"),
]


@pytest.mark.parametrize(("expression", "expected"), AGREE)
def test_engines_agree(expression: str, expected: Any) -> None:
    assert run(ENGINES["rust"], expression) == expected
    assert run(ENGINES["celpy"], expression) == expected


#: (expression, Rust engine result, cel-python result)
DIVERGE = [
    # Heterogeneous numeric equality: the Rust engine compares across int/uint/double (newer
    # CEL spec); cel-python has no such overload. Fail closed: a deny on cel-python.
    ("1 == 1.0", True, "error"),
    ("1 == 1u", True, "error"),
    ("pr.number == 7.0", True, "error"),
    # size() of a string: the CEL spec counts code points; the Rust engine counts UTF-8 bytes.
    ("size('é') == 1", False, True),
]


@pytest.mark.parametrize(("expression", "rust", "celpy"), DIVERGE)
def test_known_divergences_are_pinned(expression: str, rust: Any, celpy: Any) -> None:
    assert run(ENGINES["rust"], expression) == rust
    assert run(ENGINES["celpy"], expression) == celpy
