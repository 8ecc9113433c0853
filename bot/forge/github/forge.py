"""The GitHub forge: the propose job's, the gate's and the deploy job's sides on one client."""

from __future__ import annotations

from bot.forge.github.decisions import GitHubDecisions
from bot.forge.github.deployments import GitHubDeployments
from bot.forge.github.pulls import GitHubPulls
from bot.forge.interface import ForgeHost


class GitHubForge(GitHubPulls, GitHubDecisions, GitHubDeployments, ForgeHost):
    """Pull requests on GitHub or GitHub Enterprise Server: see :class:`GitHubClient` for the
    constructor, :class:`GitHubPulls` and :class:`GitHubDecisions` for the two sides."""
