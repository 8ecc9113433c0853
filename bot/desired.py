"""The desired-state format: YAML files under ``.mendbot/desired/<kind>/`` describing systems
outside git, one pydantic model (and so one JSON Schema) per kind.

The analysis identity writes them first as an observed inventory (``mendbot inventory``) and
its rules read them; a remediation of something outside git changes one of these files; the
deploy job makes the live system match it. Both sides import this module, neither the other.
The file at the merge commit's first parent is what the analysis saw (the *pre-image*), the
file at the merge commit is what git now asks for (the *desired* state), and the deploy plan
names exactly the objects that differ: the only ones the deploy job may touch, and the only
ones its credentials are scoped to.

``git-workflow`` has no file here: its desired state is the workflow files themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from bot.errors import MendbotError

#: Where desired-state files live: ``<DESIRED_DIR>/<kind>/<name>.yml``.
DESIRED_DIR = ".mendbot/desired"
#: The kind whose desired state is the workflow files themselves (no file under DESIRED_DIR).
GIT_WORKFLOW = "git-workflow"
#: Bound on one desired-state file (a hostile one must not exhaust memory).
MAX_DESIRED_BYTES = 1024 * 1024


class DesiredStateError(MendbotError):
    """A desired-state file that cannot be used: nothing is applied."""

    exit_code = 2


class _Schema(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


#: A time as the inventory writes it: UTC, whole seconds (``2026-03-02T09:14:00Z``).
UTC_SECONDS = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"


class KeyLastUsed(_Schema):
    """When, where and for what a key was last used, as IAM reports it."""

    date: str | None = Field(default=None, pattern=UTC_SECONDS)
    """ISO-8601 UTC time of the last use; None when IAM has no record of any use."""
    service: str | None = None
    """Service of the last use (``s3``), when IAM says."""
    region: str | None = None
    """Region of the last use, when IAM says."""


class AccessKey(_Schema):
    """One IAM user access key."""

    id: Annotated[str, Field(pattern=r"^(AKIA|ASIA)[A-Z0-9]{12,124}$")]
    """The access key id (never the secret, which IAM never returns after creation)."""
    user: Annotated[str, Field(pattern=r"^[A-Za-z0-9+=,.@_-]+$", max_length=64)]
    """The IAM user that owns the key."""
    user_path: Annotated[str, Field(pattern=r"^/(?:[\x21-\x7e]*/)?$", max_length=512)] = "/"
    """The user's IAM path (``/ci/``): part of its ARN, which the deploy session is scoped
    to. Written only when it is not ``/``."""
    status: Literal["Active", "Inactive"]
    """``Active`` or ``Inactive``: the only field a remediation may change."""
    created: str | None = Field(default=None, pattern=UTC_SECONDS)
    """ISO-8601 UTC creation time."""
    last_used: KeyLastUsed = Field(default_factory=KeyLastUsed)
    """IAM's last-used record."""
    owner: str | None = Field(default=None, pattern=r"\S")
    """Who answers for the key (a tag or a CODEOWNERS line), when known; never blank (a blank
    owner would pass for a known one)."""
    inactive_since: str | None = Field(default=None, pattern=UTC_SECONDS)
    """ISO-8601 UTC time the inventory first saw the key ``Inactive`` (kept across reruns);
    None for an Active key or one never inventoried while Inactive."""


class AwsIamAccessKeys(_Schema):
    """``.mendbot/desired/aws-iam-access-key/<account>.yml``: the access keys of one account."""

    kind: Literal["aws-iam-access-key"] = "aws-iam-access-key"
    """Always ``aws-iam-access-key``."""
    version: Literal[1] = 1
    """Schema version; only 1 exists."""
    account: Annotated[str, Field(pattern=r"^\d{12}$")]
    """The AWS account id the keys belong to."""
    keys: tuple[AccessKey, ...] = ()
    """Every key of the account, by user then id."""


