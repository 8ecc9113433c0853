"""``mendbot demo``: the chain on a bundled insecure repository, locally, with no network.

The example repository is copied into a fresh directory and committed; the analysis runs; the
fixes are grouped into remediations and each is committed on its own branch-local commit with
trailers naming it (so ``git revert`` undoes exactly one remediation); the diff is printed.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.syntax import Syntax

from bot import git
from bot.analyze.pipeline import analyze
from bot.analyze.plan import group
from bot.analyze.report import text
from bot.config import Config, load_config
from bot.detectors.rule_registry import rule_options
from bot.errors import MendbotError
from bot.git import GitError
from bot.models import FixMode, Remediation
from bot.policy.defaults import shipped_policies
from bot.protocol import (
    TRAILER_ATTESTATION,
    TRAILER_FINGERPRINT,
    TRAILER_REMEDIATION,
    TRAILER_RULE,
    bot_commit_env,
)
from bot.provenance.verification.render import render_text
from bot.provenance.verification.trust import KeyTrust

if TYPE_CHECKING:
    from bot.provenance.keys import GeneratedKeys

DEMO_BRANCH = "mendbot/demo"
_BOT_IDENTITY = bot_commit_env()


class DemoError(MendbotError):
    """The demo could not run (missing example files or git)."""


def example_repository() -> Path:
    """The bundled example: inside the installed package, or ``examples/`` in a checkout."""
    packaged = Path(__file__).parent / "_examples" / "insecure-repo"
    if packaged.is_dir():
        return packaged
    source = Path(__file__).resolve().parent.parent / "examples" / "insecure-repo"
    if source.is_dir():
        return source
    raise DemoError("the bundled example repository is missing; reinstall mendbot")


@dataclass(frozen=True)
class DemoRepo:
    """The demo repository, driven through :mod:`bot.git` as the bot identity."""

    root: Path

    def git(self, *args: str) -> str:
        """``git args`` as the bot; the output without its final newline."""
        out = git.run(self.root, *args, env=_BOT_IDENTITY).decode("utf-8", "replace")
        return out.removesuffix("\n")

    def add(self, *paths: str) -> None:
        """Stage ``paths``."""
        self.git("add", "--", *paths)

    def commit(self, message: str) -> str:
        """Commit what is staged (no hooks, no signing prompt); the new commit's id."""
        self.git("-c", "commit.gpgsign=false", "commit", "-q", "--no-verify", "-m", message)
        return self.git("rev-parse", "HEAD")


#: Environments of the example repository, committed with it on main.
_DEMO_CONFIG = """\
# Which workflows deploy where: the policy gate's change.environment.
environments:
  production:
    - .github/workflows/legacy-deploy.yml
    - .github/workflows/publish.yml
    - .github/workflows/release.yml
  staging:
    - .github/workflows/ci.yml
"""


def prepare(workdir: Path) -> DemoRepo:
    """Copy the example into ``workdir`` and commit it on ``main``, with the configuration
    that maps its workflows to environments (so every stage names the same environments)."""
    shutil.copytree(example_repository(), workdir, dirs_exist_ok=True)
    (workdir / ".github" / "mendbot.yml").write_text(_DEMO_CONFIG, encoding="utf-8")
    git.run(workdir, "init", "-q", "-b", "main")
    # The demo's commits are the bot's: no hook of the user's may rewrite or refuse them, and
    # no line-ending conversion may make a file differ from its committed bytes.
    git.run(workdir, "config", "core.hooksPath", str(workdir / ".git" / "no-hooks"))
    git.run(workdir, "config", "core.autocrlf", "false")
    repo = DemoRepo(workdir)
    repo.git("add", "-A")
    repo.commit("Initial commit: example project")
    return repo


def commit_remediation(repo: DemoRepo, remediation: Remediation) -> str | None:
    """Regenerate one remediation on the current work tree and commit it; None if nothing
    could be applied safely.

    The fixes are recomputed (rules of the remediation only, to a fix-point) on the text as
    it is now, so earlier commits never leave stale positions behind.
    """
    root = repo.root
    targets = [root / path for path in remediation.paths]
    fresh = analyze(targets, root, Config(), only_rules=remediation.rules, fix_mode=FixMode.ALL)
    changed = {
        name: outcome.fixed for name, outcome in fresh.files.items() if outcome.fixed is not None
    }
    if not changed:
        return None
    for name, new_text in changed.items():
        with (root / name).open("w", encoding="utf-8", newline="") as handle:
            handle.write(new_text)
        repo.add(name)
    message = (
        f"fix({remediation.rules[0]}): {remediation.title}\n\n"
        f"{TRAILER_REMEDIATION}: {remediation.id}\n"
        f"{TRAILER_RULE}: {', '.join(remediation.rules)}\n"
        f"{TRAILER_FINGERPRINT}: sha256:{remediation.fingerprint}\n"
    )
    return repo.commit(message)


