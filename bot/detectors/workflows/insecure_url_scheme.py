"""``gha-insecure-url-scheme``: a ``run:`` script downloads over plaintext ``http://`` or
``git://``."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from typing import ClassVar
from urllib.parse import urlsplit

from bot.detectors.interface import Detection, WorkflowRule
from bot.detectors.workflows.adhoc_packages import script_shell
from bot.detectors.workflows.obfuscation import line_in_scalar
from bot.knowledge.run_commands import split_commands
from bot.models import Severity
from bot.risk import Disposition
from bot.workflow.constant_fold import substitute_constants
from bot.workflow.model import Step
from bot.yamledit.ops import RewriteFragment

#: Programs that fetch what a URL argument names (downloads, clones, package indexes).
_FETCHERS = frozenset(
    {
        "curl",
        "wget",
        "git",
        "pip",
        "pip3",
        "uv",
        "pipx",
        "gem",
        "npm",
        "yarn",
        "pnpm",
        "helm",
        "iwr",
        "irm",
        "invoke-webrequest",
        "invoke-restmethod",
        "aria2c",
        "svn",
    }
)
_URL = re.compile(r"\b(?P<scheme>http|git)://(?P<rest>[^\s'\"`;|&)<>]+)", re.IGNORECASE)


def _local(host: str) -> bool:
    """Whether ``host`` is this machine, a private network or a bare name (a service
    container such as ``postgres``): traffic that never crosses the internet."""
    if not host or "$" in host or "{" in host:
        return True  # computed: mendbot cannot tell
    if "." not in host or host == "localhost" or host.endswith((".local", ".internal")):
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return address.is_private or address.is_loopback or address.is_link_local


def _program(argv: list[str]) -> str:
    return argv[0].rsplit("/", 1)[-1].lower().removesuffix(".exe")


class InsecureUrlScheme(WorkflowRule):
    """Report ``http://`` and ``git://`` URLs fetched by commands of ``run:`` scripts, one
    finding per host."""

    id: ClassVar[str] = "gha-insecure-url-scheme"
    title: ClassVar[str] = "download over a plaintext URL"
    description: ClassVar[str] = (
        "`http://` and `git://` carry no integrity: anyone on the network path (a hostile "
        "Wi-Fi is not needed, a compromised router or DNS answer is enough) can swap what the "
        "job downloads, and the job runs it with its token and secrets. Reported: URLs with "
        "these schemes given to a command that fetches them in a `run:` script (POSIX shells "
        "and PowerShell): `curl`, `wget`, `git`, `pip`/`uv`/`pipx` (index URLs), `gem`, "
        "`npm`/`yarn`/`pnpm` (registries), `helm`, `svn`, `aria2c`, `Invoke-WebRequest`/`iwr`/"
        "`irm`; one finding per host of a step. Hosts that never leave the machine or its "
        "private network are not reported: "
        "`localhost`, loopback and private addresses, `*.local`, `*.internal`, and bare names "
        "such as a `postgres` service container; nor are computed hosts "
        "(`http://${HOST}`). Constant expressions (`cu${{ '' }}rl`) are read as the runner "
        "writes them.\n\n"
        "The fix writes `https://` instead, for every URL of that host in the script. It is "
        "**unsafe**: the server may not answer "
        "HTTPS (or not with a valid certificate), and a `git://` remote may need another "
        "path over HTTPS; check the download still works.\n\n"
        "Compared with zizmor's `insecure-url-scheme`: zizmor checks the `repo:` URLs of "
        "`.pre-commit-config.yaml`, which mendbot does not read; mendbot checks the URLs "
        "workflows download, which zizmor does not."
    )
    default_severity: ClassVar[Severity] = Severity.HIGH
    fix_disposition: ClassVar[Disposition | None] = Disposition.UNSAFE
    example_before: ClassVar[str] = """\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: curl -fsSL -o tool.tgz http://downloads.example.com/tool.tgz
"""
    example_after: ClassVar[str] = """\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: curl -fsSL -o tool.tgz https://downloads.example.com/tool.tgz
"""

    def visit_step(self, step: Step) -> Iterator[Detection]:
        """Check the URLs the commands of one ``run:`` step fetch."""
        script = step.run
        if script is None or script_shell(step) is None:
            return
        urls: list[tuple[str, str]] = []
        commands, _ = split_commands(substitute_constants(script))  # `cu${{ '' }}rl` is curl
        for argv in commands:
            program = _program(argv)
            if program not in _FETCHERS:
                continue
            for word in argv[1:]:
                for match in _URL.finditer(word):
                    host = urlsplit(match.group()).hostname or ""
                    if not _local(host.lower()):
                        urls.append((program, match.group()))
        by_origin: dict[str, list[tuple[str, str]]] = {}
        for program, url in urls:
            origin = f"{url.split('://', 1)[0]}://{urlsplit(url).netloc}"
            by_origin.setdefault(origin, []).append((program, url))
        for origin, fetched in by_origin.items():
            program, url = fetched[0]
            scheme = origin.split("://", 1)[0].lower()
            others = len({u for _, u in fetched}) - 1
            message = f"`{program}` fetches `{url}` over plaintext {scheme}://" + (
                f" (and {others} more URL(s) of that host)" if others else ""
            )
            route = (*step.route, "run")
            location = line_in_scalar(step.workflow, route, script, max(script.find(url), 0))
            finding = self.located_finding(location, message, evidence=origin)
            secure = "https://" + origin.split("://", 1)[1]
            times = script.count(origin)
            if not times:
                reason = (
                    "the URL is assembled by expressions: rewrite it by hand (or fix those first)"
                )
                yield Detection(finding, None, reason)
                continue
            rewrite = RewriteFragment(route=route, fragment=origin, replacement=secure)
            title = f"fetch from `{secure}` ({times} place(s)); check that the server answers HTTPS"
            yield Detection(finding, self.fix(finding, title, [rewrite] * times))
