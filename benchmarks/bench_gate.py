"""Benchmark the policy gate: decisions per second, and the end-to-end time of ``mendbot gate``.

This is a benchmark, not a test: it prints tables and asserts nothing. pytest does not collect it.

Contract
--------
* Decisions: ``--contexts N`` (default 2,000) contexts drawn with a fixed seed from the shapes the
  gate builds (staging / production / unmapped paths, 1 to 20 paths, every disposition,
  reversibility and blast radius, 0 to 6 reviews on the head or an older commit by users in and out
  of the security team, labels, deny windows, frozen environments, reverts, unverified and
  tampered provenance). Each is decided against the shipped ``policies/`` by
  :func:`bot.policy.decide.decide` with the default engine (``common-expression-language``) and
  with ``cel-python`` (the cross-check engine, on the first ``--celpy-contexts`` contexts, default
  300, because it is much slower), and by ``reference_decision`` below: the same six policies
  hand-written in Python, the floor any engine could reach. Reported: decisions per second,
  microseconds per decision (median and p95 over the per-context times), and how many outcomes
  (decision + missing-approval count) differ between the three (should be 0).
* End to end, local forge: a real repository with two workflows (staging, production), signed
  bundles proposed on the local forge, then ``bot.gate.run.evaluate`` (what ``mendbot gate``
  runs: read the pull request, verify the attestation, build the context from base-branch files,
  decide, post status / label / comment) ``--repeat`` times per pull request (default 20).
* End to end, test GitHub server: the same repository served by ``tests/fakegithub.py`` (REST
  routes validated against GitHub's OpenAPI description, git over smart HTTP on loopback), pull
  requests opened by the propose job through PyGithub, and the gate run through
  ``GitHubForge`` (PyGithub with no request throttling); also the number of HTTP requests per run.
* ``--all-open``, local forge: ``--all-open-counts`` (default 10 and 76) pull requests, each the
  signed remediation of one workflow of its own, proposed on the local forge; then what
  ``mendbot gate --all-open`` runs (every open pull request decided and reported, in one
  process) timed ``--repeat-all-open`` times (default 3). Reported: milliseconds per pull
  request (best run) and the number of git processes per pull request, which should stay flat
  as the number of pull requests grows.
* Times are wall-clock (``time.perf_counter``) in this process; machine noise is not removed.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from bot.policy.decide import count_approvals, decide  # noqa: E402
from bot.policy.engine import CelPython, PolicyEngine, RustCel  # noqa: E402
from bot.policy.schema import PolicySet, load_directory  # noqa: E402

POLICIES = REPO / "policies"
HEAD = "a" * 40
OLD = "b" * 40
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


# -- realistic contexts ---------------------------------------------------------------------------


def make_context(rng: random.Random) -> dict[str, Any]:
    """One context as the gate would build it."""
    environments = rng.choice(
        [["staging"], ["production"], ["staging", "production"], ["unmapped"]]
    )
    n_paths = rng.randint(1, 20)
    top = environments[0]
    paths = sorted({f"deploy/{top}/svc{rng.randint(0, 99)}.yaml" for _ in range(n_paths)})
    if rng.random() < 0.05:
        paths.append("policies/freeze.yaml")
    verified = rng.random() < 0.85
    remediation = verified or rng.random() < 0.5
    reviewers = ["sam", "sue", "bob", "olivia", "paula", "mendbot[bot]"]
    approvals = [
        {
            "user": user,
            "teams": ["security"] if user in ("sam", "sue") else ["platform"] * (user == "paula"),
            "at_sha": HEAD if rng.random() < 0.7 else OLD,
            "state": rng.choice(["APPROVED", "APPROVED", "CHANGES_REQUESTED", "DISMISSED"]),
        }
        for user in sorted(rng.sample(reviewers, rng.randint(0, 6)))
    ]
    deny = rng.random() < 0.1
    return {
        "change": {
            "environment": environments[0],
            "environments": environments,
            "paths": paths,
            "disposition": rng.choice(["safe", "unsafe"]),
            "reversibility": rng.choice(
                ["reversible", "reversible", "reversible-with-snapshot", "irreversible"]
            ),
            "blast_radius": rng.choice(["file", "service", "environment", "organization"]),
            "rules": ["gha-persist-credentials"] if remediation else [],
            "code_owners": {
                "users": ["olivia"],
                "teams": ["platform"],
                "by_path": [{"path": paths[0], "users": ["olivia"], "teams": ["platform"]}],
            },
        },
        "provenance": {
            "verified": verified,
            "source": "detector" if verified and rng.random() < 0.95 else "human-override",
            "matches_pr": verified and rng.random() < 0.9,
        },
        "pr": {
            "number": rng.randint(1, 5000),
            "author": "mendbot[bot]" if remediation else "alice",
            "head_sha": HEAD,
            "labels": ["mendbot", f"risk:{rng.choice(['low', 'medium', 'high'])}"],
            "is_revert": (revert := rng.random() < 0.05),
            "reverts_bot_change": revert and rng.random() < 0.5,
            "contributors": [] if rng.random() < 0.9 else ["bob"],
            "contributors_known": rng.random() < 0.95,
            "last_push_approval_required": rng.random() < 0.3,
        },
        "approvals": approvals,
        "windows": {
            "active": ["weekend"] if deny else [],
            "deny_active": deny,
            "allow_required": rng.random() < 0.03,
        },
        "environment": {"frozen": rng.random() < 0.05},
        "now": NOW.isoformat().replace("+00:00", "Z"),
    }


# -- the six default policies, hand-written (the floor) -------------------------------------------


def reference_decision(policies: PolicySet, context: dict[str, Any]) -> tuple[str, int]:
    """The shipped policies as plain Python: ``(decision, missing approval entries)``."""
    from bot.policy.gate_context import GateContext

    model = GateContext.model_validate(context)
    change, provenance, pr = model.change, model.provenance, model.pr
    windows, frozen = model.windows, model.environment.frozen
    by_name = {p.name: p for p in policies.policies}
    deny = False
    needs = 0
    matched = False

    def approvals(name: str) -> int:
        req = by_name[name].spec.validations[0].approvals
        assert req is not None
        return int(count_approvals(req, model) < req.count)

    if windows.deny_active or windows.allow_required or frozen:
        matched = True
        deny = deny or not (pr.is_revert and pr.reverts_bot_change)
    if change.rules and change.reversibility == "irreversible":
        matched = True
        needs += approvals("irreversible-security-approval")
    if "production" in change.environments and change.reversibility != "irreversible":
        matched = True
        needs += approvals("production-approval")
    if change.rules and any(
        p.startswith("policies/") or p.startswith(".github/workflows/mendbot") for p in change.paths
    ):
        matched = True
        deny = True
    if change.rules and all(e == "staging" for e in change.environments):
        matched = True
        if not (change.reversibility == "reversible" and change.disposition == "safe"):
            needs += approvals("staging-auto-merge")
    if (
        not provenance.verified
        or not provenance.matches_pr
        or provenance.source == "human-override"
    ):
        matched = True
        needs += approvals("untrusted-provenance")
    if deny:
        return "deny", needs
    if needs or not matched:
        return "require_approval", needs
    return "allow", 0


# -- timing helpers -------------------------------------------------------------------------------


def timed(fn: Callable[[], Any], runs: int = 1) -> list[float]:
    """Wall-clock seconds of each of ``runs`` calls."""
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def bench_decisions(count: int, celpy_count: int) -> None:
    rng = random.Random(20261124)  # noqa: S311 - reproducible test data, not secrets
    contexts = [make_context(rng) for _ in range(count)]
    policies = load_directory(POLICIES)
    engines: list[tuple[str, PolicyEngine | None, int]] = [
        ("common-expression-language", RustCel(), count),
        ("cel-python", CelPython(), min(celpy_count, count)),
        ("hand-written Python (floor)", None, count),
    ]
    outcomes: dict[str, list[tuple[str, int]]] = {}
    rows = []
    for name, engine, n in engines:
        per: list[float] = []
        results: list[tuple[str, int]] = []
        if engine is not None:
            decide(policies, contexts[0], engine=engine)  # compile once, like a warm gate
        for context in contexts[:n]:
            start = time.perf_counter()
            if engine is None:
                results.append(reference_decision(policies, context))
            else:
                decision = decide(policies, context, engine=engine)
                results.append((decision.outcome, len(decision.missing_approvals)))
            per.append(time.perf_counter() - start)
        outcomes[name] = results
        total = sum(per)
        rows.append((name, n, n / total, statistics.median(per) * 1e6, p95(per) * 1e6))
    print(f"Decisions: {count} contexts, {len(policies.policies)} shipped policies")
    print(f"{'engine':<30} {'contexts':>8} {'decisions/s':>12} {'median µs':>10} {'p95 µs':>10}")
    for name, n, rate, median, high in rows:
        print(f"{name:<30} {n:>8} {rate:>12,.0f} {median:>10.0f} {high:>10.0f}")
    rust = outcomes["common-expression-language"]
    for name in ("cel-python", "hand-written Python (floor)"):
        other = outcomes[name]
        differ = sum(a != b for a, b in zip(rust, other, strict=False))
        print(f"outcomes differing from common-expression-language: {name}: {differ}/{len(other)}")
    spread = {o: sum(1 for r in rust if r[0] == o) for o in ("allow", "require_approval", "deny")}
    print("outcome mix: " + ", ".join(f"{k} {v}" for k, v in spread.items()))
    base_rate = rows[0][2]
    print(
        f"ratios: cel-python takes {base_rate / rows[1][2]:.0f}x the time; the hand-written "
        f"floor is {rows[2][2] / base_rate:.1f}x faster than the CEL policies"
    )


# -- end to end ------------------------------------------------------------------------------------

STAGING = """\
name: ci
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: npm ci
      - run: npm test
