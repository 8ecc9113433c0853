"""The README's map of ``bot/`` names every package and top-level module that exists, and
nothing that does not."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Top-level modules that are plumbing, not part of the design.
PLUMBING = {"__init__.py", "__main__.py", "doc_examples.py"}


def _map() -> set[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("```\nbot/\n", 1)[1].split("```", 1)[0]
    return {m[1] for m in re.finditer(r"^  ([a-z_]+(?:/|\.py))\s", block, re.MULTILINE)}


def test_the_readme_map_shows_every_package_and_module_of_bot():
    bot = ROOT / "bot"
    present = {p.name + "/" for p in bot.iterdir() if (p / "__init__.py").is_file()}
    present |= {p.name for p in bot.glob("*.py")} - PLUMBING
    shown = _map()
    assert shown, "no map of bot/ in the README"
    assert present - shown == set(), "missing from the README map"
    assert shown - present == set(), "in the README map but not in bot/"
