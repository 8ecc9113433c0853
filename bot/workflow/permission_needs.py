"""Infer the least ``GITHUB_TOKEN`` permissions a job needs, with a reason for every scope.

Inputs: the knowledge base (:mod:`bot.knowledge.permissions`), the ``run:`` table
(:mod:`bot.knowledge.run_commands`), and the job itself, including how the job token flows
(an action only gets a grant when the job token actually reaches it). The result is either a
complete set of needs or an honest "unknown, because …": anything mendbot cannot explain (an
action missing from the knowledge base, a script using the token in a way the table does not
describe, a remote reusable workflow) makes the job's needs unknown, never guessed.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from bot import outside_reads
from bot.knowledge.permissions import (
    SCOPES,
    ActionEntry,
    AllOf,
    AnyOf,
    Condition,
    EnvToken,
    GitCredentialsToken,
    ImplicitToken,
    InputCondition,
    InputToken,
    JobCondition,
    KbConfidence,
    Level,
    TriggerCondition,
    knowledge_base,
)
from bot.knowledge.run_commands import RunRule, api_call, run_table, split_commands
from bot.workflow import expression_tree as expr
from bot.workflow.model import Job, Step, Workflow
from bot.yamledit.document import SourceText, YamlDocument, YamlParseError

#: Expressions that evaluate to the job's own token.
JOB_TOKEN = re.compile(r"\b(?:github\.token|secrets\.github_token)\b", re.IGNORECASE)
_OTHER_TOKEN = re.compile(
    r"^\s*\$\{\{\s*(?:secrets\.\w+|steps\.[\w-]+\.outputs\.[\w-]+)\s*\}\}\s*$"
)
_ENV_REF = re.compile(r"\benv\.([A-Za-z_][A-Za-z0-9_]*)")
_FENCE = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
#: Contexts that never hold the job token (``github.token`` aside, handled first).
_NEVER_TOKEN = ("vars", "runner", "job", "strategy")
#: Words that suggest an opaque command publishes or pushes (with persisted git credentials).
_PUSH_HINT = re.compile(r"push|publish|release|deploy|gh-pages", re.IGNORECASE)
_OPAQUE_SHELLS = ("python", "node", "ruby", "perl")
#: Bound on nested local reusable workflows followed.
MAX_CALL_DEPTH = 3
MAX_CALLEE_BYTES = 1024 * 1024

TokenKind = Literal["job", "other", "none"]


@dataclass
class Needs:
    """The scopes a job (or step) needs, each with its reasons, or why they are unknown."""

    scopes: dict[str, tuple[Level, list[str]]] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)
    opaque: list[str] = field(default_factory=list)
    """Commands whose code mendbot cannot see: they cannot use the job token unnoticed (it is
    not in their environment), but they could request an OIDC token, so an existing
    ``id-token: write`` is never taken away from them."""
    confidence: KbConfidence = KbConfidence.HIGH
    """The lowest confidence of the knowledge base entries that contributed."""

    def add(self, scope: str, level: Level, reason: str) -> None:
        """Require ``scope`` at ``level`` (``write`` subsumes ``read``)."""
        current = self.scopes.get(scope)
        if current is None:
            self.scopes[scope] = (level, [reason])
            return
        have, reasons = current
        if level.rank > have.rank:
            self.scopes[scope] = (level, [reason])
        elif level is have and reason not in reasons:
            reasons.append(reason)

    def merge(self, other: Needs) -> None:
        """Add everything ``other`` needs (and its unknowns)."""
        for scope, (level, reasons) in other.scopes.items():
            for reason in reasons:
                self.add(scope, level, reason)
        self.unknown.extend(u for u in other.unknown if u not in self.unknown)
        self.opaque.extend(o for o in other.opaque if o not in self.opaque)
        self.lower_confidence(other.confidence)

    def lower_confidence(self, confidence: KbConfidence) -> None:
        """Keep the lowest confidence seen."""
        order = [KbConfidence.LOW, KbConfidence.MEDIUM, KbConfidence.HIGH]
        if order.index(confidence) < order.index(self.confidence):
            self.confidence = confidence

    @property
    def known(self) -> bool:
        """Whether every step was explained."""
        return not self.unknown

    @property
    def writes(self) -> bool:
        """Whether any scope needs ``write``."""
        return any(level is Level.WRITE for level, _ in self.scopes.values())

    def permissions(self) -> dict[str, str]:
        """The ``permissions:`` mapping, scopes in GitHub's documented order."""
        return {
            scope: self.scopes[scope][0].value for scope in sorted(self.scopes, key=_scope_order)
        }

    def keep_oidc(self) -> None:
        """Keep ``id-token: write`` an opaque command may rely on (see :attr:`opaque`)."""
        if self.opaque and "id-token" not in self.scopes:
            self.add(
                "id-token",
                Level.WRITE,
                f"for {self.opaque[0]} to request an OIDC token (kept: mendbot cannot see inside)",
            )

    def reason(self, scope: str, width: int = 90) -> str:
        """The comment for ``scope``: every reason when they fit in ``width`` characters, else
        only who needs it (``for actions/checkout, git push``)."""
        reasons = self.scopes[scope][1]
        text = "; ".join(reasons)
        if len(reasons) == 1 or len(text) <= width:
            return text
        sources = [r.removeprefix("for ").split(" to ", 1)[0] for r in reasons]
        unique = list(dict.fromkeys(sources))
        return "for " + ", ".join(unique)


