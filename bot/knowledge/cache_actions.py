"""What mendbot knows about actions that restore caches and steps that publish artifacts.

Each entry was written from the action's own ``action.yml`` (input names, defaults) and
documentation; versions matter where a default changed (``actions/setup-go`` caches by
default since v4, ``actions/setup-node`` since v5 via ``package-manager-cache``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Toggle = Literal["opt-in", "opt-out"]
"""``opt-in``: a true value enables caching; ``opt-out``: a true value disables it."""


@dataclass(frozen=True)
class CacheControl:
    """One input that turns an action's cache on or off."""

    input: str
    toggle: Toggle
    kind: Literal["bool", "string", "values"]
    """``bool``: true/false; ``string``: any non-empty value counts as true; ``values``: only
    :attr:`values` count as true."""
    default_on_since: int | None = None
    """Major version from which caching is on when the input is absent (None: never)."""
    default_off_since: int | None = None
    """Major version from which the default (and :attr:`default_values`) stops caching in
    release contexts again."""
    default_values: tuple[str, ...] = ()
    """Explicit values that mean "the default" (``enable-cache: auto``)."""
    values: tuple[str, ...] = ()
    requires: str | None = None
    """Another input that must be non-empty for this control to matter."""
    fix: Literal["remove"] | bool = "remove"
    """How to turn caching off: ``remove`` the input (only a person does that: the input is
    then written in the workflow), or add it with this value when it is absent."""


@dataclass(frozen=True)
class CacheAction:
    """An action that restores a cache; no controls means it always does."""

    slug: str
    controls: tuple[CacheControl, ...] = ()
    note: str = ""


def _entry(slug: str, *controls: CacheControl, note: str = "") -> tuple[str, CacheAction]:
    return slug, CacheAction(slug, controls, note)


CACHE_ACTIONS: dict[str, CacheAction] = dict(
    [
        _entry(
            "actions/cache",
            note="is the cache itself; it restores whatever a previous run saved under the key",
        ),
        _entry(
            "actions/cache/restore",
            note="restores whatever a previous run saved under the key",
        ),
        _entry(
            "actions/setup-node",
            CacheControl("cache", "opt-in", "values", values=("npm", "yarn", "pnpm")),
            CacheControl("package-manager-cache", "opt-in", "bool", default_on_since=5, fix=False),
        ),
        _entry("actions/setup-python", CacheControl("cache", "opt-in", "string")),
        _entry("actions/setup-java", CacheControl("cache", "opt-in", "string")),
        _entry(
            "actions/setup-go",
            CacheControl("cache", "opt-in", "bool", default_on_since=4, fix=False),
        ),
        _entry("actions/setup-dotnet", CacheControl("cache", "opt-in", "bool")),
        _entry(
            "astral-sh/setup-uv",
            CacheControl(
                "enable-cache",
                "opt-in",
                "bool",
                default_on_since=0,
                default_off_since=10,
                default_values=("auto",),
                fix=False,
            ),
        ),
        _entry(
            "swatinem/rust-cache",
            CacheControl("lookup-only", "opt-out", "bool", default_on_since=0, fix=True),
        ),
        _entry("ruby/setup-ruby", CacheControl("bundler-cache", "opt-in", "bool")),
        _entry("pyo3/maturin-action", CacheControl("sccache", "opt-in", "bool")),
        _entry(
            "mlugg/setup-zig",
            CacheControl("use-cache", "opt-in", "bool", default_on_since=0, fix=False),
        ),
        _entry(
            "oven-sh/setup-bun",
            CacheControl("no-cache", "opt-out", "bool", default_on_since=0, fix=True),
        ),
        _entry(
            "determinatesystems/magic-nix-cache-action",
            CacheControl("use-gha-cache", "opt-in", "bool", default_on_since=0, fix=False),
        ),
        _entry("graalvm/setup-graalvm", CacheControl("cache", "opt-in", "string")),
        _entry(
            "gradle/actions/setup-gradle",
            CacheControl("cache-disabled", "opt-out", "bool", default_on_since=0, fix=True),
        ),
        _entry(
            "gradle/gradle-build-action",
            CacheControl("cache-disabled", "opt-out", "bool", default_on_since=0, fix=True),
        ),
        _entry(
            "docker/setup-buildx-action",
            CacheControl(
                "cache-binary", "opt-in", "bool", default_on_since=0, requires="version", fix=False
            ),
        ),
        _entry(
            "actions-rust-lang/setup-rust-toolchain",
            CacheControl("cache", "opt-in", "bool", default_on_since=0, fix=False),
        ),
        _entry(
            "jdx/mise-action",
            CacheControl("cache", "opt-in", "bool", default_on_since=0, fix=False),
        ),
        _entry(
            "ramsey/composer-install",
            CacheControl(
                "ignore-cache",
                "opt-out",
                "values",
                values=("yes", "true", "1"),
                default_on_since=0,
                fix=True,
            ),
        ),
        _entry("mozilla-actions/sccache-action", note="always restores its compiler cache"),
        _entry("nix-community/cache-nix-action", note="always restores the Nix store cache"),
        _entry("awalsh128/cache-apt-pkgs-action", note="always restores cached packages"),
    ]
)

#: Actions whose use means the job publishes or deploys what it built.
PUBLISHER_ACTIONS: dict[str, str] = {
    "pypa/gh-action-pypi-publish": "publishes to PyPI",
    "rubygems/release-gem": "publishes a gem",
    "jreleaser/release-action": "publishes a release",
    "goreleaser/goreleaser-action": "builds and publishes a release",
    "softprops/action-gh-release": "uploads release assets",
    "ncipollo/release-action": "uploads release assets",
    "svenstaro/upload-release-action": "uploads release assets",
    "actions/upload-release-asset": "uploads release assets",
    "googleapis/release-please-action": "creates releases (publishing usually follows)",
    "google-github-actions/release-please-action": "creates releases (publishing usually follows)",
    "js-devtools/npm-publish": "publishes to npm",
    "cycjimmy/semantic-release-action": "publishes a release",
    "redhat-actions/push-to-registry": "pushes an image",
    "aws-actions/amazon-ecs-deploy-task-definition": "deploys to ECS",
    "aws-actions/aws-cloudformation-github-deploy": "deploys a CloudFormation stack",
    "azure/aci-deploy": "deploys to Azure",
    "azure/container-apps-deploy-action": "deploys to Azure",
    "azure/functions-action": "deploys to Azure",
    "azure/sql-action": "deploys to Azure",
    "azure/webapps-deploy": "deploys to Azure",
    "cloudflare/wrangler-action": "deploys to Cloudflare",
    "actions/deploy-pages": "deploys a GitHub Pages site",
    "google-github-actions/deploy-appengine": "deploys to Google Cloud",
    "google-github-actions/deploy-cloudrun": "deploys to Google Cloud",
    "google-github-actions/deploy-cloud-functions": "deploys to Google Cloud",
}

#: Actions that publish only when an input is true (``push: true``).
CONDITIONAL_PUBLISHERS: dict[str, tuple[str, str]] = {
    "docker/build-push-action": ("push", "pushes an image"),
    "docker/bake-action": ("push", "pushes images"),
}
