"""Load mendbot's own YAML data files quickly and exactly."""

from __future__ import annotations

from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError


def safe_load(text: str) -> Any:
    """Plain data of ``text``: libyaml's scanner first (fast), the pure YAML 1.2 scanner when
    libyaml refuses YAML 1.2 syntax such as ``[https://x]``. Raises ``YAMLError``."""
    try:
        return YAML(typ="safe").load(text)
    except YAMLError:
        return YAML(typ="safe", pure=True).load(text)
