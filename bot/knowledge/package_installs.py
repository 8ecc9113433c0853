"""Commands that install packages by name, outside any lockfile: what ``gha-adhoc-packages``
recognises in ``run:`` scripts.

Each package manager's subcommands and options were read from its own documentation (``gem
help install``, ``bundle add --help``, ``npm help install``, ``pip install --help``, ``uv pip
install --help``, ``cargo install --help``, ``go help install``). A command counts only when it
names at least one package from a registry: a bare ``npm install`` or ``pip install -r
requirements.txt`` installs what the project's own files say, and a local path (``pip install
.``, ``npm install ./pkg.tgz``) or ``--no-index`` install is the project itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class AdhocInstall:
    """One command installing packages by name."""

    manager: str
    """The command as a user reads it: ``gem install``, ``npm install -g``, ``pip install``."""
    packages: tuple[str, ...]
    """The package arguments, as written."""
    versioned: bool
    """Whether every package names an exact version (its dependencies still float)."""


#: npm's spellings of ``install`` (``npm help install`` lists the aliases) and ``add``.
_NPM_INSTALL = frozenset(
    {"install", "i", "in", "ins", "inst", "insta", "instal", "isnt", "isnta", "isntal", "isntall"}
)
_NPM_INSTALL_ALL = _NPM_INSTALL | {"add"}
#: Options whose next word is their value, per manager (so it is not taken for a package).
_VALUE_OPTIONS = {
    "gem": frozenset(
        {
            "-v",
            "--version",
            "-i",
            "--install-dir",
            "-n",
            "--bindir",
            "-s",
            "--source",
            "--platform",
            "-g",
            "--group",
        }
    ),
    "npm": frozenset({"--prefix", "--registry", "--tag", "-w", "--workspace", "--omit"}),
    "pip": frozenset(
        {
            "-r",
            "--requirement",
            "-c",
            "--constraint",
            "-e",
            "--editable",
            "-t",
            "--target",
            "-i",
            "--index-url",
            "--extra-index-url",
            "-f",
            "--find-links",
            "--python-version",
            "--platform",
            "--root",
            "--prefix",
            "--trusted-host",
            "--only-binary",
            "--no-binary",
            "--group",
            "-p",
            "--python",
            "--default-index",
            "--index",
            "--extra",
            "--python-platform",
            "--config-settings",
            "-P",
            "--upgrade-package",
            "--exclude-newer",
            "--index-strategy",
            "--resolution",
            "--prerelease",
            "--keyring-provider",
        }
    ),
    "cargo": frozenset(
        {"--version", "--vers", "--git", "--branch", "--tag", "--rev", "--root", "--index"}
    ),
    "go": frozenset({"-o", "-C", "-tags", "-ldflags", "-gcflags", "-modfile"}),
}
_EXACT_NPM = re.compile(r"^(@[^/@]+/)?[^@/]+@v?\d+\.\d+\.\d+\S*$")
_EXACT_PIP = re.compile(r"===?")
_GO_RELEASE = re.compile(r"@v\d+\.\d+\.\d+")


def _local(word: str) -> bool:
    """Whether a package argument is a path or an archive on disk (the project itself)."""
    if word.startswith((".", "/", "~", "file:", "$")):
        return True
    if "://" in word or word.startswith("git+"):
        return False
    return ("/" in word and not word.startswith("@")) or word.endswith((".tgz", ".whl", ".gem"))


def _positional(words: list[str], manager: str) -> list[str]:
    """The words that are not options nor option values."""
    takes_value = _VALUE_OPTIONS.get(manager, frozenset())
    found: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
            continue
        if word.startswith("-"):
            skip = word in takes_value
            continue
        found.append(word)
    return found


def _option(words: list[str], *names: str) -> bool:
    return any(w in names or any(w.startswith(f"{n}=") for n in names) for w in words)


def _bundle(words: list[str]) -> AdhocInstall | None:
    """``bundle add <gem>``: resolves the gem from the registry, outside the committed lock."""
    positional = _positional(words, "gem")
    if positional[:1] != ["add"] or len(positional) < 2:
        return None
    return AdhocInstall("bundle add", tuple(positional[1:]), _option(words, "--version", "-v"))


def _gem(words: list[str]) -> AdhocInstall | None:
    positional = _positional(words, "gem")
    if positional[:1] not in (["install"], ["i"]):
        return None
    packages = tuple(p for p in positional[1:] if not _local(p))
    if not packages:
        return None
    versioned = _option(words, "-v", "--version") or all(":" in p for p in packages)
    return AdhocInstall("gem install", packages, versioned)


def _npm(program: str, words: list[str]) -> AdhocInstall | None:
    positional = _positional(words, "npm")
    if program == "npm":
        verbs = _NPM_INSTALL_ALL
    elif program == "bun":
        verbs = frozenset({"add", "install", "i", "a"})
    elif program == "yarn" and positional[:1] == ["global"]:
        positional, verbs = positional[1:], frozenset({"add"})
    else:
        verbs = frozenset({"add"})
    if not positional or positional[0] not in verbs:
        return None
    packages = tuple(p for p in positional[1:] if not _local(p))
    if not packages:
        return None
    globally = _option(words, "-g", "--global") or (program == "yarn" and "global" in words)
    label = f"{program} {positional[0]}" + (" -g" if globally else "")
    return AdhocInstall(label, packages, all(_EXACT_NPM.match(p) for p in packages))


def _pip(label: str, words: list[str]) -> AdhocInstall | None:
    positional = _positional(words, "pip")
    if positional[:1] != ["install"] or _option(words, "--require-hashes", "--no-index"):
        return None
    packages = tuple(p for p in positional[1:] if not _local(p))
    if not packages:
        return None
    return AdhocInstall(f"{label} install", packages, all(_EXACT_PIP.search(p) for p in packages))


def _cargo(words: list[str]) -> AdhocInstall | None:
    positional = _positional(words, "cargo")
    if positional[:1] != ["install"] or _option(words, "--path"):
        return None
    packages = tuple(positional[1:])
    if not packages:
        return None
    versioned = _option(words, "--version", "--vers") or all("@" in p for p in packages)
    return AdhocInstall("cargo install", packages, versioned)


def _go(words: list[str]) -> AdhocInstall | None:
    """``go install pkg@latest`` (or a branch): a release tag is checked against the Go
    checksum database and its own ``go.mod`` pins its dependencies, so it is not ad hoc."""
    positional = _positional(words, "go")
    if positional[:1] != ["install"]:
        return None
    packages = tuple(p for p in positional[1:] if "@" in p and not _GO_RELEASE.search(p))
    return AdhocInstall("go install", packages, False) if packages else None


def adhoc_install(argv: list[str]) -> AdhocInstall | None:
    """The ad-hoc installation ``argv`` performs, or None when it installs nothing by name."""
    if not argv:
        return None
    program = argv[0].rsplit("/", 1)[-1].lower().removesuffix(".exe")
    words = argv[1:]
    if re.fullmatch(r"(python|py|pypy)[\d.]*", program) and words[:2] == ["-m", "pip"]:
        return _pip("python -m pip", words[2:])
    if program == "uv" and words[:1] == ["pip"]:
        return _pip("uv pip", words[1:])
    if re.fullmatch(r"pip[\d.]*", program):
        return _pip(program, words)
    if program == "pipx" and _positional(words, "pip")[:1] == ["install"]:
        packages = tuple(p for p in _positional(words, "pip")[1:] if not _local(p))
        if packages:
            return AdhocInstall("pipx install", packages, all("==" in p for p in packages))
        return None
    if program == "gem":
        return _gem(words)
    if program == "bundle":
        return _bundle(words)
    if program in ("npm", "pnpm", "yarn", "bun"):
        return _npm(program, words)
    if program == "cargo":
        return _cargo(words)
    if program == "go":
        return _go(words)
    return None


_DOWNLOADERS = re.compile(
    r"(?:^|[;&|(`]\s*|\s)(?:sudo\s+)?(?:curl|wget|iwr|Invoke-WebRequest|irm|Invoke-RestMethod)\b"
)
_INTO_SHELL = re.compile(
    r"\|\s*(?:sudo\s+(?:-\S+\s+)*)?(?:\S*/)?(?:bash|sh|zsh|dash|ksh|iex|Invoke-Expression)\b"
    r"(?!\s*[-\w./]*\.(?:sh|bash)\b)",
    re.IGNORECASE,
)


def piped_installers(script: str) -> list[str]:
    """Lines that download a script and pipe it into a shell (``curl … | sh``), stripped."""
    found: list[str] = []
    for line in script.replace("\r\n", "\n").split("\n"):
        code = line.split(" #", 1)[0]
        if code.lstrip().startswith("#"):
            continue
        start = _DOWNLOADERS.search(code)
        if start is not None and _INTO_SHELL.search(code, start.end()):
            found.append(line.strip())
    return found
