"""Second-order effects: which remediations change an identity an agentic workflow uses.

An *agentic* job runs an AI agent or a token-minting action (``bot/knowledge/agentic.yml``), or
may request an OIDC token (``id-token: write``, which any of its steps can exchange for cloud
credentials). Changing an identity such a job holds changes what that job (and whoever steers
its agent) can do, so the remediation is flagged ``second_order`` and a person decides.

What "uses" means, per kind of identity (``docs/policies.md``, "Second-order effects"):

* ``aws-iam-access-key``: an access key id cannot be mapped to the secret that holds it, so any
  agentic job that configures **static** AWS credentials (``aws-actions/configure-aws-credentials``
  with ``aws-access-key-id``, or ``AWS_ACCESS_KEY_ID`` in its environment) makes every access
  key remediation of the repository second-order — wrong toward asking a person, never toward
  auto-merging;
* an Actions secret (a fix whose :attr:`~bot.models.Fix.target` names one, as
  ``github-nhi:<repo>:secret:<NAME>`` or ``…:environment:<env>/secret:<NAME>``): an agentic
  workflow references ``secrets.<NAME>``, or passes every secret on (``secrets: inherit``);
* any other desired-state kind (repository settings such as the default token permissions):
  any agentic workflow in the repository.

Workflow files are read from ``.github/workflows`` of the analysed repository, whatever the
analysis targets were; an unreadable or malformed one is skipped (the analysis reports it when
it is a target). Changes to files that are not desired state touch no identity.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.desired import kind_of
from bot.knowledge.agentic import agentic_table
from bot.models import Fix
from bot.secret_references import strings
from bot.workflow.model import Job, Workflow
from bot.yamledit.document import YamlDocument, YamlParseError

_SECRET = re.compile(r"\bsecrets\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*['\"]([^'\"]+)['\"]\s*\])")
_AWS_ACCESS_KEYS = "aws-iam-access-key"
#: An access key id named as an input, a variable or an ``aws configure`` key, in any case.
_STATIC_KEY = re.compile(r"aws[-_]access[-_]key[-_]id", re.IGNORECASE)
#: ``secrets`` not followed by ``.NAME`` or ``['NAME']``: every secret may be read.
_WHOLE_SECRETS = re.compile(
    r"\bsecrets\b(?!\s*(?:\.\s*[A-Za-z_]|\[\s*['\"][A-Za-z_][A-Za-z0-9_]*['\"]\s*\]))"
)
#: Bound on one workflow file read here (a hostile one must not exhaust memory).
_MAX_WORKFLOW_BYTES = 1024 * 1024


@dataclass(frozen=True)
class AgenticUse:
    """What the repository's agentic workflows hold (paths are repository-relative)."""

    workflows: tuple[str, ...] = ()
    """Workflows with at least one agentic job."""
    secrets: frozenset[str] = frozenset()
    """Secret names (upper-case) referenced anywhere in an agentic workflow."""
    inherit_secrets: tuple[str, ...] = ()
    """Agentic workflows that pass every secret on (``secrets: inherit``) or read them all in
    an expression (``secrets.*``, ``toJSON(secrets)``, a computed name)."""
    static_aws: tuple[str, ...] = ()
    """``<workflow>#<job>`` of agentic jobs that configure static AWS credentials."""

    def uses(self, fix: Fix) -> bool:
        """Whether ``fix`` changes an identity an agentic workflow uses (rules above)."""
        kind = kind_of(fix.path)
        if kind is None:
            return False
        if kind == _AWS_ACCESS_KEYS:
            return bool(self.static_aws)
        secret = _secret_named(fix.target)
        if secret is not None:
            return bool(self.inherit_secrets) or secret.upper() in self.secrets
        return bool(self.workflows)


def _secret_named(target: str | None) -> str | None:
    """The secret a fix's target names (``…:secret:<NAME>``, ``…/secret:<NAME>``), else None."""
    if target is None or ":" not in target:
        return None
    head, name = target.rsplit(":", 1)
    return name if head.endswith("secret") and name else None


