"""``gha-cache-poisoning``: a release or publishing job restores caches others could write."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar, Literal

from bot.detectors.interface import Detection, WorkflowRule
from bot.detectors.release_jobs import RELEASE_SCENARIOS, Release, releasing_jobs
from bot.knowledge import cache_actions as kb
from bot.models import Confidence, Severity
from bot.risk import Disposition
from bot.workflow import expression_tree as expr
from bot.workflow.model import Step, Workflow
from bot.workflow.versions import step_version
from bot.yamledit.ops import MergeInto

State = Literal["on", "off", "maybe"]


def _lookup(inputs: dict[str, Any], name: str) -> tuple[str, Any] | None:
    """``(key as written, value)`` of an action input; input names ignore case."""
    return next(((str(k), v) for k, v in inputs.items() if str(k).lower() == name), None)


def _truthy_text(value: Any) -> bool | None:
    """An input's boolean meaning; None for an expression."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    text = str(value).strip()
    if "${{" in text:
        return None
    return text.lower() not in ("false", "")


def _scenario_values(value: str, release: Release) -> list[expr.Value] | None:
    """The value of an expression input in each release scenario; None when any is unknown."""
    bare = expr.fenced(value)
    if bare is None or not release.scenarios:
        return None
    try:
        tree = expr.parse(bare)
    except expr.ExpressionError:
        return None
    values = [expr.evaluate(tree, *RELEASE_SCENARIOS[s]) for s in release.scenarios]
    known = [v for v in values if not isinstance(v, expr.Unknown)]
    return known if len(known) == len(values) else None


def _enabled(control: kb.CacheControl, value: Any, major: int | None) -> State:
    """Whether a known input value turns caching on."""
    if isinstance(value, str) and value.strip().lower() in control.default_values:
        return _default(control, major)
    if control.kind == "values":
        hit = str(value).strip().lower() in control.values
    elif control.kind == "string":
        hit = value is not None and bool(str(value).strip())
    else:
        truth = _truthy_text(value)
        if truth is None:
            return "maybe"
        hit = truth
    return "on" if hit == (control.toggle == "opt-in") else "off"


def control_state(
    control: kb.CacheControl, step: Step, release: Release
) -> tuple[State, str | None]:
    """Whether ``control`` makes the step cache, and the input key as written (if present).

    An ``${{ … }}`` value is evaluated for each release scenario: on in any of them is on,
    off in all of them is off, anything else is "maybe".
    """
    version = step_version(step)
    major = version[0] if version else None
    if control.requires is not None:
        needed = _lookup(step.with_, control.requires)
        if needed is None or not str(needed[1]).strip():
            return "off", None
    found = _lookup(step.with_, control.input)
    if found is None:
        return _default(control, major), None
    key, value = found
    if isinstance(value, str) and "${{" in value:
        values = _scenario_values(value, release)
        if values is None:
            return "maybe", key
        states = {_enabled(control, v, major) for v in values}
        if "on" in states:
            return "on", key
        return ("off" if states == {"off"} else "maybe"), key
    return _enabled(control, value, major), key


def _default(control: kb.CacheControl, major: int | None) -> State:
    since, until = control.default_on_since, control.default_off_since
    if since is None:
        return "off"
    if major is None:
        return "on" if since == 0 and until is None else "maybe"
    if major < since or (until is not None and major >= until):
        return "off"
    return "on"