"""
PRODUCTION = """\
name: deploy
on: workflow_dispatch
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: ./deploy.sh
"""
CONFIG = """\
environments:
  production: [".github/workflows/deploy.yml"]
  staging: [".github/workflows/ci.yml"]
"""


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def make_repository(root: Path) -> Path:
    """A committed repository with the two workflows, the policies and the configuration."""
    repo = root / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "ci.yml").write_text(STAGING)
    (repo / ".github" / "workflows" / "deploy.yml").write_text(PRODUCTION)
    (repo / ".github" / "mendbot.yml").write_text(CONFIG)
    (repo / ".github" / "CODEOWNERS").write_text("* @acme/platform\n")
    shutil.copytree(POLICIES, repo / "policies")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "initial")
    return repo


def make_bundles(repo: Path, out: Path, signed: datetime) -> tuple[list[Path], Any]:
    """Signed bundles of the persist-credentials remediations, and the trust that accepts them."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from bot.analyze.bundles import bundle_remediations
    from bot.analyze.pipeline import analyze
    from bot.config import Config
    from bot.provenance.signing.signers import KeySigner
    from bot.provenance.verification.trust import KeyTrust

    key = ec.generate_private_key(ec.SECP256R1())
    analysis = analyze([repo], repo, Config(), only_rules=("gha-persist-credentials",))
    written = bundle_remediations(analysis, repo, Config(), out, KeySigner(key), env={}, now=signed)
    return [w.path for w in written if hasattr(w, "path")], KeyTrust(key.public_key())


