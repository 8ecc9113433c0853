"""Real-world workflows: the CLI's fixes keep every file sound, local and idempotent.

Each folder of ``tests/corpus/real/`` holds the workflow, composite action and Dependabot files
of one public repository, laid out as a checkout. For each repository this runs the real command
(``python -m bot analyze DIR --offline --fix[=all] --format json``) on a copy and checks what it
wrote, not what it says it did:

* the exit code is 0 or 1, standard error holds no traceback, the report is JSON;
* no file appears or disappears; every changed file still parses (ruamel's safe loader and
  mendbot's own :func:`bot.analyze.pipeline.parse_workflow`) and keeps its BOM and line breaks;
* the parsed data differs from the original only at routes the applied fixes may touch
  (:data:`ALLOWED`, anchored at the finding's step, job or Dependabot entry);
* every comment outside the edited nodes survives;
* ``--fix`` applies only fixes marked safe, and a second ``--fix=all`` changes no byte.

The expected findings are deliberately not asserted: rules change, these invariants do not.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.analyze.pipeline import parse_workflow
from testpaths import TESTS

REAL = TESTS / "corpus" / "real"
REPOSITORIES = sorted(p.name for p in REAL.iterdir() if (p / "SOURCE").is_file())
YAML_SUFFIXES = (".yml", ".yaml")

Route = tuple[Any, ...]
_STEP = ("jobs", "*", "steps", "*")
_ACTION_STEP = ("runs", "steps", "*")
_PERMISSIONS = (("permissions", "**"), ("jobs", "*", "permissions", "**"))
_TERNARY_PLACES = (("run",), ("if",), ("env", "*"), ("with", "*"))

#: What each rule's fix may change, as route patterns (``*`` = one key or index, a trailing
#: ``**`` = anything below). A rule in :data:`WORKFLOW_WIDE` may change its routes anywhere in
#: the file; any other rule only inside the step, job or Dependabot entry its finding names.
ALLOWED: dict[str, tuple[Route, ...]] = {
    "gha-persist-credentials": tuple(
        (*s, "with", "persist-credentials") for s in (_STEP, _ACTION_STEP)
    ),
    "gha-missing-permissions": _PERMISSIONS,
    "gha-job-permissions": _PERMISSIONS,
    "gha-excessive-permissions": _PERMISSIONS,
    "gha-insecure-commands": (
        ("env", "ACTIONS_ALLOW_UNSECURE_COMMANDS"),
        ("jobs", "*", "env", "ACTIONS_ALLOW_UNSECURE_COMMANDS"),
        (*_STEP, "env", "ACTIONS_ALLOW_UNSECURE_COMMANDS"),
        (*_ACTION_STEP, "env", "ACTIONS_ALLOW_UNSECURE_COMMANDS"),
    ),
    "gha-template-injection": tuple(
        (*s, key, *rest)
        for s in (_STEP, _ACTION_STEP)
        for key, *rest in (("run",), ("env", "*"), ("with", "script"))
    ),
    "gha-cache-poisoning": ((*_STEP, "with", "*"), (*_ACTION_STEP, "with", "*")),
    "gha-static-cloud-credentials": (
        (*_STEP, "with", "*"),
        (*_ACTION_STEP, "with", "*"),
        *_PERMISSIONS,
    ),
    "gha-spoofable-bot-check": (("jobs", "*", "if"), (*_STEP, "if"), (*_ACTION_STEP, "if")),
    "gha-unsound-condition": (("jobs", "*", "if"), (*_STEP, "if"), (*_ACTION_STEP, "if")),
    "gha-unpinned-uses": (("jobs", "*", "uses"), (*_STEP, "uses"), (*_ACTION_STEP, "uses")),
    "gha-ref-version-mismatch": (
        ("jobs", "*", "uses"),
        (*_STEP, "uses"),
        (*_ACTION_STEP, "uses"),
    ),
    "gha-unpinned-images": (
        ("jobs", "*", "container"),
        ("jobs", "*", "container", "image"),
        ("jobs", "*", "services", "*"),
        ("jobs", "*", "services", "*", "image"),
        (*_STEP, "uses"),
        (*_ACTION_STEP, "uses"),
    ),
    "gha-secrets-inherit": (("jobs", "*", "secrets"), ("jobs", "*", "secrets", "*")),
    "gha-dependabot-cooldown": (("updates", "*", "cooldown", "**"),),
    "gha-dependabot-actions": (("updates", "*"),),
    "gha-github-env": ((*_STEP, "run"), (*_ACTION_STEP, "run")),
    "gha-overprovisioned-secrets": ((*_STEP, "env", "*"), (*_ACTION_STEP, "env", "*")),
    "gha-unsound-contains": (("jobs", "*", "if"), (*_STEP, "if"), (*_ACTION_STEP, "if")),
    "gha-unsound-ternary": (
        *((*s, *rest) for s in (_STEP, _ACTION_STEP) for rest in _TERNARY_PLACES),
        ("jobs", "*", "if"),
        ("jobs", "*", "env", "*"),
        ("env", "*"),
    ),
    "gha-use-trusted-publishing": (
        (*_STEP, "with"),
        (*_STEP, "with", "password"),
        (*_STEP, "with", "user"),
        (*_STEP, "env"),
        (*_STEP, "env", "*"),
        ("jobs", "*", "permissions", "**"),
    ),
}
#: Rules whose fix may change the whole job of its finding (the step and the job's
#: ``permissions:``), not only the step.
JOB_WIDE = frozenset({"gha-use-trusted-publishing"})
WORKFLOW_WIDE = frozenset(
    {
        "gha-missing-permissions",
        "gha-job-permissions",
        "gha-excessive-permissions",
        "gha-static-cloud-credentials",
    }
)


# --------------------------------------------------------------------------- running


@dataclass
class Run:
    """One CLI run on a checkout: what it printed and the files before and after."""

    before: dict[str, bytes]
    after: dict[str, bytes]
    report: dict[str, Any]
    returncode: int

    @property
    def changed(self) -> list[str]:
        return sorted(n for n, data in self.after.items() if self.before.get(n) != data)


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _checkout(repository: str, into: Path) -> Path:
    """A copy of the repository's corpus folder, as a checkout would lay it out."""
    root = into / repository
    shutil.copytree(REAL / repository, root)
    return root