def _scope_order(scope: str) -> int:
    return SCOPES.index(scope) if scope in SCOPES else len(SCOPES)


# -- token flow -------------------------------------------------------------------------------


def effective_env(step: Step) -> dict[str, Any]:
    """The environment a step runs with: workflow, then job, then step ``env:``."""
    return {**step.workflow.env, **step.job.env, **step.env}


def token_kind(value: Any, env: dict[str, Any], depth: int = 0) -> TokenKind:
    """Whether ``value`` (an input or env value) is the job token, another token, or empty.

    Undecidable expressions (``inputs.token``, ``matrix.x``) count as the job token: a grant
    they do not need is safer than a job that breaks.
    """
    if value is None:
        return "none"
    text = str(value).strip()
    if not text:
        return "none"
    if JOB_TOKEN.search(text):
        return "job"
    if "${{" not in text or _OTHER_TOKEN.match(text) or _names_no_token(text):
        return "other"
    ref = _ENV_REF.search(text)
    if ref and depth < 3 and ref.group(1) in env:
        return token_kind(env[ref.group(1)], env, depth + 1)
    return "job"


def _names_no_token(text: str) -> bool:
    """Whether every expression in ``text`` reads only contexts that never hold the job
    token: ``github.repository``, ``github.event.issue.number``, ``vars.X``, ``runner.temp``.
    The whole ``github`` context (``toJSON(github)``) holds it, so it does not count."""
    for inner in _FENCE.findall(text):
        try:
            tree = expr.parse(inner)
        except expr.ExpressionError:
            return False
        for ctx in expr.contexts(tree):
            head = ctx.parts[0]
            if head == "github" and len(ctx.parts) > 1 and ctx.parts[1] not in ("token", "*", "?"):
                continue
            if head not in _NEVER_TOKEN:
                return False
    return True


def _env_tokens(step: Step) -> set[str]:
    """Names of the step's environment variables that hold the job token."""
    env = effective_env(step)
    return {str(name) for name, value in env.items() if token_kind(value, env) == "job"}


def checkout_credentials(step: Step) -> TokenKind:
    """What credentials the job's latest earlier ``actions/checkout`` left in ``.git/config``."""
    for earlier in reversed([s for s in step.job.steps if s.index < step.index]):
        if earlier.uses is None or not earlier.uses.is_action("actions/checkout"):
            continue
        persist = earlier.with_.get("persist-credentials")
        if persist is False or str(persist).strip().lower() == "false":
            return "none"
        if earlier.with_.get("ssh-key"):
            return "other"
        if "token" not in earlier.with_:
            return "job"
        return token_kind(earlier.with_.get("token"), effective_env(earlier))
    return "none"


