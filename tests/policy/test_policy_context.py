"""The context: the change builder, the environments mapping and the committed schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from bot.config import load_config
from bot.policy.gate_context import GateContext, build_change, context_schema, environments_of
from bot.policy.testing import BASE_CONTEXT
from testpaths import REPO

ENVIRONMENTS = {
    "production": ["deploy/prod/*"],
    "staging": ["deploy/staging/*", "deploy/*/shared*"],
}


def test_environments_in_configuration_order() -> None:
    assert environments_of(["deploy/staging/a.yaml"], ENVIRONMENTS) == ("staging",)
    both = environments_of(["deploy/staging/a.yaml", "deploy/prod/b.yaml"], ENVIRONMENTS)
    assert both == ("production", "staging")
    assert environments_of(["README.md"], ENVIRONMENTS) == ("unmapped",)
    assert environments_of(["deploy/prod/shared.yaml"], ENVIRONMENTS) == ("production", "staging")


def test_build_change_takes_the_riskiest_values() -> None:
    change = build_change(
        ["deploy/staging/b.yaml", "deploy/prod/a.yaml", "deploy/staging/b.yaml"],
        environments=ENVIRONMENTS,
        dispositions=["safe", "unsafe"],
        reversibilities=["reversible", "reversible-with-snapshot"],
        blast_radii=["file", "service"],
        rules=["b-rule", "a-rule", "b-rule"],
    )
    assert change.environment == "production"
    assert change.environments == ("production", "staging")
    assert change.paths == ("deploy/prod/a.yaml", "deploy/staging/b.yaml")
    assert (change.disposition, change.reversibility, change.blast_radius) == (
        "unsafe",
        "reversible-with-snapshot",
        "service",
    )
    assert change.rules == ("a-rule", "b-rule")


def test_build_change_without_fixes_is_treated_as_riskiest() -> None:
    change = build_change(
        ["x"], environments={}, dispositions=[], reversibilities=[], blast_radii=[], rules=[]
    )
    assert (change.environment, change.disposition, change.reversibility) == (
        "unmapped",
        "unsafe",
        "irreversible",
    )
    assert change.blast_radius == "organization"


def test_base_context_is_valid_against_the_committed_schema() -> None:
    schema = json.loads((REPO / "docs" / "policy-context.schema.json").read_text())
    assert schema == context_schema()
    jsonschema.validate(BASE_CONTEXT, schema)
    GateContext.model_validate(BASE_CONTEXT)


def test_configuration_environments(tmp_path: Path) -> None:
    path = tmp_path / "mendbot.yml"
    path.write_text("environments:\n  production: ['k8s/prod/**']\n  staging: ['k8s/stg/**']\n")
    config = load_config(path, {})
    assert list(config.environments) == ["production", "staging"]
    assert environments_of(["k8s/stg/app/x.yaml"], config.environments) == ("staging",)


def test_configuration_environments_errors_name_the_line(tmp_path: Path) -> None:
    from bot.errors import ConfigError

    path = tmp_path / "mendbot.yml"
    path.write_text("version: 1\nenvironments:\n  production: 3\n")
    try:
        load_config(path, {})
    except ConfigError as exc:
        assert f"{path}:3:3: environments.production" in str(exc)
    else:
        raise AssertionError("expected a ConfigError")
