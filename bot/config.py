"""The ``.github/mendbot.yml`` schema and its loader, with errors that name file, line and key."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.errors import ConfigError
from bot.models import Severity
from bot.safe_files import UnsafeFileError, read_regular
from bot.yamledit.document import SourceText, YamlDocument, YamlParseError

#: Where the configuration is looked up, relative to the repository root, in order.
DEFAULT_LOCATIONS = (".github/mendbot.yml", ".github/mendbot.yaml")
#: Bound on a configuration file (a hostile one must not exhaust memory).
MAX_CONFIG_BYTES = 1024 * 1024
#: Where zizmor's configuration is looked up, in zizmor's own order.
ZIZMOR_LOCATIONS = (".github/zizmor.yml", ".github/zizmor.yaml", "zizmor.yml", "zizmor.yaml")


class _Schema(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RuleSettings(_Schema):
    """Settings for one rule, under ``rules.<rule-id>``."""

    enabled: bool | None = None
    """``false`` turns the rule off everywhere, ``true`` turns on a rule that is off by
    default; unset, the rule's own default applies."""
    severity: Severity | None = None
    """Override the rule's default severity."""
    ignore: tuple[str, ...] = ()
    """Path globs (repository-relative, ``fnmatch`` syntax) where the rule is not reported."""
    options: dict[str, Any] = Field(default_factory=dict)
    """Rule-specific options, validated by the rule (see its section in docs/rules.md)."""


class ProposeSettings(_Schema):
    """How ``mendbot propose`` opens pull requests, under ``propose``."""

    max_open_prs: int = Field(default=10, ge=0)
    """At most this many open mendbot pull requests; the rest are held back and reported."""
    max_new_per_hour: int = Field(default=2, ge=0)
    """At most this many new mendbot pull requests per hour; the rest are held back."""
    branch_prefix: str = Field(default="mendbot", pattern=r"^[a-z0-9][a-z0-9._-]*$")
    """First component of bot branch names: ``<prefix>/<rule-or-group>/<slug>-<fp8>``."""
    allow_reverted: tuple[str, ...] = ()
    """Remediation ids (``group/slug``) to propose again although they were merged and then
    reverted on the default branch (``mendbot revert`` or a ``git revert``): every fix they held
    comes back, wherever it moved since. The fixes of every other reverted remediation are left
    out and reported as ``reverted``."""


class GateSettings(_Schema):
    """How ``mendbot gate`` decides and reports, under ``gate`` (read from the default branch
    only, like the policies)."""

    auto_merge: bool = False
    """Enable the forge's native auto-merge when the decision is ``allow`` and a matched policy
    sets ``autoMerge``; the forge then merges once every required check passes. The gate never
    merges by itself."""
    merge_method: Literal["merge", "squash", "rebase"] = "squash"
    """The merge method auto-merge uses."""
    policies: str = Field(default="policies", pattern=r"^[^/.][^\\]*$")
    """Folder of policy files, relative to the repository root, read from the default branch."""
    branches: tuple[str, ...] = ()
    """Base branches (``fnmatch`` globs) whose pull requests the gate may allow; empty means the
    default branch only. A pull request into any other branch is denied: the commit status is
    per commit, so a laxer branch must never be able to pass a commit."""


class DeployEnvironment(_Schema):
    """Where and as whom ``mendbot deploy`` acts in one environment, under
    ``deploy.environments.<name>`` (read from the merge commit's first parent, like policies)."""

    aws_role_arn: str | None = Field(
        default=None, pattern=r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@/_-]+$"
    )
    """The IAM role the deploy job's OIDC token is exchanged for
    (``AssumeRoleWithWebIdentity``); its trust policy must pin this environment's ``sub`` and
    the deploy workflow (docs/deploy.md)."""
    aws_deletion_role_arn: str | None = Field(
        default=None, pattern=r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@/_-]+$"
    )
    """The IAM role deleting access keys is done with (``iam:DeleteAccessKey``), apart from
    ``aws_role_arn`` so that the role every other change uses can never delete; unset: no key
    is ever deleted in this environment."""
    aws_region: str = Field(default="us-east-1", pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]$")
    """Region of the STS and IAM endpoints (IAM is global; STS is regional)."""
    github_app_id: int | None = Field(default=None, ge=1)
    """The deployer GitHub App whose installation token, narrowed to one repository and one
    permission, applies repository settings (its private key comes from the
    ``MENDBOT_DEPLOY_APP_KEY`` environment variable, never from a file in the repository)."""
    github_installation_id: int | None = Field(default=None, ge=1)
    """That App's installation on the repository's owner."""