def _analyze(root: Path, *fix: str) -> Run:
    before = _snapshot(root)
    done = subprocess.run(
        [sys.executable, "-m", "bot", "analyze", str(root), "--offline", *fix, "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode in (0, 1), f"exit {done.returncode}: {done.stderr[-2000:]}"
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    report = json.loads(done.stdout)
    return Run(before, _snapshot(root), report, done.returncode)


# --------------------------------------------------------------------------- structure


class _Missing:
    """The value at a route that one side does not have."""


_MISSING = _Missing()


def changed_routes(old: Any, new: Any, route: Route = ()) -> Iterator[Route]:
    """The deepest routes where ``old`` and ``new`` differ.

    An added or removed mapping is descended into (its keys are the changes); items appended
    to a sequence are changes of their own index; any other sequence change is the sequence's.
    """
    if isinstance(old, dict | _Missing) and isinstance(new, dict | _Missing):
        if isinstance(old, dict) or isinstance(new, dict):
            a = old if isinstance(old, dict) else {}
            b = new if isinstance(new, dict) else {}
            if not a and not b:
                if old is _MISSING or new is _MISSING:  # an empty mapping added or removed
                    yield route
                return
            for key in [*a, *(k for k in b if k not in a)]:
                yield from changed_routes(a.get(key, _MISSING), b.get(key, _MISSING), (*route, key))
            return
    if isinstance(old, list) and isinstance(new, list):
        common = min(len(old), len(new))
        if len(old) == len(new) or old[:common] == new[:common]:
            for index in range(common):
                yield from changed_routes(old[index], new[index], (*route, index))
            for index in range(common, max(len(old), len(new))):
                yield (*route, index)
            return
    if old is _MISSING or new is _MISSING or old != new or type(old) is not type(new):
        yield route


def _matches(pattern: Route, route: Route) -> bool:
    if pattern and pattern[-1] == "**":
        head = pattern[:-1]
        return len(route) >= len(head) and _matches(head, route[: len(head)])
    return len(pattern) == len(route) and all(
        p in ("*", r) for p, r in zip(pattern, route, strict=True)
    )


def anchor(route: Route) -> Route:
    """The step, job or Dependabot entry a finding's route names (the file when none)."""
    for end in range(len(route) - 1, 0, -1):
        if route[end - 1] == "steps" and isinstance(route[end], int):
            return route[: end + 1]
    if len(route) >= 2 and route[0] in ("jobs", "updates"):
        return route[:2]
    return ()


def allowed(route: Route, applied: list[tuple[str, Route]]) -> bool:
    """Whether some applied fix may change ``route``."""
    for rule, finding_route in applied:
        scope = () if rule in WORKFLOW_WIDE else anchor(finding_route)
        if rule in JOB_WIDE and scope[:1] == ("jobs",):
            scope = scope[:2]
        if route[: len(scope)] != scope:
            continue
        if any(_matches(pattern, route) for pattern in ALLOWED.get(rule, ())):
            return True
    return False


# --------------------------------------------------------------------------- text


def _body(raw: bytes) -> str:
    return raw.decode("utf-8").removeprefix("\ufeff").replace("\r\n", "\n")


def _nodes(node: Node, route: Route = ()) -> Iterator[tuple[Route, Node | None, Node]]:
    """Every node with its route and key node (None for the root and sequence items)."""
    if isinstance(node, MappingNode):
        for key, value in node.value:
            child = (*route, key.value)
            yield child, key, value
            yield from _nodes(value, child)
    elif isinstance(node, SequenceNode):
        for index, value in enumerate(node.value):
            yield (*route, index), None, value
            yield from _nodes(value, (*route, index))


def comments(text: str, tree: Node) -> dict[int, str]:
    """Line (0-based) → comment text, found outside every scalar's span."""
    spans = []
    for _, key, value in _nodes(tree):
        for node in (key, value):
            if isinstance(node, ScalarNode):
                start = node.start_mark.index
                if node.style in ("|", ">"):  # the header line may carry a comment
                    start = text.find("\n", start) + 1
                spans.append((start, node.end_mark.index))
    found: dict[int, str] = {}
    offset = 0
    for number, line in enumerate(text.split("\n")):
        for column, char in enumerate(line):
            if char != "#" or (column and line[column - 1] not in " \t"):
                continue
            where = offset + column
            if not any(start <= where < end for start, end in spans):
                found[number] = line[column:].rstrip()
                break
        offset += len(line) + 1
    return found


def edited_lines(tree: Node, routes: list[Route]) -> set[int]:
    """Lines of the original covered by a node at a changed route, with its parent's key line."""
    index = {route: (key, value) for route, key, value in _nodes(tree)}
    lines: set[int] = set()
    for route in routes:
        if route not in index:
            continue  # an addition edits no line of the original
        key, value = index[route]
        first = (key or value).start_mark.line
        end = value.end_mark
        last = end.line - 1 if end.column == 0 and end.line > first else end.line
        lines.update(range(first, last + 1))
        parent = index.get(route[:-1])
        if parent is not None and parent[0] is not None:
            lines.add(parent[0].start_mark.line)
    return lines


# --------------------------------------------------------------------------- checks


def check_run(run: Run, *, safe_only: bool) -> None:
    """Every invariant of one ``--fix`` run (see the module docstring)."""
    assert sorted(run.after) == sorted(run.before), "files appeared or disappeared"
    applied: dict[str, list[tuple[str, Route]]] = {}
    for finding in run.report["findings"]:
        fix = finding["fix"]
        if fix is not None and fix["applied"]:
            if safe_only:
                assert fix["disposition"] == "safe", f"--fix applied an unsafe fix: {finding}"
            applied.setdefault(finding["path"], []).append(
                (finding["rule"], tuple(finding["route"]))
            )
    assert run.report["summary"]["fixes_applied"] == sum(len(v) for v in applied.values())
    for name in run.changed:
        assert name in applied, f"{name} changed, yet no fix of it was reported as applied"
        check_file(name, run.before[name], run.after[name], applied[name])


def check_file(name: str, old_raw: bytes, new_raw: bytes, applied: list[tuple[str, Route]]) -> None:
    """One changed file: framing, parses, changes only allowed routes, comments kept."""
    assert new_raw.startswith(b"\xef\xbb\xbf") == old_raw.startswith(b"\xef\xbb\xbf"), name
    old_crlf, new_crlf = old_raw.count(b"\r\n"), new_raw.count(b"\r\n")
    if old_crlf and old_crlf == old_raw.count(b"\n"):
        assert new_crlf == new_raw.count(b"\n"), f"{name}: a line lost its CRLF"
    else:
        assert new_crlf == old_crlf, f"{name}: line breaks changed"

    loader = YAML(typ="safe", pure=True)
    old_text, new_text = _body(old_raw), _body(new_raw)
    old_data, new_data = loader.load(old_text), loader.load(new_text)
    parse_workflow(name, new_raw.decode("utf-8"))  # mendbot still reads it as before

    routes = list(changed_routes(old_data, new_data))
    assert routes, f"{name}: bytes changed but the data did not"
    stray = [r for r in routes if not allowed(r, applied)]
    assert not stray, f"{name}: changed outside what its fixes may touch: {stray} ({applied})"

    old_tree, new_tree = loader.compose(old_text), loader.compose(new_text)
    edited = edited_lines(old_tree, routes)
    kept = Counter(c for line, c in comments(old_text, old_tree).items() if line not in edited)
    lost = kept - Counter(comments(new_text, new_tree).values())
    assert not lost, f"{name}: comments lost outside the edited lines: {sorted(lost)}"


# --------------------------------------------------------------------------- tests


def test_corpus_has_licensed_repositories() -> None:
    assert len(REPOSITORIES) >= 10
    for repository in REPOSITORIES:
        folder = REAL / repository
        assert any(p.name.upper().startswith(("LICENSE", "COPYING")) for p in folder.iterdir())
        url, commit = (folder / "SOURCE").read_text().split()
        assert url == f"https://github.com/{repository.replace('--', '/', 1)}"
        assert len(commit) == 40
        assert any((folder / ".github" / "workflows").glob("*.y*ml"))
        assert repository in (REAL / "README.md").read_text()


@pytest.mark.parametrize("repository", REPOSITORIES)
def test_safe_fixes_are_sound(repository: str, tmp_path: Path) -> None:
    run = _analyze(_checkout(repository, tmp_path), "--fix")
    check_run(run, safe_only=True)


@pytest.mark.parametrize("repository", REPOSITORIES)
def test_all_fixes_are_sound_and_a_second_run_changes_nothing(
    repository: str, tmp_path: Path
) -> None:
    root = _checkout(repository, tmp_path)
    first = _analyze(root, "--fix=all")
    check_run(first, safe_only=False)
    second = _analyze(root, "--fix=all")
    assert second.changed == [], f"a second --fix=all changed {second.changed}"
    assert second.report["summary"]["fixes_applied"] == 0


def _framed(raw: bytes) -> bytes:
    """The file with a BOM and CRLF line breaks."""
    return b"\xef\xbb\xbf" + raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


#: Small repositories whose fixes, between them, cover most of the rules that fix.
FRAMED = ("woodruffw--gha-hazmat", "dependabot--dependabot-core", "pytest-dev--pytest")


@pytest.mark.parametrize("repository", FRAMED)
def test_bom_and_crlf_files_are_fixed_exactly_like_plain_ones(
    repository: str, tmp_path: Path
) -> None:
    plain = _checkout(repository, tmp_path / "plain")
    framed = _checkout(repository, tmp_path / "framed")
    for path in framed.rglob("*"):
        if path.suffix in YAML_SUFFIXES:
            path.write_bytes(_framed(path.read_bytes()))
    plain_run = _analyze(plain, "--fix=all")
    framed_run = _analyze(framed, "--fix=all")
    check_run(framed_run, safe_only=False)
    assert framed_run.changed == plain_run.changed
    for name in plain_run.changed:
        assert framed_run.after[name] == _framed(plain_run.after[name]), name


_SUPPRESSION = re.compile(r"#.*\b(?:mendbot|zizmor):\s*ignore\[")


def _suppressed_files() -> dict[str, Path]:
    """Checkout path → corpus file, for every file with an inline suppression comment."""
    found: dict[str, Path] = {}
    for path in sorted(REAL.rglob("*")):
        if path.suffix not in YAML_SUFFIXES or not _SUPPRESSION.search(path.read_text("utf-8")):
            continue
        repository = path.relative_to(REAL).parts[0]
        relative = path.relative_to(REAL / repository)
        if relative.parts[:2] == (".github", "workflows"):
            found[f".github/workflows/{repository}--{relative.name}"] = path
        elif path.name.startswith("action."):
            found[f".github/actions/{repository}--{relative.parent.name}/{path.name}"] = path
    return found


def test_lines_with_a_suppression_comment_are_never_edited(tmp_path: Path) -> None:
    """A value a person marked with ``# zizmor: ignore[...]``/``# mendbot: ignore[...]`` is a
    decision: ``--fix=all`` may report it but must leave the line as written."""
    files = _suppressed_files()
    assert files, "the corpus has no inline suppression comments any more"
    for name, source in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, tmp_path / name)
    run = _analyze(tmp_path, "--fix=all")
    overwritten = []
    for name in run.changed:
        before = [line for line in _body(run.before[name]).split("\n") if _SUPPRESSION.search(line)]
        after = Counter(_body(run.after[name]).split("\n"))
        overwritten += [f"{name}: {line.strip()}" for line in before if not after[line]]
    assert not overwritten, "\n".join(overwritten)


def _with_inputs(data: Any) -> dict[Route, Any]:
    """Route → value of every ``with:`` input of every step (workflow jobs and composite runs)."""
    found: dict[Route, Any] = {}
    if not isinstance(data, dict):
        return found
    scopes: list[tuple[Route, Any]] = [(("runs", "steps"), (data.get("runs") or {}).get("steps"))]
    jobs = data.get("jobs")
    if isinstance(jobs, dict):
        scopes += [
            (("jobs", name, "steps"), (job or {}).get("steps")) for name, job in jobs.items()
        ]
    for prefix, steps in scopes:
        for index, step in enumerate(steps if isinstance(steps, list) else []):
            inputs = step.get("with") if isinstance(step, dict) else None
            for key, value in (inputs or {}).items() if isinstance(inputs, dict) else ():
                found[(*prefix, index, "with", key)] = value
    return found


def _replaced_credentials(report: dict[str, Any]) -> set[tuple[str, Route]]:
    """(path, step route) of each applied trusted-publishing switch: the token inputs it drops
    are the credential the finding is about, replaced by OIDC in an unsafe (reviewed) fix."""
    return {
        (finding["path"], anchor(tuple(finding["route"])))
        for finding in report["findings"]
        if finding["rule"] == "gha-use-trusted-publishing"
        and finding["fix"] is not None
        and finding["fix"]["applied"]
    }


def test_inputs_a_person_wrote_are_never_rewritten(tmp_path: Path) -> None:
    """An explicit ``with:`` value is a decision: ``--fix=all`` may add inputs, never change one
    (``script`` is code, which the injection fix rewrites like ``run``). The one exception is
    the long-lived token (``password``, ``user: __token__``) that the unsafe trusted-publishing
    fix replaces with OIDC, and only at a step whose fix the report lists as applied."""
    for repository in REPOSITORIES:
        _checkout(repository, tmp_path)
    before = _snapshot(tmp_path)
    done = subprocess.run(
        [
            *(sys.executable, "-m", "bot", "analyze", *REPOSITORIES),
            *("--offline", "--fix=all", "--format", "json"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr[-2000:]
    replaced = _replaced_credentials(json.loads(done.stdout))
    after = _snapshot(tmp_path)
    loader = YAML(typ="safe", pure=True)
    rewritten = []
    for name in sorted(n for n in after if after[n] != before[n]):
        old = _with_inputs(loader.load(_body(before[name])))
        new = _with_inputs(loader.load(_body(after[name])))
        rewritten += [
            f"{name}: {'.'.join(map(str, route))}: {value!r} -> {new.get(route, '(removed)')!r}"
            for route, value in old.items()
            if route[-1] != "script"
            and new.get(route, _MISSING) != value
            and not (
                route[-1] in ("password", "user")
                and route not in new
                and (name, anchor(route)) in replaced
            )
        ]
    assert not rewritten, "\n".join(rewritten)
