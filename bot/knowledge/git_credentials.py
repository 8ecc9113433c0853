"""Which steps use the git credentials ``actions/checkout`` persists in ``.git/config``.

``actions/checkout`` writes the job token into the repository's git config unless
``persist-credentials: false`` is set. These tables say which later steps rely on that, and
which are known not to touch git at all.
"""

from __future__ import annotations

import re

#: Actions that push (or fetch) with the persisted credentials, and why we know.
PUSHING_ACTIONS: dict[str, str] = {
    "stefanzweifel/git-auto-commit-action": "commits, then runs `git push` in the workspace",
    "endbug/add-and-commit": "runs `git push` with the credentials configured by checkout",
    "ad-m/github-push-action": "pushes the workspace repository",
    "devops-infra/action-commit-push": "commits and pushes from the workspace",
    "changesets/action": "pushes the version branch with the workspace's git remote",
    "peter-evans/create-pull-request": "pushes the pull request branch from the workspace",
    "s0/git-publish-subdir-action": "pushes a subdirectory to a branch",
    "github-actions-x/commit": "commits and pushes from the workspace",
    "planetscale/ghcommit-action": "reads the workspace's git state to commit through the API",
}

#: Actions known to run no git command against the workspace's remote.
INERT_ACTIONS: frozenset[str] = frozenset(
    {
        "actions/checkout",
        "actions/setup-node",
        "actions/setup-python",
        "actions/setup-go",
        "actions/setup-java",
        "actions/setup-dotnet",
        "actions/cache",
        "actions/cache/restore",
        "actions/cache/save",
        "actions/upload-artifact",
        "actions/download-artifact",
        "actions/upload-pages-artifact",
        "actions/configure-pages",
        "actions/deploy-pages",
        "actions/attest-build-provenance",
        "actions/dependency-review-action",
        "astral-sh/setup-uv",
        "pnpm/action-setup",
        "ruby/setup-ruby",
        "dtolnay/rust-toolchain",
        "swatinem/rust-cache",
        "docker/setup-buildx-action",
        "docker/setup-qemu-action",
        "docker/login-action",
        "docker/metadata-action",
        "hashicorp/setup-terraform",
        "azure/setup-helm",
        "azure/setup-kubectl",
        "github/codeql-action/init",
        "github/codeql-action/analyze",
        "github/codeql-action/autobuild",
        "github/codeql-action/upload-sarif",
        "codecov/codecov-action",
        "softprops/action-gh-release",
        "pypa/gh-action-pypi-publish",
    }
)

#: ``run:`` text that certainly uses the persisted credentials.
NEEDS_CREDENTIALS = re.compile(
    r"\bgit\b(?:\s+-[-\w.=]+(?:\s+\S+)?)*\s+(?:push|fetch|pull|clone|ls-remote|submodule\s+update)\b"
)

#: ``gh`` invocations, which use git credentials unless a token is in the environment.
GH_CLI = re.compile(r"(?:^|[\s;&|(`$])gh\s+[a-z]")

#: ``run:`` text that might reach git through other programs (any git command, a local script).
MIGHT_USE_GIT = re.compile(r"\bgit\b|(?:^|[\s;&|])(?:\./|bash\s+\S+\.sh|sh\s+\S+\.sh|make\b)")

#: Environment variables that give ``gh`` its own token.
GH_TOKEN_VARIABLES = ("GH_TOKEN", "GITHUB_TOKEN", "GH_ENTERPRISE_TOKEN")
