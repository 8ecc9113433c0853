"""Resolve container image tags to manifest digests with the OCI distribution API.

``RegistryResolver.resolve(parse_image("node:20"))`` sends one ``HEAD
/v2/library/node/manifests/20`` to Docker Hub, accepting the OCI image index and Docker
manifest list first (so a multi-arch image resolves to its **index** digest, valid on every
platform), and reads ``Docker-Content-Digest``. Registries that want a token (Docker Hub,
ghcr.io, quay.io, …) answer ``401`` with ``WWW-Authenticate: Bearer realm=…,service=…,scope=…``;
an anonymous token is fetched from the realm and the request retried. Only the standard
library is used; every request has a timeout.

Results are memoised for the run and cached on disk for an hour (a tag can move, so longer
would pin stale builds). Failures are values: :class:`RegistryError` carries the reason, which
the rule puts in its finding.

Where registries are reached: ``$MENDBOT_REGISTRY_MIRRORS`` (or the ``mirrors`` argument) maps
a registry to an endpoint, ``docker.io=http://127.0.0.1:5000,ghcr.io=https://mirror.example/ghcr``;
``*`` is the default for every registry not listed, and ``off`` as an endpoint means "never
contact this registry". A path in the endpoint is a repository prefix (Harbor and Artifactory
proxy projects): ``ghcr.io=https://harbor.example/ghcr-proxy`` looks ``ghcr.io/o/i`` up as
``/v2/ghcr-proxy/o/i/manifests/<tag>`` on ``harbor.example``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

from bot import outside_reads
from bot.api_url import is_loopback
from bot.errors import ConfigError
from bot.resolvers import disk_cache

DOCKER_HUB = "docker.io"
"""The canonical name of Docker Hub in image references."""
DOCKER_HUB_ENDPOINT = "https://registry-1.docker.io"
_DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
DEFAULT_TTL_SECONDS = 3600
DEFAULT_TIMEOUT_SECONDS = 10.0
MIRRORS_ENV = "MENDBOT_REGISTRY_MIRRORS"
OFF = "off"

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
#: Multi-arch types first: a registry then answers with the index, not one platform's image.
ACCEPT = ", ".join((OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST))
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
_KNOWN_TYPES = INDEX_TYPES | {OCI_MANIFEST, DOCKER_MANIFEST}
_MAX_BODY = 4 * 1024 * 1024

# distribution/reference grammar.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_NAME = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}$")
_SHA256 = re.compile(r"^sha256:[0-9a-f]{64}$")
_HOST = re.compile(
    r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*|\[[0-9a-fA-F:]+\])(?::\d+)?$"
)


class RegistryError(Exception):
    """A digest could not be resolved; the message says why, for the finding."""


class InvalidImageReference(ValueError):
    """The text is not an image reference (``name[:tag][@digest]``)."""


@dataclass(frozen=True)
class ImageRef:
    """A parsed image reference, normalised like ``docker pull`` does.

    ``alpine`` → registry ``docker.io``, name ``library/alpine``, tag None (means ``latest``).
    """

    registry: str
    """Canonical registry host: ``docker.io``, ``ghcr.io``, ``host:5000``."""
    name: str
    """Repository name on that registry (``library/alpine`` on Docker Hub)."""
    tag: str | None = None
    """The tag as written; None when the reference has none (``latest`` is implied)."""
    digest: str | None = None

    @property
    def effective_tag(self) -> str:
        """The tag a pull uses: the written one, else ``latest``."""
        return self.tag or "latest"

    @property
    def repository(self) -> str:
        """``registry/name``, e.g. ``docker.io/library/alpine``."""
        return f"{self.registry}/{self.name}"

    def __str__(self) -> str:
        text = f"{self.repository}:{self.effective_tag}"
        return f"{text}@{self.digest}" if self.digest else text


def parse_image(text: str) -> ImageRef:
    """Parse ``[registry/]name[:tag][@digest]``; raises :class:`InvalidImageReference`.

    The first path component is a registry when it has a ``.`` or a ``:`` or is
    ``localhost`` (Docker's rule); Docker Hub's aliases become ``docker.io`` and its one-part
    names get the ``library/`` prefix.
    """
    reference = text.strip()
    if reference.startswith("docker://"):
        reference = reference[len("docker://") :]
    if not reference:
        raise InvalidImageReference("empty image reference")
    digest: str | None = None
    if "@" in reference:
        reference, digest = reference.split("@", 1)
        if not _DIGEST.match(digest):
            raise InvalidImageReference(f"`{digest}` is not a digest")
    tag: str | None = None
    slash, colon = reference.rfind("/"), reference.rfind(":")
    if colon > slash:
        reference, tag = reference[:colon], reference[colon + 1 :]
        if not _TAG.match(tag):
            raise InvalidImageReference(f"`{tag}` is not a valid tag")
    registry = DOCKER_HUB
    first, _, rest = reference.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        if not _HOST.match(first):
            raise InvalidImageReference(f"`{first}` is not a registry host")
        registry, reference = first.lower(), rest
    if registry in _DOCKER_HUB_ALIASES:
        registry = DOCKER_HUB
        if "/" not in reference:
            reference = f"library/{reference}"
    if not _NAME.match(reference):
        raise InvalidImageReference(f"`{reference}` is not a valid repository name")
    return ImageRef(registry=registry, name=reference, tag=tag, digest=digest)


def canonical_registry(host: str) -> str:
    """Docker Hub's aliases as ``docker.io``; other hosts lower-cased."""
    host = host.strip().lower()
    return DOCKER_HUB if host in _DOCKER_HUB_ALIASES else host


def parse_mirrors(text: str) -> dict[str, str]:
    """Parse ``registry=endpoint[,registry=endpoint…]``; raises :class:`ConfigError`.

    ``registry`` is a host (``docker.io``, ``ghcr.io``, ``host:5000``) or ``*`` (every other
    registry); ``endpoint`` is an ``http(s)://`` URL, optionally with a repository prefix path,
    or ``off``.
    """
    mirrors: dict[str, str] = {}
    for entry in (part.strip() for part in re.split(r"[,\s]+", text)):
        if not entry:
            continue
        host, sep, endpoint = entry.partition("=")
        host, endpoint = host.strip(), endpoint.strip()
        if not sep or not host or not endpoint:
            raise ConfigError(
                f"${MIRRORS_ENV}: `{entry}` is not `registry=endpoint`",
                advice="e.g. docker.io=http://127.0.0.1:5000,ghcr.io=off,*=off",
            )
        if endpoint.lower() != OFF:
            url = urllib.parse.urlsplit(endpoint)
            if url.scheme not in ("http", "https") or not url.netloc or url.query or url.fragment:
                raise ConfigError(
                    f"${MIRRORS_ENV}: endpoint `{endpoint}` of `{host}` is not an http(s) URL",
                    advice="write an http:// or https:// URL, or `off`",
                )
            endpoint = endpoint.rstrip("/")
        else:
            endpoint = OFF
        mirrors[host if host == "*" else canonical_registry(host)] = endpoint
    return mirrors


@dataclass(frozen=True)
class Endpoint:
    """Where a registry's API is reached: base URL and repository-name prefix."""

    base: str
    """``scheme://host[:port]``"""
    prefix: str = ""
    """Prepended to repository names (a proxy project), without slashes at the ends."""

    @classmethod
    def from_url(cls, url: str) -> Endpoint:
        """Split ``https://host/some/prefix`` into base and prefix."""
        parts = urllib.parse.urlsplit(url)
        return cls(f"{parts.scheme}://{parts.netloc}", parts.path.strip("/"))

    def manifest_url(self, name: str, reference: str) -> str:
        """URL of ``/v2/<prefix/name>/manifests/<reference>``."""
        full = f"{self.prefix}/{name}" if self.prefix else name
        return f"{self.base}/v2/{full}/manifests/{urllib.parse.quote(reference, safe=':')}"

    def repository(self, name: str) -> str:
        """The repository name as the endpoint knows it (with the prefix)."""
        return f"{self.prefix}/{name}" if self.prefix else name


@dataclass(frozen=True)
class ImageDigest:
    """What a tag points at: the manifest digest and its media type."""

    digest: str
    media_type: str = ""

    @property
    def is_index(self) -> bool:
        """Whether the digest names a multi-arch index (manifest list)."""
        return self.media_type in INDEX_TYPES


@dataclass(frozen=True)
class BearerChallenge:
    """A parsed ``WWW-Authenticate: Bearer realm=…,service=…,scope=…`` header."""

    realm: str
    service: str | None = None
    scope: str | None = None


_AUTH_PARAM = re.compile(r'\s*([A-Za-z][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*(?:,|$)')


def parse_bearer_challenge(header: str) -> BearerChallenge | None:
    """The Bearer challenge of a ``WWW-Authenticate`` header; None when it is not Bearer
    (e.g. ``Basic realm=…``) or has no realm."""
    scheme, _, params = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    values: dict[str, str] = {}
    position = 0
    while position < len(params):
        match = _AUTH_PARAM.match(params, position)
        if match is None or match.end() == position:
            break
        quoted, bare = match.group(2), match.group(3)
        value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare
        values[match.group(1).lower()] = value
        position = match.end()
    realm = values.get("realm")
    if not realm:
        return None
    return BearerChallenge(realm=realm, service=values.get("service"), scope=values.get("scope"))


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects as HEAD stays HEAD, never forwarding the token to another host."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None:
            if req.get_method() == "HEAD":
                new.method = "HEAD"  # Python < 3.13 turns a redirected HEAD into a GET
            old_host = urllib.parse.urlsplit(req.full_url).netloc
            if urllib.parse.urlsplit(newurl).netloc != old_host:
                new.remove_header("Authorization")
        return new


@dataclass
class _Response:
    status: int
    headers: Message
    body: bytes = b""


class RegistryResolver:
    """Resolves ``image:tag`` to a digest, with a per-run memo and a disk cache.

    ``mirrors`` maps registries (or ``*``) to endpoints (see the module docstring); None reads
    ``$MENDBOT_REGISTRY_MIRRORS``.
    """

    def __init__(
        self,
        *,
        mirrors: Mapping[str, str] | None = None,
        cache_dir: Path | None = None,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        if mirrors is None:
            mirrors = parse_mirrors(os.environ.get(MIRRORS_ENV, ""))
        self.mirrors = {
            (k if k == "*" else canonical_registry(k)): (v if v == OFF else v.rstrip("/"))
            for k, v in mirrors.items()
        }
        self.cache_dir = cache_dir
        self.ttl_seconds = ttl_seconds
        self.timeout_seconds = timeout_seconds
        self._memo: dict[tuple[str, str, str], ImageDigest | RegistryError] = {}
        self._tokens: dict[tuple[str, str | None, str | None], str] = {}
        self._down: dict[str, str] = {}
        """Endpoint base → why it could not be reached: later lookups fail fast."""
        self.requests = 0
        """How many HTTP requests were sent (for tests and benchmarks)."""
        self._open_openers()

    def _open_openers(self) -> None:
        self._opener = urllib.request.build_opener(_Redirects())
        self._direct = urllib.request.build_opener(urllib.request.ProxyHandler({}), _Redirects())

    def __getstate__(self) -> dict[str, object]:
        """What a worker process receives: everything but the URL openers, which it opens."""
        state = dict(self.__dict__)
        del state["_opener"], state["_direct"]
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._open_openers()

    def endpoint(self, registry: str) -> Endpoint | None:
        """Where ``registry`` is reached; None when lookups for it are turned off."""
        registry = canonical_registry(registry)
        chosen = self.mirrors.get(registry, self.mirrors.get("*"))
        if chosen == OFF:
            return None
        if chosen is not None:
            return Endpoint.from_url(chosen)
        if registry == DOCKER_HUB:
            return Endpoint(DOCKER_HUB_ENDPOINT)
        return Endpoint(f"https://{registry}")

    def resolve(self, image: ImageRef) -> ImageDigest:
        """The digest ``image``'s tag points at; raises :class:`RegistryError`."""
        outside_reads.note(outside_reads.NETWORK, f"image {image.registry}/{image.name}")
        endpoint = self.endpoint(image.registry)
        if endpoint is None:
            raise RegistryError(
                f"registry lookups for {image.registry} are turned off (${MIRRORS_ENV})"
            )
        key = (endpoint.base, endpoint.repository(image.name), image.effective_tag)
        if key not in self._memo:
            try:
                self._memo[key] = self._load(image, endpoint)
            except RegistryError as exc:
                self._memo[key] = exc
        result = self._memo[key]
        if isinstance(result, RegistryError):
            raise result
        return result

    # -- disk cache --------------------------------------------------------------------------

    def _cache_file(self, endpoint: Endpoint, image: ImageRef) -> Path | None:
        if self.cache_dir is None:
            return None
        host = disk_cache.host_folder(endpoint.base)
        # Names and tags are validated by parse_image: no `..`, no absolute paths.
        return (
            self.cache_dir
            / "registry"
            / host
            / endpoint.repository(image.name)
            / f"{image.effective_tag}.json"
        )

    def _load(self, image: ImageRef, endpoint: Endpoint) -> ImageDigest:
        cache = self._cache_file(endpoint, image)
        cached = disk_cache.read_fresh(cache, self.ttl_seconds)
        if cached is not None and _SHA256.match(str(cached.get("digest", ""))):
            return ImageDigest(str(cached["digest"]), str(cached.get("media_type", "")))
        found = self._fetch(image, endpoint)
        disk_cache.write(cache, {"digest": found.digest, "media_type": found.media_type})
        return found

    # -- HTTP --------------------------------------------------------------------------------

    def _fetch(self, image: ImageRef, endpoint: Endpoint) -> ImageDigest:
        where = f"{image.repository}:{image.effective_tag}"
        url = endpoint.manifest_url(image.name, image.effective_tag)
        response = self._authorised(url, "HEAD", where)
        if response.status == 200:
            media_type = _media_type(response.headers)
            digest = (response.headers.get("Docker-Content-Digest") or "").strip()
            if not digest:
                # Some registries omit the header on HEAD: hash the manifest itself.
                response = self._authorised(url, "GET", where)
                if response.status != 200:
                    raise self._status_error(response, where)
                media_type = _media_type(response.headers) or media_type
                digest = "sha256:" + hashlib.sha256(response.body).hexdigest()
            if not _SHA256.match(digest):
                raise RegistryError(f"{where}: the registry answered an unusable digest `{digest}`")
            if media_type and media_type not in _KNOWN_TYPES:
                raise RegistryError(
                    f"{where}: the registry answered a `{media_type}` manifest, not an OCI or "
                    "Docker v2 one; pin it by hand"
                )
            return ImageDigest(digest, media_type)
        raise self._status_error(response, where)

    def _status_error(self, response: _Response, where: str) -> RegistryError:
        status = response.status
        if status == 404:
            return RegistryError(f"{where}: the tag does not exist in the registry")
        if status in (401, 403):
            return RegistryError(
                f"{where}: the registry refused anonymous pull access (HTTP {status}): a private "
                "image, or a wrong name"
            )
        if status == 429:
            return RegistryError(f"{where}: the registry is rate limiting requests (HTTP 429)")
        return RegistryError(f"{where}: the registry answered HTTP {status}")

    def _authorised(self, url: str, method: str, where: str) -> _Response:
        """Send the request; on a Bearer challenge, fetch an anonymous token and retry once."""
        response = self._send(url, method, where)
        if response.status != 401:
            return response
        header = response.headers.get("WWW-Authenticate") or ""
        challenge = parse_bearer_challenge(header)
        if challenge is None:
            scheme = header.split(" ", 1)[0] or "no"
            raise RegistryError(
                f"{where}: the registry wants {scheme} authentication, and mendbot only does "
                "anonymous Bearer tokens; pin it by hand"
            )
        token = self._token(challenge, where)
        return self._send(url, method, where, token=token)

    def _token(self, challenge: BearerChallenge, where: str) -> str:
        key = (challenge.realm, challenge.service, challenge.scope)
        if key in self._tokens:
            return self._tokens[key]
        realm = urllib.parse.urlsplit(challenge.realm)
        if realm.scheme not in ("http", "https") or not realm.netloc:
            raise RegistryError(
                f"{where}: the registry's token realm `{challenge.realm}` is not a URL"
            )
        wanted = (("service", challenge.service), ("scope", challenge.scope))
        query = [(k, v) for k, v in wanted if v]
        separator = "&" if realm.query else "?"
        url = challenge.realm + (separator + urllib.parse.urlencode(query) if query else "")
        response = self._send(url, "GET", where, token_request=True)
        if response.status != 200:
            raise RegistryError(
                f"{where}: the token service at {realm.netloc} answered HTTP {response.status}"
            )
        try:
            payload = json.loads(response.body)
            token = payload.get("token") or payload.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise RegistryError(f"{where}: the token service at {realm.netloc} sent no token")
        self._tokens[key] = token
        return token

    def _send(
        self,
        url: str,
        method: str,
        where: str,
        *,
        token: str | None = None,
        token_request: bool = False,
    ) -> _Response:
        parts = urllib.parse.urlsplit(url)
        base = f"{parts.scheme}://{parts.netloc}"
        if base in self._down:
            raise RegistryError(f"{where}: {self._down[base]}")
        headers = {"User-Agent": "mendbot"}
        if not token_request:
            headers["Accept"] = ACCEPT
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if parts.scheme not in ("http", "https"):
            raise RegistryError(f"{where}: `{url}` is not an http(s) URL")
        request = urllib.request.Request(url, method=method, headers=headers)  # noqa: S310
        opener = self._direct if is_loopback(parts.hostname or "") else self._opener
        self.requests += 1
        try:
            with opener.open(request, timeout=self.timeout_seconds) as reply:
                body = reply.read(_MAX_BODY) if method == "GET" else b""
                return _Response(reply.status, reply.headers, body)
        except urllib.error.HTTPError as exc:
            with exc:
                return _Response(exc.code, exc.headers)
        except TimeoutError:
            reason = f"{parts.netloc} did not answer within {self.timeout_seconds:g} s"
        except urllib.error.URLError as exc:
            inner = exc.reason
            if isinstance(inner, TimeoutError):
                reason = f"{parts.netloc} did not answer within {self.timeout_seconds:g} s"
            else:
                reason = f"cannot reach {parts.netloc}: {inner}"
        except (OSError, ValueError) as exc:
            reason = f"cannot reach {parts.netloc}: {exc}"
        self._down[base] = reason
        raise RegistryError(f"{where}: {reason}")


def _media_type(headers: Message) -> str:
    return (headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()


def default_registry() -> RegistryResolver:
    """A resolver honouring ``$MENDBOT_REGISTRY_MIRRORS``, cached under the default cache dir."""
    from bot.resolvers.action_refs import default_cache_dir

    return RegistryResolver(cache_dir=default_cache_dir())
