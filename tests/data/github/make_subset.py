#!/usr/bin/env python3
"""Build a trimmed OpenAPI 3.0 subset of GitHub's REST description for mendbot's offline tests.

The input is the tarball of the npm package ``@octokit/openapi`` (MIT, Octokit contributors),
as produced by ``npm pack @octokit/openapi@23.0.2``. The script reads
``package/generated/<description>`` from it (default ``api.github.com.json``; e.g.
``ghes-3.17.json`` for GHES), keeps only the operations and webhook payload schemas mendbot
uses plus the transitive closure of their ``$ref`` targets, and writes:

* ``--slim`` (default ``github-rest-subset.slim.json``): examples removed, descriptions emptied;
* ``--full`` (optional): the same operations with GitHub's official examples kept.

An already extracted ``.json`` description may be given instead of the tarball.

Usage::

    npm pack @octokit/openapi@23.0.2
    python make_subset.py octokit-openapi-23.0.2.tgz --slim github-rest-subset.slim.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

OPERATIONS: list[tuple[str, str]] = [
    ("get", "/repos/{owner}/{repo}"),
    ("get", "/repos/{owner}/{repo}/contents/{path}"),
    ("get", "/orgs/{org}/repos"),
    ("get", "/repos/{owner}/{repo}/git/ref/{ref}"),
    ("get", "/repos/{owner}/{repo}/git/matching-refs/{ref}"),
    ("post", "/repos/{owner}/{repo}/git/refs"),
    ("patch", "/repos/{owner}/{repo}/git/refs/{ref}"),
    ("delete", "/repos/{owner}/{repo}/git/refs/{ref}"),
    ("post", "/repos/{owner}/{repo}/git/blobs"),
    ("post", "/repos/{owner}/{repo}/git/trees"),
    ("get", "/repos/{owner}/{repo}/git/trees/{tree_sha}"),
    ("post", "/repos/{owner}/{repo}/git/commits"),
    ("get", "/repos/{owner}/{repo}/git/commits/{commit_sha}"),
    ("get", "/repos/{owner}/{repo}/branches/{branch}"),
    ("get", "/repos/{owner}/{repo}/commits/{ref}"),
    ("get", "/repos/{owner}/{repo}/commits"),
    ("get", "/repos/{owner}/{repo}/compare/{basehead}"),
    ("get", "/repos/{owner}/{repo}/pulls"),
    ("post", "/repos/{owner}/{repo}/pulls"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}"),
    ("patch", "/repos/{owner}/{repo}/pulls/{pull_number}"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}/files"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}/commits"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}/merge"),
    ("put", "/repos/{owner}/{repo}/pulls/{pull_number}/merge"),
    ("put", "/repos/{owner}/{repo}/pulls/{pull_number}/update-branch"),
    ("get", "/repos/{owner}/{repo}/issues/{issue_number}/labels"),
    ("post", "/repos/{owner}/{repo}/issues/{issue_number}/labels"),
    ("put", "/repos/{owner}/{repo}/issues/{issue_number}/labels"),
    ("delete", "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}"),
    ("post", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("get", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("patch", "/repos/{owner}/{repo}/issues/comments/{comment_id}"),
    ("post", "/repos/{owner}/{repo}/statuses/{sha}"),
    ("get", "/repos/{owner}/{repo}/commits/{ref}/status"),
    ("get", "/repos/{owner}/{repo}/commits/{ref}/statuses"),
    ("post", "/repos/{owner}/{repo}/check-runs"),
    ("patch", "/repos/{owner}/{repo}/check-runs/{check_run_id}"),
    ("get", "/repos/{owner}/{repo}/check-runs/{check_run_id}"),
    ("get", "/repos/{owner}/{repo}/commits/{ref}/check-runs"),
    ("get", "/repos/{owner}/{repo}/commits/{commit_sha}/pulls"),
    ("get", "/search/issues"),
    ("get", "/repos/{owner}/{repo}/collaborators/{username}/permission"),
    ("get", "/orgs/{org}/teams/{team_slug}/memberships/{username}"),
    ("get", "/repos/{owner}/{repo}/rules/branches/{branch}"),
    ("get", "/repos/{owner}/{repo}/branches/{branch}/protection"),
    ("get", "/repos/{owner}/{repo}/branches/{branch}/protection/required_status_checks"),
    ("post", "/app/installations/{installation_id}/access_tokens"),
    ("get", "/repos/{owner}/{repo}/installation"),
    ("get", "/rate_limit"),
    ("get", "/user"),
    ("get", "/meta"),
    ("delete", "/installation/token"),
    ("get", "/repos/{owner}/{repo}/actions/permissions"),
    ("put", "/repos/{owner}/{repo}/actions/permissions"),
    ("get", "/repos/{owner}/{repo}/actions/permissions/workflow"),
    ("put", "/repos/{owner}/{repo}/actions/permissions/workflow"),
    ("get", "/repos/{owner}/{repo}/actions/permissions/selected-actions"),
    ("put", "/repos/{owner}/{repo}/actions/permissions/selected-actions"),
    ("get", "/repos/{owner}/{repo}/deployments"),
    ("post", "/repos/{owner}/{repo}/deployments"),
    ("get", "/repos/{owner}/{repo}/deployments/{deployment_id}"),
    ("get", "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses"),
    ("post", "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses"),
    ("get", "/repos/{owner}/{repo}/actions/runs"),
    ("post", "/repos/{owner}/{repo}/dispatches"),
    ("get", "/repos/{owner}/{repo}/actions/secrets"),
    ("get", "/repos/{owner}/{repo}/actions/secrets/{secret_name}"),
    ("delete", "/repos/{owner}/{repo}/actions/secrets/{secret_name}"),
    ("get", "/repos/{owner}/{repo}/actions/variables"),
    ("get", "/repos/{owner}/{repo}/keys"),
    ("get", "/repos/{owner}/{repo}/environments"),
    ("get", "/repos/{owner}/{repo}/environments/{environment_name}/secrets"),
    ("get", "/repos/{owner}/{repo}/environments/{environment_name}/secrets/{secret_name}"),
    ("delete", "/repos/{owner}/{repo}/environments/{environment_name}/secrets/{secret_name}"),
    ("get", "/advisories"),
]
"""(HTTP method, path template) pairs to keep, as spelled in the description's ``paths``."""

