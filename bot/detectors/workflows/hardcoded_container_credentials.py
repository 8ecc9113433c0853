"""``gha-hardcoded-container-credentials``: a registry password written into the workflow."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from bot.detectors.interface import Detection, WorkflowRule
from bot.models import Confidence, Severity
from bot.workflow import expression_tree as expr
from bot.workflow.model import Job
from bot.yamledit.document import Route

NO_FIX = (
    "the password must move into a repository secret first (Settings → Secrets and "
    "variables → Actions), then be referenced as `${{ secrets.NAME }}`; rotate it, since it "
    "is in the git history"
)

#: Contexts whose values GitHub stores encrypted and masks in logs.
_SECRET_CONTEXTS = ("secrets.", "github.token")


def _kind(value: Any, job: Job) -> tuple[str, Confidence] | None:
    """Why ``value`` is not a secret (and how sure we are), or None when it is one."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or "${{" not in value:
        return "is written in the workflow in plain text", Confidence.HIGH
    bare = expr.fenced(value)
    if bare is None:
        return None
    try:
        tree = expr.parse(bare)
    except expr.ExpressionError:
        return None
    paths = [ctx.path for ctx in expr.contexts(tree)]
    if not paths or any(p.startswith(_SECRET_CONTEXTS) for p in paths):
        return None
    if all(p.startswith("vars.") for p in paths):
        return (
            "comes from a configuration variable (`vars`), which GitHub stores in plain text "
            "and does not mask in logs",
            Confidence.MEDIUM,
        )
    if len(paths) == 1 and paths[0].startswith("env.") and len(paths[0].split(".")) == 2:
        name = paths[0].split(".", 1)[1]
        for scope in (job.env, job.workflow.env):
            for key, env_value in scope.items():
                if str(key).lower() == name:
                    inner = _kind(env_value, job)
                    if inner is not None:
                        return f"comes from `env.{key}`, whose value {inner[0]}", inner[1]
                    return None
    return None


class HardcodedContainerCredentials(WorkflowRule):
    """Report ``container.credentials.password`` and ``services.*.credentials.password``
    values that are not secrets."""

    id: ClassVar[str] = "gha-hardcoded-container-credentials"
    title: ClassVar[str] = "container registry password is hard-coded"
    description: ClassVar[str] = (
        "A job's `container:` and `services:` can log in to a registry with `credentials:`. "
        "A password written there in plain text is readable by anyone who can read the "
        "repository, lives forever in its git history and is not masked in logs. Store it as a "
        "secret and reference it: `password: ${{ secrets.REGISTRY_PASSWORD }}`, and rotate the "
        "old one. Values taken from configuration variables (`vars.*`, stored unencrypted) are "
        "reported with medium confidence; `env.*` values are followed to the job's or "
        "workflow's `env:`. Report only: mendbot cannot create the secret.\n\n"
        "Compared with zizmor's `hardcoded-container-credentials`: zizmor reports only literal "
        "values; mendbot also reports `vars.*` and literal `env.*` indirections."
    )
    default_severity: ClassVar[Severity] = Severity.HIGH
    example_before: ClassVar[str] = """\
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    container:
      image: registry.example.com/ci/python:3.12
      credentials:
        username: ci
        password: hunter2
    steps:
      - run: pytest
"""
    example_after: ClassVar[str] = example_before

    def visit_job(self, job: Job) -> Iterator[Detection]:
        """Check the job container and every service container."""
        container = job.data.get("container")
        if isinstance(container, dict):
            yield from self._check(job, (*job.route, "container"), container, "the job container")
        services = job.data.get("services")
        if isinstance(services, dict):
            for name, service in services.items():
                if isinstance(service, dict):
                    route = (*job.route, "services", str(name))
                    yield from self._check(job, route, service, f"service `{name}`")

    def _check(
        self, job: Job, route: Route, container: dict[str, Any], what: str
    ) -> Iterator[Detection]:
        credentials = container.get("credentials")
        if not isinstance(credentials, dict) or "password" not in credentials:
            return
        verdict = _kind(credentials["password"], job)
        if verdict is None:
            return
        reason, confidence = verdict
        image = container.get("image")
        registry = f" for `{image}`" if isinstance(image, str) else ""
        finding = self.finding(
            job.workflow,
            (*route, "credentials", "password"),
            f"the registry password of {what}{registry} {reason}; store it as a secret and "
            "reference it with `${{ secrets.NAME }}`",
            evidence="password: <redacted>",
            confidence=confidence,
        )
        yield Detection(finding, None, NO_FIX)
