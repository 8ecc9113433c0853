"""``gha-dangerous-triggers``: privileged triggers that check out and run untrusted code."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from bot.detectors.agent_steps import AGENTS, open_agent
from bot.detectors.interface import Detection, WorkflowRule
from bot.detectors.untrusted_artifacts import artifact_folder, runs_from, triggering_run_downloads
from bot.models import Confidence, Severity
from bot.workflow import expression_tree as expr
from bot.workflow.model import Job, Step, Workflow
from bot.yamledit.document import Route

NO_FIX = (
    "there is no behaviour-preserving fix: split the workflow so that untrusted code runs "
    "under `pull_request` (no secrets, read-only token) and only its results reach the "
    "privileged workflow"
)

AGENT_NO_FIX = (
    "turn the agent's own check back on (only users who can write to the repository start it), "
    "or give the agent no secrets and treat its output as untrusted"
)

#: Triggers that run with the base repository's secrets and a write token while outsiders
#: control (part of) the input.
PRIVILEGED = ("pull_request_target", "workflow_run")
#: Triggers under which a checkout of pull-request code is just as privileged.
CHECKOUT_PRIVILEGED = (*PRIVILEGED, "issue_comment")
#: Triggers whose event carries text anyone can write (a title, a body, a comment), and what
#: the author of that text did.
OUTSIDER_TEXT = {
    "issue_comment": "comment on an issue or pull request",
    "issues": "open an issue",
    "discussion": "start a discussion",
    "discussion_comment": "comment on a discussion",
    "pull_request_target": "open a pull request",
    "pull_request_review": "review a pull request",
    "pull_request_review_comment": "comment on a pull request's code",
}

#: Context paths that name code an outsider controls (prefix match, lower-case).
UNTRUSTED_CONTEXTS = (
    "github.head_ref",
    "github.event.pull_request.head.",
    "github.event.pull_request.merge_commit_sha",
    "github.event.workflow_run.head_",
    "github.event.workflow_run.pull_requests",
)
_PR_REF = re.compile(r"(?:^|[^\w])(?:refs/)?pull/", re.IGNORECASE)
_FENCE = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
_GH_PR_CHECKOUT = re.compile(r"\bgh\s+pr\s+checkout\b")
_GIT_FETCH = re.compile(r"\bgit\b[^\n;&|]*\b(?:fetch|pull|checkout|switch|clone|reset|worktree)\b")
_ENV_REF = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?|\$env:([A-Za-z_][A-Za-z0-9_]*)")

#: ``run:`` commands (at a command position) that execute code from the working tree: build,
#: test, install, or run a script.
_EXECUTES = re.compile(
    r"""(?:^|[;&|`(]|\$\()\s*(?:sudo\s+|time\s+|exec\s+)?
    (?:
        (?:npm|npx|yarn|pnpm|bun|bunx|node|deno|corepack
        |make|cmake|ninja|bazel|bazelisk|meson
        |pip3?|pipx|python3?|pytest|tox|nox|poetry|uvx?|hatch|pdm|pre-commit
        |go|cargo|cross|mvn|mvnw|gradle|gradlew|ant|sbt|lein
        |dotnet|msbuild|bundle|rake|ruby|rspec|gem|composer|php|phpunit
        |swift|xcodebuild|mix|rebar3|stack|cabal|dune|zig|Rscript
        |docker\s+(?:build|buildx|compose|run)|podman\s+(?:build|run)|terraform|tofu
        |bash|sh|zsh|pwsh|powershell|source|\.
        )(?=[\s;]|$)
      | \.{1,2}/[\w.\-/]+
    )""",
    re.VERBOSE | re.MULTILINE,
)

#: Actions that run code or build files from the checked-out tree.
EXECUTING_ACTIONS = frozenset(
    {
        "docker/build-push-action",
        "docker/bake-action",
        "github/codeql-action/autobuild",
        "pre-commit/action",
        "gradle/gradle-build-action",
        "pypa/cibuildwheel",
        "pyo3/maturin-action",
        "goreleaser/goreleaser-action",
        "cypress-io/github-action",
        "bahmutov/npm-install",
        "borales/actions-yarn",
        "actions/jekyll-build-pages",
        "peaceiris/actions-hugo",
        "dtolnay/rust-toolchain",
        "cachix/install-nix-action",
    }
)

#: Job conditions that keep fork pull requests out (a real mitigation).
_SAME_REPO_GUARD = re.compile(
    r"head\.repo\.full_name\s*==\s*github\.repository|github\.repository\s*==\s*"
    r"github\.event\.pull_request\.head\.repo\.full_name|head\.repo\.fork\s*==\s*false|"
    r"!\s*github\.event\.pull_request\.head\.repo\.fork",
    re.IGNORECASE,
)
#: Job conditions that gate on a maintainer's action; racy (the PR can change after approval).
_APPROVAL_GUARD = re.compile(r"labels|label\.name|author_association", re.IGNORECASE)


@dataclass(frozen=True)
class UntrustedCheckout:
    """A step that puts untrusted code in the workspace."""

    step: Step
    route: Route
    evidence: str
    runs_in_same_step: bool = False


def _untrusted_text(text: str, env: dict[str, Any] | None = None, depth: int = 0) -> bool:
    """Whether ``text`` (a literal, an expression or a script line) names untrusted code."""
    if _PR_REF.search(_FENCE.sub("", text)):
        return True
    for inner in _FENCE.findall(text):
        try:
            tree = expr.parse(inner)
        except expr.ExpressionError:
            lowered = inner.lower()
            if any(prefix in lowered for prefix in UNTRUSTED_CONTEXTS):
                return True
            continue
        for ctx in expr.contexts(tree):
            path = ctx.path
            if path.startswith(UNTRUSTED_CONTEXTS):
                return True
            if env is not None and depth == 0 and path.startswith("env.") and len(ctx.parts) == 2:
                value = _lookup(env, ctx.parts[1])
                if isinstance(value, str) and _untrusted_text(value, None, 1):
                    return True
    return False


def _lookup(env: dict[str, Any], name: str) -> Any:
    return next((v for k, v in env.items() if str(k).lower() == name.lower()), None)


def _env_of(step: Step) -> dict[str, Any]:
    """The environment a step sees: workflow, then job, then step ``env:`` (later wins)."""
    return {**step.workflow.env, **step.job.env, **step.env}


def untrusted_checkout(step: Step) -> UntrustedCheckout | None:
    """How ``step`` puts a pull request's code in the workspace (an ``actions/checkout`` whose
    ``ref``/``repository`` names the head, ``git fetch``/``checkout`` of it, ``gh pr
    checkout``), or None."""
    env = _env_of(step)
    uses = step.uses
    if uses is not None:
        if not uses.is_action("actions/checkout"):
            return None
        for key in ("ref", "repository"):
            value = step.with_.get(key)
            if isinstance(value, str) and _untrusted_text(value, env):
                return UntrustedCheckout(step, (*step.route, "with", key), f"{key}: {value}")
        return None
    script = step.run
    if script is None:
        return None
    for line in script.splitlines():
        if _GH_PR_CHECKOUT.search(line):
            return UntrustedCheckout(step, (*step.route, "run"), line.strip(), True)
        if _GIT_FETCH.search(line) and (
            _untrusted_text(line, env) or _untrusted_env_reference(line, env)
        ):
            return UntrustedCheckout(step, (*step.route, "run"), line.strip(), True)
    return None


#: A checkout ref that names the base repository's own code, never a pull request's.
_BASE_REF = re.compile(
    r"\$\{\{\s*github\.(?:event\.repository\.default_branch|base_ref|sha|ref|ref_name"
    r"|event\.pull_request\.base\.(?:ref|sha))\s*\}\}"
)
#: Scripts that bring code or files in from elsewhere in ways mendbot cannot trace to their
#: source: a fetch or checkout of a ref a command computed, a patch, a run's artifacts.
_OPAQUE_FETCH = re.compile(
    rf"{_GIT_FETCH.pattern}|\bgit\b[^\n;&|]*\b(?:apply|am)\b"
    r"|\bgh\b[^\n;&|]*\b(?:pr\s+(?:checkout|diff)|run\s+download)\b"
    r"|\bunzip\b|\btar\b[^\n;&|]*\s-?x|\bdownloadArtifact\b|/actions/artifacts/"
)


def _opaque_fetch(step: Step) -> str | None:
    """What ``step`` brings into the job from a source mendbot cannot trace, or None: a
    checkout of a computed ref, artifacts of another run, or a script that fetches, applies a
    patch or unpacks an archive."""
    uses = step.uses
    if uses is not None:
        if uses.is_action("actions/checkout"):
            ref = step.with_.get("ref")
            if isinstance(ref, str) and "${{" in ref and not _BASE_REF.fullmatch(ref.strip()):
                return f"ref: {ref}"
            return None
        if uses.slug in ("actions/download-artifact", "dawidd6/action-download-artifact"):
            other_run = step.with_.get("run-id") or step.with_.get("run_id")
            if other_run or step.with_.get("workflow"):
                if artifact_folder(step.with_.get("path")):
                    return None  # into a folder of its own: the artifact rule reads what runs it
                return f"uses: {uses.raw} (artifacts of another run, into the workspace)"
            return None
        script = step.with_.get("script")
        if uses.is_action("actions/github-script") and isinstance(script, str):
            match = _OPAQUE_FETCH.search(script)
            return f"script: {match.group()}" if match else None
        return None
    if step.run is None:
        return None
    match = _OPAQUE_FETCH.search(_FENCE.sub("", step.run))
    return match.group().strip() if match else None


def _untrusted_env_reference(line: str, env: dict[str, Any]) -> bool:
    for match in _ENV_REF.finditer(line):
        value = _lookup(env, match.group(1) or match.group(2))
        if isinstance(value, str) and _untrusted_text(value):
            return True
    return False


def executes(step: Step) -> str | None:
    """How ``step`` runs code from the working tree (``runs `make` ``), or None."""
    uses = step.uses
    if uses is not None:
        if uses.local:
            return "runs a local action from the checked-out tree"
        if uses.slug in EXECUTING_ACTIONS:
            return "builds or runs the checked-out code"
        if uses.is_action("ruby/setup-ruby") and str(step.with_.get("bundler-cache")) in (
            "True",
            "true",
        ):
            return "runs `bundle install`, which evaluates the Gemfile"
        return None
    script = step.run
    if script is None:
        return None
    match = _EXECUTES.search(_FENCE.sub("", script))
    if match is None:
        return None
    return f"runs `{match.group().strip(' ;&|(`$')}`"


def _trigger_route(workflow: Workflow, trigger: str) -> Route:
    raw = workflow.data.get("on")
    if isinstance(raw, dict):
        return ("on", trigger)
    if isinstance(raw, list):
        return ("on", raw.index(trigger))
    return ("on",)


class DangerousTriggers(WorkflowRule):
    """Report privileged triggers, and above all the untrusted checkouts they run."""

    id: ClassVar[str] = "gha-dangerous-triggers"
    title: ClassVar[str] = "privileged trigger runs untrusted code"
    description: ClassVar[str] = (
        "`pull_request_target` and `workflow_run` run in the context of the base repository: "
        "with its secrets, a token that can write, and access to its caches, while the event "
        "comes from a pull request anyone can open from a fork. Checking out the pull "
        "request's code there (`ref: ${{ github.event.pull_request.head.sha }}`, "
        "`github.head_ref`, `github.event.workflow_run.head_sha`, `refs/pull/…`, `gh pr "
        "checkout`) and then building, testing or running a script from it hands those "
        'privileges to the pull request\'s author (a "pwn request"). mendbot grades three '
        "cases:\n\n"
        "- **untrusted checkout followed by code execution** (a `run:` step that builds, "
        "tests, installs or runs a script, a local `./` action, a building action): "
        "severity high, confidence high (medium when the job is gated by a label, "
        "`author_association` or an environment, which an attacker can race by pushing after "
        "approval; low when the job only runs for pull requests from the same repository);\n"
        "- **untrusted checkout** with no step recognised as running it: high, medium "
        "confidence (build tools read configuration from the tree too);\n"
        "- a `workflow_run` step that downloads the **artifacts of the triggering run** (which "
        "a pull request's code produced: `actions/download-artifact` with `run-id: ${{ "
        "github.event.workflow_run.id }}`, `dawidd6/action-download-artifact`, `gh run "
        "download`) followed by a step that **runs them** (a file from the artifact as a "
        "command, `bash`/`python`/`node`… given a script from it, a build in its folder, a "
        "local action in it): high; reading the artifact as data (publishing a report, posting "
        "a diff) is not reported;\n"
        "- a step that brings in files from a source mendbot **cannot trace** (a `git "
        "fetch`/`checkout`/`apply` of a ref a command computed, `gh pr diff`, `gh run "
        "download`, a checkout whose `ref:` is an expression other than the base branch, "
        "another run's artifacts downloaded into the workspace, `unzip`/`tar x`, "
        "`downloadArtifact` in github-script) followed by a step that runs code: medium, "
        "because the files may be the pull request's.\n\n"
        "The trigger alone is not reported: a `pull_request_target` or `workflow_run` workflow "
        "that never checks out, downloads or runs the outsider's code runs only the default "
        "branch's code (expressions that splice the event into a script are "
        "`gha-template-injection`'s job).\n\n"
        "**A coding agent started by anyone.** When an event whose text anyone can write "
        "(`issue_comment`, `issues`, `discussion`, `discussion_comment`, "
        "`pull_request_target`, `pull_request_review`, `pull_request_review_comment`) starts a "
        "job that runs a coding agent (`openai/codex-action`, `anthropics/claude-code-action`) "
        "with a secret among its inputs or environment and the agent's own check of who "
        'triggered it is switched off (`allow-users: "*"`, `allowed_non_write_users: '
        '"*"`), the trigger is reported (high, medium confidence; low when the job checks '
        "`author_association`): text written in the issue or comment steers an agent that "
        "holds those secrets (prompt injection). With the check on, only people who can write "
        "to the repository start it, and nothing is reported.\n\n"
        "A checkout of pull-request code under `issue_comment` (e.g. `refs/pull/${{ "
        "github.event.issue.number }}/head`) is reported like the first two cases. Report "
        "only: the fix is a redesign (run the untrusted part under `pull_request` and pass "
        "results as artifacts).\n\n"
        "Compared with zizmor's `dangerous-triggers`: zizmor reports the trigger only (every "
        "`pull_request_target`, `workflow_run` and `issue_comment` workflow, high severity, "
        "medium confidence) and does not look at what the workflow checks out; mendbot does "
        "not report a trigger by itself (a workflow that takes no code from the outsider runs "
        "the default branch's code; injection through the event is "
        "`gha-template-injection`'s job), only the cases above. "
        "Compared with Scorecard's Dangerous-Workflow untrusted-checkout check: Scorecard "
        "flags any `actions/checkout` whose `ref` mentions `github.event.pull_request` or "
        "`github.event.workflow_run`, including the trusted `…pull_request.base.sha`; "
        "mendbot only flags head refs, and also catches `github.head_ref`, `refs/pull/…` "
        "and checkouts done with `git`/`gh` in `run:`."
    )
    default_severity: ClassVar[Severity] = Severity.HIGH
    example_before: ClassVar[str] = """\
on: pull_request_target
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
      - run: npm ci && npm test
"""
    example_after: ClassVar[str] = example_before

    def visit_workflow(self, workflow: Workflow) -> Iterator[Detection]:
        """Check every job of a workflow with a privileged trigger, then its agents."""
        triggers = workflow.triggers
        privileged = [t for t in CHECKOUT_PRIVILEGED if t in triggers]
        untraced = [name for name in privileged if name in PRIVILEGED]
        for job in workflow.jobs if privileged else ():
            checkouts = list(self._check_checkouts(job, privileged))
            artifacts = list(self._check_artifacts(job)) if "workflow_run" in triggers else []
            yield from checkouts
            yield from artifacts
            if untraced and not checkouts and not artifacts:
                yield from self._check_untraced(job, untraced[0])
        yield from self._check_agents(workflow)

    def _check_artifacts(self, job: Job) -> Iterator[Detection]:
        for download in triggering_run_downloads(job):
            runner = next(
                (
                    (later, how)
                    for later in download.step.later_steps()
                    if (how := runs_from(later, download.folder, executes)) is not None
                ),
                None,
            )
            if runner is None:
                continue
            later, how = runner
            confidence, gate = job_gate(job)
            where = f"`{download.folder}`" if download.folder else "the workspace"
            message = (
                "`workflow_run` runs with this repository's secrets and a write token; this step "
                f"downloads the artifacts of the run that triggered it (a pull request's code may "
                f"have made them) into {where} and `{later.name}` {how}: anyone who opens a pull "
                f"request can run code with those privileges{gate}"
            )
            finding = self.finding(
                job.workflow,
                download.step.route,
                message,
                evidence=f"{later.name}: {how}",
                confidence=confidence,
                severity=Severity.HIGH,
            )
            yield Detection(finding, None, NO_FIX)

    def _check_agents(self, workflow: Workflow) -> Iterator[Detection]:
        trigger = next((t for t in OUTSIDER_TEXT if t in workflow.triggers), None)
        if trigger is None:
            return
        for job in workflow.jobs:
            agent = next((a for s in job.steps if (a := open_agent(s)) is not None), None)
            if agent is None:
                continue
            condition = job.data.get("if")
            gated = isinstance(condition, str) and "author_association" in condition
            held = ", ".join(f"secrets.{name}" for name in agent.secrets)
            message = (
                f"`{trigger}` lets anyone who can {OUTSIDER_TEXT[trigger]} start this workflow; "
                f"step `{agent.step.name}` of job `{job.id}` runs the coding agent "
                f'{agent.action} for every user (`{AGENTS[agent.action]}: "*"`) with {held}: '
                "text written in the event can steer the agent and what it does with them "
                "(prompt injection)"
                + (
                    "; the job checks `author_association`, which may keep outsiders out"
                    if gated
                    else ""
                )
            )
            finding = self.finding(
                workflow,
                _trigger_route(workflow, trigger),
                message,
                evidence=f"{agent.step.name}: {agent.action}",
                confidence=Confidence.LOW if gated else Confidence.MEDIUM,
                severity=Severity.HIGH,
            )
            yield Detection(finding, None, AGENT_NO_FIX)
            return

    def _check_untraced(self, job: Job, trigger: str) -> Iterator[Detection]:
        """A job of a privileged run that brings in code from a source mendbot cannot trace
        and then runs code: reported at medium, since the source may be the pull request."""
        for step in job.steps:
            fetched = _opaque_fetch(step)
            if fetched is None:
                continue
            same = executes(step) if step.run is not None else None
            runner = next(
                (
                    f"`{later.name}` {how}"
                    for later in step.later_steps()
                    if (how := executes(later)) is not None
                ),
                f"then {same} in the same step" if same else None,
            )
            if runner is None:
                continue
            confidence, gate = job_gate(job)
            message = (
                f"`{trigger}` runs with this repository's secrets and a write token; this step "
                f"brings in files from a source mendbot cannot trace (`{fetched}`) and {runner}: "
                "if they can come from a pull request, anyone who opens one runs code with "
                f"those privileges{gate}"
            )
            finding = self.finding(
                job.workflow,
                step.route,
                message,
                evidence=fetched,
                confidence=Confidence.LOW if confidence is not Confidence.HIGH else confidence,
                severity=Severity.MEDIUM,
            )
            yield Detection(finding, None, NO_FIX)
            return

    def _check_checkouts(self, job: Job, privileged: list[str]) -> Iterator[Detection]:
        for step in job.steps:
            checkout = untrusted_checkout(step)
            if checkout is None:
                continue
            later = step.later_steps()
            runner = None
            if checkout.runs_in_same_step and (same := executes(step)) is not None:
                runner = f"then {same} in the same step"
            for candidate in later:
                if runner is None and (found := executes(candidate)) is not None:
                    runner = f"`{candidate.name}` {found}"
            trigger = privileged[0]
            what = (
                f"checks out pull-request code ({checkout.evidence})"
                if step.uses is not None
                else f"fetches pull-request code (`{checkout.evidence}`)"
            )
            if runner is not None:
                confidence, gate = job_gate(job)
                path = step.with_.get("path") if step.uses is not None else None
                if isinstance(path, str) and path.strip() and confidence is Confidence.HIGH:
                    # A side directory is often only read (diffed, linted as data); still risky.
                    confidence = Confidence.MEDIUM
                    gate = (
                        f" (the code lands in `{path.strip()}`; unless a later step runs or "
                        "reads it from there, this is a false positive)"
                    )
                message = (
                    f"`{trigger}` runs with this repository's secrets and a write token; this "
                    f"step {what} and {runner}: anyone who opens a pull request can run code "
                    f"with those privileges{gate}"
                )
            else:
                confidence = Confidence.MEDIUM
                message = (
                    f"`{trigger}` runs with this repository's secrets and a write token; this "
                    f"step {what}; no later step was recognised as running it, but tools that "
                    "read configuration or scripts from the tree would run attacker code"
                )
            finding = self.finding(
                job.workflow,
                checkout.route,
                message,
                evidence=checkout.evidence,
                confidence=confidence,
                severity=Severity.HIGH,
            )
            yield Detection(finding, None, NO_FIX)


def job_gate(job: Job) -> tuple[Confidence, str]:
    """How far the job's ``if:`` or environment keeps outsiders' pull requests out: the
    confidence a finding in it deserves and why (empty when nothing does)."""
    condition = job.data.get("if")
    text = condition if isinstance(condition, str) else ""
    if _SAME_REPO_GUARD.search(text):
        return Confidence.LOW, (
            " (the job only runs for pull requests from this repository, whose authors can "
            "already push; forks are excluded)"
        )
    if _APPROVAL_GUARD.search(text) or job.data.get("environment") is not None:
        return Confidence.MEDIUM, (
            " (the job is gated by a maintainer's label or approval, but the pull request can "
            "change after approval)"
        )
    return Confidence.HIGH, ""