WEBHOOKS: list[str] = [
    "pull-request-opened",
    "pull-request-synchronize",
    "pull-request-reopened",
    "pull-request-labeled",
    "pull-request-unlabeled",
    "pull-request-edited",
    "pull-request-ready-for-review",
    "pull-request-closed",
    "pull-request-auto-merge-enabled",
    "pull-request-auto-merge-disabled",
    "pull-request-enqueued",
    "pull-request-dequeued",
    "pull-request-review-submitted",
    "pull-request-review-edited",
    "pull-request-review-dismissed",
    "merge-group-checks-requested",
    "merge-group-destroyed",
    "check-suite-requested",
    "check-suite-rerequested",
    "check-suite-completed",
    "check-run-rerequested",
    "check-run-completed",
    "workflow-run-completed",
    "status",
    "push",
]
"""Keys of ``x-webhooks`` to keep (webhook payload schemas)."""

GENERATED_DIR = "package/generated/"
"""Where ``npm pack`` places the description files inside the tarball."""


def load_description(source: Path, description: str) -> dict[str, Any]:
    """Load an OpenAPI description from an ``@octokit/openapi`` tarball or a plain JSON file.

    Raises ``SystemExit`` if the tarball does not contain the requested description.
    """
    if source.suffix == ".json":
        with source.open("rb") as fh:
            return json.load(fh)
    member = GENERATED_DIR + description
    with tarfile.open(source, "r:*") as tar:
        try:
            fh = tar.extractfile(member)
        except KeyError:
            fh = None
        if fh is None:
            raise SystemExit(
                f"{source}: no member {member!r}; is this an @octokit/openapi tarball?"
            )
        with fh:
            return json.load(fh)


