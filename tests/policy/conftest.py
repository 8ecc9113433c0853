"""Both CEL engines, so every policy test runs through each (engine divergence is a failure)."""

from __future__ import annotations

import pytest

from bot.policy.engine import CelPython, PolicyEngine, RustCel

ENGINES: dict[str, PolicyEngine] = {"rust": RustCel(), "celpy": CelPython()}


@pytest.fixture(params=sorted(ENGINES))
def engine(request: pytest.FixtureRequest) -> PolicyEngine:
    """Each CEL engine in turn."""
    return ENGINES[request.param]
