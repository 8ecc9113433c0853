"""Pinning rules: ``uses:`` refs pinned to commit SHAs with readable version comments.

``gha-unpinned-uses`` pins ``owner/repo@v4`` to ``owner/repo@<sha> # v4.2.2``;
``gha-ref-confusion`` reports refs that name both a branch and a tag;
``gha-ref-version-mismatch`` corrects version comments that name another commit;
``gha-unpinned-images`` pins container images to their digest when a registry answers.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from bot.detectors.interface import Detection, WorkflowRule
from bot.models import Confidence, Severity
from bot.resolvers.action_refs import RefResolutionError, RemoteRefs, is_sha
from bot.resolvers.image_registries import (
    DOCKER_HUB,
    ImageDigest,
    InvalidImageReference,
    RegistryError,
    parse_image,
)
from bot.risk import Disposition
from bot.workflow.matrix import dotted, matrix_key, matrix_values
from bot.workflow.model import Job, Step, Uses, Workflow
from bot.yamledit.document import Route
from bot.yamledit.ops import Operation, Replace, SetComment

#: Reusable workflows that break when pinned by SHA (slsa-github-generator#722).
DEFAULT_EXEMPT = ("slsa-framework/slsa-github-generator/.github/workflows/*",)
#: The refs an exemption covers: release tags (`v2.1.0`), which is what the SLSA generator
#: requires instead of a SHA. A branch (`@main`) is never exempt: it can change at any time.
_RELEASE_TAG = re.compile(r"^v?\d+\.\d+\.\d+$")

_VERSION_COMMENT = re.compile(r"^#\s*(?P<version>v?\d+(?:\.\d+)*(?:[-+][\w.]+)?)\b\s*(?P<rest>.*)$")
_DIGEST = re.compile(r"@sha256:[0-9a-fA-F]{64}$")


class PinningOptions(BaseModel):
    """``rules.gha-unpinned-uses.options``."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    exempt: tuple[str, ...] = DEFAULT_EXEMPT
    """``owner/repo[/path]`` globs not pinned by SHA when they use a release tag (``vX.Y.Z``);
    any other ref (``@main``, ``@v2``) is still reported (replaces the default list when set)."""


@dataclass(frozen=True)
class UsesSite:
    """One ``uses:`` value and where it is."""

    uses: Uses
    route: Route
    """Route of the ``uses`` scalar itself."""


def uses_sites(workflow: Workflow) -> Iterator[UsesSite]:
    """Every remote ``uses:`` of a workflow: steps, composite steps and reusable-workflow jobs."""
    for job in workflow.jobs:
        if job.uses is not None:
            yield UsesSite(job.uses, (*job.route, "uses"))
        for step in job.steps:
            if step.uses is not None:
                yield UsesSite(step.uses, (*step.route, "uses"))
    for step in workflow.action_steps:
        if step.uses is not None:
            yield UsesSite(step.uses, (*step.route, "uses"))


def _remote(uses: Uses) -> bool:
    return bool(uses.owner and uses.ref) and "${{" not in uses.raw


def _comment(workflow: Workflow, route: Route) -> str | None:
    node = workflow.doc.lookup(route)
    if node is None:
        return None
    return workflow.doc.comment_on_line(workflow.doc.line_of(workflow.doc.content_end(node)))


def pinned_comment(version: str, existing: str | None) -> str:
    """The comment for a pinned line: ``v1.2.3`` first, then any other existing comment.

    An existing version comment is replaced; anything else (an ignore directive, a note) is
    kept after the version so Dependabot and Renovate still read ``# vX.Y.Z`` first.
    """
    if not existing:
        return version
    body = existing.lstrip("#").strip()
    match = _VERSION_COMMENT.match(existing.strip())
    if match:
        body = match.group("rest").strip()
        if body.startswith("#"):
            body = body.lstrip("#").strip()
    return f"{version} # {body}" if body else version