def mark_second_order(fixes: Iterable[Fix], use: AgenticUse) -> tuple[Fix, ...]:
    """``fixes``, each with ``second_order`` set when it changes an identity in ``use``."""
    return tuple(
        fix.model_copy(update={"second_order": True}) if use.uses(fix) else fix for fix in fixes
    )


def agentic_use(root: Path) -> AgenticUse:
    """What the agentic workflows under ``root/.github/workflows`` hold."""
    folder = root / ".github" / "workflows"
    if not folder.is_dir() or folder.is_symlink():
        return AgenticUse()
    workflows: list[str] = []
    secrets: set[str] = set()
    inherit: list[str] = []
    static: list[str] = []
    for path in sorted(folder.iterdir()):
        workflow = _read_workflow(path, root)
        if workflow is None:
            continue
        jobs = [job for job in workflow.jobs if _agentic(job)]
        if not jobs:
            continue
        workflows.append(workflow.path)
        secrets.update(_secret_names(workflow.data))
        if any(job.data.get("secrets") == "inherit" for job in workflow.jobs) or (
            _reads_every_secret(workflow.data)
        ):
            inherit.append(workflow.path)
        static.extend(f"{workflow.path}#{job.id}" for job in jobs if _static_aws(job))
    return AgenticUse(tuple(workflows), frozenset(secrets), tuple(inherit), tuple(static))


def _read_workflow(path: Path, root: Path) -> Workflow | None:
    if path.suffix not in {".yml", ".yaml"} or path.is_symlink() or not path.is_file():
        return None
    try:
        if path.stat().st_size > _MAX_WORKFLOW_BYTES:
            return None
        text = path.read_text(encoding="utf-8")
        document = YamlDocument.parse(text.lstrip("\ufeff").replace("\r\n", "\n"))
        data = document.data()
    except (OSError, UnicodeDecodeError, YamlParseError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("jobs"), dict):
        return None
    return Workflow(path.relative_to(root).as_posix(), document, data, root)


def _agentic(job: Job) -> bool:
    """A job that runs an agent or a token-minting action, or may request an OIDC token."""
    table = agentic_table()
    for step in job.steps:
        uses = step.uses
        if uses is not None and table.agentic(uses.slug) is not None:
            return True
    permissions = job.permissions if job.permissions is not None else job.workflow.permissions
    return _grants_id_token(permissions)


def _grants_id_token(permissions: Any) -> bool:
    if permissions == "write-all":
        return True
    return isinstance(permissions, Mapping) and permissions.get("id-token") == "write"


def _static_aws(job: Job) -> bool:
    """The job may hold a static AWS access key: its definition (or the workflow's ``env``)
    names one anywhere — an action input in any case (``aws-access-key-id``), an environment
    variable, a ``>> $GITHUB_ENV`` line, ``aws configure set aws_access_key_id``, an agent's
    own environment input. Too wide rather than too narrow: a miss would let a change to a key
    an agent holds merge as first-order."""
    return _names_static_key(job.data) or _names_static_key(job.workflow.env)


def _names_static_key(data: Any) -> bool:
    return any(_STATIC_KEY.search(text) for text in strings(data))


def _reads_every_secret(data: Any) -> bool:
    """An expression in ``data`` reads the whole secrets context (``secrets.*``,
    ``toJSON(secrets)``, ``secrets[<computed>]``)."""
    return any("${{" in text and _WHOLE_SECRETS.search(text) for text in strings(data))


def _secret_names(data: Any) -> set[str]:
    """Names of the secrets ``secrets.NAME`` / ``secrets['NAME']`` in any string of ``data``."""
    names: set[str] = set()
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            for match in _SECRET.finditer(item):
                names.add((match.group(1) or match.group(2)).upper())
        elif isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return names
