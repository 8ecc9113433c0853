"""A small GitHub on 127.0.0.1 for PyGithub: REST routes from the OpenAPI subset, real git.

Routes are compiled from ``data/github/github-rest-subset.slim.json`` (MIT, see its NOTICE);
every JSON response is built from the operation's schema (required fields filled, then the
fake's state laid over) and validated against it with ``openapi-schema-validator`` before it is
sent; a request to a route the fake does not implement is answered 404 and recorded in
:attr:`FakeGitHub.unhandled`, which the fixture asserts is empty. ``/<owner>/<repo>.git/...`` is
served by ``git http-backend`` over real bare repositories, so pushes are real pushes and SHAs
agree between git and the API; every pull request also has its ``refs/pull/<n>/head`` ref, kept
at its head branch's commit as GitHub does.

``/api/graphql`` answers the mutations mendbot sends (``enablePullRequestAutoMerge``). Every
query is parsed and validated with ``graphql-core`` against GitHub's public GraphQL schema
(``data/github/github-graphql-schema.graphql.gz``, from ``@octokit/graphql-schema``, MIT, see the
NOTICE), then executed against the fake's state; an invalid query is recorded in
:attr:`FakeGitHub.failures`, a valid one the fake does not implement in
:attr:`FakeGitHub.unhandled`, and both are answered with GraphQL ``errors``.
"""

from __future__ import annotations

import base64
import functools
import gzip
import json
import os
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import graphql
import jwt
from fakegithub_actions import ActionRoutes
from fakegithub_deploy import APP_PERMISSIONS, DeployRoutes, DeployState
from fakegithub_nhi import NhiRoutes, NhiState
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPEC_PATH = Path(__file__).parent / "data" / "github" / "github-rest-subset.slim.json"
GRAPHQL_SCHEMA_PATH = Path(__file__).parent / "data" / "github" / "github-graphql-schema.graphql.gz"
SPEC: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
_REGISTRY: Registry = Registry().with_resource(
    "urn:gh", Resource.from_contents(SPEC, default_specification=DRAFT4)
)
NOW = "2026-01-01T00:00:00Z"
TOKEN = "ghs_testtoken"


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = SPEC
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        schema = node
    return schema


def skeleton(schema: dict[str, Any]) -> Any:
    """The smallest value the schema accepts: required properties only, nullable as None."""
    schema = _resolve(schema)
    if schema.get("nullable"):
        return None
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = skeleton(part)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return skeleton(schema[key][0])
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {name: skeleton(props.get(name, {})) for name in schema.get("required", [])}
    if kind == "array":
        return []
    if kind == "integer":
        return 1
    if kind == "number":
        return 0
    if kind == "boolean":
        return False
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "date-time":
            return NOW
        if fmt == "uri":
            return "https://example.test/"
        return ""
    return None


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = _merge(base.get(key), value)
        return out
    return over


@dataclass
class _Route:
    method: str
    template: str
    regex: re.Pattern[str]
    operation: dict[str, Any]


@functools.cache
def graphql_schema() -> graphql.GraphQLSchema:
    """GitHub's public GraphQL schema, built once (about half a second) when first needed.

    GitHub's SDL does not pass graphql-core's own schema checks (a few duplicated fields and
    deprecation mismatches between interfaces and their implementations), so the schema is
    assumed valid; queries are still fully validated against it.
    """
    with gzip.open(GRAPHQL_SCHEMA_PATH, "rt", encoding="utf-8") as handle:
        sdl = handle.read()
    return graphql.build_schema(sdl, assume_valid_sdl=True, assume_valid=True)


#: The GraphQL mutations the fake executes (everything else valid is "unhandled").
GRAPHQL_MUTATIONS = frozenset({"enablePullRequestAutoMerge"})


def _routes() -> list[_Route]:
    routes = []
    for template, ops in SPEC["paths"].items():
        for method, op in ops.items():
            if not isinstance(op, dict) or "operationId" not in op:
                continue
            multi = set()
            for param in op.get("parameters", []) + ops.get("parameters", []):
                param = _resolve(param)
                if param.get("x-multi-segment"):
                    multi.add(param["name"])

            def group(match: re.Match[str], multi: set[str] = multi) -> str:
                name = match[1]
                return f"(?P<{name}>.+)" if name in multi else f"(?P<{name}>[^/]+)"

            regex = re.compile("^" + re.sub(r"\{(\w+)\}", group, template) + "$")
            routes.append(_Route(method.upper(), template, regex, op))
    # Literal-heavy templates first, so /git/ref/{ref} never swallows a longer route.
    routes.sort(key=lambda r: -len(re.sub(r"\{\w+\}", "", r.template)))
    return routes


ROUTES = _routes()


class ValidationFailure(AssertionError):
    """The fake was about to send a response its schema rejects."""


def validate(operation: dict[str, Any], status: int, body: Any) -> None:
    """Validate ``body`` against the operation's response schema for ``status``."""
    responses = operation["responses"]
    if str(status) not in responses:
        raise ValidationFailure(f"{operation['operationId']}: undocumented status {status}")
    content = _resolve(responses[str(status)]).get("content", {})
    if "application/json" not in content:
        if body is not None:
            raise ValidationFailure(f"{operation['operationId']} {status}: body not documented")
        return
    pointer = _pointer(
        "paths",
        *_operation_path(operation),
        "responses",
        str(status),
        "content",
        "application/json",
        "schema",
    )
    schema = {"$ref": f"urn:gh#/{pointer}"}
    declared = content["application/json"]["schema"]
    if isinstance(body, list) and "array" in declared.get("discriminator", {}).get("mapping", {}):
        # GitHub's description maps a JSON array (a folder's listing) to the discriminator
        # value "array", which a discriminator over objects cannot select: validate that branch.
        schema = {"$ref": "urn:gh" + declared["discriminator"]["mapping"]["array"]}
    errors = list(OAS30Validator(schema, registry=_REGISTRY).iter_errors(body))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path)
        raise ValidationFailure(f"{operation['operationId']} {status} at {where}: {first.message}")


def _operation_path(operation: dict[str, Any]) -> tuple[str, str]:
    for template, ops in SPEC["paths"].items():
        for method, op in ops.items():
            if op is operation:
                return template, method
    raise KeyError(operation["operationId"])


def response_schema(operation_id: str, status: int) -> dict[str, Any]:
    for route in ROUTES:
        if route.operation["operationId"] == operation_id:
            content = _resolve(route.operation["responses"][str(status)])["content"]
            return content["application/json"]["schema"]
    raise KeyError(operation_id)


