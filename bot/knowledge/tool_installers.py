"""Setup actions that download a tool and install whatever version is newest unless told.

Each entry was written from the action's own ``action.yml`` (the input that selects the tool's
version and its default) and, where mendbot can propose a pin, from the tool's release page.
A recorded release is the newest one mendbot knew of on :attr:`ToolRelease.as_of`: a fix that
pins it is a proposal for a person to check, never a statement about today's newest release.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ToolRelease:
    """A release of the tool, to pin when the workflow names none."""

    version: str
    """The value to write into the version input, spelled as the action expects it."""
    as_of: str
    """The date (ISO 8601) on which this was the newest release mendbot knew of."""
    source: str
    """Where the release is published."""


@dataclass(frozen=True)
class ToolInstaller:
    """A setup action whose version input selects the tool it installs."""

    action: str
    """``owner/repo`` of the action, lower-case (sub-paths are other actions)."""
    tool: str
    """The tool it installs, for messages."""
    input: str
    """The ``with:`` input that selects the tool's version."""
    unpinned: tuple[str, ...]
    """Values of :attr:`input` that select the newest release (the default is one of them)."""
    source: str
    """The ``action.yml`` the input and its default were read from."""
    release: ToolRelease | None = None
    """A release to pin; None when the version depends on more than the action (a crate)."""


TOOL_INSTALLERS: tuple[ToolInstaller, ...] = (
    ToolInstaller(
        action="aquasecurity/setup-trivy",
        tool="Trivy",
        input="version",
        unpinned=("latest",),
        source="https://github.com/aquasecurity/setup-trivy/blob/main/action.yaml",
        release=ToolRelease(
            version="v0.67.2",
            as_of="2025-11-10",
            source="https://github.com/aquasecurity/trivy/releases/tag/v0.67.2",
        ),
    ),
    ToolInstaller(
        action="1password/load-secrets-action",
        tool="the 1Password CLI",
        input="version",
        unpinned=("latest",),
        source="https://github.com/1Password/load-secrets-action/blob/main/action.yml",
    ),
    ToolInstaller(
        action="extractions/setup-just",
        tool="just",
        input="just-version",
        unpinned=("*",),
        source="https://github.com/extractions/setup-just/blob/main/action.yml",
    ),
    ToolInstaller(
        action="extractions/setup-crate",
        tool="the crate",
        input="version",
        unpinned=("*",),
        source="https://github.com/extractions/setup-crate/blob/main/action.yml",
    ),
)


def tool_installer(slug: str) -> ToolInstaller | None:
    """The installer entry of the action ``owner/repo`` (lower-case), if mendbot knows it."""
    return next((entry for entry in TOOL_INSTALLERS if entry.action == slug), None)
