"""``gha-static-cloud-credentials``: long-lived cloud keys where OIDC would do."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.detectors.interface import Detection, WorkflowRule
from bot.models import Confidence, Severity
from bot.risk import Disposition
from bot.workflow.model import Job, Step, Workflow
from bot.yamledit.document import Route
from bot.yamledit.ops import MergeInto, Operation, Remove


class _Options(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", populate_by_name=True, use_attribute_docstrings=True
    )


class AwsRole(_Options):
    """Inputs for ``aws-actions/configure-aws-credentials`` with OIDC."""

    role_to_assume: str = Field(alias="role-to-assume", min_length=1)
    """ARN of the IAM role whose trust policy accepts this repository's OIDC tokens."""
    aws_region: str | None = Field(default=None, alias="aws-region")
    """Region to set (kept from the step when omitted)."""


class GcpIdentity(_Options):
    """Inputs for ``google-github-actions/auth`` with Workload Identity Federation."""

    workload_identity_provider: str = Field(min_length=1)
    """``projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<id>``."""
    service_account: str | None = None
    """Service account to impersonate (omit for direct Workload Identity Federation)."""


class AzureIdentity(_Options):
    """Inputs for ``azure/login`` with a federated credential."""

    client_id: str = Field(alias="client-id", min_length=1)
    tenant_id: str = Field(alias="tenant-id", min_length=1)
    subscription_id: str | None = Field(default=None, alias="subscription-id")
    """Omit to log in without a subscription (``allow-no-subscriptions: true`` is set)."""


class RoleMapping(_Options):
    """Which job (and optionally which step) should use which federated identity."""

    workflow: str = Field(min_length=1)
    """Workflow path glob (``.github/workflows/deploy.yml``); without a ``/``, the file name."""
    job: str = "*"
    """Job id glob."""
    step: str | None = None
    """Step ``id`` or ``name``, when a job logs in more than once."""
    aws: AwsRole | None = None
    gcp: GcpIdentity | None = None
    azure: AzureIdentity | None = None

    @model_validator(mode="after")
    def _one_provider(self) -> RoleMapping:
        if self.aws is None and self.gcp is None and self.azure is None:
            raise ValueError("a role mapping needs at least one of aws, gcp, azure")
        return self

    def matches(self, step: Step) -> bool:
        """Whether this mapping covers ``step``."""
        path = step.workflow.path
        target = path if "/" in self.workflow else path.rsplit("/", 1)[-1]
        if not fnmatch.fnmatchcase(target, self.workflow):
            return False
        if not fnmatch.fnmatchcase(step.job.id, self.job):
            return False
        if self.step is None:
            return True
        return self.step in (step.data.get("id"), step.data.get("name"))


class StaticCloudCredentialsOptions(_Options):
    """``rules.gha-static-cloud-credentials.options``."""

    roles: tuple[RoleMapping, ...] = ()
    """Jobs mapped to federated identities; only mapped jobs are rewritten."""


@dataclass(frozen=True)
class _Provider:
    """A cloud login action and its long-lived credential inputs."""

    name: str
    slug: str
    secret_inputs: tuple[str, ...]
    """Inputs that carry the long-lived secret (any one present is a finding)."""
    also_remove: tuple[str, ...]
    """Further inputs that only make sense with the secret."""
    what: str


PROVIDERS = (
    _Provider(
        "aws",
        "aws-actions/configure-aws-credentials",
        ("aws-access-key-id", "aws-secret-access-key"),
        ("aws-session-token",),
        "an IAM user's access key",
    ),
    _Provider(
        "gcp",
        "google-github-actions/auth",
        ("credentials_json",),
        (),
        "a service account key",
    ),
    _Provider(
        "azure",
        "azure/login",
        ("creds",),
        (),
        "a service principal's client secret",
    ),
)

#: Environment variables that hold long-lived cloud secrets for CLIs and SDKs.
SECRET_VARIABLES = {
    "AWS_SECRET_ACCESS_KEY": "an AWS access key",
    "AZURE_CLIENT_SECRET": "an Azure client secret",
    "ARM_CLIENT_SECRET": "an Azure client secret (Terraform)",
    "GOOGLE_CREDENTIALS": "a Google service account key (Terraform)",
}