class HttpError(Exception):
    """Answer with a GitHub-shaped error."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class FakePull:
    number: int
    title: str
    body: str
    head: str
    base: str
    state: str = "open"
    merged: bool = False
    labels: list[str] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)
    created_at: str = NOW
    author: str = "mendbot[bot]"
    draft: bool = False
    reviews: list[dict[str, Any]] = field(default_factory=list)
    """Submitted reviews, oldest first: ``user``, ``state``, ``commit_id``, ``submitted_at``
    (and ``id``, assigned by :meth:`FakeGitHub.add_review`)."""
    auto_merge: dict[str, Any] | None = None
    """``{"merge_method", "expected_head", "enabled_by"}`` once auto-merge is enabled."""
    merge_commit_sha: str | None = None
    """The commit the merge button made on the base branch (:meth:`FakeGitHub.merge_pull`)."""

    @property
    def node_id(self) -> str:
        return f"PR_kw{self.number}"


@dataclass
class FakeApp:
    """A GitHub App: its id, the public half of its RSA key, and where it is installed."""

    app_id: int
    public_key: Any
    installations: dict[int, set[str]] = field(default_factory=dict)
    issued: list[str] = field(default_factory=list)
    jwts: list[dict[str, Any]] = field(default_factory=list)
    permissions: dict[str, str] = field(default_factory=lambda: dict(APP_PERMISSIONS))
    """What the App was granted on its installations (a token may ask a subset)."""


@dataclass
class FakeRepo:
    owner: str
    name: str
    bare: Path
    default_branch: str = "main"
    pulls: dict[int, FakePull] = field(default_factory=dict)
    statuses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Commit statuses by commit SHA, newest last."""
    allow_auto_merge: bool = True
    """The repository setting "Allow auto-merge"."""
    deploy: DeployState = field(default_factory=DeployState)
    """Actions settings, deployments, workflow runs and dispatches (fakegithub_deploy)."""
    nhi: NhiState = field(default_factory=NhiState)
    """Secrets, variables, deploy keys and environments (fakegithub_nhi)."""
    archived: bool = False
    fork: bool = False


