"""A loopback container registry speaking enough of the OCI distribution API for pinning.

``LoopbackRegistry(images)`` serves ``HEAD``/``GET /v2/<name>/manifests/<tag or digest>`` on
127.0.0.1 with manifests generated deterministically from the spec (the same bytes, hence the
same sha256 digests, on every machine, so golden files can contain them). Every manifest
request needs a Bearer token from the server's own ``/token`` realm, handed out only for the
``repository:<name>:pull`` scope the ``401`` challenge named, so a client must do the whole
anonymous-token dance. Unknown tags and names are ``404 MANIFEST_UNKNOWN``.

A spec maps repository names (as the server sees them) to tags::

    {"library/node": {"20": {}, "18": {"platforms": ["linux/amd64"]}},
     "octo/private": {"1": {"private": true}}}

Tag options: ``platforms`` (default ``linux/amd64`` and ``linux/arm64``; more than one gives an
OCI image index, one gives a single Docker v2 manifest), ``seed`` (change it to "move" the tag
to new content), ``private`` (tokens grant nothing: 401 after the dance), ``status`` (answer
this HTTP status instead), ``delay`` (seconds to wait before answering), ``no_digest_header``
(omit ``Docker-Content-Digest``; the client must hash the body).

A client whose ``Accept`` lacks the index media types gets the ``linux/amd64`` manifest instead
of the index, like Docker Hub does for old clients, so a wrong ``Accept`` shows in the digest.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
SERVICE = "loopback-registry"
DEFAULT_PLATFORMS = ("linux/amd64", "linux/arm64")
_MANIFEST_PATH = re.compile(r"^/v2/(?P<name>.+)/manifests/(?P<reference>[^/]+)$")


def _canonical(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _descriptor(media_type: str, label: str) -> dict[str, Any]:
    data = label.encode()
    return {"mediaType": media_type, "digest": _sha(data), "size": len(data)}


def build_manifests(name: str, tag: str, options: dict[str, Any]) -> dict[str, Any]:
    """The manifests of one tag: ``top`` (bytes, media type) plus each platform's manifest."""
    platforms = list(options.get("platforms", DEFAULT_PLATFORMS))
    seed = str(options.get("seed", ""))
    per_platform: dict[str, tuple[bytes, str]] = {}
    for platform in platforms:
        label = f"{name}:{tag}:{platform}:{seed}"
        media = OCI_MANIFEST if len(platforms) > 1 else DOCKER_MANIFEST
        config_type = (
            "application/vnd.oci.image.config.v1+json"
            if media == OCI_MANIFEST
            else "application/vnd.docker.container.image.v1+json"
        )
        layer_type = (
            "application/vnd.oci.image.layer.v1.tar+gzip"
            if media == OCI_MANIFEST
            else "application/vnd.docker.image.rootfs.diff.tar.gzip"
        )
        body = _canonical(
            {
                "schemaVersion": 2,
                "mediaType": media,
                "config": _descriptor(config_type, f"config {label}"),
                "layers": [_descriptor(layer_type, f"layer {label}")],
            }
        )
        per_platform[platform] = (body, media)
    if len(platforms) == 1:
        top = per_platform[platforms[0]]
    else:
        manifests = []
        for platform, (body, media) in per_platform.items():
            os_name, _, arch = platform.partition("/")
            manifests.append(
                {
                    "mediaType": media,
                    "digest": _sha(body),
                    "size": len(body),
                    "platform": {"os": os_name, "architecture": arch},
                }
            )
        top = (
            _canonical({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}),
            OCI_INDEX,
        )
    return {"top": top, "platforms": per_platform}


def digest_of(name: str, tag: str, options: dict[str, Any] | None = None) -> str:
    """The digest the registry serves for ``name:tag`` (the index for multi-arch images)."""
    return _sha(build_manifests(name, tag, options or {})["top"][0])


