"""Forges (a local git forge, GitHub): the only code that holds a token able to open PRs.

Trust boundary: detectors and the YAML engine never import this package, and this package never
imports the code that infers fixes (import-linter contracts in ``pyproject.toml``): the propose
job applies only what the provenance verifier accepted.
"""

from bot.forge.interface import (
    BOT_EMAIL,
    BOT_NAME,
    CommitAuthor,
    Forge,
    ForgeError,
    PullRequest,
    PullState,
)
from bot.forge.local import LocalForge
from bot.forge.propose import Outcome, Status, propose

__all__ = [
    "BOT_EMAIL",
    "BOT_NAME",
    "CommitAuthor",
    "Forge",
    "ForgeError",
    "LocalForge",
    "Outcome",
    "PullRequest",
    "PullState",
    "Status",
    "propose",
]
