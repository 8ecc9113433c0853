"""``gha-unpinned-images``: container images pinned to their digest when a registry answers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from bot.detectors.interface import Detection, WorkflowRule
from bot.models import Severity
from bot.resolvers.image_registries import (
    DOCKER_HUB,
    ImageDigest,
    InvalidImageReference,
    RegistryError,
    parse_image,
)
from bot.risk import Disposition
from bot.workflow.matrix import dotted, matrix_key, matrix_values
from bot.workflow.model import Job, Step, Workflow
from bot.yamledit.document import Route
from bot.yamledit.ops import Replace

_DIGEST = re.compile(r"@sha256:[0-9a-fA-F]{64}$")


class ImagePinningOptions(BaseModel):
    """``rules.gha-unpinned-images.options``."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", populate_by_name=True, use_attribute_docstrings=True
    )

    pin_latest: bool = Field(default=False, alias="pin-latest")
    """Also pin `latest` and untagged images (default: report them, since the pin would freeze
    whichever build `latest` happens to be)."""


class UnpinnedImages(WorkflowRule):
    """Container images (``docker://``, ``container``, ``services``) without a digest: pinned to
    the digest their tag points at when a registry answers, reported otherwise."""

    id: ClassVar[str] = "gha-unpinned-images"
    title: ClassVar[str] = "container image not pinned by digest"
    description: ClassVar[str] = (
        "`docker://` steps, job containers and service containers pull whatever the tag "
        "points at when the job runs. Pinning `image:tag@sha256:<digest>` makes the image "
        "immutable; the tag stays for readers and for Dependabot and Renovate, which update "
        "both together.\n\n"
        "The fix asks the image's registry which manifest the tag points at (one `HEAD "
        "/v2/<name>/manifests/<tag>` accepting the OCI index and Docker manifest list first, "
        "so a multi-arch image gets its **index** digest and keeps working on every runner "
        "architecture; Docker Hub's and ghcr.io's anonymous token handshake included; cached "
        "for an hour) and appends `@sha256:…` to the value, keeping its quotes and comments. "
        "It is **safe**: the runner pulls the image it pulled before. `docker://` steps, "
        "`container:` (scalar or `image:`), `services.*.image` and a Docker action's "
        "`runs.image: docker://…` are fixed; a `Dockerfile` image is built from the action's "
        "own tree and is not checked.\n\n"
        "Reported without a fix, with the reason in the finding: offline (`--offline`), a "
        "registry that cannot be reached, refuses anonymous access (a private image) or does "
        "not know the tag; `latest` or an untagged image (pinning would freeze an arbitrary "
        "build: choose a version tag, or set `pin-latest: true`); `scratch`; and an image "
        "written in the job's matrix (`image: ${{ matrix.<key> }}` with the values written "
        "out), where pinning the value would also rename the matrix jobs and the required "
        "status checks named after them: the finding gives the pin to write by hand. An image "
        "on an anchored node that aliases reuse is reported *unfixable* (the edit engine "
        "refuses edits that reach other places through an alias). Any other expression is "
        "not reported. Registries are reached directly, or through "
        "`$MENDBOT_REGISTRY_MIRRORS` (see docs/cli.md).\n\n"
        "Compared with zizmor's `unpinned-images`: zizmor reports a tag without a digest "
        "(`redis:7.4.3`) only with its pedantic persona and an untagged or `latest` image by "
        "default, and never fixes; mendbot reports both, since only a digest makes the image "
        "immutable. zizmor also reports, at low confidence, images computed by other "
        "expressions (`${{ inputs.image || vars.DEFAULT_IMAGE }}`) and, pedantically, "
        "literals inside an expression (`${{ cond && 'redis:7' || '' }}`); mendbot does not "
        "guess at run-time values."
    )
    default_severity: ClassVar[Severity] = Severity.MEDIUM
    fix_disposition: ClassVar[Disposition | None] = Disposition.SAFE
    options_model: ClassVar[type[BaseModel] | None] = ImagePinningOptions

    def visit_workflow(self, workflow: Workflow) -> Iterator[Detection]:
        """Check every job, and a Docker action's ``runs.image: docker://…``."""
        yield from super().visit_workflow(workflow)
        runs = workflow.data.get("runs") if workflow.kind == "action" else None
        if isinstance(runs, dict) and str(runs.get("using", "")).lower() == "docker":
            image = runs.get("image")
            # `image: Dockerfile` builds from the action's own tree: nothing to pin.
            if isinstance(image, str) and image.strip().startswith("docker://"):
                yield from self._check(
                    workflow,
                    ("runs", "image"),
                    image.strip()[len("docker://") :],
                    prefix="docker://",
                )

    def visit_job(self, job: Job) -> Iterator[Detection]:
        """Check the job's container, services and docker steps."""
        container = job.data.get("container")
        if container is not None:
            route: Route = (*job.route, "container")
            if isinstance(container, dict):
                route = (*route, "image")
                container = container.get("image")
            yield from self._check_job_image(job, route, container)
        services = job.data.get("services")
        if isinstance(services, dict):
            for name, service in services.items():
                if isinstance(service, dict):
                    yield from self._check_job_image(
                        job, (*job.route, "services", str(name), "image"), service.get("image")
                    )
        yield from super().visit_job(job)

    def _check_job_image(self, job: Job, route: Route, image: Any) -> Iterator[Detection]:
        """A literal image, or each image a static ``${{ matrix.<key> }}`` expands to."""
        key = matrix_key(image)
        if key is None:
            yield from self._check(job.workflow, route, image)
            return
        for entry in matrix_values(job, key) or []:
            line = job.workflow.location(entry.route).line
            yield from self._check(
                job.workflow,
                route,
                entry.value,
                via=f"`matrix.{key}` on line {line}",
                origin=dotted(entry.route[len(job.route) :]),
            )

    def visit_step(self, step: Step) -> Iterator[Detection]:
        """Check a ``uses: docker://`` step."""
        if step.uses is not None and step.uses.docker:
            yield from self._check(
                step.workflow,
                (*step.route, "uses"),
                step.uses.raw.strip()[len("docker://") :],
                prefix="docker://",
            )

    def _check(
        self,
        workflow: Workflow,
        route: Route,
        image: Any,
        via: str = "",
        origin: str = "",
        prefix: str = "",
    ) -> Iterator[Detection]:
        if not isinstance(image, str) or not image.strip() or "${{" in image:
            return
        text = image.strip()
        if _DIGEST.search(text):
            return
        resolved = self._resolve(text)
        message = f"image {image}{f' (from {via})' if via else ''} is not pinned by digest"
        if isinstance(resolved, ImageDigest) and not via:
            kind = "multi-arch index" if resolved.is_index else "manifest"
            message += f" (the tag now points at the {kind} {resolved.digest[:19]}…)"
        else:
            message += " (image:tag@sha256:...)"
        finding = self.finding(
            workflow, route, message, evidence=f"{image} ({origin})" if origin else image
        )
        if isinstance(resolved, str):
            yield Detection(finding, None, resolved)
            return
        pinned = f"{text}@{resolved.digest}"
        if via:
            yield Detection(
                finding,
                None,
                f"the image is a value of {via}: pinning it there would also rename the matrix "
                "jobs (and the required status checks named after them); pin it by hand: "
                f"`{pinned}`",
            )
            return
        kind = "multi-arch index" if resolved.is_index else "manifest"
        fix = self.fix(
            finding,
            f"pin {text} to its {kind} digest",
            [Replace(route=route, value=f"{prefix}{pinned}")],
        )
        yield Detection(finding, fix)

    def _resolve(self, image: str) -> ImageDigest | str:
        """The digest ``image``'s tag points at, or why it is not pinned."""
        try:
            ref = parse_image(image)
        except InvalidImageReference as exc:
            return f"`{image}` is not a valid image reference: {exc}"
        if ref.digest is not None:
            return f"`{image}` has a digest other than sha256; pin it by hand"
        if ref.name == "library/scratch" and ref.registry == DOCKER_HUB:
            return "`scratch` is Docker's empty base, not an image that can be pulled or pinned"
        options = self.options if isinstance(self.options, ImagePinningOptions) else None
        if ref.effective_tag == "latest" and not (options and options.pin_latest):
            follows = "has no tag, so it follows `latest`" if ref.tag is None else "is `latest`"
            return (
                f"`{image}` {follows}, which moves with every release: a digest pin would "
                "freeze whichever build is current; choose a version tag (or set the rule's "
                "`pin-latest` option)"
            )
        if self.services.registry is None:
            return "image digests are not resolved offline; run without --offline to pin"
        try:
            return self.services.registry.resolve(ref)
        except RegistryError as exc:
            return str(exc)