def report_runs(label: str, runs: dict[int, list[float]], requests: dict[int, int] | None) -> None:
    for number, times in runs.items():
        extra = f"  {requests[number]} HTTP requests/run" if requests else ""
        print(
            f"{label:<28} #{number}: median {statistics.median(times) * 1000:7.1f} ms, "
            f"p95 {p95(times) * 1000:7.1f} ms, min {min(times) * 1000:7.1f} ms{extra}"
        )


def bench_local(repeat: int) -> None:
    from bot.config import ProposeSettings
    from bot.forge.local import LocalForge
    from bot.gate.run import GateOptions, evaluate
    from bot.propose.job import propose

    with tempfile.TemporaryDirectory(prefix="mendbot-bench-gate-") as scratch:
        root = Path(scratch)
        repo = make_repository(root)
        signed = NOW - timedelta(hours=1)
        bundles, trust = make_bundles(repo, root / "bundles", signed)
        forge = LocalForge(repo, base="main")
        outcomes = propose(bundles, forge, trust, ProposeSettings(max_new_per_hour=10), now=signed)
        options = GateOptions(trust=trust, now=NOW)
        runs = {}
        for outcome in outcomes:
            assert outcome.number is not None, outcome.message
            number = outcome.number
            runs[number] = timed(lambda n=number: evaluate(forge, n, options), repeat)
        print(f"\nEnd to end, local forge ({repeat} runs per pull request)")
        report_runs("mendbot gate (local)", runs, None)


