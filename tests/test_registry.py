"""Image digest resolution against a real loopback registry (registryserver.py): reference
normalisation, the Bearer challenge, the disk cache, errors as values, the rule's reasons and
the CLI end to end. Nothing leaves 127.0.0.1."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from bot.analyze.pipeline import analyze
from bot.config import Config, load_config
from bot.detectors.rule_registry import rule_options
from bot.errors import ConfigError
from bot.models import FixMode
from bot.resolvers.image_registries import (
    ACCEPT,
    DOCKER_HUB_ENDPOINT,
    BearerChallenge,
    Endpoint,
    ImageRef,
    InvalidImageReference,
    RegistryError,
    RegistryResolver,
    parse_bearer_challenge,
    parse_image,
    parse_mirrors,
)
from registryserver import LoopbackRegistry, digest_of

IMAGES = {
    "library/node": {"20": {}, "18": {"platforms": ["linux/amd64"]}},
    "library/alpine": {"3.20": {}, "latest": {}},
    "octo/private": {"1": {"private": True}},
    "octo/broken": {"1": {"status": 500}},
    "octo/slow": {"1": {"delay": 2}},
    "octo/headless": {"1": {"no_digest_header": True}},
}


@pytest.fixture
def registry() -> Iterator[LoopbackRegistry]:
    with LoopbackRegistry(IMAGES) as server:
        yield server


def _resolver(server: LoopbackRegistry, **kwargs) -> RegistryResolver:
    return RegistryResolver(mirrors={"docker.io": server.url, "*": "off"}, **kwargs)


# -- references --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "registry", "name", "tag"),
    [
        ("alpine", "docker.io", "library/alpine", None),
        ("alpine:3.20", "docker.io", "library/alpine", "3.20"),
        ("docker://alpine:3.20", "docker.io", "library/alpine", "3.20"),
        ("library/alpine:3", "docker.io", "library/alpine", "3"),
        ("docker.io/x/y", "docker.io", "x/y", None),
        ("docker.io/alpine:3", "docker.io", "library/alpine", "3"),
        ("index.docker.io/library/alpine", "docker.io", "library/alpine", None),
        ("registry-1.docker.io/bitnami/redis:7", "docker.io", "bitnami/redis", "7"),
        ("ghcr.io/o/i:t", "ghcr.io", "o/i", "t"),
        ("GHCR.io/octo/tool:v1.2.3-rc_1", "ghcr.io", "octo/tool", "v1.2.3-rc_1"),
        ("host:5000/i:t", "host:5000", "i", "t"),
        ("localhost/team/tool", "localhost", "team/tool", None),
        ("localhost:5000/a/b/c:d", "localhost:5000", "a/b/c", "d"),
        ("mcr.microsoft.com/dotnet/sdk:8.0", "mcr.microsoft.com", "dotnet/sdk", "8.0"),
        ("user/repo", "docker.io", "user/repo", None),
    ],
)
def test_references_are_normalised_like_docker_pull(text, registry, name, tag) -> None:
    ref = parse_image(text)
    assert (ref.registry, ref.name, ref.tag) == (registry, name, tag)
    assert ref.effective_tag == (tag or "latest")


def test_reference_with_digest_and_rendering() -> None:
    digest = "sha256:" + "a" * 64
    ref = parse_image(f"node:20@{digest}")
    assert ref == ImageRef("docker.io", "library/node", "20", digest)
    assert str(ref) == f"docker.io/library/node:20@{digest}"
    assert str(parse_image("alpine")) == "docker.io/library/alpine:latest"


@pytest.mark.parametrize(
    "text", ["", "Alpine:3", "node:", "node:-x", "a//b", "node@sha256:xyz", "-x/y", "a/b/../c"]
)
def test_invalid_references_are_rejected(text: str) -> None:
    with pytest.raises(InvalidImageReference):
        parse_image(text)


def test_endpoints_default_and_mirrored() -> None:
    direct = RegistryResolver(mirrors={})
    assert direct.endpoint("docker.io") == Endpoint(DOCKER_HUB_ENDPOINT)
    assert direct.endpoint("index.docker.io") == Endpoint(DOCKER_HUB_ENDPOINT)
    assert direct.endpoint("ghcr.io") == Endpoint("https://ghcr.io")
    assert direct.endpoint("host:5000") == Endpoint("https://host:5000")
    mirrored = RegistryResolver(
        mirrors={
            "registry-1.docker.io": "http://127.0.0.1:5000/",
            "ghcr.io": "https://harbor.example/ghcr-proxy",
            "quay.io": "off",
            "*": "http://127.0.0.1:6000",
        }
    )
    assert mirrored.endpoint("docker.io") == Endpoint("http://127.0.0.1:5000")
    ghcr = mirrored.endpoint("ghcr.io")
    assert ghcr == Endpoint("https://harbor.example", "ghcr-proxy")
    assert ghcr.manifest_url("o/i", "v1") == "https://harbor.example/v2/ghcr-proxy/o/i/manifests/v1"
    assert mirrored.endpoint("quay.io") is None
    assert mirrored.endpoint("example.com") == Endpoint("http://127.0.0.1:6000")


def test_mirrors_parse_from_text_and_the_environment(monkeypatch) -> None:
    assert parse_mirrors(" docker.io=http://127.0.0.1:5000/ , ghcr.io=OFF,*=off ") == {
        "docker.io": "http://127.0.0.1:5000",
        "ghcr.io": "off",
        "*": "off",
    }
    assert parse_mirrors("") == {}
    monkeypatch.setenv("MENDBOT_REGISTRY_MIRRORS", "index.docker.io=http://127.0.0.1:1")
    assert RegistryResolver().endpoint("docker.io") == Endpoint("http://127.0.0.1:1")
    for bad in ("docker.io", "docker.io=", "docker.io=ftp://x", "=http://x", "a=http://x?q=1"):
        with pytest.raises(ConfigError):
            parse_mirrors(bad)


# -- the Bearer challenge ----------------------------------------------------------------------


def test_docker_hub_and_ghcr_challenges_parse() -> None:
    hub = (
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:library/node:pull"'
    )
    assert parse_bearer_challenge(hub) == BearerChallenge(
        "https://auth.docker.io/token", "registry.docker.io", "repository:library/node:pull"
    )
    ghcr = 'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:o/i:pull"'
    assert parse_bearer_challenge(ghcr) == BearerChallenge(
        "https://ghcr.io/token", "ghcr.io", "repository:o/i:pull"
    )


def test_challenge_edge_cases() -> None:
    assert parse_bearer_challenge('Basic realm="Registry"') is None
    assert parse_bearer_challenge('Bearer service="x"') is None
    assert parse_bearer_challenge("") is None
    odd = parse_bearer_challenge(
        'bearer  realm=https://r.example/t , scope="repository:a/b:pull,push", error="x\\"y"'
    )
    assert odd == BearerChallenge("https://r.example/t", None, "repository:a/b:pull,push")


# -- resolution against the loopback registry --------------------------------------------------


def test_multi_arch_tag_resolves_to_its_index_after_the_token_dance(registry) -> None:
    resolver = _resolver(registry)
    found = resolver.resolve(parse_image("node:20"))
    assert found.digest == digest_of("library/node", "20")
    assert found.is_index
    # HEAD without a token → 401 challenge; GET /token; HEAD with the token → 200.
    assert [(m, p.split("?")[0], ok) for m, p, ok in registry.log] == [
        ("HEAD", "/v2/library/node/manifests/20", False),
        ("GET", "/token", False),
        ("HEAD", "/v2/library/node/manifests/20", True),
    ]
    assert "scope=repository%3Alibrary%2Fnode%3Apull" in registry.log[1][1]
    assert resolver.requests == 3


def test_accept_lists_the_index_types_first() -> None:
    types = [t.strip() for t in ACCEPT.split(",")]
    assert types[:2] == [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ]
    assert "application/vnd.docker.distribution.manifest.v2+json" in types


def test_single_platform_image_resolves_to_its_manifest(registry) -> None:
    found = _resolver(registry).resolve(parse_image("docker.io/library/node:18"))
    assert found.digest == digest_of("library/node", "18", {"platforms": ["linux/amd64"]})
    assert not found.is_index


def test_missing_digest_header_falls_back_to_hashing_the_manifest(registry) -> None:
    found = _resolver(registry).resolve(parse_image("octo/headless:1"))
    assert found.digest == digest_of("octo/headless", "1")
    assert any(m == "GET" and "/manifests/" in p for m, p, _ in registry.log)


def test_run_memo_and_disk_cache(registry, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = _resolver(registry, cache_dir=cache)
    a = first.resolve(parse_image("node:20"))
    assert first.resolve(parse_image("docker.io/library/node:20")) == a
    assert first.requests == 3
    before = len(registry.log)
    second = _resolver(registry, cache_dir=cache)
    assert second.resolve(parse_image("node:20")) == a
    assert second.requests == 0
    assert len(registry.log) == before
    # The tag moves upstream: an expired entry is refetched and sees the new digest.
    registry.set_tag("library/node", "20", {"seed": "rebuilt"})
    expired = _resolver(registry, cache_dir=cache, ttl_seconds=0)
    moved = expired.resolve(parse_image("node:20"))
    assert moved.digest == digest_of("library/node", "20", {"seed": "rebuilt"}) != a.digest


def test_damaged_cache_entry_is_refetched(registry, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _resolver(registry, cache_dir=cache).resolve(parse_image("alpine:3.20"))
    (entry,) = cache.rglob("3.20.json")
    entry.write_text('{"fetched_at": 1e12, "digest": "sha256:nope"}')
    again = _resolver(registry, cache_dir=cache)
    assert again.resolve(parse_image("alpine:3.20")).digest == digest_of("library/alpine", "3.20")
    assert again.requests == 3


def test_missing_tag_is_an_error_remembered_for_the_run_and_not_cached(
    registry, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    resolver = _resolver(registry, cache_dir=cache)
    for _ in range(2):
        with pytest.raises(RegistryError, match=r"node:99: the tag does not exist"):
            resolver.resolve(parse_image("node:99"))
    assert resolver.requests == 3
    assert not list(cache.rglob("99.json"))
    registry.set_tag("library/node", "99", {})
    assert _resolver(registry, cache_dir=cache).resolve(parse_image("node:99"))


def test_unknown_repository_server_error_and_private_image(registry) -> None:
    resolver = _resolver(registry)
    with pytest.raises(RegistryError, match="tag does not exist"):
        resolver.resolve(parse_image("octo/nothing:1"))
    with pytest.raises(RegistryError, match=r"octo/broken:1: the registry answered HTTP 500"):
        resolver.resolve(parse_image("octo/broken:1"))
    with pytest.raises(RegistryError, match=r"refused anonymous pull access \(HTTP 401"):
        resolver.resolve(parse_image("octo/private:1"))


def test_timeout_is_bounded_and_the_endpoint_then_fails_fast(registry) -> None:
    resolver = _resolver(registry, timeout_seconds=0.3)
    started = time.monotonic()
    with pytest.raises(RegistryError, match=r"did not answer within 0.3 s"):
        resolver.resolve(parse_image("octo/slow:1"))
    sent = resolver.requests
    with pytest.raises(RegistryError, match="did not answer"):
        resolver.resolve(parse_image("node:20"))
    assert resolver.requests == sent
    assert time.monotonic() - started < 1.9


def test_unreachable_and_turned_off_registries() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    resolver = RegistryResolver(mirrors={"docker.io": f"http://127.0.0.1:{port}", "*": "off"})
    with pytest.raises(RegistryError, match=rf"cannot reach 127.0.0.1:{port}"):
        resolver.resolve(parse_image("node:20"))
    with pytest.raises(RegistryError, match=r"lookups for ghcr.io are turned off"):
        resolver.resolve(parse_image("ghcr.io/o/i:1"))


def test_basic_only_registry_is_reported() -> None:
    class Basic(BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="corp"')
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Basic)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        resolver = RegistryResolver(mirrors={"*": url})
        with pytest.raises(RegistryError, match="wants Basic authentication"):
            resolver.resolve(parse_image("corp.example/team/tool:1"))
    finally:
        server.shutdown()
        server.server_close()


# -- the rule ----------------------------------------------------------------------------------

WORKFLOW = """\
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    container:
      image: "node:20" # runtime
    services:
      cache:
        image: alpine
      db:
        image: node:99
      other:
        image: ghcr.io/o/i:1
    steps:
      - uses: docker://alpine:3.20
      - uses: docker://scratch
      - uses: docker://Not_Valid:1
  matrix:
    runs-on: ubuntu-latest
    container: ${{ matrix.image }}
    strategy:
      matrix:
        image: [alpine:3.20]
    steps:
      - run: true
