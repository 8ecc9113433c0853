"""The action-repository side of the fake GitHub: commit comparison over the real bare
repositories, and the global advisory database.

Mixed into :class:`fakegithub.FakeGitHub`: handlers are found by operation id like the others,
and their responses are validated against the OpenAPI subset the same way.

``compare/{base}...{head}`` is answered from git itself (``git rev-list --count``), so a commit
that is in the repository's objects but on no branch or tag (a fork's commit GitHub serves
through the parent) compares like on GitHub: ``diverged`` or ``ahead``, never ``behind``. A test
lists advisories in :attr:`ActionRoutes.advisories` (each a ``global-advisory``'s fields the
test cares about) and reads the ``affects`` each request asked for in :attr:`affects_asked`;
:attr:`advisories_next_origin` makes the next-page link point at another server.
"""

from __future__ import annotations

import subprocess
from typing import Any


class ActionRoutes:
    """Handlers of the compare and advisory routes (see the module docstring)."""

    advisories: list[dict[str, Any]]
    affects_asked: list[str]
    advisories_next_origin: str | None
    """A fault: the origin the advisories' ``Link: rel="next"`` points to instead of ours."""

    def actions_init(self) -> None:
        """Empty state; called by :class:`fakegithub.FakeGitHub`."""
        self.advisories = []
        self.affects_asked = []
        self.advisories_next_origin = None

    def op_repos_compare_commits_with_basehead(self, params, query, payload):
        from fakegithub import HttpError, _merge, response_schema, skeleton

        repo = self._repo(params)  # type: ignore[attr-defined]
        base, sep, head = params["basehead"].partition("...")
        if not sep:
            raise HttpError(404, "Not Found")
        shas = []
        for ref in (base, head):
            sha = self.sha(repo, f"{ref}^{{commit}}")  # type: ignore[attr-defined]
            if sha is None:
                raise HttpError(404, "Not Found")
            shas.append(sha)

        def count(spec: str) -> int:
            done = subprocess.run(
                ["git", "rev-list", "--count", spec],
                cwd=repo.bare,
                capture_output=True,
                text=True,
                check=True,
            )
            return int(done.stdout.strip())

        ahead, behind = count(f"{shas[0]}..{shas[1]}"), count(f"{shas[1]}..{shas[0]}")
        status = (
            "identical"
            if ahead == behind == 0
            else "ahead"
            if behind == 0
            else "behind"
            if ahead == 0
            else "diverged"
        )
        body = skeleton(response_schema("repos/compare-commits-with-basehead", 200))
        base_commit = self._render_sha(repo, shas[0])
        return 200, _merge(
            body,
            {
                "base_commit": base_commit,
                "merge_base_commit": base_commit,
                "status": status,
                "ahead_by": ahead,
                "behind_by": behind,
                "total_commits": ahead,
                "commits": [],
            },
        )

    def _render_sha(self, repo: Any, sha: str) -> dict[str, Any]:
        fields = subprocess.run(
            [
                "git",
                "log",
                "-1",
                "--format=%H%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%s",
                sha,
            ],
            cwd=repo.bare,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return self.render_commit(repo, fields.split("\0"))  # type: ignore[attr-defined]

    def op_security_advisories_list_global_advisories(self, params, query, payload):
        from fakegithub import _merge, response_schema, skeleton

        affects = query.get("affects", "")
        self.affects_asked.append(affects)
        ecosystem = query.get("ecosystem")
        item_schema = response_schema("security-advisories/list-global-advisories", 200)["items"]
        found = []
        for advisory in self.advisories:
            names = {
                vulnerability["package"]["name"].lower()
                for vulnerability in advisory.get("vulnerabilities", [])
                if ecosystem in (None, vulnerability["package"]["ecosystem"])
            }
            if affects.lower() in names:
                found.append(_merge(skeleton(item_schema), advisory))
        chunk, headers = self._paginate(found, query)  # type: ignore[attr-defined]
        if self.advisories_next_origin is not None and "Link" in headers:
            origin = self.origin  # type: ignore[attr-defined]
            headers["Link"] = headers["Link"].replace(origin, self.advisories_next_origin)
        return 200, chunk, headers