class _RefRule(WorkflowRule):
    """Shared plumbing: iterate ``uses:`` sites and resolve their repositories."""

    def visit_workflow(self, workflow: Workflow) -> Iterator[Detection]:
        """Check every remote ``uses:`` of the workflow."""
        for site in uses_sites(workflow):
            if _remote(site.uses):
                yield from self.check(workflow, site)

    def check(self, workflow: Workflow, site: UsesSite) -> Iterator[Detection]:
        """Check one ``uses:`` site."""
        return iter(())

    def resolve(self, uses: Uses) -> RemoteRefs | str:
        """The repository's refs, or why they are unavailable."""
        if self.services.refs is None:
            return "refs are not resolved offline; run without --offline to pin"
        try:
            return self.services.refs.refs(uses.owner, uses.repo)
        except RefResolutionError as exc:
            return str(exc)


class UnpinnedUses(_RefRule):
    """Report ``uses:`` refs that are not commit SHAs; pin tags to their commit."""

    id: ClassVar[str] = "gha-unpinned-uses"
    title: ClassVar[str] = "action or reusable workflow not pinned to a commit SHA"
    description: ClassVar[str] = (
        "A tag or branch can be moved by whoever controls the action's repository: the code "
        "your workflow runs can change without any change in your repository (tj-actions/"
        "changed-files, March 2025). Pinning to a full commit SHA makes the code immutable. "
        "The fix resolves the tag the way `git ls-remote` does (one request per repository, "
        "annotated tags peeled, under `$GITHUB_SERVER_URL`, cached on disk for an hour) and "
        "writes `@<sha> # vX.Y.Z` with the most specific tag at that commit, which Dependabot "
        "and Renovate keep up to date; other comments on the line are kept after it. It is "
        "**safe**: the commit that runs is the one that ran before. Branch refs (`@main`) are "
        "reported, never pinned (nothing could keep such a pin up to date); a name that is "
        "both a branch and a tag is `gha-ref-confusion`. Reusable workflows of "
        "`slsa-framework/slsa-github-generator` are exempt by default because they break "
        "when pinned, but only at a release tag (`@v2.1.0`, which the generator requires): "
        "`@main` or `@v2` is still reported; set `options.exempt` to change the list. "
        "Offline (`--offline`), the "
        "rule reports without fixing."
    )
    default_severity: ClassVar[Severity] = Severity.MEDIUM
    fix_disposition: ClassVar[Disposition | None] = Disposition.SAFE
    options_model: ClassVar[type[BaseModel] | None] = PinningOptions
    works_offline: ClassVar[bool] = False

    def _exempt(self, uses: Uses) -> bool:
        """Whether ``uses`` is an exempt workflow at a release tag."""
        options = self.options if isinstance(self.options, PinningOptions) else PinningOptions()
        if not _RELEASE_TAG.match(uses.ref):
            return False
        return any(fnmatch.fnmatch(uses.slug, pattern.lower()) for pattern in options.exempt)

    def check(self, workflow: Workflow, site: UsesSite) -> Iterator[Detection]:
        """Report an unpinned ref and propose the SHA of its tag."""
        uses = site.uses
        if is_sha(uses.ref) or self._exempt(uses):
            return
        refs = self.resolve(uses)
        evidence = f"uses: {uses.raw}"
        if isinstance(refs, str):
            finding = self.finding(
                workflow,
                site.route,
                f"{uses.raw} is not pinned to a commit SHA",
                evidence=evidence,
            )
            yield Detection(finding, None, refs)
            return
        is_branch, tag_sha = uses.ref in refs.branches, refs.tags.get(uses.ref)
        if is_branch:
            why = (
                f"`{uses.ref}` is both a branch and a tag of {uses.owner}/{uses.repo}"
                if tag_sha
                else f"`{uses.ref}` is a branch: a SHA pin on a branch cannot be kept up to date"
            )
            finding = self.finding(
                workflow,
                site.route,
                f"{uses.raw} follows a branch, which can change at any time; pin a release tag",
                evidence=evidence,
            )
            yield Detection(finding, None, why)
            return
        if tag_sha is None:
            finding = self.finding(
                workflow,
                site.route,
                f"{uses.raw} is not pinned, and `{uses.ref}` is neither a tag nor a branch of "
                f"{uses.owner}/{uses.repo}",
                evidence=evidence,
                confidence=Confidence.MEDIUM,
            )
            yield Detection(finding, None, f"`{uses.ref}` does not exist upstream")
            return
        version = refs.version_tag_at(tag_sha) or uses.ref
        if len(version) < len(uses.ref):
            version = uses.ref
        prefix = uses.raw.strip().rsplit("@", 1)[0]
        comment = pinned_comment(version, _comment(workflow, site.route))
        finding = self.finding(
            workflow,
            site.route,
            f"{uses.raw} is not pinned to a commit SHA; `{uses.ref}` is {tag_sha[:12]}",
            evidence=evidence,
        )
        patches: list[Operation] = [
            Replace(route=site.route, value=f"{prefix}@{tag_sha}"),
            SetComment(route=site.route, comment=comment),
        ]
        yield Detection(finding, self.fix(finding, f"pin {prefix} to {version}", patches))