def _uses_job_token(entry: ActionEntry, step: Step) -> bool:
    env = effective_env(step)
    for source in entry.token:
        if isinstance(source, InputToken):
            if source.input in step.with_:
                if token_kind(step.with_[source.input], env) == "job":
                    return True
            elif source.default_token:
                return True
        elif isinstance(source, EnvToken):
            if token_kind(env.get(source.env), env) == "job":
                return True
        elif isinstance(source, GitCredentialsToken):
            if checkout_credentials(step) == "job":
                return True
        elif isinstance(source, ImplicitToken):
            return True
    return False


# -- conditions -------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip().lower()


def evaluate(condition: Condition | None, step: Step, facts: frozenset[str]) -> bool | None:
    """Three-valued: True, False, or None when an expression decides at run time."""
    if condition is None:
        return True
    if isinstance(condition, JobCondition):
        return condition.job in facts
    if isinstance(condition, TriggerCondition):
        return condition.trigger in step.workflow.triggers
    if isinstance(condition, AllOf):
        results = [evaluate(c, step, facts) for c in condition.all]
        return False if False in results else (None if None in results else True)
    if isinstance(condition, AnyOf):
        results = [evaluate(c, step, facts) for c in condition.any]
        return True if True in results else (None if None in results else False)
    return _evaluate_input(condition, step)


def _evaluate_input(condition: InputCondition, step: Step) -> bool | None:
    raw = step.with_.get(condition.input)
    if condition.present is not None:
        present = raw is not None and _text(raw) != ""
        return present is condition.present
    value = _text(raw) if raw is not None else condition.default
    if value is None:
        return condition.not_equals is not None
    if "${{" in value:
        return None
    value = value.lower()
    if condition.equals is not None:
        return value == condition.equals.lower()
    if condition.not_equals is not None:
        return value != condition.not_equals.lower()
    if condition.in_ is not None:
        return value in {v.lower() for v in condition.in_}
    return (condition.contains or "").lower() in value


# -- steps ------------------------------------------------------------------------------------


def job_facts(job: Job) -> frozenset[str]:
    """Facts established by some step of ``job`` (e.g. ``pushes-images``)."""
    facts: set[str] = set()
    table = run_table()
    for step in job.steps:
        if step.uses is not None:
            entry = knowledge_base().get(step.uses.slug) if step.uses.owner else None
            for spec in entry.facts if entry else ():
                if evaluate(spec.when, step, frozenset()) is not False:
                    facts.add(spec.fact)
        elif step.run is not None:
            commands, _ = split_commands(step.run)
            for argv in commands:
                for rule in table.matching(argv):
                    facts.update(rule.facts)
    return frozenset(facts)


def step_needs(step: Step, facts: frozenset[str]) -> Needs:
    """What one step needs."""
    if step.uses is not None:
        return _action_needs(step, facts)
    if step.run is not None:
        return _run_needs(step, step.run, facts)
    return Needs()


def _passes_job_token(step: Step) -> bool:
    env = effective_env(step)
    values = [*step.with_.values(), *step.env.values()]
    return any(token_kind(v, env) == "job" and JOB_TOKEN.search(str(v)) for v in values)


def _action_needs(step: Step, facts: frozenset[str]) -> Needs:
    needs = Needs()
    uses = step.uses
    if uses is None:
        return needs
    if uses.docker:
        needs.opaque.append(uses.raw)
        if _passes_job_token(step):
            needs.unknown.append(
                f"step `{step.name}` passes the job token to the container {uses.raw}, "
                "which mendbot cannot inspect"
            )
        return needs
    if uses.local:
        needs.unknown.append(
            f"step `{step.name}` uses the local action {uses.raw}, which mendbot does not analyse"
        )
        return needs
    entry = knowledge_base().get(uses.slug) if uses.owner else None
    if entry is None:
        needs.unknown.append(
            f"step `{step.name}` uses {uses.slug or uses.raw}, which is not in mendbot's "
            "permissions knowledge base"
        )
        return needs
    if entry.unknowable:
        needs.unknown.append(f"step `{step.name}`: {uses.slug} {entry.unknowable}")
        return needs
    needs.lower_confidence(entry.confidence)
    uses_token = _uses_job_token(entry, step)
    for grant in entry.grants:
        if grant.via == "token" and not uses_token:
            continue
        if evaluate(grant.when, step, facts) is False:
            continue
        needs.add(grant.scope, grant.level, f"for {entry.action} {grant.reason}")
    return needs