class LoopbackRegistry:
    """The registry server; use as a context manager. ``url`` is ``http://127.0.0.1:<port>``."""

    def __init__(self, images: dict[str, dict[str, dict[str, Any]]]) -> None:
        self.images = {name: dict(tags) for name, tags in images.items()}
        self.log: list[tuple[str, str, bool]] = []
        """Every request: (method, path, whether it carried a valid token)."""
        self._tokens: dict[str, str] = {}
        """token → the repository it grants pull access to ("" for none)."""
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Base URL of the server."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def set_tag(self, name: str, tag: str, options: dict[str, Any]) -> None:
        """Create or move ``name:tag``."""
        with self._lock:
            self.images.setdefault(name, {})[tag] = options

    def manifest_requests(self) -> list[tuple[str, str, bool]]:
        """The logged requests for manifests (not tokens)."""
        return [entry for entry in self.log if "/manifests/" in entry[1]]

    def __enter__(self) -> LoopbackRegistry:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # -- request handling --------------------------------------------------------------------

    def _issue(self, scope: str) -> str:
        match = re.fullmatch(r"repository:(?P<name>.+):pull", scope)
        name = match.group("name") if match else ""
        with self._lock:
            tags = self.images.get(name, {})
            grants = name if name and not any(o.get("private") for o in tags.values()) else ""
            token = secrets.token_hex(16)
            self._tokens[token] = grants
        return token

    def _granted(self, authorization: str | None, name: str) -> bool:
        if not authorization or not authorization.startswith("Bearer "):
            return False
        with self._lock:
            return self._tokens.get(authorization[len("Bearer ") :]) == name

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        registry = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._serve(send_body=True)

            def do_HEAD(self) -> None:
                self._serve(send_body=False)

            def _reply(
                self,
                status: int,
                body: bytes = b"",
                headers: dict[str, str] | None = None,
                send_body: bool = True,
            ) -> None:
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if send_body and body:
                    self.wfile.write(body)

            def _error(self, status: int, code: str, send_body: bool, **headers: str) -> None:
                body = _canonical({"errors": [{"code": code, "message": code.lower()}]})
                self._reply(
                    status, body, {"Content-Type": "application/json", **headers}, send_body
                )

            def _serve(self, send_body: bool) -> None:
                parsed = urllib.parse.urlsplit(self.path)
                if parsed.path == "/token":
                    registry.log.append((self.command, self.path, False))
                    query = dict(urllib.parse.parse_qsl(parsed.query))
                    if query.get("service") != SERVICE:
                        self._error(400, "UNSUPPORTED", send_body)
                        return
                    token = registry._issue(query.get("scope", ""))
                    body = _canonical({"token": token, "access_token": token, "expires_in": 300})
                    self._reply(200, body, {"Content-Type": "application/json"}, send_body)
                    return
                if parsed.path == "/v2/":
                    registry.log.append((self.command, self.path, False))
                    self._reply(200, b"{}", {"Content-Type": "application/json"}, send_body)
                    return
                match = _MANIFEST_PATH.match(parsed.path)
                if match is None:
                    registry.log.append((self.command, self.path, False))
                    self._error(404, "NOT_FOUND", send_body)
                    return
                name, reference = match.group("name"), match.group("reference")
                granted = registry._granted(self.headers.get("Authorization"), name)
                registry.log.append((self.command, self.path, granted))
                if not granted:
                    challenge = (
                        f'Bearer realm="{registry.url}/token",service="{SERVICE}",'
                        f'scope="repository:{name}:pull"'
                    )
                    self._error(401, "UNAUTHORIZED", send_body, **{"WWW-Authenticate": challenge})
                    return
                with registry._lock:
                    tags = dict(registry.images.get(name, {}))
                options = tags.get(reference)
                found: tuple[bytes, str] | None = None
                if options is not None:
                    if options.get("delay"):
                        time.sleep(float(options["delay"]))
                    if options.get("status"):
                        self._error(int(options["status"]), "INTERNAL", send_body)
                        return
                    manifests = build_manifests(name, reference, options)
                    found = manifests["top"]
                    accept = self.headers.get("Accept", "")
                    lists = (OCI_INDEX, DOCKER_LIST)
                    if found[1] == OCI_INDEX and not any(t in accept for t in lists):
                        found = manifests["platforms"]["linux/amd64"]
                elif reference.startswith("sha256:"):
                    for tag, tag_options in tags.items():
                        manifests = build_manifests(name, tag, tag_options)
                        for body, media in [manifests["top"], *manifests["platforms"].values()]:
                            if _sha(body) == reference:
                                found = (body, media)
                if found is None:
                    self._error(404, "MANIFEST_UNKNOWN", send_body)
                    return
                body, media = found
                headers = {"Content-Type": media}
                if not (options or {}).get("no_digest_header"):
                    headers["Docker-Content-Digest"] = _sha(body)
                self._reply(200, body, headers, send_body)

        return Handler