class CachePoisoning(WorkflowRule):
    """Report cache-restoring steps in jobs whose output is released, and turn caching off."""

    id: ClassVar[str] = "gha-cache-poisoning"
    title: ClassVar[str] = "release job restores a cache"
    description: ClassVar[str] = (
        "GitHub Actions caches are shared by every workflow run on a branch and the branches "
        "derived from it: a cache written by a run that executed attacker-influenced code (a "
        "`pull_request_target` job, a compromised dev dependency, an injected script on the "
        "default branch) is restored by later runs, including the release build. Anything "
        "restored there can end up in the artifacts you publish. Release jobs should build "
        "from scratch.\n\n"
        "A job counts as releasing when:\n\n"
        "- it **publishes**: a known publishing or deploying action "
        "(`pypa/gh-action-pypi-publish`, `softprops/action-gh-release`, "
        "`goreleaser/goreleaser-action`, `actions/deploy-pages`, "
        "`docker/build-push-action` with `push: true`, …) or a `run:` command that publishes "
        "(`npm publish`, `twine upload`, `uv publish`, `cargo publish`, `docker push`, `gh "
        "release create`, `./gradlew publish…`, …, also behind `uv run`, `npx`, `sudo`). A "
        "command that publishes nothing does not count: a literal dry run (`cargo publish "
        "--dry-run`/`-n`, `npm`/`pnpm`/`yarn`/`uv`/`poetry publish --dry-run`, `goreleaser "
        "release --snapshot` or `--skip=publish`, `semantic-release --dry-run`), a check or a "
        "local build (`twine check`, `gem build`, `npm pack`, `gradlew publishToMavenLocal`), "
        "or the words inside a string or a heredoc; nor does `goreleaser/goreleaser-action` with "
        "`install-only: true` or `args` that build, check or make a snapshot. A dry-run flag "
        "that comes from a variable or an expression may be empty, so that command still "
        "publishes, as does one behind a variable (`$guard gh release create`);\n"
        "- or the workflow runs on `release`, on pushes of tags or on pushes to branches named "
        "like `release…` and the job **can publish**: it holds a token that may write "
        "(`contents`, `packages`, `id-token`, `deployments`, `pages` or `attestations: "
        "write`, `write-all`, or no `permissions:` at all, so the repository default applies), "
        "reads a secret other than `GITHUB_TOKEN` (its own or the workflow's `env:`), runs in "
        "an `environment`, or calls a reusable workflow. A job whose `if:` is false for every "
        "release event (`github.event_name == 'pull_request'`) is skipped;\n"
        "- or a releasing job **takes something it made**: it `needs` the job and the job "
        "declares `outputs:`, or it downloads artifacts whose names could match what the job "
        "uploads (`actions/upload-artifact` → `actions/download-artifact` by `name`/"
        "`pattern`, all of them when neither is given; `actions/upload-pages-artifact` → "
        "`actions/deploy-pages`; a reusable workflow may download any). "
        "Such jobs are reported with the publisher's confidence in release workflows, low "
        "confidence otherwise.\n\n"
        "A test or lint job whose only link to the release is that it must pass (`needs:` "
        "without outputs, an `alls-green` gate) feeds nothing into what is published and is "
        "not reported. When a release workflow has no recognised publishing step at all, what "
        "it releases is unknown, so a job that uploads artifacts there is still reported and "
        "the message says why.\n\n"
        "The fix turns a cache that is on *by default* off, by adding the "
        "absent input: `astral-sh/setup-uv` → `enable-cache: false`; `Swatinem/rust-cache` → "
        "`lookup-only: true`; `actions/setup-node` from v5 on (or when the version is "
        "unknown) → `package-manager-cache: false`; `actions/setup-go` → `cache: false` (it "
        "caches by default since v4); and the other default-on toggles (`setup-gradle`, "
        "`setup-buildx-action`, `setup-zig`, `setup-bun`, `mise-action`, "
        "`magic-nix-cache-action`, `setup-rust-toolchain`, `composer-install`) set to off. "
        "A cache input a person wrote (`cache: npm`, `enable-cache: true`, `bundler-cache: "
        "true`, `sccache: ${{ … }}`, `setup-python`'s `cache: pip`) is a decision: it is "
        "reported, the message names it and what to consider, and it is never changed or "
        "removed, not even by `--fix=all`; nor is anything added to that step, since caching "
        "would stay on. `actions/cache`, `actions/cache/restore` and actions without a switch "
        "are reported only: remove them from the release job by hand. Unsafe: release builds "
        "get slower. "
        "Versions come from the ref or the pin's `# vX.Y.Z` comment (`setup-uv` v10+ no longer "
        "caches by default in release contexts). An `${{ … }}` toggle is evaluated for tag "
        "pushes and release events when those are the only release triggers.\n\n"
        "Compared with zizmor's `cache-poisoning` (same findings otherwise):\n\n"
        "- zizmor only looks at the publishing job itself and only at publishing *actions*; "
        "mendbot also counts publishing commands in `run:` (`uv publish`, …) and the jobs "
        "whose outputs or artifacts a publisher takes, and reports `docker/build-push-action` "
        "importing `cache-from: type=gha` layers;\n"
        "- in a workflow that runs on tags, `release` or release branches, zizmor reports "
        "every job; mendbot leaves out the jobs that can neither publish nor feed a job that "
        "does (pydantic's test matrix, which its maintainers mark with `# zizmor: "
        "ignore[cache-poisoning]` for that reason), and jobs that do not run on release "
        "events;\n"
        "- zizmor counts `docker/build-push-action` without a `push:` input as publishing; its "
        "default is `false`, so mendbot does not;\n"
        "- zizmor treats `actions/setup-node` as caching by default in every version and "
        "`actions/setup-go` too; before v5 (setup-node) and v4 (setup-go) they do not, so "
        "mendbot stays silent there;\n"
        "- toggles written as expressions: mendbot evaluates them for tag pushes and release "
        "events, so `${{ github.ref == 'refs/heads/main' }}` is off (zizmor reports it) and "
        "`${{ !(github.event_name == 'push' && github.ref_type == 'tag') }}` is *on* for "
        "`release` events (zizmor takes it as off);\n"
        "- zizmor rewrites explicit boolean inputs (`enable-cache: true` → `false`); mendbot "
        "reports every input a person wrote and only adds absent ones."
    )
    default_severity: ClassVar[Severity] = Severity.HIGH
    default_confidence: ClassVar[Confidence] = Confidence.MEDIUM
    fix_disposition: ClassVar[Disposition | None] = Disposition.UNSAFE
    example_before: ClassVar[str] = """\
on:
  release:
    types: [published]
jobs:
  publish:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: astral-sh/setup-uv@v6
      - run: uv build
      - uses: pypa/gh-action-pypi-publish@release/v1
"""
    example_after: ClassVar[str] = """\
on:
  release:
    types: [published]
jobs:
  publish:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: astral-sh/setup-uv@v6
        with:
          enable-cache: false
      - run: uv build
      - uses: pypa/gh-action-pypi-publish@release/v1
"""

    def visit_workflow(self, workflow: Workflow) -> Iterator[Detection]:
        """Check the cache steps of every releasing job."""
        if workflow.kind != "workflow":
            return
        releasing = releasing_jobs(workflow)
        for job in workflow.jobs:
            release = releasing.get(job.id)
            if release is None:
                continue
            for step in job.steps:
                yield from self._check(step, release)

    def _check(self, step: Step, release: Release) -> Iterator[Detection]:
        uses = step.uses
        if uses is None:
            return
        action = kb.CACHE_ACTIONS.get(uses.slug)
        if action is None:
            if uses.is_action("docker/build-push-action"):
                yield from self._buildkit_cache(step, release)
            return
        route = (*step.route, "uses")
        if not action.controls:
            if uses.slug in ("actions/cache", "actions/cache/restore"):
                lookup = _lookup(step.with_, "lookup-only")
                if lookup is not None and _truthy_text(lookup[1]) is True:
                    return
            finding = self.finding(
                step.workflow,
                route,
                f"{release.reason}, and `{uses.slug}` {action.note}: a poisoned cache entry "
                "would flow into what is released",
                evidence=f"uses: {uses.raw}",
                confidence=release.confidence,
            )
            yield Detection(
                finding,
                None,
                f"`{uses.slug}` has no switch that keeps it from restoring; remove the step "
                "from the release job (or build the release without it) by hand",
            )
            return
        states = [(c, *control_state(c, step, release)) for c in action.controls]
        active = [(c, state, key) for c, state, key in states if state != "off"]
        if not active:
            return
        definite = any(state == "on" for _, state, _ in active)
        confidence = release.confidence if definite else Confidence.LOW
        how = ", ".join(_describe(c, state, key) for c, state, key in active)
        message = (
            f"{release.reason}, and `{uses.slug}` restores a cache ({how}): a poisoned cache "
            "entry would flow into what is released"
        )
        written = [f"`{key}: {_written(step, key)}`" for _, _, key in active if key is not None]
        if written:
            message += (
                f"; {' and '.join(written)} {'is' if len(written) == 1 else 'are'} written "
                "explicitly, so mendbot leaves the step as it is: consider whether the release "
                "really needs this cache, and turn it off by hand (or build the release in a "
                "job without it) if not"
            )
        finding = self.finding(
            step.workflow, route, message, evidence=f"uses: {uses.raw}", confidence=confidence
        )
        if written:
            yield Detection(
                finding,
                None,
                f"{' and '.join(written)} {'is a value' if len(written) == 1 else 'are values'} "
                "a person wrote: mendbot reports it and never changes it, not even with --fix=all",
            )
            return
        merges = {c.input: c.fix for c, _, _ in active if c.fix != "remove"}
        if not merges:
            yield Detection(finding, None, "caching is on by a default mendbot cannot switch off")
            return
        title = "turn caching off in the release job: " + ", ".join(
            f"{k}: {str(v).lower()}" for k, v in merges.items()
        )
        patch = MergeInto(route=step.route, key="with", value=merges)
        yield Detection(finding, self.fix(finding, title, [patch]))

    def _buildkit_cache(self, step: Step, release: Release) -> Iterator[Detection]:
        found = _lookup(step.with_, "cache-from")
        if found is None or "type=gha" not in str(found[1]):
            return
        finding = self.finding(
            step.workflow,
            (*step.route, "with", found[0]),
            f"{release.reason}, and this image build imports BuildKit layers from the GitHub "
            "Actions cache (`cache-from: type=gha`): poisoned layers would be published",
            evidence=f"cache-from: {found[1]}",
            confidence=Confidence.LOW,
        )
        yield Detection(
            finding,
            None,
            "`cache-from` may also list registry caches; drop the `type=gha` entry by hand",
        )


def _written(step: Step, key: str) -> str:
    """The input's value as the file spells it (``npm``, ``true``, ``${{ … }}``)."""
    node = step.workflow.doc.lookup((*step.route, "with", key))
    if node is None:
        return str(step.with_.get(key))
    return step.workflow.doc.text[node.start : node.end].strip()


def _describe(control: kb.CacheControl, state: State, key: str | None) -> str:
    if key is None:
        if state == "maybe":
            return f"`{control.input}` defaults to caching in some versions of the action"
        return f"caching is on by default: `{control.input}` is not set"
    if state == "maybe":
        return f"`{key}` is an expression that may turn caching on"
    return f"`{key}` turns caching on"
