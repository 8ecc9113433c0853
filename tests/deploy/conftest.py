"""The chain fixtures (tests/chain_fixtures.py) for the tests in this folder."""

from chain_fixtures import (  # noqa: F401 (fixtures are found by name)
    _isolated,
    bench,
    github,
    make_repo,
    mini_sigstore,
    signing_key,
    workflow_repo,
)