class DeploySettings(_Schema):
    """How ``mendbot deploy`` applies merged remediations, under ``deploy``."""

    allow_irreversible: bool = False
    """Allow changes that cannot be undone (deleting a key) when, and only when, the gate's
    decision on the merge also came from a policy demanding the stronger approvals."""
    session_minutes: int = Field(default=15, ge=15, le=60)
    """Lifetime of the credentials obtained for one change (AWS's minimum is 15 minutes)."""
    run_timeout_minutes: int = Field(default=30, ge=1, le=360)
    """How long validation waits for the runs of touched workflows on the merge commit."""
    observation_hours: int = Field(default=72, ge=0, le=24 * 30)
    """How long ``mendbot deploy observe`` (scheduled) watches a deployed change after it was
    applied: a deactivated key for use, a settings change for newly failing workflows, a
    workflow change for a run that had not finished; its verdict is final once it closes."""
    environments: dict[str, DeployEnvironment] = Field(default_factory=dict)
    """Environment name (as in ``environments``) -> where and as whom to deploy there."""


class NhiSettings(_Schema):
    """Thresholds of the non-human identity rules (``nhi-*``), under ``nhi``."""

    unused_after_days: int = Field(default=90, ge=0, le=3650)
    """An Active access key unused this many days (never used and created longer ago than
    that counts) is reported by ``nhi-aws-unused-access-key``; 0 reports every never-used key
    (and no key that was ever used)."""
    delete_after_days: int = Field(default=30, ge=0, le=3650)
    """An Inactive access key with no use for this many days since it was deactivated is
    reported by ``nhi-aws-inactive-access-key`` (its fix deletes it: irreversible)."""


class Config(_Schema):
    """The whole configuration file."""

    version: Literal[1] = 1
    """Schema version of this file; only 1 exists."""
    exclude: tuple[str, ...] = Field(default=())
    """Path globs that are never analysed."""
    rules: dict[str, RuleSettings] = Field(default_factory=dict)
    """Per-rule settings, keyed by rule id."""
    propose: ProposeSettings = Field(default_factory=ProposeSettings)
    """Pull request limits and branch naming for ``mendbot propose``."""
    gate: GateSettings = Field(default_factory=GateSettings)
    """Where the policy gate finds policies and whether it enables auto-merge."""
    environments: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    """Environment name -> path globs (``fnmatch``), most sensitive first: the policy gate's
    ``change.environment`` is the first environment a touched path matches."""
    deploy: DeploySettings = Field(default_factory=DeploySettings)
    """Credentials and limits of ``mendbot deploy``, per environment."""
    nhi: NhiSettings = Field(default_factory=NhiSettings)
    """Thresholds of the non-human identity rules (unused and inactive access keys)."""

    def settings(self, rule: str) -> RuleSettings:
        """The settings of ``rule`` (defaults when the file does not mention it)."""
        return self.rules.get(rule, RuleSettings())

    def excluded(self, path: str) -> bool:
        """Whether ``path`` matches one of :attr:`exclude`."""
        return any(fnmatch.fnmatch(path, pattern) for pattern in self.exclude)

    def ignored(self, rule: str, path: str) -> bool:
        """Whether findings of ``rule`` in ``path`` are ignored by configuration."""
        return any(fnmatch.fnmatch(path, pattern) for pattern in self.settings(rule).ignore)


def json_schema() -> dict[str, Any]:
    """JSON Schema of the configuration file, for editors and validation."""
    schema = Config.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "mendbot configuration (.github/mendbot.yml)"
    return schema


def find_config(root: Path) -> Path | None:
    """The configuration file of the repository at ``root``, if it has one."""
    if (root / ".github").is_symlink():
        # A symlinked `.github` is refused by discovery; its configuration is not read either.
        return None
    for relative in DEFAULT_LOCATIONS:
        candidate = root / relative
        if candidate.is_file():
            return candidate
    return None


def load_config(
    path: Path | None, known_rules: Mapping[str, type[BaseModel] | None] | None
) -> Config:
    """Load and validate a configuration file; None gives the defaults.

    ``known_rules`` maps each rule id to the pydantic model of its options (None when the rule
    takes none). Raises :class:`ConfigError` naming the file, line, column and key of the
    first problem: unreadable file, invalid YAML, unknown key, wrong type, an unknown rule id,
    or invalid rule options. With ``known_rules`` None (the propose job, which never loads the
    detectors) rule ids and options are not checked.
    """
    if path is None:
        return Config()
    try:
        raw = read_regular(path, MAX_CONFIG_BYTES).decode("utf-8")
    except UnsafeFileError as exc:
        raise ConfigError(f"{path}: the configuration {exc.reason}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the configuration ({exc})") from None
    return parse_config(raw, str(path), known_rules)