def run_demo(console: Console, workdir: Path | None = None) -> Path:
    """Run the demo, printing each stage; returns the demo repository's path."""
    target = workdir or Path(tempfile.mkdtemp(prefix="mendbot-demo-"))
    if target.exists() and any(target.iterdir()):
        raise DemoError(f"{target} is not empty; pass an empty or new --workdir")
    target.mkdir(parents=True, exist_ok=True)
    try:
        repo = prepare(target)
    except GitError as exc:
        raise DemoError(f"git failed while preparing the demo: {exc}") from None
    console.rule("1. analyse (read-only: the fixes are data, nothing is written)")
    console.print(f"repository: {target}", markup=False)
    analysis = analyze([target], target, Config())
    text.render(analysis, console)

    console.rule("2. plan: one remediation per rule (or group of dependent rules) and file")
    remediations = group(analysis.result.fixes)
    for remediation in remediations:
        console.print(
            f"- {remediation.id}  [{remediation.disposition.value}, "
            f"{remediation.reversibility.value}, blast radius {remediation.blast_radius.value}]",
            markup=False,
        )

    console.rule(f"3. apply: one commit per remediation on {DEMO_BRANCH}")
    repo.git("checkout", "-q", "-b", DEMO_BRANCH)
    for remediation in remediations:
        sha = commit_remediation(repo, remediation)
        status = f"committed {sha[:12]}" if sha else "skipped: the fix could not be applied safely"
        console.print(f"- {remediation.id}: {status}", markup=False)

    console.rule("4. the change, as a reviewer will see it")
    diff = repo.git("diff", "main", DEMO_BRANCH)
    if console.is_terminal:
        console.print(Syntax(diff or "(no changes)", "diff", word_wrap=True))
    else:
        console.out(diff or "(no changes)", highlight=False)
    show_provenance(console, repo, target)
    console.print(
        f"\nRevert any remediation with `git -C {target} revert <sha>`; "
        f"`git -C {target} log {DEMO_BRANCH}` shows the trailers.",
        markup=False,
    )
    return target


def show_provenance(console: Console, repo: DemoRepo, target: Path) -> None:
    """Sign bundles with a fresh key, apply one on a branch with its attestation, and show
    ``mendbot verify`` pass, then fail after a hand edit. Keys and bundles live under the
    demo repository's ``.git/mendbot-demo/`` (inside the work directory, outside the work
    tree: the analysis never writes to the checkout); the private key is deleted at the end."""
    from bot.provenance.keys import generate

    side = target / ".git" / "mendbot-demo"
    console.rule("5. attest: a signed bundle per remediation (patch, plan, statement, signature)")
    keys = generate(side / "keys")
    try:
        _attest_propose_gate(console, repo, target, side, keys)
    finally:
        # The throwaway private key must not outlive the demo; the public key stays so that
        # `mendbot verify` can be tried on the bundles afterwards.
        keys.private.unlink(missing_ok=True)


def _attest_propose_gate(
    console: Console, repo: DemoRepo, target: Path, side: Path, keys: GeneratedKeys
) -> None:
    """Stages 5 to 14 with the demo's key pair (see :func:`show_provenance`)."""
    from bot.analyze.bundles import Skipped, bundle_remediations
    from bot.provenance.layout import committed_attestation_path
    from bot.provenance.signing.signers import KeySigner
    from bot.provenance.verification.verifier import verify_bundle

    console.print(
        f"key pair: {keys.private} (deleted when the demo ends) / {keys.public} "
        f"(hint {keys.hint[:16]}…)",
        markup=False,
    )
    repo.git("checkout", "-q", "main")
    analysis = analyze([target], target, Config())
    outcomes = bundle_remediations(
        analysis, target, Config(), side / "bundles", KeySigner.from_file(keys.private), env={}
    )
    bundles = [o for o in outcomes if not isinstance(o, Skipped)]
    for bundle in bundles:
        console.print(f"- {bundle.path}", markup=False)
    if not bundles:
        raise DemoError("the demo produced no remediation bundle")
    chosen = bundles[0]
    remediation = chosen.statement.predicate.remediation
    branch = f"mendbot/{chosen.path.name}"

    console.rule(
        f"6. propose: apply {chosen.path.name}/patch.diff on {branch}, with its attestation"
    )
    repo.git("checkout", "-q", "-b", branch, "main")
    repo.git("apply", "--index", str(chosen.path / "patch.diff"))
    attestation = committed_attestation_path(remediation.id)
    (target / attestation).parent.mkdir(parents=True, exist_ok=True)
    (target / attestation).write_bytes((chosen.path / "attestation.sigstore.json").read_bytes())
    repo.add(attestation)
    head = repo.commit(
        f"fix({remediation.rules[0]}): {remediation.title}\n\n"
        f"{TRAILER_REMEDIATION}: {remediation.id}\n"
        f"{TRAILER_FINGERPRINT}: sha256:{remediation.fingerprint}\n"
        f"{TRAILER_ATTESTATION}: {attestation}\n",
    )
    console.print(f"{branch} at {head[:12]} adds {attestation}", markup=False)

    trust = KeyTrust.from_file(keys.public)
    console.rule(f"7. verify: mendbot verify {chosen.path.name} --head {branch} --base main")
    result = verify_bundle(chosen.path, repo=target, head=head, base="main", trust=trust)
    console.out(render_text(result), highlight=False, end="")
    if not result.ok:
        raise DemoError("the freshly applied bundle did not verify; this is a bug")

    edited = chosen.statement.predicate.changes[0].path
    console.rule(f"8. tamper: edit {edited} by hand, commit, verify again")
    with (target / edited).open("a", encoding="utf-8") as handle:
        handle.write("# edited by hand after the fix was attested\n")
    repo.add(edited)
    tampered = repo.commit("Hand edit after review")
    result = verify_bundle(chosen.path, repo=target, head=tampered, base="main", trust=trust)
    console.out(render_text(result), highlight=False, end="")
    if result.ok:
        raise DemoError("a hand edit was not detected; this is a bug")
    show_propose(console, target, [bundle.path for bundle in bundles], trust)
    show_gate(console, repo, target, trust)
    from bot.demo_deploy import show_deploy

    show_deploy(console, target, trust, side)
    from bot.demo_revert import show_revert

    show_revert(console, target, side, keys.private, trust)
    from bot.demo_nhi import show_aws_account

    show_aws_account(console, target, side, keys.private, trust)
    repo.git("checkout", "-q", DEMO_BRANCH)


