"""Every golden pair through the command line, on a real file, in LF, CRLF and BOM variants.

``mendbot analyze input.yml --fix=all --rule <rule>`` runs in a copy of the case folder whose
``input.yml`` is rewritten with the variant's line endings (and byte order mark); the bytes
the command writes must be the case's ``expected.yml`` in the same variant, and the exit code
must say whether findings remain. Cases with ``remotes.json``/``registry.json`` get their real
bare repositories and loopback registry through the environment, as a user would configure
them (``GITHUB_SERVER_URL``, ``MENDBOT_REGISTRY_MIRRORS``); cases with ``api.json`` also get a
fake GitHub API over those repositories (``GITHUB_API_URL`` and a token in ``GITHUB_TOKEN``).
"""

from __future__ import annotations

import json
import shutil
from contextlib import ExitStack
from pathlib import Path

import pytest
from click.testing import CliRunner

from actions_api_world import api_environment, api_world
from bot.cli.app import cli
from gitserver import serve
from registryserver import LoopbackRegistry
from testpaths import RULE_CASES

CASES = sorted(p.parent for p in RULE_CASES.glob("*/*/input.yml"))
BOM = "\ufeff"
VARIANTS = {
    "LF": lambda text: text,
    "CRLF": lambda text: text.replace("\n", "\r\n"),
    "BOM": lambda text: BOM + text,
}


def _normalised(path: Path) -> str:
    """The file's text with LF line endings and no byte order mark."""
    return path.read_bytes().decode("utf-8").removeprefix(BOM).replace("\r\n", "\n")


@pytest.fixture(scope="module")
def registries():
    """One loopback registry per case that needs one, stopped at the end of the module."""
    started: dict[Path, str] = {}
    servers: list[LoopbackRegistry] = []

    def mirrors(case: Path) -> str:
        if case not in started:
            images = json.loads((case / "registry.json").read_text())
            server = LoopbackRegistry(images).__enter__()
            servers.append(server)
            hosts = sorted({name.split("/", 1)[0] for name in images})
            started[case] = ",".join([*(f"{h}={server.url}/{h}" for h in hosts), "*=off"])
        return started[case]

    yield mirrors
    for server in servers:
        server.__exit__(None, None, None)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_cli_writes_the_golden_bytes_in_every_line_ending(
    case: Path, variant: str, tmp_path: Path, monkeypatch, registries
) -> None:
    convert = VARIANTS[variant]
    work = tmp_path / "checkout"
    shutil.copytree(case, work)
    target = work / "input.yml"
    target.write_bytes(convert(_normalised(case / "input.yml")).encode("utf-8"))
    args = ["analyze", "input.yml", "--fix=all", "--rule", case.parent.name, "--format", "json"]
    if (case / "mendbot.yml").exists():
        args += ["--config", str(case / "mendbot.yml")]
    worlds = ExitStack()
    if (case / "remotes.json").exists():
        server = tmp_path / "server"
        serve(server, json.loads((case / "remotes.json").read_text()))
        monkeypatch.setenv("GITHUB_SERVER_URL", f"file://{server}")
        if (case / "api.json").exists():
            spec = json.loads((case / "api.json").read_text())
            github = worlds.enter_context(api_world(server, spec))
            for name, value in api_environment(server, github).items():
                monkeypatch.setenv(name, value)
    if (case / "registry.json").exists():
        monkeypatch.setenv("MENDBOT_REGISTRY_MIRRORS", registries(case))
    if not (case / "remotes.json").exists() and not (case / "registry.json").exists():
        args.append("--offline")
    monkeypatch.chdir(work)

    with worlds:
        result = CliRunner().invoke(cli, args)

    assert target.read_bytes() == convert(_normalised(case / "expected.yml")).encode("utf-8")
    rows = json.loads((case / "findings.json").read_text())
    remains = any(fix in (None, "unfixable") for *_, fix in rows)
    assert result.exit_code == (1 if remains else 0), result.output
