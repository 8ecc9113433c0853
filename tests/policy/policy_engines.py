"""Both CEL engines by short name (own module: ``conftest`` is ambiguous across folders)."""

from __future__ import annotations

from bot.policy.engine import CelPython, PolicyEngine, RustCel

ENGINES: dict[str, PolicyEngine] = {"rust": RustCel(), "celpy": CelPython()}
