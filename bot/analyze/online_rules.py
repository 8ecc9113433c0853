"""What a run needs to know of the online rules, without importing the rules when it can.

``mendbot analyze`` says which online rules a run skipped (``--offline``, no token). A rescan
that finds every file in the result cache imports no rule (see :mod:`bot.analyze.file_job`);
it reads these facts from the cache's folder for the installed code instead, where the last
run that imported the rules kept them. That folder is named by a digest of mendbot's code
(:func:`~bot.analyze.result_cache.code_digest`), so facts of other code are never read.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from bot.analyze.result_cache import read_checked, write_checked

#: The file under the cache's code folder that holds the facts.
FACTS_FILE = "online-rules.facts"
_REGISTRY = "bot.detectors.rule_registry"


@dataclass(frozen=True)
class OnlineRuleFacts:
    """What the note about skipped online rules needs of one such rule."""

    id: str
    enabled_by_default: bool
    offline_coverage: str | None
    """What it still checks without the network (None: nothing)."""
    reasons: dict[str, str | None]
    """:func:`~bot.detectors.online_uses.skipped_reason` for each run: see :meth:`reason`."""

    def reason(self, *, offline: bool, has_api: bool) -> str | None:
        """Why the rule checks nothing (or only its offline coverage) in such a run."""
        return self.reasons[_run(offline=offline, has_api=has_api)]


def _run(*, offline: bool, has_api: bool) -> str:
    return f"offline={offline} api={has_api}"


def online_rule_facts(folder: Path | None) -> list[OnlineRuleFacts]:
    """The facts of every online rule, in registry order.

    Read from ``folder`` (the result cache's folder for the installed code; None without a
    cache) when the rules are not loaded and a run kept them there; else taken from the rules
    (imported if need be) and kept in ``folder`` for the next run. A missing, truncated or
    altered file is taken from the rules again.
    """
    if folder is not None and _REGISTRY not in sys.modules:
        stored = read_checked(folder / FACTS_FILE)
        if stored is not None:
            try:
                return [OnlineRuleFacts(**item) for item in json.loads(stored)]
            except (ValueError, TypeError):
                pass
    from bot.detectors.online_uses import OnlineUsesRule, skipped_reason
    from bot.detectors.rule_registry import RULES

    runs = [(offline, has_api) for offline in (False, True) for has_api in (False, True)]
    facts = [
        OnlineRuleFacts(
            rule.id,
            rule.enabled_by_default,
            rule.offline_coverage,
            {
                _run(offline=offline, has_api=has_api): skipped_reason(
                    rule, offline=offline, has_api=has_api
                )
                for offline, has_api in runs
            },
        )
        for rule in RULES
        if issubclass(rule, OnlineUsesRule)
    ]
    if folder is not None and read_checked(folder / FACTS_FILE) is None:
        write_checked(folder / FACTS_FILE, json.dumps([asdict(f) for f in facts]).encode())
    return facts
