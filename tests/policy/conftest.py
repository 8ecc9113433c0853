"""Both CEL engines, so every policy test runs through each (engine divergence is a failure)."""

from __future__ import annotations

import pytest
from policy_engines import ENGINES

from bot.policy.engine import PolicyEngine


@pytest.fixture(params=sorted(ENGINES))
def engine(request: pytest.FixtureRequest) -> PolicyEngine:
    """Each CEL engine in turn."""
    return ENGINES[request.param]
