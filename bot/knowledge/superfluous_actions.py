"""Actions that wrap what the runner already provides (``gh``, ``docker``, ``jq``): each is
third-party code with the job's token, where a one-line ``run:`` would do.

The list and its pedantic entries follow zizmor's ``superfluous-actions`` audit (1.32), which
keeps actions whose replacement is cumbersome (``peter-evans/create-pull-request``) or that
set up more than they appear to (``dtolnay/rust-toolchain``) out of its default persona.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SuperfluousAction:
    """An action and the runner tool that does the same."""

    action: str
    """``owner/repo``, lower-case."""
    instead: str
    """What to run instead."""
    pedantic: bool = False
    """Whether replacing it is cumbersome enough to report only on request."""


SUPERFLUOUS_ACTIONS: tuple[SuperfluousAction, ...] = (
    SuperfluousAction("ncipollo/release-action", "`gh release create`"),
    SuperfluousAction("softprops/action-gh-release", "`gh release create`"),
    SuperfluousAction("elgohr/github-release-action", "`gh release create`"),
    SuperfluousAction(
        "svenstaro/upload-release-action", "`gh release create` and `gh release upload`"
    ),
    SuperfluousAction("dacbd/create-issue-action", "`gh issue create`"),
    SuperfluousAction(
        "actions-ecosystem/action-add-labels",
        "`gh issue edit --add-label` or `gh pr edit --add-label`",
    ),
    SuperfluousAction(
        "actions-ecosystem/action-remove-labels",
        "`gh issue edit --remove-label` or `gh pr edit --remove-label`",
    ),
    SuperfluousAction("addnab/docker-run-action", "`docker run` (or a container step)"),
    SuperfluousAction("sergeysova/jq-action", "`jq`"),
    SuperfluousAction("peter-evans/create-pull-request", "`git` and `gh pr create`", pedantic=True),
    SuperfluousAction(
        "peter-evans/create-or-update-comment",
        "`gh pr comment` or `gh issue comment`",
        pedantic=True,
    ),
    SuperfluousAction("dtolnay/rust-toolchain", "`rustup`", pedantic=True),
)


def superfluous_action(slug: str) -> SuperfluousAction | None:
    """The entry of the action ``owner/repo`` (lower-case), if it is superfluous."""
    return next((entry for entry in SUPERFLUOUS_ACTIONS if entry.action == slug), None)
