"""``mendbot fleet plan`` against an organisation of 200 repositories on the test GitHub.

Every test runs the real command (a child process) with the token in the environment, and reads
the matrix it prints and the requests the fake GitHub received.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

from conftest import ACTIVE, ARCHIVED, FORKS, ORG, Organisation
from fakegithub import TOKEN

from bot.fleet.shards import Repository, balance
from clirun import run_mendbot

#: Workflow files per active repository, as the plan counts them (``.yml`` and ``.yaml``).
WORKFLOWS = {name: len(files) for name, files in ACTIVE.items()}


def _plan(organisation: Organisation, *args: str, token: str = TOKEN):
    env = {**os.environ, "GITHUB_TOKEN": token}
    return run_mendbot(
        "fleet", "plan", "--org", ORG, "--api-url", organisation.github.base_url, *args, env=env
    )


def _shards(stdout: str) -> list[dict]:
    assert stdout.count("\n") == 1, "the matrix is one line (for $GITHUB_OUTPUT)"
    document = json.loads(stdout)
    assert list(document) == ["include"], "any other key would become a matrix dimension"
    return document["include"]


def test_plan_lists_every_page_skips_archived_forks_and_empty_and_balances(organisation):
    done = _plan(organisation, "--shards", "4")

    assert done.returncode == 0, done.stderr
    shards = _shards(done.stdout)
    assert [s["shard"] for s in shards] == [1, 2, 3, 4]
    planned = [name for shard in shards for name in shard["repositories"]]
    assert sorted(planned) == sorted(ACTIVE), "each active repository exactly once"
    for shard in shards:
        assert shard["repositories"] == sorted(shard["repositories"])
        assert shard["workflows"] == sum(WORKFLOWS[name] for name in shard["repositories"])
    loads = [shard["workflows"] for shard in shards]
    assert max(loads) - min(loads) <= max(WORKFLOWS.values())
    assert max(loads) <= sum(WORKFLOWS.values()) / 4 * 4 / 3 + 1
    listing = [r for r in organisation.github.requests if r.startswith(f"GET /api/v3/orgs/{ORG}")]
    assert len(listing) == 2, "200 repositories are two pages of 100"
    for name in ARCHIVED:
        assert f"skipped {ORG}/{name}: archived" in done.stderr
    for name in FORKS:
        assert f"skipped {ORG}/{name}: fork" in done.stderr
    assert f"skipped {ORG}/empty-000: no workflow in .github/workflows" in done.stderr
    assert TOKEN not in done.stdout + done.stderr


def test_plan_is_the_same_bytes_every_time_and_includes_what_is_asked(organisation, tmp_path):
    out = tmp_path / "matrix.json"
    first = _plan(organisation, "--shards", "3")
    again = _plan(organisation, "--shards", "3", "--output", str(out))
    wider = _plan(organisation, "--shards", "3", "--include-archived", "--include-forks")

    assert first.returncode == again.returncode == wider.returncode == 0
    assert again.stdout == ""
    assert out.read_text(encoding="utf-8") == first.stdout
    names = {n for shard in _shards(wider.stdout) for n in shard["repositories"]}
    assert names == set(ACTIVE) | set(ARCHIVED) | set(FORKS)


def test_a_refused_token_is_a_clear_error_and_prints_no_matrix(organisation):
    done = _plan(organisation, token="ghs_wrong")

    assert done.returncode == 3
    assert done.stdout == ""
    assert "GitHub refused to list the repositories of acme: HTTP 401" in done.stderr
    assert "metadata: read" in done.stderr
    assert "Traceback" not in done.stderr
    assert "ghs_wrong" not in done.stderr


def test_an_unknown_organisation_and_a_missing_token_are_errors(organisation, tmp_path):
    unknown = run_mendbot(
        "fleet", "plan", "--org", "nobody", "--api-url", organisation.github.base_url,
        env={**os.environ, "GITHUB_TOKEN": TOKEN},
    )  # fmt: skip
    no_token = run_mendbot("fleet", "plan", "--org", ORG, "--api-url", "http://127.0.0.1:9")

    assert unknown.returncode == 3 and "HTTP 404" in unknown.stderr
    assert no_token.returncode == 3 and "no GitHub token: set GITHUB_TOKEN" in no_token.stderr


def test_balance_does_not_depend_on_the_order_of_its_input():
    rng = random.Random(16)  # noqa: S311 (a reproducible shuffle, not a secret)
    repositories = [Repository(f"r{i:03}", rng.randint(1, 40)) for i in range(300)]
    shuffled = list(repositories)
    rng.shuffle(shuffled)

    assert balance(repositories, 7) == balance(shuffled, 7)
    loads = [shard.workflows for shard in balance(repositories, 7)]
    assert max(loads) - min(loads) <= 40
    alone = balance(repositories[:5], 200)
    assert [shard.repositories for shard in alone] == [
        (r.name,) for r in sorted(repositories[:5], key=lambda r: (-r.workflows, r.name))
    ], "more shards than repositories: one each, the largest first"


def test_plan_help_names_the_token_variable(tmp_path: Path):
    done = run_mendbot("fleet", "plan", "--help")

    assert done.returncode == 0
    assert "$GITHUB_TOKEN" in done.stdout
    assert "--token" not in done.stdout