class RefConfusion(_RefRule):
    """Report refs that are both a branch and a tag upstream."""

    id: ClassVar[str] = "gha-ref-confusion"
    title: ClassVar[str] = "ref names both a branch and a tag"
    description: ClassVar[str] = (
        "When a name is both a branch and a tag, GitHub Actions runs the branch. Whoever can "
        "push a branch with the name of a trusted tag can change the code you run. Pin the "
        "intended commit SHA by hand (mendbot cannot know which one you meant). Report only."
    )
    default_severity: ClassVar[Severity] = Severity.HIGH
    works_offline: ClassVar[bool] = False

    def check(self, workflow: Workflow, site: UsesSite) -> Iterator[Detection]:
        """Report a ref that is ambiguous upstream."""
        uses = site.uses
        if is_sha(uses.ref):
            return
        refs = self.resolve(uses)
        if isinstance(refs, str):
            return
        if uses.ref in refs.branches and uses.ref in refs.tags:
            finding = self.finding(
                workflow,
                site.route,
                f"`{uses.ref}` is both a branch and a tag of {uses.owner}/{uses.repo}; "
                "Actions runs the branch",
                evidence=f"uses: {uses.raw}",
            )
            yield Detection(finding, None, "which commit was meant is for a person to decide")


class RefVersionMismatch(_RefRule):
    """Correct ``@<sha> # vX`` comments that name a tag pointing elsewhere."""

    id: ClassVar[str] = "gha-ref-version-mismatch"
    title: ClassVar[str] = "version comment does not match the pinned commit"
    description: ClassVar[str] = (
        "Reviewers and Dependabot read the `# vX.Y.Z` comment of a pinned `uses:` as the "
        "version that runs. When that tag points at another commit, the comment lies: the "
        "update tools propose wrong upgrades and a reviewer cannot tell what runs. The fix "
        "(**safe**: the SHA is unchanged) rewrites the comment to the most specific tag at "
        "the pinned commit. When no tag points at the commit, the pin may be stale or an "
        "impostor commit: reported, never rewritten. Needs the refs (not offline)."
    )
    default_severity: ClassVar[Severity] = Severity.LOW
    fix_disposition: ClassVar[Disposition | None] = Disposition.SAFE
    works_offline: ClassVar[bool] = False

    def check(self, workflow: Workflow, site: UsesSite) -> Iterator[Detection]:
        """Compare the version comment with the tags at the pinned commit."""
        uses = site.uses
        if not is_sha(uses.ref):
            return
        existing = _comment(workflow, site.route)
        match = _VERSION_COMMENT.match(existing.strip()) if existing else None
        if match is None:
            return
        refs = self.resolve(uses)
        if isinstance(refs, str):
            return
        claimed, sha = match.group("version"), uses.ref.lower()
        if refs.tags.get(claimed) == sha:
            return
        actual = refs.version_tag_at(sha)
        where = f"{uses.owner}/{uses.repo}"
        claimed_sha = refs.tags.get(claimed)
        detail = (
            f"tag {claimed} of {where} is {claimed_sha[:12]}"
            if claimed_sha
            else f"{where} has no tag {claimed}"
        )
        message = f"the comment says {claimed} but the pin is {sha[:12]} ({detail})"
        finding = self.finding(workflow, site.route, message, evidence=f"uses: {uses.raw}")
        if actual is None:
            yield Detection(
                finding, None, "no tag points at the pinned commit (stale or impostor pin?)"
            )
            return
        patch = SetComment(route=site.route, comment=pinned_comment(actual, existing))
        yield Detection(finding, self.fix(finding, f"correct the comment to {actual}", [patch]))


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