_HOW_TO_MAP = (
    "map this job to a federated identity under `rules.gha-static-cloud-credentials.options."
    "roles` in .github/mendbot.yml to have it rewritten to OIDC (the identity's trust policy "
    "must accept this repository's GitHub OIDC tokens first)"
)


def _lookup(inputs: dict[str, Any], name: str) -> str | None:
    return next((str(k) for k in inputs if str(k).lower() == name), None)


def _is_literal(value: Any) -> bool:
    return isinstance(value, str | int) and "${{" not in str(value) and bool(str(value).strip())


def _describe(value: Any) -> str:
    return "<literal, redacted>" if _is_literal(value) else str(value)


def permission_patches(job: Job) -> tuple[list[Operation], str] | str:
    """Operations that make sure ``job`` may request an OIDC token, and a note for the
    finding; or, as a plain string, why that cannot be done automatically."""
    workflow_level = job.workflow.permissions
    if "permissions" in job.data:
        current = job.permissions
        if current == "write-all":
            return [], ""
        if isinstance(current, dict) or current is None:
            if isinstance(current, dict) and current.get("id-token") == "write":
                return [], ""
            ops: list[Operation] = [
                MergeInto(route=job.route, key="permissions", value={"id-token": "write"})
            ]
            return ops, "; `id-token: write` is added to the job's permissions"
        return (
            f"the job's permissions are `{current}`; replace them with explicit scopes that "
            "include `id-token: write` by hand"
        )
    if workflow_level == "write-all":
        return [], ""
    if isinstance(workflow_level, dict):
        if workflow_level.get("id-token") == "write":
            return [], ""
        scopes = {str(k): v for k, v in workflow_level.items()}
        scopes["id-token"] = "write"
        ops = [MergeInto(route=job.route, key="permissions", value=scopes)]
        return ops, (
            "; the job gets its own `permissions:` (the workflow's scopes plus `id-token: "
            "write`), since a job-level block replaces the workflow's"
        )
    if workflow_level is None and "permissions" not in job.workflow.data:
        ops = [
            MergeInto(
                route=job.route,
                key="permissions",
                value={"contents": "read", "id-token": "write"},
            )
        ]
        return ops, (
            "; the job gets `permissions: {contents: read, id-token: write}`: a permissions "
            "block with only `id-token: write` would drop the default token scopes, so "
            "`contents: read` is kept; add any other scope the job needs"
        )
    return (
        f"the workflow's permissions are `{workflow_level}`; give this job explicit scopes "
        "that include `id-token: write` by hand"
    )