class SelectedActions(_Schema):
    """Which actions may run when ``allowed_actions`` is ``selected``."""

    github_owned_allowed: bool = False
    """Actions by GitHub (``actions/*``, ``github/*``)."""
    verified_allowed: bool = False
    """Actions by verified Marketplace creators."""
    patterns_allowed: tuple[str, ...] = ()
    """``owner/name@ref`` patterns allowed besides those."""


class ActionsSettings(_Schema):
    """A repository's GitHub Actions settings (``/repos/{o}/{r}/actions/permissions…``)."""

    default_workflow_permissions: Literal["read", "write"] | None = None
    """The ``GITHUB_TOKEN``'s permissions when a workflow sets none."""
    can_approve_pull_request_reviews: bool | None = None
    """Whether workflows may approve pull requests."""
    allowed_actions: Literal["all", "local_only", "selected"] | None = None
    """Which actions may run."""
    selected_actions: SelectedActions | None = None
    """The allow list, when ``allowed_actions`` is ``selected``."""


class GithubSettings(_Schema):
    """``.mendbot/desired/github-settings/<owner>--<name>.yml``: one repository's settings.
    A field left out (None) is not managed: it is neither read nor written."""

    kind: Literal["github-settings"] = "github-settings"
    """Always ``github-settings``."""
    version: Literal[1] = 1
    """Schema version; only 1 exists."""
    repository: Annotated[str, Field(pattern=r"^[\w.-]+/[\w.-]+$")]
    """``owner/name`` of the repository."""
    actions: ActionsSettings = Field(default_factory=ActionsSettings)
    """Its Actions settings."""


_TIME = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"
#: A secret's or variable's name as GitHub allows it (letters, digits, ``_``; no digit first).
_ENTRY_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class ActionsSecret(_Schema):
    """One Actions secret: its name and dates; GitHub never returns a secret's value."""

    name: Annotated[str, Field(pattern=_ENTRY_NAME, max_length=255)]
    """The name workflows read it by (``secrets.<name>``), as GitHub spells it (upper case)."""
    created_at: str | None = Field(default=None, pattern=_TIME)
    """ISO-8601 UTC creation time."""
    updated_at: str | None = Field(default=None, pattern=_TIME)
    """ISO-8601 UTC time the value was last set."""


class ActionsVariable(_Schema):
    """One Actions configuration variable: its name and dates (the value is not recorded)."""

    name: Annotated[str, Field(pattern=_ENTRY_NAME, max_length=255)]
    """The name workflows read it by (``vars.<name>``)."""
    created_at: str | None = Field(default=None, pattern=_TIME)
    """ISO-8601 UTC creation time."""
    updated_at: str | None = Field(default=None, pattern=_TIME)
    """ISO-8601 UTC time the value was last set."""


class DeployKey(_Schema):
    """One deploy key: an SSH key with access to this repository alone."""

    id: Annotated[int, Field(ge=1)]
    """GitHub's id of the key."""
    title: str
    """The title it was added with."""
    read_only: bool
    """False: the key can push."""
    created_at: str | None = Field(default=None, pattern=_TIME)
    """ISO-8601 UTC creation time."""
    last_used: str | None = Field(default=None, pattern=_TIME)
    """ISO-8601 UTC time of its last use, when GitHub says."""


class ProtectionRule(_Schema):
    """One protection rule of an environment."""

    type: Annotated[str, Field(min_length=1)]
    """``required_reviewers``, ``wait_timer``, ``branch_policy`` (or a custom rule's type)."""
    wait_timer: int | None = None
    """Minutes a job waits (``wait_timer``)."""
    prevent_self_review: bool | None = None
    """Whether the one who triggered the job may approve it (``required_reviewers``)."""
    reviewers: tuple[str, ...] = ()
    """``User:<login>`` or ``Team:<slug>`` (``required_reviewers``), sorted."""


class BranchPolicy(_Schema):
    """Which branches may deploy to an environment."""

    protected_branches: bool
    """Only branches with branch protection."""
    custom_branch_policies: bool
    """Only branches matching the environment's name patterns."""