class FakeGitHub(DeployRoutes, NhiRoutes, ActionRoutes):
    """The server state and WSGI application."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.repos: dict[str, FakeRepo] = {}
        self.unhandled: list[str] = []
        self.requests: list[str] = []
        self.failures: list[str] = []
        self.faults: dict[str, list[int]] = {}
        self.port = 0
        self.prefix = "/api/v3"
        self._ids = 1000
        self.tokens: set[str] = {TOKEN}
        self.app: FakeApp | None = None
        self.clock_skew = 0.0
        self.teams: dict[str, set[str]] = {}
        """Active members by ``org/team-slug``."""
        self.accounts: dict[str, str] = {}
        """GitHub accounts by commit e-mail (what links a commit to its author's login)."""
        self.collaborators: dict[str, str] = {}
        """Repository collaborators by login: their role (admin, maintain, write, triage, read)."""
        self.pending_members: dict[str, set[str]] = {}
        """Invited (not yet active) members by ``org/team-slug``."""
        self.required_checks: dict[str, list[str]] = {}
        """Status contexts a branch ruleset requires, by branch name."""
        self.last_push_approval: set[str] = set()
        """Branches whose ruleset's ``pull_request`` rule sets ``require_last_push_approval``."""
        self.verified_commits: set[str] = set()
        """Commits whose signature GitHub verified (``commit.verification.verified``); the fake
        checks no signature itself."""
        self.graphql: list[dict[str, Any]] = []
        """Every GraphQL request body received."""
        self._local = threading.local()
        self.token_users: dict[str, str] = {}
        """The account of each non-installation token (``GET /user``)."""
        self.deploy_init()
        self.actions_init()

    # -- set-up -----------------------------------------------------------------------
    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return self.origin + self.prefix

    @property
    def graphql_path(self) -> str:
        """Where PyGithub posts GraphQL for this ``base_url`` (``/api/graphql`` for GHES)."""
        return self.prefix.removesuffix("/v3") + "/graphql"

    def add_repo(self, full_name: str, source: Path, default_branch: str = "main") -> FakeRepo:
        """A bare clone of ``source`` served as ``full_name``."""
        owner, name = full_name.split("/")
        bare = self.root / owner / f"{name}.git"
        bare.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "clone", "-q", "--bare", str(source), str(bare)], check=True)
        repo = FakeRepo(owner, name, bare, default_branch)
        self.repos[full_name] = repo
        return repo

    def install_app(
        self, app_id: int, public_key: Any, installations: dict[int, set[str]]
    ) -> FakeApp:
        """Register a GitHub App whose JWTs ``public_key`` verifies, installed as given."""
        self.app = FakeApp(app_id, public_key, installations)
        return self.app

    def git(self, repo: FakeRepo, *args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=repo.bare, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise HttpError(422, done.stderr.strip() or "git failed")
        return done.stdout.strip()

    def sha(self, repo: FakeRepo, ref: str) -> str | None:
        done = subprocess.run(
            ["git", "rev-parse", "--verify", "-q", ref],
            cwd=repo.bare,
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout.strip() or None

    def next_id(self) -> int:
        self._ids += 1
        return self._ids

    def add_pull(
        self, full_name: str, head: str, base: str = "main", title: str = "change", **fields: Any
    ) -> FakePull:
        """A pull request opened by someone (``author``) directly in the fake's state."""
        repo = self.repos[full_name]
        if self.sha(repo, f"refs/heads/{head}") is None:
            raise ValueError(f"no branch {head}")
        number = max([*repo.pulls, 0]) + 1
        pull = FakePull(number, title, fields.pop("body", ""), head, base, **fields)
        repo.pulls[number] = pull
        self.sync_pull_refs(repo)
        return pull

    def add_review(
        self,
        full_name: str,
        number: int,
        user: str,
        state: str = "APPROVED",
        commit_id: str | None = None,
        submitted_at: str = NOW,
    ) -> dict[str, Any]:
        """Submit a review (on the head now unless ``commit_id``), as a reviewer would."""
        repo = self.repos[full_name]
        pull = repo.pulls[number]
        review = {
            "id": self.next_id(),
            "user": user,
            "state": state,
            "commit_id": commit_id or self.sha(repo, f"refs/heads/{pull.head}"),
            "submitted_at": submitted_at,
        }
        pull.reviews.append(review)
        return review

    def sync_pull_refs(self, repo: FakeRepo) -> None:
        """Point ``refs/pull/<n>/head`` at each open pull request's head branch, as GitHub does
        (a closed one keeps its last head); run around every git request and pull creation."""
        for pull in repo.pulls.values():
            ref = f"refs/pull/{pull.number}/head"
            current = self.sha(repo, ref)
            if pull.state != "open" and current is not None:
                continue
            sha = self.sha(repo, f"refs/heads/{pull.head}")
            if sha is not None and current != sha:
                self.git(repo, "update-ref", ref, sha)

    def merge_pull(self, full_name: str, number: int, method: str = "squash") -> str:
        """What GitHub's merge button does: the merge of the head into the base tip as one new
        commit (``squash``: the base tip its only parent; ``merge``: the head its second), the
        base branch moved to it, the pull request closed as merged. Returns the new commit;
        refuses (``ValueError``) a closed pull request or a conflict, moving nothing."""
        if method not in ("squash", "merge"):
            raise ValueError(f"unsupported merge method {method!r}")
        repo = self.repos[full_name]
        pull = repo.pulls[number]
        if pull.state != "open":
            raise ValueError(f"#{number} is {pull.state}")
        self.sync_pull_refs(repo)
        base_ref = f"refs/heads/{pull.base}"
        base, head = self.sha(repo, base_ref), self.sha(repo, f"refs/pull/{number}/head")
        if base is None or head is None:
            raise ValueError(f"#{number}: its base or head branch is gone")
        merged = subprocess.run(
            ["git", "merge-tree", "--write-tree", base, head],
            cwd=repo.bare,
            capture_output=True,
            text=True,
            check=False,
        )
        if merged.returncode != 0:
            raise ValueError(f"#{number} does not merge cleanly into {pull.base}")
        tree = merged.stdout.splitlines()[0]
        if method == "squash":
            parents, message = ["-p", base], f"{pull.title} (#{number})\n\n{pull.body}"
        else:
            parents = ["-p", base, "-p", head]
            message = f"Merge pull request #{number} from {repo.owner}/{pull.head}\n\n{pull.title}"
        author = f"{pull.author}@users.noreply.github.com"
        people = {
            "GIT_AUTHOR_NAME": pull.author,
            "GIT_AUTHOR_EMAIL": author,
            "GIT_COMMITTER_NAME": "GitHub",
            "GIT_COMMITTER_EMAIL": "noreply@github.com",
        }
        commit = subprocess.run(
            ["git", "commit-tree", tree, *parents, "-m", message.rstrip() + "\n"],
            cwd=repo.bare,
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, **people},
        ).stdout.strip()
        self.git(repo, "update-ref", base_ref, commit, base)
        pull.state, pull.merged, pull.merge_commit_sha = "closed", True, commit
        pull.auto_merge = None
        return commit

    # -- WSGI -------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start: Callable[..., Any]) -> list[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ["REQUEST_METHOD"]
        if re.match(r"^/[^/]+/[^/]+\.git/", path):
            return self._git_http(environ, start)
        self.requests.append(f"{method} {path}")
        if self.down:
            return self._json(start, 503, {"message": "Service Unavailable"}, raw=True)
        app_route = re.match(
            rf"^{re.escape(self.prefix)}(/app/|/repos/[^/]+/[^/]+/installation$)", path
        )
        if app_route:
            try:
                self._verify_app_jwt(environ)
            except HttpError as exc:
                body = {"message": str(exc), "documentation_url": "https://docs.github.com/rest"}
                return self._json(start, exc.status, body, raw=True)
        elif not self._authorised(environ):
            return self._json(
                start,
                401,
                {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"},
            )
        if path == self.graphql_path and method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length) if length else b""
            return self._json(start, 200, self._graphql(raw), raw=True)
        if not path.startswith(self.prefix + "/"):
            self.unhandled.append(f"{method} {path}")
            return self._json(start, 404, {"message": "Not Found"})
        api_path = path[len(self.prefix) :]
        self._local.path = path
        self._local.token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")[2]
        for route in ROUTES:
            if route.method != method:
                continue
            match = route.regex.match(api_path)
            if match is None:
                continue
            op_id = route.operation["operationId"]
            handler = getattr(self, "op_" + re.sub(r"\W", "_", op_id), None)
            if handler is None:
                break
            faults = self.faults.get(op_id)
            if faults:
                status = faults.pop(0)
                return self._json(start, status, {"message": "Server Error"}, raw=True)
            params = {k: unquote(v) for k, v in match.groupdict().items()}
            query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length) if length else b""
            payload = json.loads(raw) if raw else None
            headers: dict[str, str] = {}
            try:
                self.check_scope(op_id, params)
                self.check_request(route.operation, payload)
                status, body, *extra = handler(params, query, payload)
                if extra:
                    headers = extra[0]
            except HttpError as exc:
                status, body = (
                    exc.status,
                    {
                        "message": str(exc),
                        "documentation_url": "https://docs.github.com/rest",
                    },
                )
                return self._json(start, status, body, raw=True)
            try:
                validate(route.operation, status, body)
            except ValidationFailure as exc:
                self.failures.append(str(exc))
                return self._json(start, 500, {"message": str(exc)}, raw=True)
            return self._json(start, status, body, headers=headers)
        self.unhandled.append(f"{method} {path}")
        return self._json(start, 404, {"message": "Not Found"}, raw=True)

    def _authorised(self, environ: dict[str, Any]) -> bool:
        scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        return scheme.lower() in ("token", "bearer") and token in self.tokens

    def _verify_app_jwt(self, environ: dict[str, Any]) -> None:
        """GitHub's rules for an App JWT: RS256 by the App's key, ``iss`` the App id, ``iat`` in
        the past and ``exp`` in the future but at most 10 minutes away (on the fake's clock)."""
        scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        if self.app is None or scheme.lower() != "bearer":
            raise HttpError(401, "A JSON web token could not be decoded")
        try:
            claims = jwt.decode(
                token,
                self.app.public_key,
                algorithms=["RS256"],
                issuer=str(self.app.app_id),
                options={
                    "require": ["iat", "exp", "iss"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise HttpError(401, f"A JSON web token could not be decoded ({exc})") from None
        now = time.time() + self.clock_skew
        if not isinstance(claims["exp"], int) or claims["exp"] <= now:
            raise HttpError(
                401,
                "'Expiration time' claim ('exp') must be a numeric value representing the future "
                "time at which the assertion expires",
            )
        if claims["exp"] > now + 600:
            raise HttpError(401, "'Expiration time' claim ('exp') is too far in the future")
        if not isinstance(claims["iat"], int) or claims["iat"] > now:
            raise HttpError(
                401,
                "'Issued at' claim ('iat') must be an Integer representing the time that the "
                "assertion was issued",
            )
        self.app.jwts.append(claims)

    def _json(
        self,
        start: Callable[..., Any],
        status: int,
        body: Any,
        raw: bool = False,
        headers: dict[str, str] | None = None,
    ) -> list[bytes]:
        reason = {
            200: "OK",
            201: "Created",
            204: "No Content",
            401: "Unauthorized",
            403: "Forbidden",
            404: "Not Found",
            409: "Conflict",
            422: "Unprocessable Entity",
            503: "Service Unavailable",
        }.get(status, "Status")
        data = b"" if body is None else json.dumps(body).encode()
        header_list = [
            ("Content-Type", "application/json; charset=utf-8"),
            ("Content-Length", str(len(data))),
            ("X-RateLimit-Limit", "5000"),
            ("X-RateLimit-Remaining", "4999"),
            ("X-RateLimit-Reset", "4102444800"),
            *(headers or {}).items(),
        ]
        start(f"{status} {reason}", header_list)
        return [data]

    def _paginate(
        self, items: list[Any], query: dict[str, str]
    ) -> tuple[list[Any], dict[str, str]]:
        """GitHub's pagination: ``per_page`` (default 30, at most 100) and ``page`` (from 1), with
        a ``Link: <...>; rel="next"`` header while more pages remain."""
        per_page = max(1, min(int(query.get("per_page", "30")), 100))
        page = max(1, int(query.get("page", "1")))
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(items):
            params = {**query, "per_page": str(per_page), "page": str(page + 1)}
            url = f"{self.origin}{self._local.path}?{urlencode(params)}"
            headers["Link"] = f'<{url}>; rel="next"'
        return chunk, headers

    def _git_http(self, environ: dict[str, Any], start: Callable[..., Any]) -> list[bytes]:
        header = environ.get("HTTP_AUTHORIZATION", "")
        allowed = {
            "basic " + base64.b64encode(f"x-access-token:{token}".encode()).decode()
            for token in self.tokens
        }
        if header not in allowed and header.replace("Basic ", "basic ", 1) not in allowed:
            start(
                "401 Unauthorized",
                [("WWW-Authenticate", 'Basic realm="fake"'), ("Content-Length", "0")],
            )
            return [b""]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        env = {
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": environ["PATH_INFO"],
            "REQUEST_METHOD": environ["REQUEST_METHOD"],
            "QUERY_STRING": environ.get("QUERY_STRING", ""),
            "CONTENT_TYPE": environ.get("CONTENT_TYPE", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": "x-access-token",
            "REMOTE_ADDR": "127.0.0.1",
            "GIT_CONFIG_NOSYSTEM": "1",
            "PATH": "/usr/bin:/bin",
        }
        if environ.get("HTTP_CONTENT_ENCODING"):
            env["HTTP_CONTENT_ENCODING"] = environ["HTTP_CONTENT_ENCODING"]
        if environ.get("HTTP_GIT_PROTOCOL"):
            env["GIT_PROTOCOL"] = environ["HTTP_GIT_PROTOCOL"]
        served = re.match(r"^/([^/]+)/([^/]+)\.git/", environ["PATH_INFO"])
        repo = self.repos.get(f"{served[1]}/{served[2]}") if served else None
        if repo is not None:
            self.sync_pull_refs(repo)
        done = subprocess.run(
            ["git", "http-backend"], input=body, env=env, capture_output=True, check=False
        )
        if repo is not None:
            self.sync_pull_refs(repo)  # after a push
        head, _, content = done.stdout.partition(b"\r\n\r\n")
        status = "200 OK"
        headers = []
        for line in head.decode("latin-1").split("\r\n"):
            if not line:
                continue
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = value.strip()
            else:
                headers.append((name, value.strip()))
        headers.append(("Content-Length", str(len(content))))
        start(status, headers)
        return [content]

    # -- rendering --------------------------------------------------------------------
    def _repo(self, params: dict[str, str]) -> FakeRepo:
        wanted = f"{params['owner']}/{params['repo']}"
        repo = self.repos.get(wanted)
        if repo is None:
            # GitHub resolves owner and repository names case-insensitively.
            repo = next((r for n, r in self.repos.items() if n.lower() == wanted.lower()), None)
        if repo is None:
            raise HttpError(404, "Not Found")
        return repo

    def _repo_url(self, repo: FakeRepo) -> str:
        return f"{self.base_url}/repos/{repo.owner}/{repo.name}"

    def render_repo(self, repo: FakeRepo, operation: str = "repos/get") -> dict[str, Any]:
        body = skeleton(response_schema(operation, 200)) if operation else {}
        return _merge(
            body,
            {
                "id": 1,
                "name": repo.name,
                "full_name": f"{repo.owner}/{repo.name}",
                "url": self._repo_url(repo),
                "default_branch": repo.default_branch,
                "owner": self.render_user(repo.owner),
                "clone_url": f"{self.origin}/{repo.owner}/{repo.name}.git",
            },
        )

    def render_user(self, login: str) -> dict[str, Any]:
        base = skeleton({"$ref": "#/components/schemas/simple-user"})
        return _merge(
            base,
            {
                "login": login,
                "id": 7,
                "type": "Bot" if login.endswith("[bot]") else "User",
                "url": f"{self.base_url}/users/{login}",
            },
        )

    def render_label(self, repo: FakeRepo, name: str) -> dict[str, Any]:
        base = skeleton({"$ref": "#/components/schemas/label"})
        return _merge(
            base,
            {
                "id": abs(hash(name)) % 10**6 + 1,
                "name": name,
                "color": "ededed",
                "url": f"{self._repo_url(repo)}/labels/{name}",
                "description": "",
            },
        )

    def render_pull(self, repo: FakeRepo, pull: FakePull, schema: str) -> dict[str, Any]:
        base = skeleton({"$ref": f"#/components/schemas/{schema}"})
        repo_json = _merge(
            skeleton({"$ref": "#/components/schemas/repository"}), self.render_repo(repo, "")
        )
        # A closed pull request shows its last head, even once its branch moved or is gone.
        head_sha = (
            self.sha(repo, f"refs/heads/{pull.head}")
            if pull.state == "open"
            else self.sha(repo, f"refs/pull/{pull.number}/head")
        ) or "0" * 40
        base_sha = self.sha(repo, f"refs/heads/{pull.base}") or "0" * 40
        url = f"{self._repo_url(repo)}/pulls/{pull.number}"
        over = {
            "id": pull.number + 100,
            "number": pull.number,
            "title": pull.title,
            "body": pull.body,
            "state": pull.state,
            "url": url,
            "issue_url": f"{self._repo_url(repo)}/issues/{pull.number}",
            "comments_url": f"{self._repo_url(repo)}/issues/{pull.number}/comments",
            "user": self.render_user(pull.author),
            "node_id": pull.node_id,
            "draft": pull.draft,
            "auto_merge": self.render_auto_merge(pull),
            "created_at": pull.created_at,
            "merged_at": NOW if pull.merged else None,
            "merge_commit_sha": pull.merge_commit_sha,
            "closed_at": NOW if pull.state == "closed" else None,
            "labels": [self.render_label(repo, n) for n in pull.labels],
            "head": {
                "ref": pull.head,
                "sha": head_sha,
                "label": f"{repo.owner}:{pull.head}",
                "repo": repo_json,
                "user": self.render_user(repo.owner),
            },
            "base": {
                "ref": pull.base,
                "sha": base_sha,
                "label": f"{repo.owner}:{pull.base}",
                "repo": repo_json,
                "user": self.render_user(repo.owner),
            },
        }
        if schema == "pull-request":
            over["merged"] = pull.merged
        return _merge(base, over)

    def render_auto_merge(self, pull: FakePull) -> dict[str, Any] | None:
        if pull.auto_merge is None:
            return None
        return {
            "enabled_by": self.render_user(pull.auto_merge["enabled_by"]),
            "merge_method": pull.auto_merge["merge_method"],
            "commit_title": "",
            "commit_message": "",
        }

    def render_review(self, repo: FakeRepo, pull: FakePull, review: dict[str, Any]) -> Any:
        base = skeleton({"$ref": "#/components/schemas/pull-request-review"})
        pull_url = f"{self._repo_url(repo)}/pulls/{pull.number}"
        html = f"{self.origin}/{repo.owner}/{repo.name}/pull/{pull.number}"
        over = {
            "id": review["id"],
            "node_id": f"PRR_kw{review['id']}",
            "user": self.render_user(review["user"]),
            "state": review["state"],
            "commit_id": review["commit_id"],
            "html_url": f"{html}#pullrequestreview-{review['id']}",
            "pull_request_url": pull_url,
            "_links": {"html": {"href": html}, "pull_request": {"href": pull_url}},
        }
        if review.get("submitted_at"):
            over["submitted_at"] = review["submitted_at"]
        return _merge(base, over)

    def render_status(self, repo: FakeRepo, sha: str, status: dict[str, Any]) -> Any:
        base = skeleton({"$ref": "#/components/schemas/status"})
        return _merge(
            base,
            {
                **status,
                "url": f"{self._repo_url(repo)}/statuses/{sha}",
                "avatar_url": None,
                "node_id": f"SC_kw{status['id']}",
                "updated_at": status["created_at"],
                "creator": self.render_user(status["creator"]),
            },
        )

    # -- operations -------------------------------------------------------------------
    def op_users_get_authenticated(self, params, query, payload):
        # GitHub answers an installation token (ghs_...) with 403; a user token with its user.
        token = self._local.token
        if token.startswith("ghs_") or token not in self.token_users:
            raise HttpError(403, "Resource not accessible by integration")
        base = skeleton({"$ref": "#/components/schemas/public-user"})
        user = self.render_user(self.token_users[token])
        return 200, _merge(base, {**user, "user_view_type": "public"})

    def op_repos_get(self, params, query, payload):
        repo = self._repo(params)
        return 200, {**self.render_repo(repo), "archived": repo.archived}

    def op_repos_list_for_org(self, params, query, payload):
        """The organisation's repositories in creation order, paginated; ``type`` filters
        forks (``forks``) or sources (``sources``); an unknown organisation is 404."""
        owned = [r for r in self.repos.values() if r.owner == params["org"]]
        if not owned:
            raise HttpError(404, "Not Found")
        kind = query.get("type", "all")
        if kind == "forks":
            owned = [r for r in owned if r.fork]
        elif kind == "sources":
            owned = [r for r in owned if not r.fork]
        chunk, headers = self._paginate(owned, query)
        rendered = [
            _merge(
                skeleton({"$ref": "#/components/schemas/minimal-repository"}),
                {
                    **self.render_repo(repo, operation=""),
                    "archived": repo.archived,
                    "fork": repo.fork,
                },
            )
            for repo in chunk
        ]
        return 200, rendered, headers

    def op_repos_get_content(self, params, query, payload):
        """A folder's listing (``type`` dir) or a file (base64) at ``ref`` (default branch),
        read from the bare repository; 404 when the path is not there."""
        repo = self._repo(params)
        ref = query.get("ref", repo.default_branch)
        path = params["path"].strip("/")
        kind = self.sha(repo, f"{ref}:{path}")
        if kind is None:
            raise HttpError(404, "Not Found")
        url = f"{self._repo_url(repo)}/contents"

        def entry(name: str, sha: str, kind: str, size: int) -> dict[str, Any]:
            self_url = f"{url}/{name}?ref={ref}"
            git_url = f"{self._repo_url(repo)}/git/{'trees' if kind == 'dir' else 'blobs'}/{sha}"
            return {
                "type": kind,
                "size": size,
                "name": name.rsplit("/", 1)[-1],
                "path": name,
                "sha": sha,
                "url": self_url,
                "git_url": git_url,
                "html_url": f"{self.origin}/{repo.owner}/{repo.name}/blob/{ref}/{name}",
                "download_url": None,
                "_links": {"self": self_url, "git": git_url, "html": None},
            }

        if self.git(repo, "cat-file", "-t", f"{ref}:{path}") == "tree":
            listing = []
            for line in self.git(repo, "ls-tree", "-l", f"{ref}:{path}").splitlines():
                meta, _, name = line.partition("\t")
                mode, otype, sha, size = meta.split()
                kind = {"tree": "dir", "commit": "submodule"}.get(otype, "file")
                if mode == "120000":
                    kind = "symlink"
                listing.append(entry(f"{path}/{name}", sha, kind, 0 if size == "-" else int(size)))
            return 200, listing
        blob = self.git(repo, "rev-parse", f"{ref}:{path}")
        content = subprocess.run(
            ["git", "cat-file", "blob", blob], cwd=repo.bare, capture_output=True, check=True
        ).stdout
        body = entry(path, blob, "file", len(content))
        return 200, {**body, "encoding": "base64", "content": base64.b64encode(content).decode()}

    def op_git_get_ref(self, params, query, payload):
        repo = self._repo(params)
        sha = self.sha(repo, f"refs/{params['ref']}")
        if sha is None:
            raise HttpError(404, "Not Found")
        return 200, {
            "ref": f"refs/{params['ref']}",
            "node_id": "REF_1",
            "url": f"{self._repo_url(repo)}/git/refs/{params['ref']}",
            "object": {
                "type": "commit",
                "sha": sha,
                "url": f"{self._repo_url(repo)}/git/commits/{sha}",
            },
        }

    def _pull(self, params: dict[str, str]) -> tuple[FakeRepo, FakePull]:
        repo = self._repo(params)
        number = int(params.get("pull_number") or params.get("issue_number") or 0)
        if number not in repo.pulls:
            raise HttpError(404, "Not Found")
        return repo, repo.pulls[number]

    def op_pulls_list(self, params, query, payload):
        repo = self._repo(params)
        state = query.get("state", "open")
        head = query.get("head")
        found = []
        for pull in sorted(repo.pulls.values(), key=lambda p: -p.number):
            if state != "all" and pull.state != state:
                continue
            if head is not None and head != f"{repo.owner}:{pull.head}":
                continue
            if "base" in query and query["base"] != pull.base:
                continue
            found.append(self.render_pull(repo, pull, "pull-request-simple"))
        return 200, found

    def op_repos_list_pull_requests_associated_with_commit(self, params, query, payload):
        repo = self._repo(params)
        sha = params["commit_sha"]
        found = [
            self.render_pull(repo, pull, "pull-request-simple")
            for pull in sorted(repo.pulls.values(), key=lambda p: p.number)
            # GitHub lists the pull requests whose head is the commit and the one that merged it.
            if self.sha(repo, f"refs/heads/{pull.head}") == sha or pull.merge_commit_sha == sha
        ]
        return 200, found

    def op_pulls_create(self, params, query, payload):
        repo = self._repo(params)
        if self.sha(repo, f"refs/heads/{payload['head']}") is None:
            raise HttpError(422, "Validation Failed")
        if any(p.head == payload["head"] and p.state == "open" for p in repo.pulls.values()):
            raise HttpError(422, "A pull request already exists")
        number = max([*repo.pulls, *[0]]) + 1
        pull = FakePull(
            number, payload["title"], payload.get("body") or "", payload["head"], payload["base"]
        )
        repo.pulls[number] = pull
        self.sync_pull_refs(repo)
        return 201, self.render_pull(repo, pull, "pull-request")

    def op_pulls_get(self, params, query, payload):
        repo, pull = self._pull(params)
        return 200, self.render_pull(repo, pull, "pull-request")

    def op_pulls_update(self, params, query, payload):
        repo, pull = self._pull(params)
        pull.title = payload.get("title", pull.title)
        pull.body = payload.get("body", pull.body)
        pull.state = payload.get("state", pull.state)
        return 200, self.render_pull(repo, pull, "pull-request")

    def op_issues_set_labels(self, params, query, payload):
        repo, pull = self._pull(params)
        labels = payload.get("labels", []) if isinstance(payload, dict) else payload
        pull.labels = [label if isinstance(label, str) else label["name"] for label in labels]
        return 200, [self.render_label(repo, name) for name in pull.labels]

    def _comment(self, repo: FakeRepo, pull: FakePull, comment: dict[str, Any]) -> dict[str, Any]:
        base = skeleton({"$ref": "#/components/schemas/issue-comment"})
        url = f"{self._repo_url(repo)}/issues/comments/{comment['id']}"
        return _merge(
            base,
            {
                "id": comment["id"],
                "body": comment["body"],
                "url": url,
                "issue_url": f"{self._repo_url(repo)}/issues/{pull.number}",
                "user": self.render_user(comment.get("user", "mendbot[bot]")),
                "created_at": comment.get("created_at", NOW),
                "updated_at": comment.get("updated_at", NOW),
            },
        )

    def op_issues_list_comments(self, params, query, payload):
        repo, pull = self._pull(params)
        page, headers = self._paginate(pull.comments, query)
        return 200, [self._comment(repo, pull, c) for c in page], headers

    def op_issues_create_comment(self, params, query, payload):
        repo, pull = self._pull(params)
        comment = {"id": self.next_id(), "body": payload["body"]}
        pull.comments.append(comment)
        return 201, self._comment(repo, pull, comment)

    def op_issues_update_comment(self, params, query, payload):
        repo = self._repo(params)
        wanted = int(params["comment_id"])
        for pull in repo.pulls.values():
            for comment in pull.comments:
                if comment["id"] == wanted:
                    if not isinstance(payload, dict) or not isinstance(payload.get("body"), str):
                        raise HttpError(422, "Validation Failed")
                    comment["body"] = payload["body"]
                    comment["edits"] = comment.get("edits", 0) + 1
                    return 200, self._comment(repo, pull, comment)
        raise HttpError(404, "Not Found")

    # -- labels -----------------------------------------------------------------------
    def op_issues_list_labels_on_issue(self, params, query, payload):
        repo, pull = self._pull(params)
        page, headers = self._paginate(pull.labels, query)
        return 200, [self.render_label(repo, name) for name in page], headers

    def op_issues_add_labels(self, params, query, payload):
        repo, pull = self._pull(params)
        labels = payload.get("labels", []) if isinstance(payload, dict) else payload
        if not labels:
            raise HttpError(422, "Validation Failed")
        for label in labels:
            name = label if isinstance(label, str) else label["name"]
            if name not in pull.labels:
                pull.labels.append(name)
        return 200, [self.render_label(repo, name) for name in pull.labels]

    def op_issues_remove_label(self, params, query, payload):
        repo, pull = self._pull(params)
        if params["name"] not in pull.labels:
            raise HttpError(404, "Label does not exist")
        pull.labels.remove(params["name"])
        return 200, [self.render_label(repo, name) for name in pull.labels]

    # -- reviews, statuses, teams, rules ----------------------------------------------
    def op_pulls_list_reviews(self, params, query, payload):
        repo, pull = self._pull(params)
        page, headers = self._paginate(pull.reviews, query)
        return 200, [self.render_review(repo, pull, r) for r in page], headers

    def op_pulls_list_commits(self, params, query, payload):
        repo, pull = self._pull(params)
        log = self.git(
            repo,
            "log",
            "--reverse",
            "--format=%H%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%s",
            f"refs/heads/{pull.base}..refs/pull/{pull.number}/head",
        )
        # GitHub lists at most 250 commits of a pull request, the oldest first.
        commits = [line.split("\0") for line in log.splitlines() if line][:250]
        page, headers = self._paginate(commits, query)
        return 200, [self.render_commit(repo, fields) for fields in page], headers

    def render_commit(self, repo: FakeRepo, fields: list[str]) -> dict[str, Any]:
        """One ``commit`` of ``pulls/list-commits``; author and committer are the accounts
        :attr:`accounts` links to their e-mails, else ``{}`` (GitHub's empty-object variant:
        the description's ``nullable`` next to ``oneOf`` does not validate a null)."""
        sha, an, ae, ad, cn, ce, cd, subject = fields
        url = f"{self._repo_url(repo)}/commits/{sha}"

        def account(email: str) -> dict[str, Any]:
            login = self.accounts.get(email)
            return self.render_user(login) if login else {}

        return _merge(
            skeleton({"$ref": "#/components/schemas/commit"}),
            {
                "sha": sha,
                "node_id": f"C_{sha[:12]}",
                "url": url,
                "html_url": url,
                "comments_url": f"{url}/comments",
                "commit": {
                    "url": url,
                    "message": subject,
                    "comment_count": 0,
                    "author": {"name": an, "email": ae, "date": ad},
                    "committer": {"name": cn, "email": ce, "date": cd},
                    "tree": {"sha": sha, "url": url},
                    "verification": {
                        "verified": sha in self.verified_commits,
                        "reason": "valid" if sha in self.verified_commits else "unsigned",
                        "payload": None,
                        "signature": None,
                        "verified_at": NOW if sha in self.verified_commits else None,
                    },
                },
                "author": account(ae),
                "committer": account(ce),
                "parents": [],
            },
        )

    def _commit(self, repo: FakeRepo, ref: str) -> str:
        sha = self.sha(repo, f"{ref}^{{commit}}")
        if sha is None:
            raise HttpError(422, f"No commit found for SHA: {ref}")
        return sha

    def op_repos_create_commit_status(self, params, query, payload):
        repo = self._repo(params)
        sha = self._commit(repo, params["sha"])
        if payload.get("state") not in ("error", "failure", "pending", "success"):
            raise HttpError(422, "Validation Failed")
        description = payload.get("description")
        if description is not None and len(description) > 140:
            raise HttpError(422, "description is too long (maximum is 140 characters)")
        status = {
            "id": self.next_id(),
            "state": payload["state"],
            "description": description,
            "target_url": payload.get("target_url"),
            "context": payload.get("context") or "default",
            "created_at": NOW,
            "creator": "mendbot[bot]",
        }
        repo.statuses.setdefault(sha, []).append(status)
        return 201, self.render_status(repo, sha, status)

    def _ref_sha(self, repo: FakeRepo, ref: str) -> str:
        for candidate in (f"refs/heads/{ref}", f"refs/tags/{ref}", ref):
            sha = self.sha(repo, f"{candidate}^{{commit}}")
            if sha is not None:
                return sha
        raise HttpError(404, f"No commit found for SHA: {ref}")

    def op_repos_list_commit_statuses_for_ref(self, params, query, payload):
        repo = self._repo(params)
        sha = self._ref_sha(repo, params["ref"])
        newest_first = list(reversed(repo.statuses.get(sha, [])))
        page, headers = self._paginate(newest_first, query)
        return 200, [self.render_status(repo, sha, s) for s in page], headers

    def latest_statuses(self, repo: FakeRepo, sha: str) -> dict[str, dict[str, Any]]:
        """The newest status of each context on ``sha``."""
        latest: dict[str, dict[str, Any]] = {}
        for status in repo.statuses.get(sha, []):
            latest[status["context"]] = status
        return latest

    def op_repos_get_combined_status_for_ref(self, params, query, payload):
        repo = self._repo(params)
        sha = self._ref_sha(repo, params["ref"])
        latest = list(self.latest_statuses(repo, sha).values())
        states = {s["state"] for s in latest}
        if states & {"failure", "error"}:
            state = "failure"
        elif not latest or "pending" in states:
            state = "pending"
        else:
            state = "success"
        base = skeleton(response_schema("repos/get-combined-status-for-ref", 200))
        return 200, _merge(
            base,
            {
                "state": state,
                "sha": sha,
                "total_count": len(latest),
                "statuses": [self._simple_status(repo, sha, s) for s in latest],
                "repository": self.render_repo(repo, ""),
                "commit_url": f"{self._repo_url(repo)}/commits/{sha}",
                "url": f"{self._repo_url(repo)}/commits/{sha}/status",
            },
        )

    def _simple_status(self, repo: FakeRepo, sha: str, status: dict[str, Any]) -> Any:
        full = self.render_status(repo, sha, status)
        return {k: v for k, v in full.items() if k != "creator"}

    def op_teams_get_membership_for_user_in_org(self, params, query, payload):
        team = f"{params['org']}/{params['team_slug']}"
        user = params["username"]
        if user in self.teams.get(team, set()):
            state = "active"
        elif user in self.pending_members.get(team, set()):
            state = "pending"
        else:
            raise HttpError(404, "Not Found")
        url = f"{self.base_url}/orgs/{params['org']}/teams/{params['team_slug']}/memberships/{user}"
        return 200, {"url": url, "role": "member", "state": state}

    def op_repos_get_collaborator_permission_level(self, params, query, payload):
        repo = self._repo(params)
        user = params["username"]
        role = self.collaborators.get(user)
        if role is None:
            raise HttpError(404, "Not Found")
        permission = {"maintain": "write", "triage": "read"}.get(role, role)
        return 200, {
            "permission": permission,
            "role_name": role,
            "user": _merge(
                skeleton({"$ref": "#/components/schemas/nullable-collaborator"}),
                {
                    **self.render_user(user),
                    "role_name": role,
                    "permissions": {
                        "pull": True,
                        "triage": role != "read",
                        "push": role in ("write", "maintain", "admin"),
                        "maintain": role in ("maintain", "admin"),
                        "admin": role == "admin",
                    },
                },
            )
            if repo
            else None,
        }

    def op_repos_get_branch_rules(self, params, query, payload):
        repo = self._repo(params)
        checks = self.required_checks.get(params["branch"], [])
        rules = []
        if checks:
            rules.append(
                {
                    "type": "required_status_checks",
                    "parameters": {
                        "required_status_checks": [{"context": c} for c in checks],
                        "strict_required_status_checks_policy": False,
                    },
                    "ruleset_source_type": "Repository",
                    "ruleset_source": f"{repo.owner}/{repo.name}",
                    "ruleset_id": 1,
                }
            )
        if params["branch"] in self.last_push_approval:
            rules.append(
                {
                    "type": "pull_request",
                    "parameters": {
                        "dismiss_stale_reviews_on_push": False,
                        "require_code_owner_review": False,
                        "require_last_push_approval": True,
                        "required_approving_review_count": 1,
                        "required_review_thread_resolution": False,
                    },
                    "ruleset_source_type": "Repository",
                    "ruleset_source": f"{repo.owner}/{repo.name}",
                    "ruleset_id": 2,
                }
            )
        page, headers = self._paginate(rules, query)
        return 200, page, headers

    # -- GraphQL ----------------------------------------------------------------------
    def _graphql(self, raw: bytes) -> dict[str, Any]:
        try:
            request = json.loads(raw)
            text = request["query"]
            variables = request.get("variables") or {}
        except (ValueError, KeyError, TypeError):
            self.failures.append("graphql: the request body is not {query, variables} JSON")
            return {"errors": [{"message": "Problems parsing JSON"}]}
        self.graphql.append(request)
        schema = graphql_schema()
        try:
            document = graphql.parse(text)
        except graphql.GraphQLError as exc:
            self.failures.append(f"graphql: {exc.message}")
            return {"errors": [exc.formatted]}
        errors = graphql.validate(schema, document)
        if errors:
            self.failures.append("graphql: " + "; ".join(e.message for e in errors))
            return {"errors": [e.formatted for e in errors]}
        fields = [
            selection.name.value
            for definition in document.definitions
            if isinstance(definition, graphql.OperationDefinitionNode)
            for selection in definition.selection_set.selections
            if isinstance(selection, graphql.FieldNode)
        ]
        operations = {
            d.operation
            for d in document.definitions
            if isinstance(d, graphql.OperationDefinitionNode)
        }
        if operations != {graphql.OperationType.MUTATION} or not set(fields) <= GRAPHQL_MUTATIONS:
            self.unhandled.append(f"POST {self.graphql_path} {' '.join(fields)}")
            return {"errors": [{"message": f"the fake does not implement {fields}"}]}
        result = graphql.execute_sync(
            schema,
            document,
            root_value=_GraphQLRoot(self),
            variable_values=variables,
            operation_name=request.get("operationName"),
        )
        answer: dict[str, Any] = {"data": result.data}
        if result.errors:
            answer["errors"] = [_graphql_error(e) for e in result.errors]
        return answer

    def _pull_by_node(self, node_id: str) -> tuple[FakeRepo, FakePull]:
        for repo in self.repos.values():
            for pull in repo.pulls.values():
                if pull.node_id == node_id:
                    return repo, pull
        raise _Unresolved(f"Could not resolve to a node with the global id of '{node_id}'")

    def enable_auto_merge(self, input: dict[str, Any]) -> dict[str, Any]:
        """``enablePullRequestAutoMerge``: GitHub's refusals, then the request recorded."""
        repo, pull = self._pull_by_node(input["pullRequestId"])
        if not repo.allow_auto_merge:
            raise _Unprocessable("Pull request Auto merge is not allowed for this repository")
        if pull.state != "open":
            raise _Unprocessable("Pull request Pull request is closed")
        head = self.sha(repo, f"refs/heads/{pull.head}")
        expected = input.get("expectedHeadOid")
        if expected is not None and expected != head:
            raise _Unprocessable(
                f"Expected head OID {expected} does not match the pull request's head OID {head}"
            )
        required = self.required_checks.get(pull.base, [])
        latest = self.latest_statuses(repo, head or "")
        if all(latest.get(c, {}).get("state") == "success" for c in required):
            # Nothing left to wait for: GitHub refuses rather than merging now.
            raise _Unprocessable("Pull request Pull request is in clean status")
        pull.auto_merge = {
            "merge_method": input.get("mergeMethod", "MERGE").lower(),
            "expected_head": expected,
            "enabled_by": "mendbot[bot]",
        }
        return {
            "__typename": "EnablePullRequestAutoMergePayload",
            "clientMutationId": input.get("clientMutationId"),
            "actor": {
                "__typename": "Bot",
                "login": "mendbot",
                "avatarUrl": f"{self.origin}/avatars/mendbot",
                "resourcePath": "/apps/mendbot",
                "url": f"{self.origin}/apps/mendbot",
            },
            "pullRequest": {"__typename": "PullRequest", "id": pull.node_id},
        }

    def op_apps_get_repo_installation(self, params, query, payload):
        repo = self._repo(params)
        assert self.app is not None
        full_name = f"{repo.owner}/{repo.name}"
        for number, repos in sorted(self.app.installations.items()):
            if full_name in repos:
                return 200, self.render_installation(number, repo.owner)
        raise HttpError(404, "Not Found")

    def render_installation(self, number: int, owner: str) -> dict[str, Any]:
        assert self.app is not None
        base = skeleton({"$ref": "#/components/schemas/installation"})
        return _merge(
            base,
            {
                "id": number,
                "app_id": self.app.app_id,
                "app_slug": "mendbot",
                "target_id": 7,
                "target_type": "User",
                "account": self.render_user(owner),
                "repository_selection": "selected",
                "access_tokens_url": f"{self.base_url}/app/installations/{number}/access_tokens",
                "html_url": f"{self.origin}/settings/installations/{number}",
                "repositories_url": f"{self.base_url}/installation/repositories",
                "permissions": {"contents": "write", "pull_requests": "write"},
            },
        )


class _Unprocessable(Exception):
    """A GraphQL resolver refusal GitHub reports with ``"type": "UNPROCESSABLE"``."""

    kind = "UNPROCESSABLE"


class _Unresolved(_Unprocessable):
    kind = "NOT_FOUND"


def _graphql_error(error: graphql.GraphQLError) -> dict[str, Any]:
    formatted = dict(error.formatted)
    original = error.original_error
    formatted["type"] = original.kind if isinstance(original, _Unprocessable) else "INTERNAL"
    return formatted


class _GraphQLRoot:
    """The root value: each implemented mutation field is a method resolved by name."""

    def __init__(self, github: FakeGitHub) -> None:
        self._github = github

    def enablePullRequestAutoMerge(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        return self._github.enable_auto_merge(input)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ThreadingServer(WSGIServer):
    daemon_threads = True


@contextmanager
def running(root: Path) -> Iterator[FakeGitHub]:
    """Serve a :class:`FakeGitHub` on 127.0.0.1 (a free port) for the ``with`` block."""
    app = FakeGitHub(root)
    server = make_server(
        "127.0.0.1", 0, app, server_class=_ThreadingServer, handler_class=_QuietHandler
    )
    app.port = server.server_port
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app
    finally:
        server.shutdown()
        server.server_close()