"""


def _analyze(repo: Path, resolver: RegistryResolver | None, config: Config | None = None):
    return analyze(
        [repo / ".github/workflows/ci.yml"],
        repo,
        config or Config(),
        only_rules=["gha-unpinned-images"],
        fix_mode=FixMode.ALL,
        registry=resolver,
    )


def _reasons(analysis) -> dict[str, str]:
    evidence = {f.id: f.evidence for f in analysis.result.findings}
    return {evidence[u.finding]: u.reason for u in analysis.result.unfixed}


def test_rule_pins_what_resolves_and_says_why_for_the_rest(registry, workflows) -> None:
    repo = workflows({"ci.yml": WORKFLOW})
    analysis = _analyze(repo, _resolver(registry))
    fixed = analysis.files[".github/workflows/ci.yml"].fixed
    assert fixed is not None
    node, alpine = digest_of("library/node", "20"), digest_of("library/alpine", "3.20")
    assert f'image: "node:20@{node}" # runtime\n' in fixed
    assert f"- uses: docker://alpine:3.20@{alpine}\n" in fixed
    assert "container: ${{ matrix.image }}\n" in fixed
    reasons = _reasons(analysis)
    assert "follows `latest`" in reasons["alpine"]
    assert reasons["node:99"] == "docker.io/library/node:99: the tag does not exist in the registry"
    assert reasons["ghcr.io/o/i:1"] == (
        "registry lookups for ghcr.io are turned off ($MENDBOT_REGISTRY_MIRRORS)"
    )
    assert "not an image that can be pulled" in reasons["scratch"]
    assert "not a valid image reference" in reasons["Not_Valid:1"]
    matrix = reasons["alpine:3.20 (strategy.matrix.image[0])"]
    assert "rename the matrix jobs" in matrix and f"`alpine:3.20@{alpine}`" in matrix
    # Idempotent: the fixed text has nothing left to fix.
    (repo / ".github/workflows/ci.yml").write_text(fixed)
    again = _analyze(repo, _resolver(registry))
    assert again.files[".github/workflows/ci.yml"].fixed is None
    assert not again.result.fixes


def test_offline_reason_and_pin_latest_option(registry, workflows) -> None:
    repo = workflows({"ci.yml": WORKFLOW})
    offline = _reasons(_analyze(repo, None))
    assert offline["node:20"] == (
        "image digests are not resolved offline; run without --offline to pin"
    )
    config_file = repo / "mendbot.yml"
    config_file.write_text("rules:\n  gha-unpinned-images:\n    options:\n      pin-latest: true\n")
    config = load_config(config_file, rule_options())
    fixed = _analyze(repo, _resolver(registry), config).files[".github/workflows/ci.yml"].fixed
    assert fixed is not None
    assert f"image: alpine@{digest_of('library/alpine', 'latest')}\n" in fixed


def _cli(cwd: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "analyze", "--rule", "gha-unpinned-images", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


def test_cli_pins_through_a_mirror_and_offline_reports(registry, workflows, monkeypatch) -> None:
    import os

    repo = workflows({"ci.yml": "on: push\njobs:\n  a:\n    runs-on: x\n    container: node:20\n"})
    env = {**os.environ, "MENDBOT_REGISTRY_MIRRORS": f"docker.io={registry.url},*=off"}
    offline = _cli(repo, "--offline", "--fix", "--format", "json", env=env)
    report = json.loads(offline.stdout)
    assert [f["no_fix_reason"] for f in report["findings"]] == [
        "image digests are not resolved offline; run without --offline to pin"
    ]
    assert registry.log == []
    done = _cli(repo, "--fix", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    text = (repo / ".github/workflows/ci.yml").read_text()
    assert f"container: node:20@{digest_of('library/node', '20')}\n" in text
    bad = _cli(repo, env={**env, "MENDBOT_REGISTRY_MIRRORS": "docker.io"})
    assert bad.returncode == 2
    assert "MENDBOT_REGISTRY_MIRRORS" in bad.stderr + bad.stdout
