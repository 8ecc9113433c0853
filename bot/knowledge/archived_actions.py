"""Action repositories known to be archived, and the maintained successor where one exists.

``gha-archived-uses`` reads this table offline; online it also asks GitHub's API about every
other action. A successor is recorded only where moving a step to it is a rename of inputs
(other entries name a replacement in ``advice``); the rule's fix renames
the inputs listed here and refuses (report only, naming the input) when the step passes one
the successor has no counterpart for, or when a later step reads an output the successor does
not set under the same name.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Successor:
    """A maintained action doing the archived one's job, and how to move a step to it."""

    action: str
    """``owner/repo`` of the successor."""
    version: str
    """The release tag the fix pins (by its commit SHA, like ``gha-unpinned-uses``)."""
    inputs: dict[str, str] = field(default_factory=dict)
    """Archived input → the successor's input (same name when unchanged)."""
    outputs: frozenset[str] = frozenset()
    """Outputs the successor sets under the archived action's names."""
    differences: str = ""
    """What still differs after the renames, for the reviewer (shown in the fix)."""


@dataclass(frozen=True)
class ArchivedAction:
    """An archived action repository."""

    action: str
    """``owner/repo``, lower-case."""
    successor: Successor | None = None
    advice: str = ""
    """What to do instead when there is no drop-in successor."""


_RELEASE = Successor(
    "softprops/action-gh-release",
    "v2",
    inputs={
        "tag_name": "tag_name",
        "release_name": "name",
        "body": "body",
        "body_path": "body_path",
        "draft": "draft",
        "prerelease": "prerelease",
        "commitish": "target_commitish",
    },
    outputs=frozenset({"id", "upload_url"}),
    differences=(
        "it authenticates with its `token` input (default `github.token`), not the step's "
        "`GITHUB_TOKEN` environment variable, and updates a release that already exists "
        "instead of failing"
    ),
)

#: Archived repositories of widely used actions (each shows GitHub's "archived" banner).
ARCHIVED_ACTIONS: tuple[ArchivedAction, ...] = (
    ArchivedAction("actions/create-release", _RELEASE),
    ArchivedAction(
        "actions/upload-release-asset",
        advice="upload with `softprops/action-gh-release` (`files:`) or `gh release upload`",
    ),
    ArchivedAction(
        "actions/setup-ruby",
        advice="use `ruby/setup-ruby` (versions are written `3.3`, not `3.3.x`)",
    ),
    ArchivedAction(
        "actions/setup-elixir",
        advice="use `erlef/setup-beam` (check the version syntax of `otp-version`)",
    ),
    ArchivedAction("actions/setup-haskell", advice="use `haskell-actions/setup`"),
    ArchivedAction(
        "actions-rs/toolchain",
        advice="use `dtolnay/rust-toolchain` (its inputs differ: `targets`, toolchain by ref)",
    ),
    ArchivedAction("actions-rs/cargo", advice="run `cargo` in a `run:` step"),
    ArchivedAction("actions-rs/clippy-check", advice="run `cargo clippy` in a `run:` step"),
    ArchivedAction("actions-rs/audit-check", advice="use `rustsec/audit-check`"),
    ArchivedAction("actions-rs/install", advice="run `cargo install --locked` in a `run:` step"),
    ArchivedAction("actions-rs/tarpaulin", advice="run `cargo tarpaulin` in a `run:` step"),
    ArchivedAction("actions-rs/grcov", advice="run `grcov` in a `run:` step"),
)


def archived_action(slug: str) -> ArchivedAction | None:
    """The entry of ``owner/repo`` (any case), if the table records it as archived."""
    slug = slug.lower()
    return next((entry for entry in ARCHIVED_ACTIONS if entry.action == slug), None)