class GithubEnvironment(_Schema):
    """One deployment environment: its protection and its secrets."""

    name: Annotated[str, Field(min_length=1, max_length=255)]
    """The name jobs use (``jobs.<id>.environment``)."""
    protection_rules: tuple[ProtectionRule, ...] = ()
    """Its protection rules, by type."""
    deployment_branch_policy: BranchPolicy | None = None
    """None: any branch may deploy."""
    secrets: tuple[ActionsSecret, ...] = ()
    """Its secrets (released to a job only after the protection rules pass), by name."""


class GithubNhi(_Schema):
    """``.mendbot/desired/github-nhi/<owner>--<name>.yml``: the non-human identities of one
    repository as ``mendbot inventory github`` observed them: Actions secrets and variables,
    deploy keys, environments."""

    kind: Literal["github-nhi"] = "github-nhi"
    """Always ``github-nhi``."""
    version: Literal[1] = 1
    """Schema version; only 1 exists."""
    repository: Annotated[str, Field(pattern=r"^[\w.-]+/[\w.-]+$")]
    """``owner/name`` of the repository."""
    secrets: tuple[ActionsSecret, ...] = ()
    """Repository Actions secrets, by name (organisation secrets are not listed)."""
    variables: tuple[ActionsVariable, ...] = ()
    """Repository Actions variables, by name."""
    deploy_keys: tuple[DeployKey, ...] = ()
    """Deploy keys, by id."""
    environments: tuple[GithubEnvironment, ...] = ()
    """Deployment environments, by name."""


#: Every kind with a desired-state file, by kind name.
DESIRED_MODELS: dict[str, type[_Schema]] = {
    "aws-iam-access-key": AwsIamAccessKeys,
    "github-nhi": GithubNhi,
    "github-settings": GithubSettings,
}


def kind_of(path: str) -> str | None:
    """The kind a repository path belongs to (``.mendbot/desired/<kind>/…``), else None."""
    prefix = DESIRED_DIR + "/"
    if not path.startswith(prefix):
        return None
    kind, _, rest = path[len(prefix) :].partition("/")
    return kind if rest else None


def parse_desired(path: str, raw: bytes) -> _Schema:
    """The model of the desired-state file ``path`` holding ``raw``; raises
    :class:`DesiredStateError` naming the file and field when it is not valid."""
    kind = kind_of(path)
    model = DESIRED_MODELS.get(kind or "")
    if model is None:
        known = ", ".join(sorted(DESIRED_MODELS))
        raise DesiredStateError(
            f"{path}: no desired-state kind {kind!r} (known: {known})",
            advice=f"desired-state files live at {DESIRED_DIR}/<kind>/<name>.yml",
        )
    if len(raw) > MAX_DESIRED_BYTES:
        raise DesiredStateError(f"{path}: larger than {MAX_DESIRED_BYTES} bytes")
    try:
        data = YAML(typ="safe", pure=True).load(raw.decode("utf-8"))
    except (UnicodeDecodeError, YAMLError) as exc:
        raise DesiredStateError(f"{path}: not a YAML document ({exc})") from None
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field_name = ".".join(str(part) for part in error["loc"]) or "<root>"
        raise DesiredStateError(
            f"{path}: {field_name}: {error['msg']}",
            advice=f"see the {kind} schema in docs/deploy.md",
        ) from None
    if getattr(parsed, "kind", kind) != kind:
        raise DesiredStateError(f"{path}: kind is {parsed.kind!r}, the folder says {kind!r}")  # type: ignore[attr-defined]
    return parsed


def json_schemas() -> dict[str, dict[str, Any]]:
    """The JSON Schema of each kind (documented, and checked into ``docs/schemas/``)."""
    schemas = {}
    for kind, model in sorted(DESIRED_MODELS.items()):
        schema = model.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["title"] = f"mendbot desired state: {kind}"
        schemas[kind] = schema
    return schemas


def as_state(model: BaseModel) -> Mapping[str, Any]:
    """A JSON-compatible view of a model (what targets and records hold)."""
    return model.model_dump(mode="json")