@contextmanager
def _github(root: Path) -> Iterator[Any]:
    from fakegithub import running

    with running(root / "server") as server:
        yield server


def bench_github(repeat: int) -> None:
    from fakegithub import TOKEN

    from bot.config import ProposeSettings
    from bot.forge.github import GitHubForge
    from bot.gate.run import GateOptions, evaluate
    from bot.propose.job import propose

    with tempfile.TemporaryDirectory(prefix="mendbot-bench-gate-gh-") as scratch:
        root = Path(scratch)
        repo = make_repository(root)
        signed = NOW - timedelta(hours=1)
        bundles, trust = make_bundles(repo, root / "bundles", signed)
        with _github(root) as server:
            server.add_repo("acme/app", repo)
            forge = GitHubForge(
                "acme/app", repo, TOKEN, base_url=server.base_url, throttle=False, retry=0
            )
            outcomes = propose(
                bundles, forge, trust, ProposeSettings(max_new_per_hour=10), now=signed
            )
            options = GateOptions(trust=trust, now=NOW)
            runs: dict[int, list[float]] = {}
            requests: dict[int, int] = {}
            for outcome in outcomes:
                assert outcome.number is not None, outcome.message
                number = outcome.number
                before = len(server.requests)
                evaluate(forge, number, options)
                requests[number] = len(server.requests) - before
                runs[number] = timed(lambda n=number: evaluate(forge, n, options), repeat)
            print(f"\nEnd to end, test GitHub server on loopback ({repeat} runs per pull request)")
            report_runs("mendbot gate (GitHub)", runs, requests)


@contextmanager
def counting_git(calls: collections.Counter[str]) -> Iterator[None]:
    """Count the git processes started in this process while the block runs, by subcommand
    (``cat-file --batch`` apart from the one-shot ``cat-file`` calls)."""
    original = subprocess.Popen

    class Counting(original):  # type: ignore[valid-type,misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            command = args[0] if args else kwargs.get("args")
            if isinstance(command, (list, tuple)) and command and command[0] == "git":
                name = str(command[1])
                calls[f"{name} {command[2]}" if name == "cat-file" else name] += 1
            super().__init__(*args, **kwargs)

    subprocess.Popen = Counting  # type: ignore[misc]
    try:
        yield
    finally:
        subprocess.Popen = original  # type: ignore[misc]


