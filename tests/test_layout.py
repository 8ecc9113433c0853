"""The layout the docs promise: the README's map of ``bot/`` names every package and top-level
module that exists (and nothing else), and the rules folder holds rules, one per file."""

from __future__ import annotations

import importlib
import inspect
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


def test_the_rules_folder_holds_one_registered_rule_per_file():
    from bot.detectors.interface import WorkflowRule
    from bot.detectors.rule_registry import RULES

    folder = ROOT / "bot" / "detectors" / "workflows"
    for path in sorted(folder.glob("*.py")):
        if path.name == "__init__.py":
            continue
        module = importlib.import_module(f"bot.detectors.workflows.{path.stem}")
        rules = [
            value
            for value in vars(module).values()
            if inspect.isclass(value)
            and issubclass(value, WorkflowRule)
            and value.__module__ == module.__name__
        ]
        assert len(rules) == 1, f"{path.name}: a module of the rules folder holds one rule"
        assert rules[0] in RULES, f"{path.name}: {rules[0].__name__} is not in RULES"