class StaticCloudCredentials(WorkflowRule):
    """Report long-lived cloud credentials and rewrite mapped jobs to OIDC."""

    id: ClassVar[str] = "gha-static-cloud-credentials"
    title: ClassVar[str] = "long-lived cloud credentials instead of OIDC"
    description: ClassVar[str] = (
        "Access keys, service-account keys and client secrets stored as repository secrets "
        "live until someone rotates them, work from anywhere, and leak with the first "
        "compromised step or log. GitHub's OIDC tokens let a job exchange a short-lived, "
        "repository-bound token for cloud credentials that expire in minutes.\n\n"
        "Reported: `aws-actions/configure-aws-credentials` with `aws-access-key-id` / "
        "`aws-secret-access-key`, `google-github-actions/auth` with `credentials_json`, "
        "`azure/login` with `creds` (a service principal JSON holding a client secret), and "
        "(report only) `AWS_SECRET_ACCESS_KEY`, `AZURE_CLIENT_SECRET`, `ARM_CLIENT_SECRET` or "
        "`GOOGLE_CREDENTIALS` set in an `env:`. A key written in plain text is **critical**: "
        "revoke it.\n\n"
        "The fix (**unsafe**: it only works once the cloud side trusts the repository's OIDC "
        "tokens) needs the job mapped to an identity in `.github/mendbot.yml`:\n\n"
        "```yaml\n"
        "rules:\n"
        "  gha-static-cloud-credentials:\n"
        "    options:\n"
        "      roles:\n"
        "        - workflow: .github/workflows/deploy.yml   # path glob, or a file name\n"
        "          job: deploy                              # job id glob (default *)\n"
        "          step: login                              # optional: step id or name\n"
        "          aws: {role-to-assume: 'arn:aws:iam::123456789012:role/deploy', "
        "aws-region: eu-west-1}\n"
        "          gcp: {workload_identity_provider: 'projects/1/locations/global/"
        "workloadIdentityPools/gh/providers/gh', service_account: 'deploy@p.iam."
        "gserviceaccount.com'}\n"
        "          azure: {client-id: …, tenant-id: …, subscription-id: …}\n"
        "```\n\n"
        "It removes the static inputs (and `aws-session-token`), adds the identity's inputs "
        "(`role-to-assume`, `workload_identity_provider`/`service_account`, `client-id`/"
        "`tenant-id`/`subscription-id`, or `allow-no-subscriptions: true` without a "
        "subscription), and makes sure the job has `id-token: write`: merged into the job's "
        "`permissions:`; when the job has none, the workflow's scopes are copied into a new "
        "job block with `id-token: write` (a job block replaces the workflow's); when neither "
        "has one, the job gets `contents: read` and `id-token: write` (a block with only "
        "`id-token` would drop the default scopes). `read-all` permissions are left for you. "
        "Afterwards, delete the old key in the cloud. The mapping replaces the identity inputs "
        "(`role-to-assume`, …), but a setting the workflow already gives another value "
        "(`aws-region: us-east-1` where the mapping says `eu-west-1`, `subscription-id`) is a "
        "person's decision about where the job works: the finding names both values and "
        "nothing is changed until they agree.\n\n"
        "zizmor has no equivalent audit."
    )
    default_severity: ClassVar[Severity] = Severity.HIGH
    fix_disposition: ClassVar[Disposition | None] = Disposition.UNSAFE
    options_model: ClassVar[type[BaseModel] | None] = StaticCloudCredentialsOptions
    example_before: ClassVar[str] = """\
on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: aws-actions/configure-aws-credentials@v4
        with:
          aws-access-key-id: ${{ secrets.AWS_ACCESS_KEY_ID }}
          aws-secret-access-key: ${{ secrets.AWS_SECRET_ACCESS_KEY }}
          aws-region: eu-west-1
      - run: aws s3 sync site/ s3://example-bucket
"""
    example_after: ClassVar[str] = example_before

    @property
    def _roles(self) -> tuple[RoleMapping, ...]:
        options = self.options
        return options.roles if isinstance(options, StaticCloudCredentialsOptions) else ()

    def visit_workflow(self, workflow: Workflow) -> Iterator[Detection]:
        """Check workflow-level ``env:``, then every job."""
        if workflow.kind != "workflow":
            return
        yield from self._env(workflow, ("env",), workflow.env)
        for job in workflow.jobs:
            yield from self._env(workflow, (*job.route, "env"), job.env)
            for step in job.steps:
                yield from self._env(workflow, (*step.route, "env"), step.env)
                yield from self._login(step)

    def _env(self, workflow: Workflow, route: Route, env: dict[str, Any]) -> Iterator[Detection]:
        for key, value in env.items():
            what = SECRET_VARIABLES.get(str(key).upper())
            if what is None or value is None or not str(value).strip():
                continue
            literal = _is_literal(value)
            message = (
                f"`{key}` puts {what} in the environment: a long-lived secret every step of "
                "this scope can read; log in with OIDC instead (role-to-assume, workload "
                "identity federation, a federated credential)"
            )
            if literal:
                message += "; the value is written in plain text: revoke it now"
            finding = self.finding(
                workflow,
                (*route, str(key)),
                message,
                evidence=f"{key}: {_describe(value)}",
                confidence=Confidence.HIGH,
                severity=Severity.CRITICAL if literal else None,
            )
            yield Detection(
                finding,
                None,
                "the steps that read the variable must move to an OIDC login; change them by hand",
            )

    def _login(self, step: Step) -> Iterator[Detection]:
        uses = step.uses
        if uses is None:
            return
        provider = next((p for p in PROVIDERS if uses.is_action(p.slug)), None)
        if provider is None:
            return
        inputs = step.with_
        present = [k for k in (_lookup(inputs, n) for n in provider.secret_inputs) if k]
        if not present:
            return
        literal = [k for k in present if _is_literal(inputs[k])]
        route = (*step.route, "with", present[0])
        evidence = ", ".join(f"{k}: {_describe(inputs[k])}" for k in present)
        confidence = Confidence.HIGH
        if provider.name == "azure" and not literal:
            # The JSON behind the secret is opaque; it normally holds a clientSecret.
            confidence = Confidence.MEDIUM
        message = (
            f"`{uses.slug}` logs in with {provider.what} ({', '.join(f'`{k}`' for k in present)}),"
            " a long-lived credential"
        )
        if literal:
            message += " written in the workflow in plain text: revoke it now"
        severity = Severity.CRITICAL if literal else None
        mapping = next((m for m in self._roles if m.matches(step)), None)
        identity = getattr(mapping, provider.name) if mapping is not None else None
        if identity is None:
            finding = self.finding(
                step.workflow,
                route,
                message + "; use OIDC instead",
                evidence=evidence,
                confidence=confidence,
                severity=severity,
            )
            yield Detection(finding, None, _HOW_TO_MAP)
            return
        permissions = permission_patches(step.job)
        if isinstance(permissions, str):
            finding = self.finding(
                step.workflow,
                route,
                message + f"; the job is mapped to an OIDC identity, but {permissions}",
                evidence=evidence,
                confidence=confidence,
                severity=severity,
            )
            yield Detection(finding, None, permissions)
            return
        permission_ops, note = permissions
        adds = _identity_inputs(provider.name, identity)
        conflicts = _overridden(inputs, adds)
        if conflicts:
            finding = self.finding(
                step.workflow,
                route,
                message + f"; the job is mapped to an OIDC identity, but {conflicts} written in "
                "the workflow differs from the mapping, so mendbot changes nothing",
                evidence=evidence,
                confidence=confidence,
                severity=severity,
            )
            yield Detection(
                finding,
                None,
                f"{conflicts} is a value a person wrote and the mapping in .github/mendbot.yml "
                "says otherwise: mendbot never overwrites it; make the two agree, then run "
                "mendbot again",
            )
            return
        patches: list[Operation] = [MergeInto(route=step.route, key="with", value=adds)]
        removed = [
            *present,
            *(k for k in (_lookup(inputs, n) for n in provider.also_remove) if k),
        ]
        patches.extend(Remove(route=(*step.route, "with", k)) for k in removed)
        patches.extend(permission_ops)
        finding = self.finding(
            step.workflow,
            route,
            message + f"; rewritten to OIDC ({', '.join(adds)}){note}",
            evidence=evidence,
            confidence=confidence,
            severity=severity,
        )
        yield Detection(
            finding,
            self.fix(finding, f"log in to {provider.name.upper()} with OIDC", patches),
        )


