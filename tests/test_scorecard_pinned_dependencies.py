"""After ``--fix=all`` with the refs reachable, action references meet Scorecard's
Pinned-Dependencies criteria; what stays unpinned is only what must not be pinned blindly."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

import scorecard_pinning
from bot.analyze.fix_writer import write_all
from bot.analyze.pipeline import analyze, parse_workflow
from bot.config import Config
from bot.demo import example_repository
from bot.models import FixMode
from bot.resolvers.action_refs import RefResolver, is_sha
from gitserver import serve
from testpaths import CORPUS

_VERSION = re.compile(r"^v?\d+(\.\d+)*$")


def _spec_for(uses_values: list[str]) -> dict[str, dict[str, dict[str, list[str]]]]:
    """Upstream repositories holding every ref the workflows name: version-like refs become
    tags (with a more specific release tag beside them), others branches."""
    refs: dict[str, set[str]] = {}
    for value in uses_values:
        match = re.match(r"^([^/@\s]+)/([^/@\s]+)(?:/[^@\s]*)?@(\S+)$", value.strip())
        if match and "${{" not in value and not is_sha(match.group(3)):
            refs.setdefault(f"{match.group(1)}/{match.group(2)}", set()).add(match.group(3))
    spec: dict[str, dict[str, dict[str, list[str]]]] = {}
    for slug, names in sorted(refs.items()):
        commits: dict[str, dict[str, list[str]]] = {}
        for n, name in enumerate(sorted(names)):
            if _VERSION.match(name):
                release = name + ".0" * max(0, 2 - name.count("."))
                tags = sorted({name, release if release.startswith("v") else name})
                commits[f"c{n}"] = {"tags": tags}
            else:
                commits[f"c{n}"] = {"branches": [name]}
        spec[slug] = commits
    return spec


def _all_uses(root: Path) -> list[str]:
    values = []
    for path in sorted(root.rglob("*.y*ml")):
        try:
            workflow = parse_workflow(path.name, path.read_text(encoding="utf-8"))
        except Exception:  # noqa: S112 - invalid corpus files are not workflows to score
            continue
        values += [r.uses for r in scorecard_pinning.references(workflow.data)]
    return values


def _fix_online(repo: Path, tmp_path: Path) -> list[dict]:
    server = tmp_path / "server"
    serve(server, _spec_for(_all_uses(repo)))
    refs = RefResolver(server_url=f"file://{server}")
    analysis = analyze([repo], repo, Config(), fix_mode=FixMode.ALL, refs=refs)
    write_all(
        {
            analysis.paths[name]: (outcome.original, outcome.fixed)
            for name, outcome in analysis.files.items()
            if outcome.fixed is not None
        }
    )
    return [
        parse_workflow(name, analysis.paths[name].read_text(encoding="utf-8")).data
        for name in analysis.files
    ]


def test_example_repository_scores_10_after_the_fixes(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(example_repository(), repo)
    before = [
        parse_workflow(p.name, p.read_text()).data for p in (repo / ".github/workflows").iterdir()
    ]
    assert scorecard_pinning.score(before) == 0
    after = _fix_online(repo, tmp_path)
    assert scorecard_pinning.score(after) == 10


@pytest.mark.parametrize("case", ["unpinned-uses", "ref-version-mismatch", "template-injection"])
def test_corpus_leaves_only_refs_that_must_not_be_pinned_blindly(case: str, tmp_path: Path) -> None:
    source = CORPUS / case
    repo = tmp_path / "repo"
    if source.is_dir():
        shutil.copytree(source, repo)
    else:
        repo.mkdir()
    for single in CORPUS.glob(f"{case}.yml"):
        shutil.copy(single, repo / single.name)
    workflows = _fix_online(repo, tmp_path)
    for workflow in workflows:
        for ref in scorecard_pinning.references(workflow):
            if ref.pinned:
                continue
            value = ref.uses.strip()
            _, _, name = value.rpartition("@")
            explained = (
                "${{" in value
                or "@" not in value
                or not _VERSION.match(name)  # a branch: reported, never pinned
                or value.startswith("slsa-framework/slsa-github-generator/")
                or value.startswith("docker://")
            )
            assert explained, f"{ref.where}: {value} should have been pinned"
