"""Golden pairs per rule: ``input.yml`` → ``expected.yml`` byte for byte, plus the findings.

Each folder under ``tests/rules/<rule-id>/<case>/`` holds the input, the expected text after
``--fix=all``, and ``findings.json``: ``[line, column, rule, fix]`` where fix is ``safe``,
``unsafe``, ``unfixable`` or null (report only). An optional ``remotes.json`` describes action
repositories (see ``gitserver.py``): they are built as real bare repositories and the case runs
online against them; without it the case runs offline. An optional ``registry.json`` describes
container images (``{"docker.io/library/node": {"20": {}}}``, see ``registryserver.py``): a
loopback registry serves them, every other registry is turned off, and image digests resolve
against it; without it image lookups are offline. An optional ``api.json`` (with
``remotes.json``) describes what GitHub's API says about those repositories (archived ones,
advisories; see ``actions_api_world.py``): a fake GitHub serves it and the case runs with a
token; without it the API is not asked. An optional ``mendbot.yml`` is the case's
configuration (rule options); without it the defaults apply.
"""

from __future__ import annotations

import json
import shutil
from contextlib import ExitStack
from pathlib import Path

import pytest
from fakegithub import TOKEN

from actions_api_world import api_world
from bot.analyze.pipeline import analyze
from bot.analyze.report.common import fix_status
from bot.config import Config, load_config
from bot.detectors.rule_registry import RULES, rule_options
from bot.models import FixMode
from bot.resolvers.action_api import ActionApi
from bot.resolvers.action_refs import RefResolver
from bot.resolvers.image_registries import RegistryResolver
from gitserver import serve
from registryserver import LoopbackRegistry
from testpaths import RULE_CASES

CASES = sorted(p.parent for p in RULE_CASES.glob("*/*/input.yml"))


_SERVERS: dict[Path, RefResolver] = {}


@pytest.fixture(scope="session")
def api_worlds():
    """Fake GitHubs started by :func:`_resolver`, stopped at the end of the session."""
    with ExitStack() as stack:
        yield stack


def _resolver(case: Path, tmp_root: Path, worlds: ExitStack) -> RefResolver | None:
    """A resolver over real bare repositories built from the case's ``remotes.json``, asking
    a fake GitHub about them when the case has an ``api.json``."""
    spec = case / "remotes.json"
    if not spec.exists():
        return None
    if case not in _SERVERS:
        server = tmp_root / "server"
        serve(server, json.loads(spec.read_text()))
        api = None
        if (case / "api.json").exists():
            github = worlds.enter_context(
                api_world(server, json.loads((case / "api.json").read_text()))
            )
            api = ActionApi(github.base_url, TOKEN)
        _SERVERS[case] = RefResolver(server_url=f"file://{server}", api=api)
    return _SERVERS[case]


_REGISTRIES: dict[Path, RegistryResolver] = {}


@pytest.fixture(scope="session")
def registry_servers():
    """Loopback registries started by :func:`_registry`, stopped at the end of the session."""
    servers: list[LoopbackRegistry] = []
    yield servers
    for server in servers:
        server.__exit__(None, None, None)


def _registry(case: Path, servers: list[LoopbackRegistry]) -> RegistryResolver | None:
    """A resolver over a loopback registry serving the case's ``registry.json``."""
    spec = case / "registry.json"
    if not spec.exists():
        return None
    if case not in _REGISTRIES:
        images = json.loads(spec.read_text())
        server = LoopbackRegistry(images).__enter__()
        servers.append(server)
        hosts = {name.split("/", 1)[0] for name in images}
        mirrors = {host: f"{server.url}/{host}" for host in hosts}
        _REGISTRIES[case] = RegistryResolver(mirrors={**mirrors, "*": "off"})
    return _REGISTRIES[case]


def _config(case: Path) -> Config:
    """The case's ``mendbot.yml`` (rule options), or the defaults."""
    path = case / "mendbot.yml"
    return load_config(path if path.exists() else None, rule_options())


def _run(
    folder: Path,
    rule: str,
    mode: FixMode | None = FixMode.ALL,
    refs: RefResolver | None = None,
    config: Config | None = None,
    registry: RegistryResolver | None = None,
):
    return analyze(
        [folder / "input.yml"],
        folder,
        config or Config(),
        only_rules=[rule],
        fix_mode=mode,
        refs=refs,
        registry=registry,
    )


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fix_matches_golden_output(
    case: Path, tmp_path_factory, registry_servers, api_worlds
) -> None:
    refs = _resolver(case, tmp_path_factory.mktemp("git"), api_worlds)
    registry = _registry(case, registry_servers)
    analysis = _run(case, case.parent.name, refs=refs, config=_config(case), registry=registry)
    original = (case / "input.yml").read_bytes().decode("utf-8")
    outcome = analysis.files["input.yml"]
    fixed = outcome.fixed if outcome.fixed is not None else original
    assert fixed.encode("utf-8") == (case / "expected.yml").read_bytes()
    assert analysis.result.errors == ()


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_findings_match_golden_list(
    case: Path, tmp_path_factory, registry_servers, api_worlds
) -> None:
    refs = _resolver(case, tmp_path_factory.mktemp("git"), api_worlds)
    registry = _registry(case, registry_servers)
    analysis = _run(case, case.parent.name, refs=refs, config=_config(case), registry=registry)
    rows = []
    for finding in analysis.result.findings:
        assert finding.rule == case.parent.name
        status = fix_status(analysis, finding)
        fix = None
        if status is not None:
            fix = "unfixable" if status.unfixable else status.fix.disposition.value
        rows.append([finding.location.line, finding.location.column, finding.rule, fix])
    assert rows == json.loads((case / "findings.json").read_text())


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_second_run_changes_nothing(
    case: Path, tmp_path: Path, tmp_path_factory, registry_servers, api_worlds
) -> None:
    refs = _resolver(case, tmp_path_factory.mktemp("git"), api_worlds)
    registry = _registry(case, registry_servers)
    shutil.copy(case / "expected.yml", tmp_path / "input.yml")
    analysis = _run(tmp_path, case.parent.name, refs=refs, config=_config(case), registry=registry)
    assert analysis.files["input.yml"].fixed is None
    fixable = [
        f
        for f in analysis.result.findings
        if (s := fix_status(analysis, f)) is not None and not s.unfixable
    ]
    assert fixable == []


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_every_rule_has_golden_cases(rule: type) -> None:
    assert len(list((RULE_CASES / rule.id).glob("*/input.yml"))) >= 3


@pytest.mark.parametrize("rule", [r for r in RULES if r.example_before], ids=lambda r: r.id)
def test_documented_example_is_what_the_rule_does(rule, tmp_path: Path) -> None:
    (tmp_path / "input.yml").write_text(rule.example_before, encoding="utf-8")
    analysis = _run(tmp_path, rule.id)
    assert [f.rule for f in analysis.result.findings] == [rule.id]
    fixed = analysis.files["input.yml"].fixed
    # A report-only example documents itself with example_after == example_before.
    assert (fixed if fixed is not None else rule.example_before) == rule.example_after


def test_safe_mode_applies_only_safe_fixes(tmp_path: Path) -> None:
    shutil.copy(
        RULE_CASES / "gha-persist-credentials" / "explicit-true-unused" / "input.yml",
        tmp_path / "input.yml",
    )
    analysis = _run(tmp_path, "gha-persist-credentials", FixMode.SAFE)
    assert analysis.files["input.yml"].fixed is None
    assert analysis.result.applied == ()
    assert len(analysis.result.findings) == 1