def bench_all_open(counts: Sequence[int], repeat: int) -> None:
    from bot import git
    from bot.cli.gate import gate_one
    from bot.config import ProposeSettings
    from bot.forge.local import LocalForge
    from bot.gate.run import GateOptions
    from bot.propose.job import propose

    # What `mendbot gate --all-open` wraps its loop in (revisions before it had none).
    session = getattr(git, "batched", nullcontext)
    print(f"\nmendbot gate --all-open, local forge (best of {repeat} runs)")
    for count in counts:
        with tempfile.TemporaryDirectory(prefix="mendbot-bench-all-open-") as scratch:
            root = Path(scratch)
            repo = make_repository(root)
            for index in range(count - 1):
                workflow = PRODUCTION.replace("deploy", f"deploy{index:03}", 1)
                (repo / ".github" / "workflows" / f"d{index:03}.yml").write_text(workflow)
            _git(repo, "add", "-A")
            _git(repo, "commit", "-q", "-m", "more workflows")
            signed = NOW - timedelta(hours=1)
            bundles, trust = make_bundles(repo, root / "bundles", signed)
            forge = LocalForge(repo, base="main")
            settings = ProposeSettings(max_new_per_hour=count + 1, max_open_prs=count + 1)
            outcomes = propose(bundles[:count], forge, trust, settings, now=signed)
            refused = [o.message for o in outcomes if o.number is None]
            assert not refused, refused[:3]
            options = GateOptions(trust=trust, now=NOW)

            def all_open(forge: LocalForge = forge, options: GateOptions = options) -> None:
                with session():
                    for number in forge.open_pull_numbers():
                        assert gate_one(forge, number, options) is not None

            calls: collections.Counter[str] = collections.Counter()
            with counting_git(calls):
                all_open()
            best = min(timed(all_open, repeat))
            pulls = len(forge.open_pull_numbers())
            per_pull = sum(calls.values()) / pulls
            print(
                f"{pulls:4} pull requests: {best * 1000 / pulls:7.1f} ms per pull request "
                f"(best run {best:6.2f} s), {per_pull:5.1f} git processes per pull request"
            )
            print("     " + ", ".join(f"{name} {n / pulls:.2f}" for name, n in calls.most_common()))


@contextmanager
def baseline_checkout(revision: str) -> Iterator[Path]:
    """The ``bot`` package of ``revision`` (``git archive``, the repository is not touched),
    in a temporary folder to put first on ``PYTHONPATH``."""
    with tempfile.TemporaryDirectory(prefix="mendbot-bench-baseline-") as scratch:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", "--format=tar", revision, "bot"],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", scratch], input=archive, check=True)
        yield Path(scratch)


def run_baseline(revision: str, script: Path, argv: Sequence[str]) -> None:
    """Run ``script argv`` in a child process on the ``bot`` package of ``revision`` (the same
    benchmark code, the earlier product), printing its output indented."""
    print(f"\n== the same on {revision} (the previous figures, measured now)")
    with baseline_checkout(revision) as root:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(REPO / "tests")])}
        done = subprocess.run(
            [sys.executable, str(script), *argv], env=env, capture_output=True, text=True
        )
    for line in (done.stdout + done.stderr).splitlines():
        print(f"  {line}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--contexts", type=int, default=2000)
    parser.add_argument("--celpy-contexts", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--skip-github", action="store_true")
    parser.add_argument("--all-open-counts", default="10,76", help="comma-separated")
    parser.add_argument("--repeat-all-open", type=int, default=3)
    parser.add_argument("--only-all-open", action="store_true")
    parser.add_argument(
        "--baseline-ref",
        metavar="REV",
        help="also run the --all-open part on this earlier revision's bot package, same run",
    )
    args = parser.parse_args(argv)
    for name in ("GITHUB_TOKEN", "GH_TOKEN", "GITHUB_ACTIONS"):
        os.environ.pop(name, None)
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    counts = [int(count) for count in args.all_open_counts.split(",")]
    if args.only_all_open:
        bench_all_open(counts, args.repeat_all_open)
        if args.baseline_ref:
            run_baseline(
                args.baseline_ref,
                Path(__file__),
                ["--only-all-open", "--all-open-counts", args.all_open_counts,
                 "--repeat-all-open", str(args.repeat_all_open)],
            )  # fmt: skip
        return 0
    bench_decisions(args.contexts, args.celpy_contexts)
    bench_local(args.repeat)
    if not args.skip_github:
        bench_github(args.repeat)
    bench_all_open(counts, args.repeat_all_open)
    return 0


if __name__ == "__main__":
    sys.exit(main())