def _label(rule: RunRule, argv: list[str]) -> str:
    words = [argv[0].rsplit("/", 1)[-1]]
    words += [w for w in argv[1:] if not w.startswith("-")][: len(rule.args)]
    return " ".join(words)


def _short(argv: list[str]) -> str:
    text = " ".join(argv)
    return text if len(text) <= 50 else text[:49] + "…"


def _authenticates_with_oidc(rule: RunRule, argv: list[str], step: Step, script: str) -> bool:
    """Whether ``argv`` may authenticate with the job's OIDC token: it is handed no
    credential (an option, or a variable set for the step or in the script) and, where an
    action does the exchange, the job uses that action."""
    if rule.passes_credential(argv):
        return False
    names = [str(name) for name in effective_env(step)]
    for pattern in rule.credential_env:
        if any(fnmatch.fnmatchcase(name, pattern) for name in names):
            return False
        assigned = re.escape(pattern).replace(r"\*", r"\w*")
        if re.search(rf"(?<![\w/]){assigned}=", script):
            return False
    if rule.oidc_action is not None:
        return any(
            s.uses is not None and s.uses.slug == rule.oidc_action.lower() for s in step.job.steps
        )
    return True


def _run_needs(step: Step, script: str, facts: frozenset[str]) -> Needs:
    needs = Needs()
    table = run_table()
    env_tokens = _env_tokens(step)
    inline = bool(JOB_TOKEN.search(script))
    has_token = inline or bool(env_tokens)
    git_creds = checkout_credentials(step) == "job"
    shell = (step.shell or "").split()[0] if step.shell else ""
    if shell.startswith(_OPAQUE_SHELLS):
        needs.opaque.append(f"a {shell} script")
        if has_token:
            needs.unknown.append(
                f"step `{step.name}` runs a {shell} script with the job token available"
            )
        return needs
    commands, _ = split_commands(script)
    for argv in commands:
        call = api_call(argv)
        if call is not None:
            if not (inline or env_tokens & set(table.gh_token_env)):
                continue
            derived = call.scope(table)
            if derived is None:
                needs.unknown.append(
                    f"step `{step.name}` calls `gh api {call.method} {call.endpoint}`, which "
                    "mendbot cannot map to a permission"
                )
            elif derived[1] != "none":
                level = Level(derived[1])
                verb = "to read" if level is Level.READ else "to change"
                needs.add(derived[0], level, f"for gh api {verb} {call.endpoint}")
            continue
        rules = table.matching(argv)
        if rules:
            for rule in rules:
                available = {
                    "none": True,
                    "env": inline or bool(env_tokens & set(table.token_env(rule))),
                    "git": git_creds or has_token,
                }[rule.token]
                if not available:
                    continue
                oidc = _authenticates_with_oidc(rule, argv, step, script)
                for grant in rule.grants:
                    if evaluate(grant.when, step, facts) is False:
                        continue
                    if grant.via == "oidc" and not oidc:
                        continue
                    needs.add(grant.scope, grant.level, f"for {_label(rule, argv)} {grant.reason}")
            continue
        if table.is_inert(argv):
            continue
        needs.opaque.append(_short(argv))
        if has_token:
            names = ", ".join(sorted(env_tokens)) or "inline"
            needs.unknown.append(
                f"step `{step.name}` runs `{_short(argv)}` with the job token available "
                f"({names}); mendbot does not know what it does with it"
            )
        elif git_creds and _PUSH_HINT.search(" ".join(argv)):
            needs.unknown.append(
                f"step `{step.name}` runs `{_short(argv)}`, which may push with the "
                "credentials actions/checkout persisted"
            )
    return needs


# -- jobs and reusable workflows --------------------------------------------------------------


def parse_permissions(value: Any) -> dict[str, str] | str | None:
    """A ``permissions:`` value as a scope → level mapping, ``read-all``/``write-all``, or None
    when absent or not understood."""
    if isinstance(value, str) and value in ("read-all", "write-all"):
        return value
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    return None