def parse_config(
    raw: str, path: str, known_rules: Mapping[str, type[BaseModel] | None] | None
) -> Config:
    """Validate configuration text read from ``path`` (a file, or ``<commit>:<path>`` when the
    gate reads it from the base branch); errors as in :func:`load_config`. With ``known_rules``
    None (the gate, which never loads the detectors) rule ids and options are not checked."""
    try:
        doc = YamlDocument.parse(SourceText.from_text(raw).body)
        data = doc.data()
    except YamlParseError as exc:
        raise ConfigError(f"{path}:{exc}" if exc.line else f"{path}: {exc}") from None
    if data is None:
        return Config()
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the configuration must be a mapping, not {type(data).__name__}")
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        route = tuple(error["loc"])
        where = _where(doc, route)
        key = ".".join(str(part) for part in route) or "<root>"
        if error["type"] == "extra_forbidden":
            message = f"unknown key '{route[-1]}' at {key}"
        else:
            message = f"{key}: {error['msg']}"
        raise ConfigError(f"{path}:{where}: {message}") from None
    for rule, settings in config.rules.items():
        if known_rules is None:
            break
        if rule not in known_rules:
            where = _where(doc, ("rules", rule), key_position=True)
            raise ConfigError(
                f"{path}:{where}: unknown rule '{rule}' under rules",
                advice="`mendbot rules` lists the rule ids",
            )
        _check_options(path, doc, rule, settings.options, known_rules[rule])
    return config


def _check_options(
    path: str,
    doc: YamlDocument,
    rule: str,
    options: dict[str, Any],
    model: type[BaseModel] | None,
) -> None:
    base = ("rules", rule, "options")
    if model is None:
        if options:
            where = _where(doc, base)
            raise ConfigError(f"{path}:{where}: rule '{rule}' takes no options")
        return
    try:
        model.model_validate(options)
    except ValidationError as exc:
        error = exc.errors()[0]
        route = base + tuple(error["loc"])
        key = ".".join(str(part) for part in route)
        if error["type"] == "extra_forbidden":
            message = f"unknown key '{route[-1]}' at {key}"
        else:
            message = f"{key}: {error['msg']}"
        raise ConfigError(f"{path}:{_where(doc, route)}: {message}") from None


def _where(doc: YamlDocument, route: tuple[Any, ...], *, key_position: bool = True) -> str:
    """``line:column`` of the deepest existing node along ``route`` (its key when possible)."""
    typed = tuple(part for part in route if isinstance(part, str | int))
    for depth in range(len(typed), 0, -1):
        prefix = typed[:depth]
        key = doc.key_node(prefix) if key_position else None
        node = key or doc.lookup(prefix)
        if node is not None:
            return f"{node.line + 1}:{node.column + 1}"
    return "1:1"


# -- zizmor.yml ------------------------------------------------------------------------------


class ZizmorAudit(BaseModel):
    """``rules.<audit>`` of a ``zizmor.yml``. zizmor rejects unknown keys, and so does
    mendbot: a misspelt ``ignores:`` would otherwise silently suppress nothing."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    disable: bool = False
    """The audit is off."""
    ignore: tuple[Annotated[str, Field(pattern=r"^[^:\s]+(?::\d+(?::\d+)?)?$")], ...] = ()
    """``file.yml[:line[:column]]`` entries (the workflow's base name)."""
    config: Any = None
    """zizmor's own settings for the audit (not read by mendbot)."""
    remap: Any = None
    """zizmor's severity remapping (not read by mendbot)."""


class ZizmorConfig(BaseModel):
    """A ``zizmor.yml``: the suppressions people wrote for zizmor, which mendbot honours."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rules: dict[str, ZizmorAudit] = Field(default_factory=dict)


def find_zizmor_config(root: Path) -> Path | None:
    """The repository's zizmor configuration, if it has one (never through a symlinked
    ``.github``, as for mendbot's own configuration)."""
    linked = (root / ".github").is_symlink()
    for relative in ZIZMOR_LOCATIONS:
        candidate = root / relative
        if linked and relative.startswith(".github/"):
            continue
        if candidate.is_file() or candidate.is_symlink():
            return candidate
    return None


def load_zizmor_config(path: Path) -> ZizmorConfig:
    """Read the ignores and disabled audits of a ``zizmor.yml``.

    ``config`` and ``remap`` and audits mendbot has no rule for are left to zizmor; an
    unreadable file, invalid YAML, an unknown key (zizmor rejects those too) or a malformed
    ``ignore``/``disable`` raises :class:`ConfigError` naming the file, line and key.
    """
    try:
        raw = read_regular(path, MAX_CONFIG_BYTES).decode("utf-8")
        doc = YamlDocument.parse(SourceText.from_text(raw).body)
        data = doc.data()
    except UnsafeFileError as exc:
        raise ConfigError(f"{path}: zizmor's configuration {exc.reason}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read zizmor's configuration ({exc})") from None
    except YamlParseError as exc:
        raise ConfigError(f"{path}:{exc}" if exc.line else f"{path}: {exc}") from None
    if data is None:
        return ZizmorConfig()
    try:
        return ZizmorConfig.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        route = tuple(error["loc"])
        key = ".".join(str(part) for part in route) or "<root>"
        if error["type"] == "extra_forbidden":
            message = f"unknown key '{route[-1]}' at {key}"
        else:
            message = f"{key}: {error['msg']}"
        raise ConfigError(
            f"{path}:{_where(doc, route)}: {message}",
            advice="zizmor ignores are written `file.yml`, `file.yml:line` or "
            "`file.yml:line:column` (see docs/configuration.md)",
        ) from None