def show_propose(console: Console, target: Path, bundles: list[Path], trust: KeyTrust) -> None:
    """Propose every bundle on the local forge (verified first, default limits), list the pull
    requests, show one body, and rerun to show that nothing new is created."""
    from bot.forge.local import LocalForge
    from bot.propose.job import propose, render_outcomes, render_pulls

    forge = LocalForge(target, base="main")
    config = load_config(target / ".github" / "mendbot.yml", rule_options())
    console.rule("9. propose: verified bundles become pull requests on the local forge")
    outcomes = propose(bundles, forge, trust, config.propose, environments=config.environments)
    console.out(render_outcomes(outcomes), highlight=False, end="")
    console.rule(f"10. pull requests (records under {target}/.git/mendbot/pulls/)")
    pulls = forge.pulls()
    console.out(render_pulls(pulls), highlight=False, end="")
    if pulls:
        console.rule(f"the body of #{pulls[0].number}")
        console.out(pulls[0].body, highlight=False)
    console.rule("11. rerun propose: idempotent by fingerprint")
    again = propose(bundles, forge, trust, config.propose, environments=config.environments)
    console.out(render_outcomes(again), highlight=False, end="")


def show_gate(console: Console, repo: DemoRepo, target: Path, trust: KeyTrust) -> None:
    """Commit the default policies and environments on main, run the gate on each open pull
    request (one staging change allowed, one production change waiting), approve the waiting
    one on its head commit and run the gate again."""
    from datetime import UTC, datetime

    from bot.forge.interface import PullState
    from bot.forge.local import LocalForge
    from bot.gate.run import GateOptions, evaluate
    from bot.policy.render import render_decision

    console.rule("12. gate configuration: policies/ committed on main, next to .github/mendbot.yml")
    repo.git("checkout", "-q", "main")
    shutil.copytree(shipped_policies(), target / "policies")
    repo.add("policies")
    repo.commit("Add the merge-gate policies")
    console.out(_DEMO_CONFIG, highlight=False)
    console.print(
        "policies: " + ", ".join(sorted(p.stem for p in (target / "policies").glob("*.yaml"))),
        markup=False,
    )
    forge = LocalForge(target, base="main")
    options = GateOptions(trust=trust, now=datetime.now(UTC))
    waiting = None
    for pull in forge.pulls(PullState.OPEN):
        console.rule(f"13. mendbot gate --pr {pull.number}  ({pull.title})")
        run = evaluate(forge, pull.number, options)
        console.out(render_decision(run.decision), highlight=False, end="")
        for line in run.reported:
            console.print(f"reported: {line}", markup=False)
        if run.decision.outcome == "require_approval" and waiting is None:
            waiting = pull.number
    if waiting is None:
        raise DemoError("no demo pull request waited for an approval; this is a bug")
    console.rule(f"the sticky comment on #{waiting}")
    console.out(forge.get(waiting).comments["gate"], highlight=False)
    console.rule(f"14. bob approves #{waiting} on its head commit; the gate runs again")
    review = forge.review(waiting, "bob", "APPROVED")
    console.print(f"review: bob APPROVED at {review.commit_id[:12]}", markup=False)
    run = evaluate(forge, waiting, options)
    console.out(render_decision(run.decision), highlight=False, end="")
    for line in run.reported:
        console.print(f"reported: {line}", markup=False)
    if run.decision.outcome != "allow":
        raise DemoError("the approved pull request is still not allowed; this is a bug")
