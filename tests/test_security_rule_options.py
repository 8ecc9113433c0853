"""Options of the self-hosted-runner and static-cloud-credentials rules, validated at load."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_config
from bot.detectors.rule_registry import rule_options
from bot.errors import ConfigError


def _load(tmp_path: Path, text: str):
    path = tmp_path / "mendbot.yml"
    path.write_text(text)
    return load_config(path, rule_options())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "rules:\n  gha-self-hosted-runner:\n    options:\n      visibility: secret\n",
            "mendbot.yml:4:7: rules.gha-self-hosted-runner.options.visibility: Input should be",
        ),
        (
            "rules:\n  gha-static-cloud-credentials:\n    options:\n      roles:\n"
            "        - workflow: deploy.yml\n",
            "needs at least one of aws, gcp, azure",
        ),
        (
            "rules:\n  gha-static-cloud-credentials:\n    options:\n      roles:\n"
            "        - workflow: deploy.yml\n          aws: {role: arn:aws:iam::1:role/x}\n",
            "mendbot.yml:6:11: rules.gha-static-cloud-credentials.options.roles.0.aws.role-to-as",
        ),
        (
            "rules:\n  gha-static-cloud-credentials:\n    options:\n      roles:\n"
            "        - workflow: deploy.yml\n          azure: {client-id: a}\n",
            "tenant-id",
        ),
    ],
)
def test_bad_options_are_refused_with_their_place(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, text)
    assert expected in str(caught.value)


def test_options_use_the_actions_own_input_names(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        "rules:\n  gha-static-cloud-credentials:\n    options:\n      roles:\n"
        "        - workflow: deploy.yml\n"
        "          aws: {role-to-assume: 'arn:aws:iam::1:role/x', aws-region: eu-west-1}\n"
        "          gcp: {workload_identity_provider: projects/1/x}\n",
    )
    roles = config.settings("gha-static-cloud-credentials").options["roles"]
    assert roles[0]["aws"]["role-to-assume"] == "arn:aws:iam::1:role/x"