#: Identity inputs say *where* the job works, not who it is: the mapping may add them but
#: never replace a value the workflow sets (the identity inputs themselves, such as
#: ``role-to-assume``, are what the mapping exists to replace).
_SETTING_INPUTS = frozenset({"aws-region", "subscription-id"})


def _overridden(inputs: dict[str, Any], adds: dict[str, str | bool]) -> str:
    """The settings the workflow already gives another value than the mapping's (``aws-region:
    us-east-1`` vs ``eu-west-1``), as a readable list; empty when none would be overwritten."""
    clashes = []
    for name, wanted in adds.items():
        if name not in _SETTING_INPUTS:
            continue
        key = _lookup(inputs, name)
        if key is None:
            continue
        written = inputs[key]
        same = written == wanted or str(written).strip().lower() == str(wanted).strip().lower()
        if not same:
            clashes.append(f"`{key}: {written}` (mapping: `{wanted}`)")
    return ", ".join(clashes)


def _identity_inputs(provider: str, identity: Any) -> dict[str, str | bool]:
    """The ``with:`` inputs that select the federated identity."""
    if isinstance(identity, AwsRole):
        inputs: dict[str, str | bool] = {"role-to-assume": identity.role_to_assume}
        if identity.aws_region:
            inputs["aws-region"] = identity.aws_region
        return inputs
    if isinstance(identity, GcpIdentity):
        inputs = {"workload_identity_provider": identity.workload_identity_provider}
        if identity.service_account:
            inputs["service_account"] = identity.service_account
        return inputs
    if isinstance(identity, AzureIdentity):
        inputs = {"client-id": identity.client_id, "tenant-id": identity.tenant_id}
        if identity.subscription_id:
            inputs["subscription-id"] = identity.subscription_id
        else:
            inputs["allow-no-subscriptions"] = True
        return inputs
    raise TypeError(f"unknown identity for {provider}")