def iter_refs(node: Any) -> Iterator[str]:
    """Yield every ``$ref`` string found anywhere below ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from iter_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from iter_refs(value)


def build_subset(
    spec: dict[str, Any], source_name: str
) -> tuple[dict[str, Any], list[tuple[str, str]], list[str], int]:
    """Return (subset, missing operations, missing webhooks, number of components pulled in)."""
    paths: dict[str, dict[str, Any]] = {}
    missing_ops: list[tuple[str, str]] = []
    for method, path in OPERATIONS:
        item = spec["paths"].get(path, {})
        if method not in item:
            missing_ops.append((method, path))
            continue
        paths.setdefault(path, {})[method] = item[method]
        if "parameters" in item:
            paths[path]["parameters"] = item["parameters"]

    all_webhooks = spec.get("x-webhooks", {})
    webhooks = {name: all_webhooks[name] for name in WEBHOOKS if name in all_webhooks}
    missing_webhooks = [name for name in WEBHOOKS if name not in all_webhooks]

    info = dict(spec["info"])
    info["description"] = (
        info.get("description", "") + " | TRIMMED SUBSET for offline tests; source: " + source_name
    )
    subset: dict[str, Any] = {
        "openapi": spec["openapi"],
        "info": info,
        "servers": spec.get("servers"),
        "paths": paths,
        "x-webhooks": webhooks,
        "components": {},
    }

    # Copy the transitive closure of local references ("#/components/...") into the subset.
    seen: set[str] = set()
    queue = list(iter_refs(paths)) + list(iter_refs(webhooks))
    while queue:
        ref = queue.pop()
        if ref in seen:
            continue
        seen.add(ref)
        parts = ref.lstrip("#/").split("/")
        target: Any = spec
        for part in parts:
            target = target[part]
        dest = subset
        for part in parts[:-1]:
            dest = dest.setdefault(part, {})
        dest[parts[-1]] = target
        queue.extend(iter_refs(target))
    return subset, missing_ops, missing_webhooks, len(seen)


def slim(node: Any) -> Any:
    """Drop examples and external docs, and empty every ``description`` string."""
    if isinstance(node, dict):
        return {
            key: ("" if key == "description" and isinstance(value, str) else slim(value))
            for key, value in node.items()
            if key not in ("examples", "example", "externalDocs")
        }
    if isinstance(node, list):
        return [slim(value) for value in node]
    return node


def write_json(obj: Any, path: Path) -> int:
    """Write ``obj`` as compact, key-sorted JSON and return the file size in bytes."""
    with path.open("w", encoding="utf-8") as fh:
        json.dump(obj, fh, separators=(",", ":"), sort_keys=True)
    return path.stat().st_size


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the process exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "source", type=Path, help="@octokit/openapi .tgz from `npm pack` (or a .json description)"
    )
    parser.add_argument(
        "--description",
        default="api.github.com.json",
        help="file under package/generated/ to read (default: %(default)s; e.g. ghes-3.17.json)",
    )
    parser.add_argument(
        "--slim",
        type=Path,
        default=Path("github-rest-subset.slim.json"),
        help="slim output (default: %(default)s)",
    )
    parser.add_argument(
        "--full", type=Path, default=None, help="optional output that keeps the examples"
    )
    args = parser.parse_args(argv)

    source_name = args.source.name if args.source.suffix == ".json" else Path(args.description).name
    spec = load_description(args.source, args.description)
    if not isinstance(spec, dict) or "paths" not in spec or "openapi" not in spec:
        raise SystemExit(f"{args.source}: not an OpenAPI description")
    subset, missing_ops, missing_webhooks, n_refs = build_subset(spec, source_name)

    if args.full is not None:
        print(f"full: {args.full} ({write_json(subset, args.full)} bytes)")
    slim_subset = slim(subset)
    slim_subset["components"].pop("examples", None)
    print(f"slim: {args.slim} ({write_json(slim_subset, args.slim)} bytes)")

    n_ops = sum(len([m for m in item if m != "parameters"]) for item in subset["paths"].values())
    print(f"operations: {n_ops}  webhooks: {len(subset['x-webhooks'])}  components: {n_refs}")
    if missing_webhooks:
        print(
            f"webhook schemas not in this description: {', '.join(missing_webhooks)}",
            file=sys.stderr,
        )
    if missing_ops:
        for method, path in missing_ops:
            print(f"missing operation: {method.upper()} {path}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