def _container_needs(job: Job) -> Needs:
    needs = Needs()
    images = [job.data.get("container")]
    services = job.data.get("services")
    if isinstance(services, dict):
        images.extend(services.values())
    env = {**job.workflow.env, **job.env}
    for image in images:
        if not isinstance(image, dict):
            continue
        credentials = image.get("credentials")
        name = str(image.get("image", ""))
        if isinstance(credentials, dict) and "ghcr.io" in name:
            if token_kind(credentials.get("password"), env) == "job":
                needs.add("packages", Level.READ, "for the job's container to pull from ghcr.io")
    return needs


def job_needs(job: Job, depth: int = 0, seen: frozenset[str] = frozenset()) -> Needs:
    """What ``job`` needs: the union over its steps, or over a local reusable workflow's jobs."""
    if job.uses is not None:
        return _caller_needs(job, depth, seen)
    needs = _container_needs(job)
    facts = job_facts(job)
    for step in job.steps:
        needs.merge(step_needs(step, facts))
    return needs


def _caller_needs(job: Job, depth: int, seen: frozenset[str]) -> Needs:
    needs = Needs()
    uses = job.uses
    if uses is None:
        return needs
    callee = load_local_workflow(job.workflow, uses.raw) if uses.local else None
    if callee is None or depth >= MAX_CALL_DEPTH or callee.path in seen:
        why = "which mendbot cannot read" if uses.local else "whose needs mendbot cannot read"
        needs.unknown.append(f"job `{job.id}` calls the reusable workflow {uses.raw}, {why}")
        return needs
    top = parse_permissions(callee.permissions)
    for callee_job in callee.jobs:
        declared = parse_permissions(callee_job.permissions)
        if callee_job.permissions is None and callee.permissions is not None:
            declared = top
        label = f"for {callee.path} (job {callee_job.id})"
        if isinstance(declared, str):
            needs.unknown.append(f"{callee.path} job `{callee_job.id}` asks for {declared}")
        elif declared is not None:
            for scope, level in declared.items():
                if level in ("read", "write") and scope in SCOPES:
                    needs.add(scope, Level(level), label)
        else:
            needs.merge(job_needs(callee_job, depth + 1, seen | {callee.path}))
    return needs


def load_local_workflow(workflow: Workflow, reference: str) -> Workflow | None:
    """Parse the local reusable workflow ``./path`` (or ``$/path``) of the repository, or None.

    ``./`` is the repository the calling workflow lives in, the folder holding its
    ``.github`` (as GitHub resolves it), which is the analysed root unless the workflow sits
    in a checkout below it (a corpus of repositories). Only files inside the analysed root are
    read, and only when the root is known.
    """
    if workflow.root is None or not reference.startswith(("./", "$/")):
        return None
    parts = Path(workflow.path).parts
    top = len(parts) - 1 - parts[::-1].index(".github") if ".github" in parts else 0
    relative = Path(*parts[:top], reference[2:].split("@", 1)[0]).as_posix()
    return load_repository_workflow(workflow.root, relative)


def load_repository_workflow(
    root: Path, relative: str, kind: Literal["workflow", "action"] = "workflow"
) -> Workflow | None:
    """Parse the workflow (or, with ``kind="action"``, the action) at ``relative`` under the
    analysed ``root``, or None when it is outside the root, too large, unreadable or not one."""
    resolved = root.resolve()
    named = resolved / relative
    path = named.resolve()
    # The path as named, not as resolved: the cache reads it again through any symlink on the
    # way, so a link pointed at another file changes what it sees and the result is not reused.
    outside_reads.note(outside_reads.FILE, str(named))
    try:
        path.relative_to(resolved)
        if not path.is_file() or path.stat().st_size > MAX_CALLEE_BYTES:
            return None
        text = path.read_text(encoding="utf-8")
        doc = YamlDocument.parse(SourceText.from_text(text).body)
        data = doc.data()
    except (OSError, ValueError, YamlParseError):
        return None
    body = "jobs" if kind == "workflow" else "runs"
    if not isinstance(data, dict) or not isinstance(data.get(body), dict):
        return None
    return Workflow(Path(relative).as_posix(), doc, data, root, kind=kind)


def undeclared_jobs(workflow: Workflow) -> Iterable[Job]:
    """Jobs without their own ``permissions:`` key."""
    return (job for job in workflow.jobs if "permissions" not in job.data)
