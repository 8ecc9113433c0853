"""The demo's last stages: a release engineer reverts a merged remediation, and the next
analysis and propose run does not bring it back (nor the one the deploy job rolled back).

Everything runs on the local forge, in this process, through the functions the commands use
(``mendbot revert``, ``mendbot analyze --bundle-out``, ``mendbot propose``).
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from bot.analyze.bundles import Skipped, bundle_remediations
from bot.analyze.pipeline import analyze
from bot.config import Config, load_config
from bot.detectors.rule_registry import rule_options
from bot.errors import MendbotError
from bot.forge.interface import PullState
from bot.forge.local import LocalForge
from bot.propose.job import Status, propose, render_outcomes
from bot.propose.revert import propose_revert
from bot.protocol import decode_metadata
from bot.provenance.reverted import remediation_history
from bot.provenance.signing.signers import KeySigner
from bot.provenance.verification.trust import KeyTrust


class DemoRevertError(MendbotError):
    """A revert stage of the demo did not behave as designed: a bug."""


def show_revert(
    console: Console, target: Path, side: Path, private_key: Path, trust: KeyTrust
) -> None:
    """Stages 25 to 27: revert the remediation still merged on main, merge the revert, then
    analyse and propose again."""
    from bot import git

    forge = LocalForge(target, base="main")
    tip = git.rev_parse(target, "main")
    history = remediation_history(target, tip)
    still = [
        pull
        for pull in forge.pulls(PullState.MERGED)
        if (meta := decode_metadata(pull.body)) is not None
        and (entry := history.get(str(meta.get("remediation")))) is not None
        and entry.reverted_in is None
    ]
    if not still:
        raise DemoRevertError("no merged remediation is left to revert; this is a bug")
    number = still[0].number
    console.rule(f"25. a release engineer reverts #{number}: mendbot revert #{number}")
    done = propose_revert(forge, f"#{number}", "grace", "it broke the release")
    console.print(
        f"opened #{done.number} ({done.branch}): reverts {done.remediation_id}, "
        f"merged in {done.merged_in[:12]}",
        markup=False,
    )
    console.rule(f"26. grace merges #{done.number}: the remediation's attestation leaves main")
    merged = forge.merge(done.number, author="grace")
    console.print(f"main at {merged[:12]}", markup=False)

    console.rule("27. the next analysis and propose: reverted remediations are not proposed again")
    git.run(target, "checkout", "-q", "--detach", "main")
    analysis = analyze([target], target, Config())
    outcomes = bundle_remediations(
        analysis,
        target,
        Config(),
        side / "bundles-after-revert",
        KeySigner.from_file(private_key),
        env={},
    )
    bundles = [o.path for o in outcomes if not isinstance(o, Skipped)]
    config = load_config(target / ".github" / "mendbot.yml", rule_options())
    results = propose(bundles, forge, trust, config.propose, environments=config.environments)
    console.out(render_outcomes(results), highlight=False, end="")
    reverted = {o.remediation_id for o in results if o.status is Status.REVERTED}
    if done.remediation_id not in reverted:
        raise DemoRevertError("the reverted remediation was proposed again; this is a bug")
